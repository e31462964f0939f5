"""How the console behaves on 1,000,000 cases (`python bench/bench_console.py`).

Prints, each beside a baseline measured in the same run:
- first screen ready: from launching a fresh process to the frame that shows the opening
  queue's rows and count, launched through the `caseworker` command itself (Typer, keymap,
  store, calendar check, app); against the interpreter starting and importing Textual. The
  frame with every sidebar count is reported too;
- cursor move, page down (with its keyset page loads) and queue switch (tab): the app's own
  latency, from a key reaching the app to the frame showing its result, beside the same keys
  timed through Pilot; against a cursor move in Textual's DataTable timed the same way;
- a keyset page deep in the largest queue, against OFFSET paging to the same depth;
- a unit handler's pages (a county's, a department's) against the bureau clerk's same pages;
- search for a 3+ character term (first page and capped count), against LIKE over every row;
- the process's peak memory, against Textual's DataTable holding only 10,000 rows.

How a key's latency is measured. The key is handed to the app as the terminal driver hands it
(`driver.send_message(Key)`), and the clock stops in the app itself, when the screen has
composed the frame that shows the key's result (the cursor on the expected case, found from
the queue's order read separately; the new queue's rows and count) and turned it into the
bytes a terminal would receive: App._display is wrapped to do that (headless runs compose
every frame but skip the bytes) and to note the time. Nothing polls: the waiting side sleeps
on an event the wrapper sets. Between keys the bench lets workers finish (prefetches land), as
a clerk's keystrokes are far apart next to a page load; a held key is measured separately, at
a terminal's auto-repeat rate. Textual draws at most 60 frames a second, so a key waits up to
about 17 ms for the next frame; that is part of every figure, the DataTable's too. Pilot's
figures wait for the app to go idle after each key and for its workers, which adds its own
round trips; they are printed for comparison with earlier runs.

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
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

DATA_VERSION = 2  # 2: built with the store's 16 KiB pages
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


# ------------------------------------------------------------------ frames


class Frames:
    """Each frame the app composes, with when its terminal bytes were ready and a state.

    Wraps App._display (see the module docstring): headless, Textual composes every update but
    does not turn it into terminal output; the wrapper does, so that cost is counted too.
    `until(test)` is an event set by the first frame from now on whose state passes `test`.
    """

    def __init__(self, app: Any, state: Callable[[], Any]) -> None:
        from textual._compositor import CompositorUpdate

        self.state = state
        self.waiting: tuple[Callable[[Any], bool], asyncio.Event] | None = None
        self.at = 0.0
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            if isinstance(renderable, CompositorUpdate):
                renderable.render_segments(app.console)
            if self.waiting is not None and self.waiting[0](self.state()):
                self.at = time.perf_counter()
                self.waiting[1].set()
                self.waiting = None

        app._display = display

    def until(self, test: Callable[[Any], bool]) -> asyncio.Event:
        event = asyncio.Event()
        self.waiting = (test, event)
        return event


async def key_latency(app: Any, frames: Frames, key: str, test: Callable[[Any], bool]) -> float:
    """Milliseconds from `key` reaching the app to the frame whose state passes `test`."""
    from textual import events

    char = key if len(key) == 1 else None
    shown = frames.until(test)
    start = time.perf_counter()
    app._driver.send_message(events.Key(key, char))
    await asyncio.wait_for(shown.wait(), 30)
    return (frames.at - start) * 1000


# ------------------------------------------------------------------ child processes


def child_first_screen(path: Path) -> None:
    """Launch the console through the `caseworker` command and stop at the first screen.

    The command runs as a clerk runs it, except that the app runs headless at a fixed size.
    Prints the wall-clock instants of the frame that first showed the opening queue's rows and
    count, and of the one that first showed every sidebar count; the parent subtracts the
    instant it launched this process.
    """
    from caseworker.app import CaseworkerApp

    result: dict[str, float] = {}

    def state_of(app: Any) -> tuple[bool, bool]:
        screen = app.screen
        tables = screen.query("#cases")
        if not tables:  # the queue screen is not up yet
            return False, False
        rows = bool(tables.first().lines) and screen.shown_count is not None
        return rows, bool(screen.query_one("#queues").counts)

    def run_headless(app: Any, *args: Any, **kwargs: Any) -> None:
        frames = Frames(app, lambda: state_of(app))

        async def run() -> None:
            rows = frames.until(lambda state: state[0])
            async with app.run_test(size=SIZE):
                await rows.wait()
                result["ready_at"] = time.time() - (time.perf_counter() - frames.at)
                counts = frames.until(lambda state: state[1])
                await counts.wait()
                result["sidebar_at"] = time.time() - (time.perf_counter() - frames.at)

        asyncio.run(run())

    CaseworkerApp.run = run_headless  # type: ignore[method-assign,assignment]
    from caseworker.cli import app as command

    command(
        ["--db", str(path), "--clerk", "bench", "--lang", "zh", "--now", sys.argv[3]],
        standalone_mode=False,
    )
    result["rss_mb"] = _rss_mb()
    print(json.dumps(result))


def child_bare_app() -> None:
    """The baseline of a first screen: a bare Textual app (a header, one line of text, a
    footer) launched in a fresh process and run headless to its first frame, as the console is."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Header, Static

    class Bare(App[None]):
        def compose(self) -> ComposeResult:
            yield Header()
            yield Static("hello")
            yield Footer()

    app = Bare()
    frames = Frames(app, lambda: bool(app.screen.query(Static)))
    result: dict[str, float] = {}

    async def run() -> None:
        drawn = frames.until(lambda state: state)
        async with app.run_test(size=SIZE):
            await drawn.wait()
            result["ready_at"] = time.time() - (time.perf_counter() - frames.at)

    asyncio.run(run())
    print(json.dumps(result))


def child_import_textual() -> None:
    start = time.perf_counter()
    import textual.app
    import textual.widgets  # noqa: F401

    print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))


def child_import_console() -> None:
    """The modules the console imports before it draws its first screen (no database work):
    the command line, the opening read and the queue screen; not the ORM, which follows."""
    start = time.perf_counter()
    import caseworker.app
    import caseworker.cli
    import caseworker.screens.queue
    import caseworker.services.clocks
    import caseworker.services.identity
    import caseworker.store.engine
    import caseworker.store.opening  # noqa: F401

    print(json.dumps({"ms": (time.perf_counter() - start) * 1000}))


def child_datatable(rows: int) -> None:
    """The baseline: Textual's DataTable with `rows` rows read from the same store."""
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    path = Path(sys.argv[3])
    conn = sqlite3.connect(path)
    data = conn.execute(
        "SELECT next_due_at, id, channel, title, category, lead_unit_id, status, received_at "
        "FROM cases ORDER BY next_due_at, id LIMIT ?",
        (rows,),
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
            frames = Frames(app, lambda: table.cursor_row)
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
            latencies = []
            for _ in range(30):
                target = table.cursor_row + 1
                latencies.append(await key_latency(app, frames, "down", lambda r, t=target: r == t))
                await pilot.pause()
            result["move_app_ms"] = statistics.median(latencies)
            result["rss_growth_mb"] = _current_mb() - before

    asyncio.run(run())
    result["rss_mb"] = _rss_mb()
    print(json.dumps(result))


def child_interactive(path: Path) -> None:
    """Cursor moves, paging, queue switches and searches in one console."""
    from bench_reports import AS_OF

    from caseworker.app import make_app
    from caseworker.screens.queue import QUEUES
    from caseworker.services.queues import filtered_count, queue_page
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

    async def timed(pilot: Any, key: str, n: int) -> float:
        """Pilot's view: press, then wait for the workers and for the app to go idle."""
        runs = []
        for _ in range(n):
            start = time.perf_counter()
            await pilot.press(key)
            await settle(pilot)
            runs.append((time.perf_counter() - start) * 1000)
        return statistics.median(runs)

    raw = sqlite3.connect(path)
    order = [r[0] for r in raw.execute("SELECT id FROM cases ORDER BY next_due_at, id LIMIT 20000")]
    raw.close()
    viewer = Viewer(clerk="bench")
    with store.session() as session:  # the first case of each queue, for the switch's test
        firsts = {}
        for key in QueueKey:
            lines = queue_page(session, key, AS_OF, viewer, Filters(), limit=1).lines
            firsts[key] = lines[0].id if lines else None

    async def run() -> None:
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            table = screen.query_one(CaseTable)

            def state() -> tuple[Any, ...]:
                current = table.current
                # `fetching`: a page is asked for (`loading` before the console had it).
                fetching = getattr(table, "fetching", table.loading)
                return (
                    screen.queue,
                    screen.generation,
                    fetching,
                    current.id if current else None,
                    screen.shown_count,
                )

            frames = Frames(app, state)
            screen.switch_queue(QueueKey.ALL)
            await settle(pilot)

            async def key_to(key: str, step: int) -> float:
                """A cursor key's latency: until the cursor shows on the case `step` rows on."""
                assert table.current is not None
                want = order[order.index(table.current.id) + step]
                return await key_latency(app, frames, key, lambda st: st[3] == want)

            moves, pages = [], []
            for _ in range(50):
                moves.append(await key_to("down", 1))
                await settle(pilot)
            for _ in range(60):  # crosses several keyset pages
                pages.append(await key_to("pagedown", table.visible_rows))
                await settle(pilot)
            out["move_app_ms"] = statistics.median(moves)
            out["move_app_max_ms"] = max(moves)
            out["page_app_ms"] = statistics.median(pages)
            out["page_app_max_ms"] = max(pages)
            # A held key: page down at a terminal's auto-repeat rate, nothing waited for
            # but each key's own frame.
            held = []
            for _ in range(45):
                start = time.perf_counter()
                held.append(await key_to("pagedown", table.visible_rows))
                await asyncio.sleep(max(0.0, 1 / 30 - (time.perf_counter() - start)))
            await settle(pilot)
            out["page_held_ms"] = statistics.median(held)
            out["page_held_max_ms"] = max(held)
            out["move_pilot_ms"] = await timed(pilot, "down", 50)
            out["page_pilot_ms"] = await timed(pilot, "pagedown", 60)
            out["rows_in_memory"] = len(table.lines)
            switches: list[tuple[float, str]] = []
            for _ in range(2 * len(QUEUES)):
                key = QUEUES[(QUEUES.index(screen.queue) + 1) % len(QUEUES)]
                generation = screen.generation + 1

                def shown(
                    st: tuple[Any, ...], key: QueueKey = key, generation: int = generation
                ) -> bool:
                    return (
                        st[0] is key
                        and st[1] == generation
                        and not st[2]
                        and st[3] == firsts[key]
                        and st[4] is not None
                    )

                switches.append((await key_latency(app, frames, "tab", shown), key.value))
                await settle(pilot)
            out["switch_app_ms"] = statistics.median(ms for ms, _ in switches)
            out["switch_app_max_ms"], out["switch_app_max_queue"] = max(switches)
            out["switch_pilot_ms"] = await timed(pilot, "tab", 22)
            # Page far down to prove memory stays bounded.
            for _ in range(150):
                await pilot.press("pagedown")
                if getattr(table, "fetching", table.loading):
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
        out["offset_deep_ms"] = _median(
            lambda: raw.execute(
                "SELECT id, title FROM cases ORDER BY next_due_at, id LIMIT 100 OFFSET ?", (deep,)
            ).fetchall(),
            3,
        )
        out["deep_rows"] = deep
        for name, term in (("common", "道路积水"), ("rare", "第654321号")):
            filters = Filters(search=term)
            cond = queries.where_of(session, QueueKey.ALL, AS_OF, viewer, filters)
            out[f"search_{name}_page_ms"] = _median(
                lambda cond=cond: queries.page_after(session, cond), 5
            )
            out[f"search_{name}_count_ms"] = _median(
                lambda filters=filters: filtered_count(
                    session, QueueKey.ALL, AS_OF, viewer, filters
                ),
                3,
            )
            out[f"search_{name}_hits"] = filtered_count(
                session, QueueKey.ALL, AS_OF, viewer, filters
            )
        out["like_scan_ms"] = _median(
            lambda: raw.execute(
                "SELECT count(*) FROM cases WHERE title LIKE '%第654321号%' OR body LIKE "
                "'%第654321号%'"
            ).fetchall(),
            3,
        )
        short = Filters(search="积")
        cond = queries.where_of(session, QueueKey.ALL, AS_OF, viewer, short)
        out["search_1char_page_ms"] = _median(lambda: queries.page_after(session, cond), 5)
        raw.close()
    out["rss_mb"] = _rss_mb()
    store.close()
    print(json.dumps(out))


def child_handler_pages(path: Path) -> None:
    """A unit handler's pages of 全部 and 已超期 (first, next, up) and their counts, for the
    largest county (its set of cases is "wide", store.queries.viewer_scope) and the largest
    department, beside the bureau clerk's same pages: what a handler waits for."""
    from bench_reports import AS_OF
    from sqlalchemy import text

    from caseworker.services.people import subtree_ids
    from caseworker.store.engine import open_store
    from caseworker.store.queries import is_wide, scope_size
    from caseworker.store.queue_types import QueueKey, Viewer

    store = open_store(str(path))
    out: dict[str, Any] = {}
    with store.session() as session:
        biggest = {}
        for level in ("county", "department"):
            ranked = []
            for (unit_id,) in session.execute(
                text("SELECT id FROM units WHERE level = :level"), {"level": level}
            ):
                units = subtree_ids(session, unit_id)
                n = session.execute(
                    text(
                        "SELECT count(*) FROM cases WHERE lead_unit_id IN "
                        f"({', '.join(map(str, units))})"
                    )
                ).scalar_one()
                ranked.append((n, units))
            biggest[level] = max(ranked)
        viewers = {"bureau": (0, Viewer(clerk="bench"))}
        for level, (n, units) in biggest.items():
            share, total = scope_size(session, units)  # as services.queues.viewer_for
            viewers[level] = (
                n,
                Viewer(
                    clerk="bench", unit_ids=tuple(units), wide=is_wide(share, total), cases=share
                ),
            )
        for name, (n, viewer) in viewers.items():
            out[f"{name}_cases"], out[f"{name}_wide"] = n, viewer.wide
            for key in (QueueKey.ALL, QueueKey.OVERDUE):
                out.update(_pages(session, f"{name}_{key.value}", key, viewer, AS_OF))
    store.close()
    print(json.dumps(out))


def _pages(session: Any, tag: str, key: Any, viewer: Any, now: Any) -> dict[str, float]:
    """One queue's first page, the next and the one above, and its count, for `viewer`."""
    from caseworker.services import queues
    from caseworker.store.queue_types import Filters

    def page(**keyset: Any) -> Any:
        return queues.queue_page(session, key, now, viewer, Filters(), **keyset)

    last = page().lines[-1].key  # up from there: the first page's other rows
    return {
        f"{tag}_first_ms": _median(page, 5),
        f"{tag}_next_ms": _median(lambda: page(after=last), 5),
        f"{tag}_up_ms": _median(lambda: page(before=last), 5),
        f"{tag}_count_ms": _median(
            lambda: queues.filtered_count(session, key, now, viewer, Filters()), 3
        ),
    }


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
        [sys.executable, __file__, *args],
        check=True,
        capture_output=True,
        text=True,
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

    # The console, a bare Textual app and the interpreter launched in turn, so that each
    # ratio compares launches made in the same minutes on a machine whose speed drifts.
    firsts, bares, hellos = [], [], []
    for _ in range(int(os.environ.get("BENCH_LAUNCHES", "5"))):
        launched = time.time()
        first = _child("first-screen", str(path), AS_OF.isoformat())
        first["ready_ms"] = (first["ready_at"] - launched) * 1000
        first["sidebar_ms"] = (first["sidebar_at"] - launched) * 1000
        firsts.append(first)
        launched = time.time()
        bares.append((_child("bare-app")["ready_at"] - launched) * 1000)
        hellos.append(_launch_python())
    ready = statistics.median(f["ready_ms"] for f in firsts)
    sidebar = statistics.median(f["sidebar_ms"] for f in firsts)
    bare = statistics.median(bares)
    hello = statistics.median(hellos)
    print(
        f"first screen ready from launch: {ready:7.0f} ms, sidebar counts at {sidebar:.0f} ms "
        f"(target < 700; baselines in the same run: python starting {hello:.0f} ms "
        f"(ratio {ready / hello:.1f}), a bare Textual app's first frame {bare:.0f} ms (ratio "
        f"{ready / bare:.2f}), importing Textual {imports:.0f} ms, importing the console's "
        f"modules {modules:.0f} ms)"
    )
    base = _child("datatable", "10000", str(path))
    inter = _child("interactive", str(path))
    table = base["move_app_ms"]
    print(
        f"cursor move, key to frame:      {inter['move_app_ms']:7.1f} ms median, "
        f"{inter['move_app_max_ms']:.1f} worst (target < 50; DataTable with 10k rows "
        f"{table:.1f} ms, ratio {inter['move_app_ms'] / table:.2f}); through Pilot "
        f"{inter['move_pilot_ms']:.1f} ms (DataTable {base['move_ms']:.1f} ms)"
    )
    print(
        f"page down, key to frame:        {inter['page_app_ms']:7.1f} ms median, "
        f"{inter['page_app_max_ms']:.1f} worst, crossing keyset pages (ratio "
        f"{inter['page_app_ms'] / table:.2f}); key held at 30/s {inter['page_held_ms']:.1f} ms "
        f"median, {inter['page_held_max_ms']:.1f} worst; through Pilot "
        f"{inter['page_pilot_ms']:.1f} ms"
    )
    print(
        f"queue switch (tab), key to frame: {inter['switch_app_ms']:5.1f} ms median, "
        f"{inter['switch_app_max_ms']:.1f} worst ({inter['switch_app_max_queue']}; rows and "
        f"count shown; ratio {inter['switch_app_ms'] / table:.2f}); through Pilot "
        f"{inter['switch_pilot_ms']:.1f} ms"
    )
    print(
        f"keyset page at row {inter['deep_rows']:,}: {inter['keyset_deep_ms']:7.2f} ms "
        f"(baseline OFFSET {inter['offset_deep_ms']:.1f} ms, "
        f"{inter['offset_deep_ms'] / inter['keyset_deep_ms']:.0f}x slower)"
    )
    for name in ("common", "rare"):
        hits = inter[f"search_{name}_hits"]
        hits = "over 5,000 (not counted)" if hits < 0 else f"{hits:,}"
        print(
            f"search 3+ chars ({name}, {hits} hits): first page "
            f"{inter[f'search_{name}_page_ms']:.1f} ms, count "
            f"{inter[f'search_{name}_count_ms']:.1f} ms (target < 300; baseline LIKE scan "
            f"{inter['like_scan_ms']:.0f} ms)"
        )
    print(f"search 1 char, first page:      {inter['search_1char_page_ms']:7.1f} ms")
    print(
        f"DataTable baseline, 10k rows:   load {base['load_ms']:.0f} ms, "
        f"+{base['rss_growth_mb']:.0f} MB (the console never holds more than "
        f"{inter['rows_in_memory_after_4k']} rows)"
    )
    hand = _child("handler-pages", str(path))
    for name, who in (("county", "county handler"), ("department", "department handler")):
        print(
            f"{who} ({hand[f'{name}_cases']:,} cases, "
            f"{'wide' if hand[f'{name}_wide'] else 'narrow'} set):"
        )
        for key, label in (("all", "全部"), ("overdue", "已超期")):
            ms = {m: hand[f"{name}_{key}_{m}_ms"] for m in ("first", "next", "up", "count")}
            bureau = {m: hand[f"bureau_{key}_{m}_ms"] for m in ("first", "next", "up", "count")}
            print(
                f"  {label} first / next / up page: {ms['first']:.1f} / {ms['next']:.1f} / "
                f"{ms['up']:.1f} ms, count {ms['count']:.1f} ms (target < 50 a page; the "
                f"bureau's: {bureau['first']:.1f} / {bureau['next']:.1f} / "
                f"{bureau['up']:.1f} ms, count {bureau['count']:.1f} ms)"
            )
    peak = max(inter["rss_mb"], max(f["rss_mb"] for f in firsts))
    print(
        f"peak memory (RSS):              {peak:7.0f} MB (target < 250; DataTable process "
        f"with 10k rows {base['rss_mb']:.0f} MB)"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        mode = sys.argv[1]
        if mode == "first-screen":
            child_first_screen(Path(sys.argv[2]))
        elif mode == "bare-app":
            child_bare_app()
        elif mode == "import-textual":
            child_import_textual()
        elif mode == "import-console":
            child_import_console()
        elif mode == "datatable":
            child_datatable(int(sys.argv[2]))
        elif mode == "interactive":
            child_interactive(Path(sys.argv[2]))
        elif mode == "handler-pages":
            child_handler_pages(Path(sys.argv[2]))
    else:
        main()
