"""How fast the supervisor reports are on 1,000,000 cases (`python bench/bench_reports.py`).

Prints, each beside a baseline measured in the same run:
- the overdue query through the partial index ix_cases_open_due, against the same query forced
  to a full table scan (NOT INDEXED);
- the whole `caseworker report overdue` command in a fresh process, against `caseworker --help`
  (interpreter start-up and the CLI's own imports);
- `report rates` for a quarter, against one COUNT(*) over the whole table.

The database is generated once (bulk INSERT on the raw connection, indexes built afterwards)
and cached in the temp directory under a name keyed by this script's data version and the
schema revision, so reruns start at once. Set BENCH_CASES for a smaller run.
"""

from __future__ import annotations

import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import event

from caseworker.config import DATA_DIR, os_login
from caseworker.domain.measures import Period
from caseworker.services.reports import overdue_cases, unit_rates
from caseworker.services.rules import load_rules
from caseworker.store.engine import head_revision, open_store

DATA_VERSION = 2  # 2: built with the store's 16 KiB pages
CASES = int(os.environ.get("BENCH_CASES", "1000000"))
AS_OF = datetime(2025, 10, 21, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CHANNELS = ("leader-board", "hotline-12345", "party-secretary-mailbox", "social-media")
OPEN = ("received", "accepted", "assigned", "acknowledged", "replied")
FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how the store writes naive-UTC times in SQLite


def stamp(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).strftime(FORMAT)


def end_of_day(value: datetime) -> datetime:
    """23:59:59 Shanghai (15:59:59 UTC) of the Shanghai day `value` falls on."""
    local = value + timedelta(hours=8)
    return datetime(local.year, local.month, local.day, 15, 59, 59, tzinfo=UTC)


def build(path: Path) -> None:
    """A bureau of 3 years: 1 city, 20 counties, 200 departments; about 1% of cases open."""
    store = open_store(str(path))
    store.close()
    rng = random.Random(20251021)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=OFF")  # a throw-away build: no journal, no fsync
    conn.execute("PRAGMA synchronous=OFF")
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type='index' AND tbl_name IN "
        "('cases', 'ratings', 'supervisions') AND sql IS NOT NULL"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    units: list[tuple[int, str, str, str, int | None]] = [(1, "C", "某市", "city", None)]
    units += [(1 + n, f"C{n:02d}", f"第{n}区", "county", 1) for n in range(1, 21)]
    units += [
        (21 + n, f"D{n:03d}", f"第{n}局", "department", 2 + (n - 1) % 20) for n in range(1, 201)
    ]
    conn.executemany(
        "INSERT INTO units (id, code, name, level, parent_id, active) VALUES (?, ?, ?, ?, ?, 1)",
        units,
    )
    conn.execute("INSERT INTO clerks (id, name, role, active) VALUES (1, 'bench', 'supervisor', 1)")
    # The commands the bench runs act as the clerk bound to the login running it.
    conn.execute("INSERT INTO clerk_logins (clerk_id, login) VALUES (1, ?)", (os_login(),))
    end_of_time = "9999-12-31 00:00:00.000000"
    first = AS_OF - timedelta(days=3 * 365)
    span = (AS_OF - first).total_seconds()
    rows: list[tuple[object, ...]] = []
    ratings: list[tuple[int, str, str]] = []
    supervisions: list[tuple[int, str]] = []
    for case_id in range(1, CASES + 1):
        # Older cases are all closed; open ones are the last few weeks' (about 1% in all).
        if rng.random() < 0.01:
            received = AS_OF - timedelta(seconds=rng.uniform(0, 18 * 86400))
        else:
            received = first + timedelta(seconds=span * rng.random() ** 0.8)
            received = min(received, AS_OF - timedelta(days=20))
        assign_due = end_of_day(received + timedelta(days=3))
        reply_due = end_of_day(received + timedelta(days=14))
        close_due = end_of_day(received + timedelta(days=60))
        unit = rng.randint(2, 221)
        is_open = received > AS_OF - timedelta(days=19)
        if is_open:
            status = rng.choice(OPEN)
            assigned = received + timedelta(hours=20) if status != "received" else None
            replied = received + timedelta(days=5) if status == "replied" else None
            closed = None
            running = [close_due] + ([reply_due] if replied is None else [])
            running += [assign_due] if assigned is None else []
            next_due = stamp(min(running))
            if rng.random() < 0.1:
                supervisions.append((case_id, rng.choice(("remind", "flag", "summon"))))
        else:
            status = "closed" if rng.random() < 0.97 else "rejected"
            assigned = received + timedelta(hours=rng.uniform(2, 100))
            replied = received + timedelta(days=rng.uniform(1, 20))
            closed = received + timedelta(days=rng.uniform(2, 70))
            next_due = end_of_time
            if status == "closed" and rng.random() < 0.6:
                value = rng.choices(("满意", "基本满意", "不满意"), (70, 20, 10))[0]
                ratings.append((case_id, value, stamp(closed + timedelta(days=1))))
        repeat_of = rng.randint(1, case_id - 1) if case_id > 1 and rng.random() < 0.03 else None
        rows.append(
            (
                case_id,
                rng.choice(CHANNELS),
                f"B{case_id}",
                f"第{case_id}号留言 道路积水",
                "正文",
                stamp(received),
                "城乡建设",
                "A1区",
                "normal",
                status,
                unit if assigned or status == "rejected" else None,
                stamp(received),
                stamp(received),
                stamp(assigned) if assigned else None,
                stamp(replied) if replied else None,
                stamp(closed) if closed else None,
                stamp(assign_due),
                stamp(reply_due),
                stamp(close_due),
                next_due,
                repeat_of,
                stamp(received),
                stamp(received),
                "bench",
            )
        )
        if len(rows) == 50_000:
            _insert(conn, rows)
            rows = []
    _insert(conn, rows)
    conn.executemany(
        "INSERT INTO ratings (case_id, value, follow_up, rated_at) VALUES (?, ?, 0, ?)", ratings
    )
    conn.executemany(
        "INSERT INTO supervisions (case_id, level, note, created_at) "
        "VALUES (?, ?, 'bench', '2025-10-20 02:00:00.000000')",
        supervisions,
    )
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.commit()
    conn.execute("PRAGMA journal_mode=WAL")  # as the store runs it
    conn.close()


def _insert(conn: sqlite3.Connection, rows: list[tuple[object, ...]]) -> None:
    conn.executemany(
        "INSERT INTO cases (id, channel, external_id, title, body, received_at, category, "
        "region, urgency, status, lead_unit_id, assign_started_at, clock_started_at, "
        "assigned_at, replied_at, closed_at, assign_due_at, reply_due_at, close_due_at, "
        "next_due_at, repeat_of_id, created_at, updated_at, updated_by, provisional, version) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 1)",
        rows,
    )


def timed(action: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time in ms of `repeat` runs, after one warm-up run."""
    action()
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        runs.append((time.perf_counter() - start) * 1000)
    return statistics.median(runs)


def main() -> None:
    folder = Path(tempfile.gettempdir()) / "caseworker-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"reports-v{DATA_VERSION}-{head_revision()}-{CASES}.sqlite"
    if not path.exists():
        start = time.perf_counter()
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        build(partial)
        partial.rename(path)
        print(f"built {CASES:,} cases in {time.perf_counter() - start:.1f} s: {path.name}")
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    store = open_store(str(path))

    # The overdue query exactly as the service sends it, captured from SQLAlchemy.
    captured: list[tuple[str, tuple[object, ...]]] = []

    def capture(_c: object, _cur: object, sql: str, params: object, *_: object) -> None:
        if "next_due_at <" in sql:
            captured.append((sql, tuple(params)))  # type: ignore[arg-type]

    event.listen(store.engine, "before_cursor_execute", capture)
    with store.session() as session:
        overdue = overdue_cases(session, rules.calendar, as_of=AS_OF)
    event.remove(store.engine, "before_cursor_execute", capture)
    sql, params = captured[0]
    full_scan_sql = sql.replace(
        "FROM cases LEFT OUTER JOIN", "FROM cases NOT INDEXED LEFT OUTER JOIN"
    )
    assert full_scan_sql != sql
    raw = sqlite3.connect(path)
    plan = [row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + sql, params)]
    scan_plan = [row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + full_scan_sql, params)]
    indexed_ms = timed(lambda: raw.execute(sql, params).fetchall())
    scan_ms = timed(lambda: raw.execute(full_scan_sql, params).fetchall(), repeat=3)
    with store.session() as session:
        service_ms = timed(lambda: overdue_cases(session, rules.calendar, as_of=AS_OF))
    print(f"cases: {CASES:,}; overdue at {AS_OF.isoformat()}: {len(overdue):,}")
    print(f"overdue query plan: {plan[0]}")
    print(f"overdue query (SQL only):      {indexed_ms:8.1f} ms")
    print(
        f"  baseline full scan:          {scan_ms:8.1f} ms   ({scan_plan[0]}); "
        f"index is {scan_ms / indexed_ms:.0f}x faster"
    )
    print(
        f"overdue_cases() incl. working days per row: {service_ms:8.1f} ms "
        f"({service_ms / indexed_ms:.1f}x the SQL alone)"
    )

    command = [
        sys.executable,
        "-m",
        "caseworker",
        "--db",
        str(path),
        "--clerk",
        "bench",
        "--now",
        AS_OF.isoformat(),
    ]

    def run(*args: str) -> None:
        subprocess.run([*command, *args], check=True, capture_output=True)

    def python_pass() -> None:
        subprocess.run([sys.executable, "-c", "pass"], check=True)

    help_ms = timed(lambda: run("--help"), repeat=3)
    for fmt in ("json", "table"):

        def report(fmt: str = fmt) -> None:
            run("report", "overdue", "--format", fmt)

        # The report and the interpreter launched in turn: the ratio holds on a busy machine.
        pairs = [(timed(report, repeat=1), timed(python_pass, repeat=1)) for _ in range(5)]
        report_ms = statistics.median(a for a, _ in pairs)
        hello_ms = statistics.median(b for _, b in pairs)
        print(
            f"`report overdue --format {fmt}` whole command: {report_ms:7.0f} ms (target < 500; "
            f"baselines: `python -c pass` {hello_ms:.0f} ms, ratio "
            f"{statistics.median(a / b for a, b in pairs):.1f}; `caseworker --help` "
            f"{help_ms:.0f} ms, ratio {report_ms / help_ms:.2f})"
        )

    count_ms = timed(lambda: raw.execute("SELECT COUNT(*) FROM cases NOT INDEXED").fetchall(), 3)
    with store.session() as session:
        rates_ms = timed(
            lambda: unit_rates(session, rules, period=Period.QUARTER, at=AS_OF.date(), now=AS_OF),
            repeat=3,
        )
        county_ms = timed(
            lambda: unit_rates(
                session,
                rules,
                period=Period.QUARTER,
                at=AS_OF.date(),
                now=AS_OF,
                level="county",
            ),
            repeat=3,
        )
    rates_cmd_ms = timed(lambda: run("report", "rates", "--period", "quarter"), repeat=3)
    print(
        f"unit_rates() for a quarter: {rates_ms:7.0f} ms; --level county {county_ms:.0f} ms "
        f"(baseline one full COUNT(*) {count_ms:.0f} ms; ratio {rates_ms / count_ms:.1f})"
    )
    print(f"`report rates --period quarter` whole command: {rates_cmd_ms:7.0f} ms")
    raw.close()
    store.close()


if __name__ == "__main__":
    main()
