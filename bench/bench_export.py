"""How fast `export` writes cases, beside the floors measured in the same run.

Run: .venv/bin/python bench/bench_export.py [CASES] [--before DIR] [--only CSV,XLSX] [--lean]
(DIR: an earlier caseworker package, e.g. `git archive b66b8e5 caseworker | tar -x -C DIR`; an
older one than the database's schema reads a copy marked at the newest migration it has)

The database is the demo bureau (cases with their events, replies, ratings, extensions...),
built once by the demo's bulk writer and cached in the temp directory under a name keyed by
the size and the schema revision; above 200,000 cases it is copies of the 200,000-case one.
Prints rows/s for JSON Lines, CSV and XLSX, by wall and by CPU time (the steadier on a loaded
machine), and the floors: plain `sqlite3` reading every column of the cases table and writing
each row with `json.dumps` (JSON Lines) or `csv.writer` (CSV); the JSON Lines floor with each
case's attached rows dumped with it, as the export's records carry them; only reading the
cases and their attached rows by the export's keyset ranges; and the cases table written
as stored by rustpy-xlsxwriter (what the export writes with), XlsxWriter (with `.[bench]`)
and openpyxl's write-only mode (each writer's own pace). Each run
happens in a fresh process, so its peak memory (VmHWM) and CPU time are its own.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    from caseworker.clock import FrozenClock
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from caseworker.clock import FrozenClock

from caseworker.config import DATA_DIR
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.demo.build import build_demo
from caseworker.services.exporting import ExportFilter, export_cases
from caseworker.services.rules import load_rules
from caseworker.store.engine import head_revision, open_store

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


# Above this size the store is copies of the demo bureau of this size (the demo's writer takes
# most of an hour for a million cases on a busy machine; the export reads the same shapes).
BASE = 200_000


def database(cases: int) -> Path:
    path = Path(tempfile.gettempdir()) / f"cw-bench-export-{cases}-{head_revision()}.sqlite"
    if not path.exists() and cases > BASE and cases % BASE == 0:
        copies(database(BASE), path, cases // BASE)
    if not path.exists():
        partial = path.with_suffix(".building")
        partial.unlink(missing_ok=True)
        store = open_store(str(partial))
        started = time.perf_counter()
        build_demo(
            store,
            load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml"),
            seed=1,
            cases=cases,
            now=FrozenClock(NOW).now(),
        )
        store.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{partial}{suffix}").unlink(missing_ok=True)
        partial.rename(path)
        print(f"built {cases:,} demo cases in {time.perf_counter() - started:.0f} s")
    return path


# The tables an export reads whose rows point at cases, and those pointers.
CASE_POINTERS = {
    "cases": ("id", "repeat_of_id", "merged_into_id"),
    "case_co_units": ("case_id",),
    "replies": ("case_id",),
    "ratings": ("case_id",),
    "extensions": ("case_id",),
    "supervisions": ("case_id",),
    "instructions": ("case_id",),
    "pauses": ("case_id",),
    "case_links": ("case_id", "target_id"),
    "events": ("case_id",),
}


def as_known_to(db: Path, code: Path) -> Path:
    """`db` as the code in `code` can open it: a copy (made once) whose schema version says
    the newest migration that code has, when it has fewer than this code's. Later migrations
    only add, so the older code reads the same rows; without the copy it refuses a database
    newer than itself."""
    versions = code / "caseworker" / "store" / "migrations" / "versions"
    known = max((p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py")), default="")
    if not known or known >= head_revision():
        return db
    copy = db.with_name(f"{db.stem}-as-{known}.sqlite")
    if not copy.exists():
        partial = copy.with_suffix(".copying")
        shutil.copyfile(db, partial)
        connection = sqlite3.connect(partial)
        with connection:
            connection.execute("UPDATE alembic_version SET version_num = ?", (known,))
        connection.close()
        partial.rename(copy)
    return copy


def copies(base: Path, path: Path, times: int) -> None:
    """A store of `times` copies of `base`'s cases and everything attached to them, each copy's
    ids shifted past the last and its external ids marked `~N` (the search index is left to
    the first copy: an export does not read it)."""
    started = time.perf_counter()
    partial = path.with_suffix(".building")
    partial.unlink(missing_ok=True)
    source = sqlite3.connect(base)
    target = sqlite3.connect(partial)
    source.backup(target)
    source.close()
    target.execute("DROP TRIGGER IF EXISTS cases_fts_insert")
    cases_top = target.execute("SELECT max(id) FROM cases").fetchone()[0] or 0
    for table, pointers in CASE_POINTERS.items():
        columns = [r[1] for r in target.execute(f"PRAGMA table_info({table})")]
        top = target.execute(f"SELECT max(id) FROM {table}").fetchone()[0] or 0
        for n in range(1, times):
            picks = []
            for name in columns:
                if name in pointers:
                    picks.append(f"{name} + {n * cases_top}")
                elif name == "id":
                    picks.append(f"id + {n * top}")
                elif table == "cases" and name == "external_id":
                    picks.append(f"external_id || '~{n}'")
                else:
                    picks.append(name)
            target.execute(
                f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(picks)} "
                f"FROM {table} WHERE id <= {top}"
            )
        target.commit()
    target.close()
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    partial.rename(path)
    print(f"copied the {BASE:,}-case bureau {times} times in {time.perf_counter() - started:.0f} s")


def floor_jsonl(db: Path, out: Path) -> int:
    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases")
    names = [d[0] for d in cursor.description]
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for row in cursor:
            handle.write(json.dumps(dict(zip(names, row, strict=True)), ensure_ascii=False) + "\n")
            count += 1
    conn.close()
    return count


def floor_jsonl_attached(db: Path, out: Path) -> int:
    """The JSON Lines floor with everything attached: each case's row and its rows of the
    attached tables (read alongside, one ordered scan per table), one json.dumps a case."""
    from caseworker.services.exporting import CHILDREN

    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases ORDER BY id")
    names = [d[0] for d in cursor.description]
    scans = []
    for key, model in CHILDREN.items():
        scan = conn.cursor().execute(f"SELECT * FROM {model.__tablename__} ORDER BY case_id, id")
        columns = [d[0] for d in scan.description]
        at = columns.index("case_id")
        scans.append((key, columns, at, scan, [next(scan, None)]))
    count = 0
    with out.open("w", encoding="utf-8") as handle:
        for row in cursor:
            doc = {"case": dict(zip(names, row, strict=True))}
            for key, columns, at, scan, ahead in scans:
                rows = []
                while ahead[0] is not None and ahead[0][at] == row[0]:
                    rows.append(dict(zip(columns, ahead[0], strict=True)))
                    ahead[0] = next(scan, None)
                doc[key] = rows
            handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
            count += 1
    conn.close()
    return count


def floor_read_attached(db: Path, out: Path) -> int:
    """What any export carrying everything attached must at least do: read every column of
    the cases and of their attached rows, by the export's keyset ranges (1,000 cases a page,
    one query a table), and write nothing."""
    from caseworker.services.exporting import CHILDREN, PAGE

    conn = sqlite3.connect(db)
    count, after = 0, 0
    while True:
        cases = conn.execute(
            "SELECT * FROM cases WHERE id > ? ORDER BY id LIMIT ?", (after, PAGE)
        ).fetchall()
        if not cases:
            break
        for model in CHILDREN.values():
            conn.execute(
                f"SELECT * FROM {model.__tablename__} WHERE case_id BETWEEN ? AND ?"
                " ORDER BY case_id, id",
                (cases[0][0], cases[-1][0]),
            ).fetchall()
        count += len(cases)
        after = cases[-1][0]
    conn.close()
    out.touch()
    return count


def floor_sqlite_records(db: Path, out: Path) -> int:
    """What the SQLite export leaves to the database: every record's JSON text, built by
    SQLite with the export's own expressions (json_object, names, case keys, Shanghai times)
    over each table in one pass, fetched and dropped: nothing joined, encoded or written."""
    from sqlmodel import Session

    from caseworker.services import exporting

    store = open_store(str(db))
    with Session(store.engine) as session:
        names = exporting.Names.load(session)
        quote = session.get_bind().dialect.identifier_preparer.quote
        plans = [exporting._plan(exporting.CaseRow, names, skip=())] + [
            exporting._plan(model, names, skip=("id",)) for model in exporting.CHILDREN.values()
        ]
    store.close()
    conn = sqlite3.connect(db)
    conn.create_function(exporting._LOCAL_TIME, 1, exporting._local_text, deterministic=True)
    count = 0
    for n, plan in enumerate(plans):
        table = quote(plan.table.name)
        built = exporting._json_object_sql(plan, "x", quote)
        cursor = conn.execute(f"SELECT {built} FROM {table} AS x")
        while rows := cursor.fetchmany(10_000):
            count += len(rows) if n == 0 else 0
    conn.close()
    out.touch()
    return count


def floor_csv(db: Path, out: Path) -> int:
    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases")
    count = 0
    with out.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([d[0] for d in cursor.description])
        for row in cursor:
            writer.writerow(row)
            count += 1
    conn.close()
    return count


def floor_xlsxwriter(db: Path, out: Path) -> int:
    """Every column of the cases table, as stored, into an XLSX sheet by XlsxWriter in
    constant-memory mode (what the XLSX export wrote with before; `pip install -e '.[bench]'`,
    measured only where it is installed)."""
    try:
        import xlsxwriter  # type: ignore[import-untyped,unused-ignore]
    except ModuleNotFoundError:
        return 0

    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases")
    book = xlsxwriter.Workbook(
        str(out), {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = book.add_worksheet("cases")
    sheet.write_row(0, 0, [d[0] for d in cursor.description])
    count = 0
    for count, row in enumerate(cursor, start=1):
        sheet.write_row(count, 0, row)
    book.close()
    conn.close()
    return count


def floor_rustpy(db: Path, out: Path) -> int:
    """The writer's own pace: the same table by rustpy-xlsxwriter, each row a mapping of
    column to value as stored (what the XLSX export writes with)."""
    from rustpy_xlsxwriter import FastExcel

    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases")
    names = [d[0] for d in cursor.description]
    counted = [0]

    def records() -> Any:
        for row in cursor:
            counted[0] += 1
            yield dict(zip(names, row, strict=True))

    FastExcel(str(out)).sheet("cases", records()).save()
    conn.close()
    return counted[0]


def floor_openpyxl(db: Path, out: Path) -> int:
    """The same with openpyxl's write-only mode (what the XLSX export wrote with before)."""
    from openpyxl import Workbook

    conn = sqlite3.connect(db)
    cursor = conn.execute("SELECT * FROM cases")
    book = Workbook(write_only=True)
    sheet = book.create_sheet("cases")
    sheet.append([d[0] for d in cursor.description])
    count = 0
    for row in cursor:
        sheet.append(row)
        count += 1
    book.save(out)
    conn.close()
    return count


def export(db: Path, out: Path, fmt: str) -> int:
    store = open_store(str(db))
    summary = export_cases(store, out, fmt=fmt, flt=ExportFilter(), now=NOW)
    store.close()
    return summary.cases


RUNS: dict[str, Callable[[Path, Path], int]] = {
    "floor json.dumps": floor_jsonl,
    "floor json.dumps, attached": floor_jsonl_attached,
    "floor reading attached only": floor_read_attached,
    "floor SQLite building records": floor_sqlite_records,
    "floor csv.writer": floor_csv,
    "floor XLSX, XlsxWriter": floor_xlsxwriter,
    "floor XLSX, openpyxl": floor_openpyxl,
    "floor XLSX, rustpy-xlsxwriter": floor_rustpy,
    "export JSON Lines": lambda db, out: export(db, out, "jsonl"),
    "export CSV": lambda db, out: export(db, out, "csv"),
    "export XLSX": lambda db, out: export(db, out, "xlsx"),
}


@dataclass(frozen=True)
class Run:
    """One measured run: wall and CPU seconds (user + system), rows, peak memory (MB)."""

    wall: float
    cpu: float
    rows: int
    peak: float


def measured(name: str, db: Path, out: Path, code: Path | None = None) -> Run:
    """One run in a fresh process of its own (with the caseworker package found in `code`
    first, when given)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    process = subprocess.Popen(
        [sys.executable, __file__, "--run", name, str(db), str(out)],
        stdout=subprocess.PIPE,
        env=env,
    )
    assert process.stdout is not None
    text = process.stdout.read().decode()
    status = process.wait()
    if status != 0 or not text:
        raise SystemExit(f"{name} failed (status {status})")
    wall, cpu, rows, peak = text.split()
    return Run(float(wall), float(cpu), int(rows), float(peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="?", type=int, default=200_000)
    parser.add_argument(
        "--before",
        type=Path,
        help="a folder holding an earlier caseworker package (e.g. `git archive REV caseworker`"
        " unpacked): its exports are measured too, in the same run",
    )
    parser.add_argument(
        "--only",
        default="",
        help="measure only the exports whose names hold one of these texts (comma-separated,"
        " e.g. CSV,XLSX), beside the floors",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every run this many times, in turn; each run's best round counts",
    )
    parser.add_argument(
        "--lean",
        action="store_true",
        help="only the two floors the ratios are taken to (for the largest stores)",
    )
    parser.add_argument("--run", nargs=3, metavar=("NAME", "DB", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:  # one measured run, in its own process
        name, db_text, out_text = args.run
        started, used = time.perf_counter(), time.process_time()
        rows = RUNS[name](Path(db_text), Path(out_text))
        wall, cpu = time.perf_counter() - started, time.process_time() - used
        # The peak of this process's own memory (VmHWM starts anew at exec; ru_maxrss would
        # carry the forking parent's size).
        status = Path("/proc/self/status").read_text().split("VmHWM:")[1].split()[0]
        print(wall, cpu, rows, int(status) / 1024)
        return
    db = database(args.cases)
    print(
        f"{args.cases:,} demo cases; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    best: dict[str, Run] = {}
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        only = args.only.split(",")
        # The two floors the ratios are taken to always; those carrying the attached rows
        # with the JSON Lines export.
        chosen = [
            n
            for n in RUNS
            if n in ("floor json.dumps", "floor csv.writer")
            or any(o in n for o in only)
            or (
                n.startswith("floor")
                and "XLSX" not in n
                and not args.lean
                and any(o in "export JSON Lines" for o in only)
            )
        ]
        plan: list[tuple[str, str, Path | None]] = [(n, n, None) for n in chosen]
        if args.before is not None:
            plan += [(f"{n} (before)", n, args.before) for n in chosen if n.startswith("export")]
        older = db if args.before is None else as_known_to(db, args.before)
        for round_ in range(args.rounds):
            for n, (label, name, code) in enumerate(plan):
                run = measured(name, older if code else db, out / f"run{n}", code)
                if run.rows == 0:
                    print(f"{label:29} not installed here")
                    continue
                (out / f"run{n}").unlink(missing_ok=True)
                if label not in best or run.cpu < best[label].cpu:
                    best[label] = run
                print(
                    f"{label:29} {run.rows:>9,} rows {run.wall:7.1f} s wall "
                    f"{run.rows / run.wall:>9,.0f} rows/s, {run.cpu:7.1f} s CPU "
                    f"{run.rows / run.cpu:>9,.0f} rows/s; peak {run.peak:5.0f} MB"
                    + (f" (round {round_ + 1})" if args.rounds > 1 else "")
                )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")

    def ratio(name: str, floor: str) -> str:
        if name not in best or floor not in best:
            return "not measured"
        a, b = best[name], best[floor]
        by_cpu = (a.rows / a.cpu) / (b.rows / b.cpu)
        by_wall = (a.rows / a.wall) / (b.rows / b.wall)
        return f"{by_cpu:.2f}x by CPU time ({by_wall:.2f}x by wall time)"

    print(f"JSON Lines / its floor: {ratio('export JSON Lines', 'floor json.dumps')}")
    attached = ratio("export JSON Lines", "floor json.dumps, attached")
    print(f"JSON Lines / the floor with everything attached: {attached}")
    reading = ratio("floor reading attached only", "floor json.dumps")
    print(f"Only reading the cases and their attached rows / the JSON Lines floor: {reading}")
    building = ratio("floor SQLite building records", "floor json.dumps")
    print(f"Only SQLite building every record / the JSON Lines floor: {building}")
    print(f"CSV / its floor: {ratio('export CSV', 'floor csv.writer')}")
    writers = ratio("floor XLSX, XlsxWriter", "floor XLSX, openpyxl")
    print(f"XLSX writers, XlsxWriter / openpyxl: {writers}")
    rust = ratio("floor XLSX, rustpy-xlsxwriter", "floor XLSX, XlsxWriter")
    print(f"XLSX writers, rustpy-xlsxwriter / XlsxWriter: {rust}")
    alone = ratio("export XLSX", "floor XLSX, rustpy-xlsxwriter")
    print(f"XLSX export / rustpy-xlsxwriter alone: {alone}")
    print(f"XLSX export / openpyxl alone: {ratio('export XLSX', 'floor XLSX, openpyxl')}")
    if args.before is not None:
        for name in ("export JSON Lines", "export CSV", "export XLSX"):
            print(f"{name} / before: {ratio(name, f'{name} (before)')}")


if __name__ == "__main__":
    main()
