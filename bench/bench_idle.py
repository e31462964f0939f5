"""How much CPU an idle console uses (`python bench/bench_idle.py`).

The console runs in a real terminal (a detached tmux session, 120x36) on a demo database of
BENCH_CASES cases (2,000 by default, built once in the temp directory), and nobody touches it:
the CPU time of its process over BENCH_SECONDS (30) is printed as a share of one core, on the
queue screen and on a case opened over it, beside a Textual app showing one line of text in
the same terminal, measured in the same run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
CASES = int(os.environ.get("BENCH_CASES", "2000"))
WARM_UP = 8.0  # start-up, the first page and the sidebar counts

BASELINE = """
from textual.app import App
from textual.widgets import Static

class Idle(App[None]):
    def compose(self):
        yield Static("idle")

Idle().run()
"""


def demo_database(folder: Path) -> Path:
    path = folder / f"idle-demo-{CASES}.sqlite"
    if not path.exists():
        subprocess.run(
            [*caseworker(), "demo", "--db", str(path), "--cases", str(CASES), "--no-open"],
            check=True,
            capture_output=True,
        )
    return path


def caseworker() -> list[str]:
    return [sys.executable, "-m", "caseworker"]


def cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for p in [process, *process.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def idle_share(command: list[str], keys: list[str]) -> float:
    """The share of one core `command` uses while idle in a 120x36 tmux pane."""
    name = f"caseworker-idle-{os.getpid()}-{time.monotonic_ns()}"
    tmux = ["tmux", "-L", name]  # a server of its own, ended with the measurement
    shell = " ".join(f"'{part}'" for part in command)
    subprocess.run(
        [*tmux, "new-session", "-d", "-s", name, "-x", "120", "-y", "36", shell], check=True
    )
    try:
        pane = subprocess.run(
            [*tmux, "list-panes", "-t", name, "-F", "#{pane_pid}"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()[0]
        process = psutil.Process(int(pane))
        time.sleep(WARM_UP)
        for key in keys:
            subprocess.run([*tmux, "send-keys", "-t", name, key], check=True)
            time.sleep(WARM_UP / 2)
        start, before = time.monotonic(), cpu_seconds(process)
        time.sleep(SECONDS)
        used = cpu_seconds(process) - before
        return used / (time.monotonic() - start)
    finally:
        subprocess.run([*tmux, "kill-server"], check=False)


def main() -> None:
    if shutil.which("tmux") is None:
        sys.exit("bench_idle needs tmux")
    folder = Path(tempfile.gettempdir()) / "caseworker-bench"
    folder.mkdir(exist_ok=True)
    path = demo_database(folder)
    console = [*caseworker(), "demo", "--db", str(path)]
    baseline = idle_share([sys.executable, "-c", BASELINE], [])
    queue = idle_share(console, [])
    case = idle_share(console, ["Enter"])
    print(f"idle for {SECONDS:.0f} s, share of one core (demo of {CASES:,} cases):")
    print(f"  Textual app showing one line (baseline)  {baseline:6.1%}")
    print(f"  console, queue screen                    {queue:6.1%}")
    print(f"  console, a case open over the queue      {case:6.1%}")


if __name__ == "__main__":
    main()
