"""How the console behaves on 1,000,000 cases (`python bench/bench_console.py`).

Prints, each beside a baseline measured in the same run:
- first screen ready (queue rows and every sidebar count drawn) in a fresh process, against
  the interpreter starting and importing Textual;
- cursor move, page down (with its keyset page loads) and queue switch, through Pilot;
- a keyset page deep in the largest queue, against OFFSET paging to the same depth;
- search for a 3+ character term (first page and capped count), against LIKE over every row;
- the process's peak memory, against Textual's DataTable holding only 10,000 rows.

The database comes from bench_reports.build (bulk INSERTs; about 1% of cases open), with
warn_at set for the open cases, and is cached in the temp directory. BENCH_CASES for less.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA_VERSION = 1
SIZE = (120, 36)


def _rss_mb() -> float:
    """Peak resident memory of this process so far."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_mb() -> float:
    """Resident memory now (Linux /proc; the peak elsewhere)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return _rss_mb()


def database() -> Path:
    """The cached bench database (built on first use)."""
    from bench_reports import CASES, build
    from bench_reports import DATA_VERSION as REPORTS_VERSION

    from caseworker.store.engine import head_revision

    folder = Path(tempfile.gettempdir()) / "caseworker-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"console-v{DATA_VERSION}-{head_revision()}-{CASES}.sqlite"
    if path.exists():
        return path
    start = time.perf_counter()
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    # bench_reports builds the same data from the same seed; copy its file when it is there.
    reports = folder / f"reports-v{REPORTS_VERSION}-{head_revision()}-{CASES}.sqlite"
    if reports.exists():
        shutil.copyfile(reports, partial)
    else:
        build(partial)
    conn = sqlite3.connect(partial)
    # warn_at as apply_clocks would set it: 80% of the way from receipt to the nearest deadline.
    conn.execute(
        "UPDATE cases SET warn_at = strftime('%Y-%m-%d %H:%M:%S', julianday(next_due_at) "
        "- 0.2 * (julianday(next_due_at) - julianday(received_at))) || '.000000' "
        "WHERE status IN ('received', 'accepted', 'assigned', 'acknowledged', 'replied')"
    )
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()
    shutil.move(partial, path)
    print(f"built {CASES:,} cases in {time.perf_counter() - start:.0f} s: {path.name}")
    return path


def settings_for(path: Path) -> Any:
    from bench_reports import AS_OF

    from caseworker.config import Settings

    return Settings(database=str(path), clerk="bench", language="zh", now=AS_OF)


# ------------------------------------------------------------------ child processes


def child_first_screen(path: Path) -> None:
    """Open the console as `caseworker` does and stop when the first screen is complete.

    Prints the wall-clock instants when the rows (with the queue's count) and the sidebar's
    counts were on screen; the parent subtracts the instant it launched this process.
    """
    from caseworker.app import make_app
    from caseworker.config import Settings
    from caseworker.services.clocks import recompute_if_calendar_changed
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    settings = Settings(database=str(path), clerk="bench", language="zh",
                        now=datetime.fromisoformat(sys.argv[3]))
    rules = load_rules(settings.policy_file, settings.calendar_file)
    store = open_store(settings.database, create=False)
    with store.session() as session:
        recompute_if_calendar_changed(session, rules, settings.clock().now())
    app = make_app(settings, store, rules, poll_seconds=3600)
    result: dict[str, float] = {}

    async def run() -> None:
        from caseworker.widgets.case_table import CaseTable

        async with app.run_test(size=SIZE) as pilot:
            while True:
                screen = app.screen
                tables = screen.query(CaseTable)
                if tables and tables.first().lines and screen.shown_count is not None:
                    break
                await pilot.pause(0.002)
            result["ready_at"] = time.time()
            while not screen.query_one("#queues").counts:
                await pilot.pause(0.002)
            result["sidebar_at"] = time.time()

    asyncio.run(run())
    result["rss_mb"] = _rss_mb()
    store.close()
    print(json.dumps(result))


def child_import_textual() -> None:
    start = time.perf_counter()
    import textual.app
    import textual.widgets  # noqa: F401

    print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))


def child_import_console() -> None:
    """The modules the console needs before it can draw anything (no database work)."""
    start = time.perf_counter()
    import caseworker.app
    import caseworker.screens.queue
    import caseworker.services.clocks
    import caseworker.services.queues
    import caseworker.store.engine  # noqa: F401

    print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))


def child_datatable(rows: int) -> None:
    """The baseline: Textual's DataTable with `rows` rows read from the same store."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    path = Path(sys.argv[3])
    conn = sqlite3.connect(path)
    data = conn.execute(
        "SELECT next_due_at, id, channel, title, category, lead_unit_id, status, received_at "
        "FROM cases ORDER BY next_due_at, id LIMIT ?", (rows,)
    ).fetchall()
    before = _current_mb()

    class Host(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

    app = Host()
    result: dict[str, float] = {}

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            table = app.query_one(DataTable)
            start = time.perf_counter()
            table.add_columns("due", "id", "channel", "title", "category", "unit", "status", "rcv")
            table.add_rows([tuple(str(v) for v in row) for row in data])
            await pilot.pause()
            result["load_ms"] = (time.perf_counter() - start) * 1000
            runs = []
            for _ in range(20):
                start = time.perf_counter()
                await pilot.press("down")
                runs.append((time.perf_counter() - start) * 1000)
            result["move_ms"] = statistics.median(runs)
            result["rss_growth_mb"] = _current_mb() - before

    asyncio.run(run())
    result["rss_mb"] = _rss_mb()
    print(json.dumps(result))


def child_interactive(path: Path) -> None:
    """Cursor moves, paging, queue switches and searches in one console."""
    from bench_reports import AS_OF

    from caseworker.app import make_app
    from caseworker.services.queues import filtered_count
    from caseworker.services.rules import load_rules
    from caseworker.store import queries
    from caseworker.store.engine import open_store
    from caseworker.store.queries import Filters, QueueKey, Viewer
    from caseworker.widgets.case_table import CaseTable

    settings = settings_for(path)
    rules = load_rules(settings.policy_file, settings.calendar_file)
    store = open_store(settings.database, create=False)
    app = make_app(settings, store, rules, poll_seconds=3600)
    out: dict[str, Any] = {}

    async def settle(pilot: Any) -> None:
        for _ in range(2):
            await app.workers.wait_for_complete()
            await pilot.pause()

    async def timed(pilot: Any, action: Callable[[], Awaitable[None]], n: int) -> float:
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            await action()
            await settle(pilot)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs)

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            screen.switch_queue(QueueKey.ALL)
            await settle(pilot)
            table = screen.query_one(CaseTable)

            async def down() -> None:
                await pilot.press("down")

            async def page() -> None:
                await pilot.press("pagedown")

            out["move_ms"] = await timed(pilot, down, 50)
            out["page_ms"] = await timed(pilot, page, 60)  # crosses several keyset pages
            presses = []
            for _ in range(20):
                start = time.perf_counter()
                await pilot.press("down")
                presses.append((time.perf_counter() - start) * 1000)
            out["press_ms"] = statistics.median(presses)

            def redraw() -> None:
                for y in range(table.size.height):
                    table.render_line(y)

            def move_and_draw() -> None:
                table.action_cursor_down()
                redraw()

            def page_and_draw() -> None:
                table.action_page_down()
                redraw()

            out["move_direct_ms"] = _median(move_and_draw, 50)
            out["page_direct_ms"] = _median(page_and_draw, 20)
            await settle(pilot)
            out["rows_in_memory"] = len(table.lines)
            keys = list(QueueKey)
            switches = []
            for key in keys * 2:
                start = time.perf_counter()
                screen.switch_queue(key)
                while table.loading:
                    await pilot.pause(0.001)
                switches.append((time.perf_counter() - start) * 1000)
                await settle(pilot)
            out["switch_rows_ms"] = statistics.median(switches)
            out["switch_rows_max_ms"] = max(switches)
            start = time.perf_counter()
            screen.switch_queue(QueueKey.ALL)
            await settle(pilot)
            out["switch_all_with_counts_ms"] = (time.perf_counter() - start) * 1000
            # Page far down to prove memory stays bounded.
            for _ in range(150):
                await pilot.press("pagedown")
                if table.loading:
                    await settle(pilot)
            out["rows_in_memory_after_4k"] = len(table.lines)
            out["cursor_row_id"] = table.current.id if table.current else None

    asyncio.run(run())

    # Queries on their own: a deep keyset page vs OFFSET; search vs LIKE over every row.
    viewer = Viewer(clerk="bench")
    with store.session() as session:
        where = queries.queue_condition(QueueKey.ALL, AS_OF, viewer)
        total = queries.count_where(session, where)
        deep = total - 1000
        raw = sqlite3.connect(path)
        due, case_id = raw.execute(
            "SELECT next_due_at, id FROM cases ORDER BY next_due_at, id LIMIT 1 OFFSET ?",
            (deep,),
        ).fetchone()
        from datetime import UTC, datetime

        key = (datetime.fromisoformat(due).replace(tzinfo=UTC), int(case_id))
        out["keyset_deep_ms"] = _median(lambda: queries.page_after(session, where, key), 5)
        out["offset_deep_ms"] = _median(lambda: raw.execute(
            "SELECT id, title FROM cases ORDER BY next_due_at, id LIMIT 100 OFFSET ?",
            (deep,)).fetchall(), 3)
        out["deep_rows"] = deep
        for name, term in (("common", "道路积水"), ("rare", "第654321号")):
            filters = Filters(search=term)
            cond = queries.where_of(session, QueueKey.ALL, AS_OF, viewer, filters)
            out[f"search_{name}_page_ms"] = _median(
                lambda cond=cond: queries.page_after(session, cond), 5)
            out[f"search_{name}_count_ms"] = _median(
                lambda filters=filters: filtered_count(
                    session, QueueKey.ALL, AS_OF, viewer, filters), 3)
            out[f"search_{name}_hits"] = filtered_count(
                session, QueueKey.ALL, AS_OF, viewer, filters)
        out["like_scan_ms"] = _median(lambda: raw.execute(
            "SELECT count(*) FROM cases WHERE title LIKE '%第654321号%' OR body LIKE "
            "'%第654321号%'").fetchall(), 3)
        short = Filters(search="积")
        cond = queries.where_of(session, QueueKey.ALL, AS_OF, viewer, short)
        out["search_1char_page_ms"] = _median(lambda: queries.page_after(session, cond), 5)
        raw.close()
    out["rss_mb"] = _rss_mb()
    store.close()
    print(json.dumps(out))


def _median(action: Callable[[], object], n: int) -> float:
    action()
    runs = []
    for _ in range(n):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


# ------------------------------------------------------------------ the report


def _launch_python() -> float:
    """Milliseconds for the interpreter to start and exit: the floor of any launch."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return (time.perf_counter() - start) * 1000


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, *args], check=True, capture_output=True, text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)},
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main() -> None:
    from bench_reports import CASES

    path = database()
    print(f"cases: {CASES:,}; terminal {SIZE[0]}x{SIZE[1]}")
    imports = statistics.median(_child("import-textual")["ms"] for _ in range(3))
    modules = statistics.median(_child("import-console")["ms"] for _ in range(3))
    from bench_reports import AS_OF

    firsts = []
    for _ in range(3):
        launched = time.time()
        first = _child("first-screen", str(path), AS_OF.isoformat())
        first["ready_ms"] = (first["ready_at"] - launched) * 1000
        first["sidebar_ms"] = (first["sidebar_at"] - launched) * 1000
        firsts.append(first)
    ready = statistics.median(f["ready_ms"] for f in firsts)
    sidebar = statistics.median(f["sidebar_ms"] for f in firsts)
    hello = statistics.median(_launch_python() for _ in range(3))
    print(f"first screen ready from launch: {ready:7.0f} ms, sidebar counts at {sidebar:.0f} ms "
          f"(target < 1000; baselines in the same run: python starting {hello:.0f} ms, importing "
          f"Textual {imports:.0f} ms, importing the console's modules {modules:.0f} ms)")
    base = _child("datatable", "10000", str(path))
    inter = _child("interactive", str(path))
    ratio = inter["press_ms"] / base["move_ms"]
    print(f"cursor move, key to redraw:     {inter['press_ms']:7.1f} ms through Pilot (DataTable "
          f"with 10k rows {base['move_ms']:.1f} ms, ratio {ratio:.2f})")
    print(f"cursor move, widget work:       {inter['move_direct_ms']:7.2f} ms (move + draw every "
          f"visible line; target < 50)")
    print(f"page down, widget work:         {inter['page_direct_ms']:7.2f} ms; with page loads and "
          f"Pilot settling {inter['page_ms']:.1f} ms (target < 50)")
    print(f"queue switch, rows shown:       {inter['switch_rows_ms']:7.1f} ms median, "
          f"{inter['switch_rows_max_ms']:.1f} ms worst (target < 50)")
    print(f"queue switch incl. all counts:  {inter['switch_all_with_counts_ms']:7.1f} ms")
    print(f"keyset page at row {inter['deep_rows']:,}: {inter['keyset_deep_ms']:7.2f} ms "
          f"(baseline OFFSET {inter['offset_deep_ms']:.1f} ms, "
          f"{inter['offset_deep_ms'] / inter['keyset_deep_ms']:.0f}x slower)")
    for name in ("common", "rare"):
        hits = inter[f"search_{name}_hits"]
        hits = "over 5,000 (not counted)" if hits < 0 else f"{hits:,}"
        print(f"search 3+ chars ({name}, {hits} hits): first page "
              f"{inter[f'search_{name}_page_ms']:.1f} ms, count "
              f"{inter[f'search_{name}_count_ms']:.1f} ms (target < 300; baseline LIKE scan "
              f"{inter['like_scan_ms']:.0f} ms)")
    print(f"search 1 char, first page:      {inter['search_1char_page_ms']:7.1f} ms")
    print(f"DataTable baseline, 10k rows:   load {base['load_ms']:.0f} ms, "
          f"+{base['rss_growth_mb']:.0f} MB (the console never holds more than "
          f"{inter['rows_in_memory_after_4k']} rows)")
    peak = max(inter["rss_mb"], max(f["rss_mb"] for f in firsts))
    print(f"peak memory (RSS):              {peak:7.0f} MB (target < 250; DataTable process "
          f"with 10k rows {base['rss_mb']:.0f} MB)")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        mode = sys.argv[1]
        if mode == "first-screen":
            child_first_screen(Path(sys.argv[2]))
        elif mode == "import-textual":
            child_import_textual()
        elif mode == "import-console":
            child_import_console()
        elif mode == "datatable":
            child_datatable(int(sys.argv[2]))
        elif mode == "interactive":
            child_interactive(Path(sys.argv[2]))
    else:
        main()
