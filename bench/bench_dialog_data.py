"""Print how fast the assignment dialog's unit figures load from a large store, against the
obvious way (read every case's unit, status and dates, count in Python), measured together;
and how fast the merge dialog's target search answers.

The assignment dialog shows every candidate unit's open cases and on-time rate; with a million
cases that must stay a grouped query, not a walk over the table.
Run: .venv/bin/python bench/bench_dialog_data.py [--cases 200000] [--units 400]
(filling is the slow part: every insert also feeds the full-text index)
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

try:
    from caseworker.services import console_data
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from caseworker.services import console_data

from sqlmodel import select

from caseworker.services.rules import load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow, Unit

DATA = Path(__file__).resolve().parents[1] / "data"
STATES = ("received", "accepted", "assigned", "acknowledged", "replied", "closed", "rejected")
WORDS = ("幼儿园", "学位", "噪音", "拖欠工资", "公交站", "物业", "积水", "路灯", "违建", "油烟")


NOW = datetime(2025, 11, 20, 2, 0, tzinfo=UTC)


def fill(store: Store, cases: int, units: int, seed: int) -> None:
    """Units under one city, and `cases` cases spread over them and over the last year."""
    rng = random.Random(seed)
    now = NOW
    with store.session() as session:
        session.add(Unit(code="C", name="市政府", level="city"))
        session.flush()
        for n in range(units):
            session.add(Unit(code=f"U{n}", name=f"第{n}承办单位", level="department", parent_id=1))
    table = CaseRow.__table__  # type: ignore[attr-defined]
    batch: list[dict[str, object]] = []
    with store.engine.begin() as connection:
        for n in range(cases):
            received = now - timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
            status = rng.choice(STATES)
            due = received + timedelta(days=60)
            closed = received + timedelta(days=rng.randrange(1, 80)) if status == "closed" else None
            batch.append(
                {
                    "channel": "leader-board",
                    "external_id": str(n),
                    "title": f"{rng.choice(WORDS)}{rng.choice(WORDS)}问题{n}",
                    "body": "正文",
                    "received_at": received,
                    "urgency": "normal",
                    "status": status,
                    "lead_unit_id": rng.randrange(2, units + 2)
                    if status not in STATES[:2]
                    else None,
                    "assign_started_at": received,
                    "clock_started_at": received,
                    "assign_due_at": due,
                    "reply_due_at": due,
                    "close_due_at": due,
                    "closed_at": closed,
                    "provisional": False,
                    "next_due_at": due,
                    "version": 1,
                    "created_at": received,
                    "updated_at": received,
                    "updated_by": "bench",
                }
            )
            if len(batch) == 20_000:
                connection.execute(table.insert(), batch)
                batch.clear()
        if batch:
            connection.execute(table.insert(), batch)


def counted_in_python(store: Store, now: datetime) -> dict[int, tuple[int, int, int]]:
    """The baseline: every case's unit, status and dates read out and counted one by one."""
    open_states = set(STATES[:5])
    since = now - console_data.ON_TIME_WINDOW
    out: dict[int, list[int]] = {}
    with store.session() as session:
        rows = session.exec(
            select(CaseRow.lead_unit_id, CaseRow.status, CaseRow.closed_at, CaseRow.close_due_at)
        ).all()
    for unit, status, closed_at, due in rows:
        if unit is None:
            continue
        figures = out.setdefault(unit, [0, 0, 0])
        if status in open_states:
            figures[0] += 1
        if since <= due < now and status not in ("rejected", "merged"):
            figures[1] += 1
            figures[2] += int(status == "closed" and closed_at is not None and closed_at <= due)
    return {unit: (a, b, c) for unit, (a, b, c) in out.items()}


def timed(what: str, runs: int, work: object) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(runs):
        began = time.perf_counter()
        result = work()  # type: ignore[operator]
        best = min(best, time.perf_counter() - began)
    print(f"{what:<46} {best * 1000:9.1f} ms (best of {runs})")
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases", type=int, default=200_000)
    parser.add_argument("--units", type=int, default=400)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(str(Path(folder) / "bench.sqlite"))
        began = time.perf_counter()
        fill(store, args.cases, args.units, seed=1)
        print(
            f"filled {args.cases:,} cases over {args.units} units "
            f"in {time.perf_counter() - began:.1f} s"
        )

        def grouped() -> object:
            with store.session() as session:
                return console_data.unit_candidates(session, NOW)

        fast, candidates = timed("unit candidates (grouped SQL)", 3, grouped)
        slow, counted = timed(
            "baseline: count every case in Python", 1, lambda: counted_in_python(store, NOW)
        )
        assert isinstance(candidates, list) and isinstance(counted, dict)
        by_id = {u.id: (u.open_cases, u.close_due, u.closed_on_time) for u in candidates}
        assert all(by_id.get(unit) == figures for unit, figures in counted.items()), "mismatch"
        print(f"grouped SQL is {slow / fast:.1f}x faster than the baseline, same figures")

        channels = list(load_rules(DATA / "policy.toml", None).policy.channels)

        def search(query: str) -> object:
            with store.session() as session:
                return console_data.search_merge_targets(
                    session, query, exclude=0, channels=channels
                )

        by_id_time, _ = timed("merge search by id", 5, lambda: search("123456"))
        words_time, _ = timed("merge search by two title words", 3, lambda: search("幼儿园 学位"))
        print(f"a title-word search costs {words_time / by_id_time:.0f}x an id lookup")
        store.close()


if __name__ == "__main__":
    main()
