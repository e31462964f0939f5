"""Start-up at 10,000, 100,000 and 1,000,000 cases in one command: `python bench/bench_startup.py`.

For each size prints, as medians of BENCH_LAUNCHES (default 5) rounds, each round launching in
turn the command measured and its baselines, so every ratio compares launches made in the same
minutes on a machine whose speed drifts:
- `caseworker report overdue --format json`, the whole command launched through the
  `caseworker` entry point as cron runs it: wall and CPU time (its own process, from the
  operating system's accounting), beside `python -c pass` (the same interpreter) and a bare
  Textual app's first frame;
- the console's first screen: from launching the `caseworker` command to the frame showing the
  opening queue's rows and count (bench_console's first-screen child), beside the same bare
  Textual app (a header, one line, a footer) launched to its first frame;
- a queue page: the opening queue's first page (PAGE_SIZE rows) and its count as the console
  reads them (store.opening), in this process, median of 20 after a warm-up.
The load average is printed before and after each size: on a shared machine read the ratios.

The databases are bench_console's (bench_reports' bureau with warn_at set; about 1% of cases
open), built on first use and cached in the temp directory. BENCH_SIZES=10000,100000 for
fewer sizes; building the 1,000,000-case database takes several minutes the first time.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "10000,100000,1000000").split(",")]
LAUNCHES = int(os.environ.get("BENCH_LAUNCHES", "5"))


def caseworker_command() -> list[str]:
    """The `caseworker` entry point beside this interpreter (as installed), else `-m`."""
    script = Path(sys.executable).parent / "caseworker"
    return [str(script)] if script.exists() else [sys.executable, "-m", "caseworker"]


def cpu_of_children() -> float:
    """CPU milliseconds (user + system) of this process's finished children so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (used.ru_utime + used.ru_stime) * 1000


def launched(command: list[str]) -> tuple[float, float]:
    """Wall and CPU milliseconds of one whole process, its output thrown away."""
    before, start = cpu_of_children(), time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - start) * 1000, cpu_of_children() - before


def load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def one_size() -> dict[str, Any]:
    """Every figure at the size BENCH_CASES names (run in a process of its own)."""
    import bench_console
    from bench_reports import AS_OF, CASES

    path = bench_console.database()
    report = [
        *caseworker_command(),
        *("--db", str(path), "--clerk", "bench", "--now", AS_OF.isoformat()),
        *("report", "overdue", "--format", "json"),
    ]
    done = subprocess.run(report, check=True, capture_output=True, text=True)  # also a warm-up
    overdue = len(json.loads(done.stdout)["cases"])
    python_pass = [sys.executable, "-c", "pass"]
    launched(python_pass)
    rounds: list[dict[str, float]] = []
    load_before = load()
    for _ in range(LAUNCHES):
        r: dict[str, float] = {}
        r["report_wall"], r["report_cpu"] = launched(report)
        r["pass_wall"], r["pass_cpu"] = launched(python_pass)
        before, start = cpu_of_children(), time.time()
        first = bench_console._child("first-screen", str(path), AS_OF.isoformat())
        r["screen"] = (first["ready_at"] - start) * 1000
        r["sidebar"] = (first["sidebar_at"] - start) * 1000
        r["screen_cpu"] = cpu_of_children() - before  # to the sidebar's counts and exit
        before, start = cpu_of_children(), time.time()
        r["bare"] = (bench_console._child("bare-app")["ready_at"] - start) * 1000
        r["bare_cpu"] = cpu_of_children() - before
        rounds.append(r)
    figures = {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
    for name, over in (("report_wall", "pass_wall"), ("report_wall", "bare"), ("screen", "bare")):
        figures[f"{name}/{over}"] = statistics.median(r[name] / r[over] for r in rounds)
    for name, over in (("report_cpu", "pass_cpu"), ("screen_cpu", "bare_cpu")):
        figures[f"{name}/{over}"] = statistics.median(r[name] / max(r[over], 1.0) for r in rounds)
    figures["page_ms"], figures["page_min_ms"] = queue_page(path)
    figures.update(cases=CASES, overdue=overdue)
    figures.update(load_before=load_before, load_after=load())  # type: ignore[dict-item]
    return figures


def queue_page(path: Path) -> tuple[float, float]:
    """Median and fastest ms of the console's opening read: the first page of its queue and
    the count (on a loaded machine the fastest shows the work, the median the waiting)."""
    from caseworker.store.engine import open_store
    from caseworker.store.opening import opening_page
    from caseworker.store.queue_types import PAGE_SIZE

    store = open_store(str(path))
    try:
        opening_page(store.engine, PAGE_SIZE, "bench")
        runs = []
        for _ in range(20):
            start = time.perf_counter()
            opening_page(store.engine, PAGE_SIZE, "bench")
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs), min(runs)
    finally:
        store.close()


def main() -> None:
    print(
        f"start-up, {LAUNCHES} rounds a size, each launching in turn the command and its "
        f"baselines; {os.cpu_count()} CPUs; `{' '.join(Path(c).name for c in caseworker_command())}"
        f" report overdue --format json`"
    )
    results = []
    for size in SIZES:
        env = {**os.environ, "BENCH_CASES": str(size)}
        done = subprocess.run(
            [sys.executable, __file__, "--size"], check=True, env=env, stdout=subprocess.PIPE
        )
        f = json.loads(done.stdout.decode().strip().splitlines()[-1])
        results.append(f)
        print(
            f"\n{f['cases']:,} cases ({f['overdue']:,} overdue); load average {f['load_before']}"
            f" before, {f['load_after']} after"
        )
        print(
            f"  report overdue --format json: {f['report_wall']:6.0f} ms wall, "
            f"{f['report_cpu']:.0f} ms CPU (target < 500); python -c pass {f['pass_wall']:.0f} ms "
            f"wall, {f['pass_cpu']:.0f} ms CPU: ratio {f['report_wall/pass_wall']:.1f} wall, "
            f"{f['report_cpu/pass_cpu']:.1f} CPU; bare Textual app {f['bare']:.0f} ms: ratio "
            f"{f['report_wall/bare']:.2f}"
        )
        print(
            f"  first screen (rows + count):   {f['screen']:6.0f} ms (target < 700; sidebar "
            f"counts at {f['sidebar']:.0f} ms); bare Textual app's first frame {f['bare']:.0f} ms: "
            f"ratio {f['screen/bare']:.2f}; CPU of the whole launch {f['screen_cpu']:.0f} ms, the "
            f"bare app's {f['bare_cpu']:.0f} ms: ratio {f['screen_cpu/bare_cpu']:.2f}"
        )
        print(
            f"  queue page (first page + count, in process): {f['page_ms']:.2f} ms median, "
            f"{f['page_min_ms']:.2f} ms fastest of 20"
        )
    print("\n| at | " + " | ".join(f"{f['cases']:,} cases" for f in results) + " |")
    print("|---|" + "---|" * len(results))
    rows = [
        ("report overdue --format json, wall / CPU ms", "{report_wall:.0f} / {report_cpu:.0f}"),
        (
            "the same, ratio to python -c pass (wall / CPU)",
            "{report_wall/pass_wall:.1f} / {report_cpu/pass_cpu:.1f}",
        ),
        ("first screen ms / ratio to a bare Textual app", "{screen:.0f} / {screen/bare:.2f}"),
        ("the same launch, CPU ms / ratio", "{screen_cpu:.0f} / {screen_cpu/bare_cpu:.2f}"),
        ("bare Textual app / python -c pass, wall ms", "{bare:.0f} / {pass_wall:.0f}"),
        (
            "queue page: first page + count, ms median / fastest",
            "{page_ms:.2f} / {page_min_ms:.2f}",
        ),
        ("load average before, after", "{load_before} / {load_after}"),
    ]
    for label, fmt in rows:
        cells = [fmt.format_map(f) for f in results]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    if sys.argv[1:] == ["--size"]:
        print(json.dumps(one_size()))
    else:
        main()
