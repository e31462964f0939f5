"""How long a quarter's bulletin takes (`python bench/bench_documents.py`; BENCH_CASES=N).

The bureau is bench_reports.py's (3 years of cases over 221 units; 1,000,000 by default), with
1% of cases moved to the urgent lane and a population on every county, cached in the temp
directory. Prints each phase of `report bulletin --period quarter` (the ranking computed and
recorded as `report rates` does, intake by channel, overdue units, intake per capita, the
urgent lane, the two charts, the Word file), the whole of it, and beside it, measured in the
same run: the ranking alone (`unit_rates`, what `report rates` costs) and one COUNT(*).
A 交办函 (one case) is timed too, against reading the case alone (`case_detail`).
"""

from __future__ import annotations

import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_reports

from caseworker.config import DATA_DIR
from caseworker.domain.measures import Period
from caseworker.services import documents
from caseworker.services.cases import case_detail
from caseworker.services.rankings import rank_and_record
from caseworker.services.reports import overdue_report, unit_rates
from caseworker.services.rules import load_rules
from caseworker.store.engine import head_revision, open_store

DATA_VERSION = 1
QUARTER_DAY = date(2025, 8, 15)  # the third quarter of 2025: a whole quarter of cases


def build(path: Path) -> None:
    bench_reports.build(path)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE cases SET urgency = 'urgent' WHERE id % 100 = 7")
    conn.execute("UPDATE units SET population = 300000 + id * 1000 WHERE level = 'county'")
    conn.commit()
    conn.close()


def seconds(action: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def main() -> None:
    cases = bench_reports.CASES
    folder = Path(tempfile.gettempdir()) / "caseworker-bench"
    folder.mkdir(exist_ok=True)
    path = folder / f"documents-v{DATA_VERSION}-{head_revision()}-{cases}.sqlite"
    if not path.exists():
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        took, _ = seconds(lambda: build(partial))
        partial.rename(path)
        print(f"built {cases:,} cases in {took:.1f} s: {path.name}")
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    store = open_store(str(path))
    now = bench_reports.AS_OF
    start, end = (
        date(2025, 7, 1),
        date(2025, 10, 1),
    )
    since, until = documents.period_instants(start, end)
    print(f"{cases:,} cases; quarter {start} to {end}; as of {now:%Y-%m-%d %H:%M} UTC")
    with store.session() as s:
        count, n = seconds(lambda: s.execute(text("SELECT COUNT(*) FROM cases")).scalar())
        in_quarter = s.execute(
            text("SELECT COUNT(*) FROM cases WHERE received_at >= :a AND received_at < :b"),
            {"a": since.replace(tzinfo=None), "b": until.replace(tzinfo=None)},
        ).scalar()
        rates_only, _ = seconds(
            lambda: unit_rates(s, rules, period=Period.QUARTER, at=QUARTER_DAY, now=now)
        )
        phases = {
            "ranking computed and recorded": lambda: rank_and_record(
                s, rules, period=Period.QUARTER, at=QUARTER_DAY, now=now, clerk="bench"
            ),
            "intake by channel (and the groups per capita reads)": lambda: (
                documents.intake_by_channel(s, since, until)
            ),
            "overdue units": lambda: overdue_report(s, rules.calendar, as_of=now),
            "intake per 10,000 residents (its own pass)": lambda: documents.intake_per_capita(
                s, since, until
            ),
            "urgent lane minutes": lambda: documents.urgent_assignment_times(s, since, until),
        }
        for name, action in phases.items():
            took, _ = seconds(action)
            print(f"  {name:52} {took * 1000:8.0f} ms")
    out = folder / "bulletin-bench.docx"
    whole, written = seconds(
        lambda: documents.write_bulletin(
            store,
            rules,
            clerk="bench",
            now=now,
            period="quarter",
            at=QUARTER_DAY,
            output=out,
        )
    )
    print(f"whole bulletin (gather, charts, Word file): {whole:.2f} s -> {written.path}")
    print(
        f"  baseline: unit_rates alone (report rates) {rates_only:.2f} s; "
        f"COUNT(*) {count * 1000:.0f} ms"
    )
    print(f"  {n:,} cases in all, {in_quarter:,} received in the quarter")
    with store.session() as s:
        case_id = s.execute(
            text("SELECT id FROM cases WHERE lead_unit_id IS NOT NULL ORDER BY id DESC LIMIT 1")
        ).scalar()
        read, _ = seconds(lambda: case_detail(s, rules, now, int(case_id), clerk=None))
    letter, _ = seconds(
        lambda: documents.write_letter(
            store,
            rules,
            clerk="bench",
            now=now,
            kind="assign",
            ref=int(case_id),
            output=folder / "letter-bench.docx",
        )
    )
    print(
        f"交办函 for one case: {letter * 1000:.0f} ms (reading the case alone {read * 1000:.0f} ms)"
    )
    store.close()


if __name__ == "__main__":
    os.environ.setdefault("MPLBACKEND", "Agg")
    main()
