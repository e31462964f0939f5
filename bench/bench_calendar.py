"""Print how fast WorkCalendar.workdays_between is against a day-by-day loop, measured together.

Reports count overdue working days for up to a million cases, so the per-call cost matters.
Run: .venv/bin/python bench/bench_calendar.py [--pairs 1000000] [--baseline-pairs 20000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date, timedelta
from pathlib import Path

try:
    from caseworker.domain.calendar import WorkCalendar
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from caseworker.domain.calendar import WorkCalendar


def random_pairs(count: int, seed: int) -> list[tuple[date, date]]:
    """Pairs like (due day, as-of day) spread over 2024-2027, spans up to about a year."""
    rng = random.Random(seed)
    origin = date(2024, 1, 1).toordinal()
    pairs = []
    for _ in range(count):
        after = origin + rng.randrange(0, 4 * 365 - 400)
        pairs.append((date.fromordinal(after), date.fromordinal(after + rng.randrange(0, 400))))
    return pairs


def naive_between(calendar: WorkCalendar, after: date, upto: date) -> int:
    """The obvious loop: ask about every day in the span."""
    count = 0
    day = after + timedelta(days=1)
    while day <= upto:
        count += calendar.is_workday(day)
        day += timedelta(days=1)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pairs", type=int, default=1_000_000)
    parser.add_argument("--baseline-pairs", type=int, default=20_000)
    args = parser.parse_args()

    calendar = WorkCalendar()
    pairs = random_pairs(args.pairs, seed=1)
    for year in range(2024, 2029):  # build the year tables outside the timing
        calendar.is_workday(date(year, 1, 1))

    began = time.perf_counter()
    fast_total = sum(calendar.workdays_between(a, b) for a, b in pairs)
    fast_rate = len(pairs) / (time.perf_counter() - began)

    sample = pairs[: args.baseline_pairs]
    began = time.perf_counter()
    naive_total = sum(naive_between(calendar, a, b) for a, b in sample)
    naive_rate = len(sample) / (time.perf_counter() - began)

    fast_sample = sum(calendar.workdays_between(a, b) for a, b in sample)
    assert fast_sample == naive_total, "fast and naive counts disagree"

    print(f"workdays_between: {fast_rate:,.0f} calls/s over {len(pairs):,} pairs")
    print(f"                  (checksum {fast_total})")
    print(f"naive day loop:   {naive_rate:,.0f} calls/s over {len(sample):,} pairs")
    print(f"speed-up:         {fast_rate / naive_rate:,.1f}x")


if __name__ == "__main__":
    main()
