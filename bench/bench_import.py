"""Print import and export speed in rows/s beside baselines measured in the same run.

Bureaus import a year's file in one go. This generates N messages from the real rows of
attachment 3 (ids varied, so every row is a new case), then times, each in its own process so
peak memory is its own:
  - floor:     plain stdlib sqlite3 executemany of the same rows into a bare table;
  - schema:    the rows an import stored (cases and their events), copied as ready tuples by
               executemany into a fresh database of the real schema (its indexes, WAL, batches of
               5,000 a transaction), timing only the INSERTs and COMMITs: what SQLite alone costs
               with no reading or checking at all, the ceiling of any import into this schema;
               then the same with the lookups every import's writer must make (each key, for
               idempotency; each text key and author in the repeat window), and with those and
               every event sealed: bounds on any import that keeps those guarantees;
  - naive:     one `create_case` per transaction (what a loop over the service would do);
  - import of attachment 3 itself (XLSX, 4,326 rows), and of the generated CSV, JSON Lines and
    XLSX files, through `run_import` (mapping, validation, keys, clocks, events, indexes), with
    search indexing deferred as the command does it; files of 16 MB or more are read and
    prepared in a second process, and the CSV is also imported with everything in one process;
  - the search index catching up on that import afterwards, beside a plain FTS5 trigram
    rebuild of the same rows, and an import with the index kept row by row (first
    --inline-rows rows) and one with no search index at all;
  - export of everything to JSON Lines and CSV.
Peak memory is the phase's own process; with a second process its peak is printed beside it.
Run: .venv/bin/python bench/bench_import.py [--rows 1000000] [--naive-rows 2000] [--xlsx-rows 20000]
     [--inline-rows 10000]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DATASETS = ROOT / "tests" / "data" / "datasets"
ATTACHMENT3 = DATASETS / "tipdm2020" / "attachment3-messages-with-votes.xlsx"
HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "反对数", "点赞数"]
NOW = "2026-11-20T10:00:00+08:00"


def real_rows() -> list[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(ATTACHMENT3, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    book.close()
    return [r for r in rows if r[0] is not None]


def generate(folder: Path, count: int, xlsx_count: int, days: int = 600) -> dict[str, Path]:
    """CSV, JSON Lines and XLSX of `count` (XLSX: `xlsx_count`) messages built from real text.

    Realistic lengths: titles of about 20 characters and bodies of 200-600, cut from the real
    titles and bodies of attachment 3 at seeded random places, so every message differs.
    """
    base = real_rows()
    titles = "".join(str(r[2] or "").strip() for r in base)
    bodies = "".join(" ".join(str(r[4] or "").split()) for r in base)
    start = datetime(2025, 1, 1, 8, 0)
    span = max(1, int(timedelta(days=days).total_seconds() // max(count, 1)))

    def rows(n: int) -> Any:
        chance = random.Random(20261122)  # the same messages in every format
        for i in range(n):
            r = base[i % len(base)]
            when = start + timedelta(seconds=i * span)
            t_len, b_len = chance.randint(14, 26), chance.randint(200, 600)
            t_at = chance.randrange(len(titles) - t_len)
            b_at = chance.randrange(len(bodies) - b_len)
            yield [
                f"G{i:07d}",
                r[1],
                titles[t_at : t_at + t_len],
                when.strftime("%Y/%m/%d %H:%M:%S"),
                bodies[b_at : b_at + b_len],
                r[5],
                r[6],
            ]

    paths = {
        "csv": folder / "messages.csv",
        "jsonl": folder / "messages.jsonl",
        "xlsx": folder / "messages.xlsx",
    }
    with paths["csv"].open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows(count))
    with paths["jsonl"].open("w", encoding="utf-8") as handle:
        for row in rows(count):
            handle.write(json.dumps(dict(zip(HEADER, row, strict=True)), ensure_ascii=False) + "\n")
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("Sheet1")
    sheet.append(HEADER)
    for row in rows(xlsx_count):
        sheet.append(row)
    book.save(paths["xlsx"])
    return paths


# ---------------------------------------------------------------- phases (one process each)


def _open(db: Path, search: bool = True) -> Any:
    from caseworker.clock import FrozenClock
    from caseworker.config import DATA_DIR
    from caseworker.services.cases import Desk
    from caseworker.services.people import ensure_first_supervisor
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    store = open_store(str(db))
    with store.session() as session:
        ensure_first_supervisor(session, "bench")
    if not search:
        # Search indexing is measured on its own: drop the triggers that index each new case.
        with store.engine.begin() as connection:
            triggers = (
                connection.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases'"
                )
                .scalars()
                .all()
            )
            for name in triggers:
                connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    return store, Desk(rules, FrozenClock(datetime.fromisoformat(NOW)), "bench")


def phase_floor(source: Path, db: Path) -> int:
    """Plain sqlite3: parse the CSV and executemany into a bare table, one transaction."""
    connection = sqlite3.connect(db)
    connection.execute(
        "CREATE TABLE cases (id INTEGER PRIMARY KEY, channel TEXT, external_id TEXT, author TEXT,"
        " title TEXT, received_at TEXT, body TEXT, extra TEXT)"
    )
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        rows = (("leader-board", r[0], r[1], r[2], r[3], r[4], json.dumps(r[5:])) for r in reader)
        connection.executemany(
            "INSERT INTO cases (channel, external_id, author, title, received_at, body, extra)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
    connection.commit()
    count = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
    connection.close()
    return int(count)


def phase_schema(imported: Path, db: Path, required: str = "") -> tuple[int, float]:
    """SQLite's own cost of the import's writes: stored rows re-inserted into the real schema.

    Read back 5,000 cases (and their events) at a time; only the INSERTs and COMMITs are timed.
    `required` adds, inside the timing, work every import's writer must do besides: "keys"
    asks for each row's key (the idempotency check); "repeats" for the earlier cases of its
    text key and its author in the 30-day window (the repeat tests' candidates), by the
    import's own queries, comparing nothing; "seals" seals every event anew (SHA-256 on its
    case's chain: the tamper-evident history). Neither does any per-row Python of reading, checking
    or preparing: they bound what any import keeping these guarantees can reach.
    """
    from caseworker.domain.triage_repeats import WINDOW
    from caseworker.store.audit import EVENT_FIELDS, Chain
    from caseworker.store.engine import open_store

    open_store(str(db)).close()  # the real schema, by the migrations
    source = sqlite3.connect(imported)
    connection = sqlite3.connect(db)
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "synchronous=NORMAL",
        "cache_size=-65536",
    ):
        connection.execute(f"PRAGMA {pragma}")
    # As a bulk import leaves it: the search index waits for its catch-up (no insert trigger).
    connection.execute("DROP TRIGGER IF EXISTS cases_fts_insert")
    top = source.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0]
    names = [d[0] for d in source.execute("SELECT * FROM cases LIMIT 0").description]
    events_names = [d[0] for d in source.execute("SELECT * FROM events LIMIT 0").description]
    signed = [d[0] for d in source.execute("SELECT * FROM case_signatures LIMIT 0").description]
    text_key = signed.index("text_key")
    seconds = 0.0
    for low in range(1, top + 1, 5000):
        span = (low, low + 5000)
        cases = source.execute("SELECT * FROM cases WHERE id >= ? AND id < ?", span).fetchall()
        events = source.execute(
            "SELECT * FROM events WHERE case_id >= ? AND case_id < ? ORDER BY id", span
        ).fetchall()
        # The text keys the repeat tests look up, and the repeats marked (their links).
        signatures = source.execute(
            "SELECT * FROM case_signatures WHERE case_id >= ? AND case_id < ?", span
        ).fetchall()
        links = source.execute(
            "SELECT * FROM case_links WHERE case_id >= ? AND case_id < ? ORDER BY id", span
        ).fetchall()
        start = time.perf_counter()
        if required:
            keys = sorted({row[text_key] for row in signatures})
            _lookups(connection, cases, names, keys, WINDOW, "repeats" in required)
        if "seals" in required:
            # The events' content in the chain's field order, sealed anew on fresh chains
            # (every case is new), then stored with the new seal in place of the old one.
            fields = [events_names.index(f) for f in EVENT_FIELDS]
            sealed = Chain().seal_tuples([tuple(e[i] for i in fields) for e in events])
            at = events_names.index("hash")
            events = [(*e[:at], t[-1], *e[at + 1 :]) for e, t in zip(events, sealed, strict=True)]
        connection.executemany(
            f"INSERT INTO cases VALUES ({', '.join('?' * len(cases[0]))})", cases
        )
        connection.executemany(
            f"INSERT INTO events VALUES ({', '.join('?' * len(events[0]))})", events
        )
        for table, rows in (("case_signatures", signatures), ("case_links", links)):
            if rows:
                connection.executemany(
                    f"INSERT INTO {table} VALUES ({', '.join('?' * len(rows[0]))})", rows
                )
        connection.commit()
        seconds += time.perf_counter() - start
    count = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
    connection.close()
    source.close()
    return int(count), seconds


def _lookups(
    connection: Any,
    cases: list[Any],
    names: list[str],
    keys: list[str],
    window: timedelta,
    repeats: bool,
) -> None:
    """The lookups of an import's writer for a batch of case rows (as stored): each key's
    stored case (services.imports.runner._stored), then, with `repeats`, the earlier
    signatures of the batch's text keys and authors in the window (services.repeats.mark_new),
    results fetched."""
    channel, external, received, author = (
        names.index(n) for n in ("channel", "external_id", "received_at", "author")
    )
    by_channel: dict[str, list[str]] = {}
    for row in cases:
        by_channel.setdefault(row[channel], []).append(row[external])
    for name, ids in by_channel.items():
        for low in range(0, len(ids), 500):
            part = ids[low : low + 500]
            connection.execute(
                "SELECT id, external_id, title, body, received_at, author, category FROM cases"
                f" WHERE channel = ? AND external_id IN ({', '.join('?' * len(part))})",
                [name, *part],
            ).fetchall()
    if not repeats:
        return
    times = sorted(row[received] for row in cases)
    first = datetime.fromisoformat(times[0]) - window
    bounds = (first.isoformat(" ", "microseconds"), times[-1])
    for low in range(0, len(keys), 500):
        part = keys[low : low + 500]
        connection.execute(
            "SELECT case_id, received_at, text_key, author FROM case_signatures WHERE text_key IN "
            f"({', '.join('?' * len(part))}) AND received_at >= ? AND received_at <= ? "
            "ORDER BY received_at, case_id",
            [*part, *bounds],
        ).fetchall()
    authors = sorted({row[author] for row in cases if row[author]})
    for low in range(0, len(authors), 500):
        part = authors[low : low + 500]
        connection.execute(
            "SELECT case_id, received_at, text_key, author, pair_count, pair_bits "
            "FROM case_signatures WHERE author IN "
            f"({', '.join('?' * len(part))}) AND received_at >= ? AND received_at <= ?",
            [*part, *bounds],
        ).fetchall()


def phase_naive(source: Path, db: Path, limit: int) -> int:
    """One create_case (the service a clerk's `case new` uses) per row and transaction."""
    from caseworker.services.cases import NewCase, create_case
    from caseworker.services.imports.normalise import clean_text, parse_time

    store, desk = _open(db)
    count = 0
    with source.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for row in reader:
            if count >= limit:
                break
            with store.session() as session:
                create_case(
                    session,
                    desk,
                    NewCase(
                        channel="leader-board",
                        external_id=row[0],
                        author=row[1],
                        title=clean_text(row[2]),
                        received_at=parse_time(row[3]),  # type: ignore[arg-type]
                        body=clean_text(row[4]),
                        extra={"dislikes": row[5], "likes": row[6]},
                    ),
                )
            count += 1
    store.close()
    return count


def phase_import(
    source: Path,
    db: Path,
    search: str = "deferred",
    reader: str = "auto",
    repeats: str = "marked",
) -> int:
    """`run_import` as the command runs it; search "deferred" (default), "inline" or "none";
    reader "auto" (a second process for large files, as the command does) or "one" process;
    repeats "marked" (as the command does) or "unmarked" (no signatures, no repeat tests)."""
    from caseworker.services.imports import ImportOptions, run_import, runner

    if repeats == "unmarked":
        runner.mark_new = lambda *_a, **_k: 0  # type: ignore[assignment]
    store, desk = _open(db, search != "none")
    if search == "inline":
        runner.DEFER_SEARCH_AT = 1 << 62  # every case indexed by the trigger as it is written
    parallel = False if reader == "one" else None
    summary = run_import(
        store,
        desk,
        source,
        ImportOptions(
            rejects=db.with_suffix(".rejects"),
            parallel=parallel,
        ),
    )
    store.close()
    assert summary.rejected == 0, summary.line()
    return summary.imported + summary.duplicates


def phase_catch_up(db: Path) -> int:
    """The search index catching up on what deferred imports left (services.search_backlog)."""
    from caseworker.services.search_backlog import backlog, catch_up

    connection = sqlite3.connect(db)
    pending = backlog(connection.cursor())
    connection.close()
    done = catch_up(str(db))
    assert done == pending, (done, pending)
    return done


def phase_search(db: Path) -> int:
    """Rebuild the search index over every case, as a separate step after an import."""
    connection = sqlite3.connect(db)
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    if "cases_fts" not in tables:
        return 0
    connection.execute("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")
    connection.commit()
    count = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
    connection.close()
    return int(count)


def phase_export(db: Path, target: Path, fmt: str) -> int:
    from caseworker.services.exporting import ExportFilter, export_cases

    store, _ = _open(db)
    summary = export_cases(
        store, target, fmt=fmt, flt=ExportFilter(), now=datetime.fromisoformat(NOW)
    )
    store.close()
    return summary.cases


def run_phase(args: list[str]) -> tuple[int, float, float, float]:
    """Run one phase in a fresh process: rows, seconds, peak memory in MB (its own, and its
    largest child's)."""
    done = subprocess.run(
        [sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"phase {args[0]} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    return result["rows"], result["seconds"], result["peak_mb"], result["child_mb"]


def child(argv: list[str]) -> None:
    name, *rest = argv
    start = time.perf_counter()
    if name == "floor":
        rows = phase_floor(Path(rest[0]), Path(rest[1]))
    elif name == "schema":
        rows, own = phase_schema(Path(rest[0]), Path(rest[1]), *rest[2:])
        start = time.perf_counter() - own  # its own timing: the INSERTs and COMMITs only
    elif name == "naive":
        rows = phase_naive(Path(rest[0]), Path(rest[1]), int(rest[2]))
    elif name == "import":
        rows = phase_import(Path(rest[0]), Path(rest[1]), *rest[2:])
    elif name == "catch-up":
        rows = phase_catch_up(Path(rest[0]))
    elif name == "search":
        rows = phase_search(Path(rest[0]))
    else:
        rows = phase_export(Path(rest[0]), Path(rest[1]), rest[2])
    seconds = time.perf_counter() - start
    # This process's own high-water mark: ru_maxrss would carry the bench's from the fork.
    status = Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]
    peak = int(status) / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "child_mb": child}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--phase":
        child(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--naive-rows", type=int, default=2_000)
    parser.add_argument("--xlsx-rows", type=int, default=20_000)
    parser.add_argument(
        "--inline-rows",
        type=int,
        default=10_000,
        help="rows of the CSV imported with search indexed row by row (0: skip)",
    )
    parser.add_argument(
        "--import-only",
        action="store_true",
        help="only the floor, the naive loop, the CSV import (with and without repeat marking)"
        " and the schema's ceiling",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=600,
        help="the days the generated messages span (fewer: authors write again within 30 days"
        " at smaller sizes, as they do from 100,000 rows over 600 days)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t = time.perf_counter()
        files = generate(folder, args.rows, args.xlsx_rows, args.days)
        print(
            f"generated {args.rows:,} rows (XLSX {args.xlsx_rows:,}) in "
            f"{time.perf_counter() - t:.1f} s from {ATTACHMENT3.name}"
        )
        results: list[tuple[str, int, float, float, float]] = []

        def measure(label: str, *phase: str) -> float:
            rows, seconds, peak, child = run_phase(list(phase))
            results.append((label, rows, seconds, peak, child))
            return rows / seconds

        floor = measure(
            "floor: sqlite3 executemany, bare table",
            "floor",
            str(files["csv"]),
            str(folder / "floor.sqlite"),
        )
        naive = measure(
            "naive: create_case, 1 row/transaction",
            "naive",
            str(files["csv"]),
            str(folder / "naive.sqlite"),
            str(args.naive_rows),
        )
        measure(
            "import attachment3 (XLSX, real)",
            "import",
            str(ATTACHMENT3),
            str(folder / "real.sqlite"),
        )
        measure(
            "import CSV (search deferred)", "import", str(files["csv"]), str(folder / "csv.sqlite")
        )
        measure(
            "schema: its stored rows re-inserted, no Python",
            "schema",
            str(folder / "csv.sqlite"),
            str(folder / "schema.sqlite"),
        )
        for label, required in (
            ("schema + looking up each key", "keys"),
            ("schema + keys + sealing every event", "keys seals"),
            ("schema + keys + repeat lookups", "keys repeats"),
            ("schema + keys + repeat lookups + seals", "keys repeats seals"),
        ):
            name = required.replace(" ", "-")
            measure(
                label,
                "schema",
                str(folder / "csv.sqlite"),
                str(folder / f"schema-{name}.sqlite"),
                required,
            )
        if args.import_only:
            measure(
                "import CSV, repeats not marked",
                "import",
                str(files["csv"]),
                str(folder / "unmarked.sqlite"),
                "deferred",
                "auto",
                "unmarked",
            )
            report(results, floor, naive)
            return
        search_rate = measure(
            "  search catch-up after it (background)", "catch-up", str(folder / "csv.sqlite")
        )
        baseline = measure(
            "search baseline: FTS5 trigram rebuild", "search", str(folder / "csv.sqlite")
        )
        if args.inline_rows:
            inline = folder / "inline.csv"
            with files["csv"].open(encoding="utf-8") as src:  # one message a line: no newlines
                inline.write_text("".join(islice(src, args.inline_rows + 1)), encoding="utf-8")
            measure(
                "import CSV, search indexed inline",
                "import",
                str(inline),
                str(folder / "inline.sqlite"),
                "inline",
            )
        measure(
            "import CSV, no search index at all",
            "import",
            str(files["csv"]),
            str(folder / "nosearch.sqlite"),
            "none",
        )
        measure(
            "import CSV, all in one process",
            "import",
            str(files["csv"]),
            str(folder / "one.sqlite"),
            "deferred",
            "one",
        )
        measure("import JSON Lines", "import", str(files["jsonl"]), str(folder / "jsonl.sqlite"))
        measure("import XLSX", "import", str(files["xlsx"]), str(folder / "xlsx.sqlite"))
        measure(
            "re-import CSV (all duplicates)",
            "import",
            str(files["csv"]),
            str(folder / "csv.sqlite"),
        )
        measure(
            "export JSON Lines",
            "export",
            str(folder / "csv.sqlite"),
            str(folder / "out.jsonl"),
            "jsonl",
        )
        measure("export CSV", "export", str(folder / "csv.sqlite"), str(folder / "out.csv"), "csv")
    report(results, floor, naive)
    print(
        f"search index off the import's path: the import returns, then the catch-up indexes "
        f"at {search_rate:,.0f} rows/s = {search_rate / baseline:.2f}x the FTS5 rebuild; "
        "searches stay exact meanwhile (LIKE over the pending range)"
    )


def report(results: list[tuple[str, int, float, float, float]], floor: float, naive: float) -> None:
    """The phases' figures, each beside the floor and the naive loop of the same run, and the
    import beside the schema's ceiling."""
    # Wall-clock rates on a shared machine move with its load; the ratios are measured together.
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average (1, 5, 15 min) at the end: {load} on {os.cpu_count()} CPUs")
    print(
        f"{'phase':42} {'rows':>9} {'seconds':>8} {'rows/s':>9} {'x floor':>8} {'x naive':>8}"
        f" {'peak MB':>8} {'reader MB':>9}"
    )
    for label, rows, seconds, peak, reader in results:
        rate = rows / seconds
        print(
            f"{label:42} {rows:>9,} {seconds:>8.2f} {rate:>9,.0f} {rate / floor:>8.3f}"
            f" {rate / naive:>8.1f} {peak:>8.0f} {reader:>9.0f}"
        )
    rates = {label: rows / seconds for label, rows, seconds, _, _ in results}
    ceiling = rates.get("schema: its stored rows re-inserted, no Python")
    if ceiling:
        for label, rate in rates.items():
            if label.startswith(("import CSV", "schema +")):
                print(f"{label}: {rate / ceiling:.2f}x the schema's ceiling")


if __name__ == "__main__":
    main()
