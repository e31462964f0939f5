"""The import's fast paths compute exactly what the shared services do.

NewCaseClocks caches day and working-day deadlines per start date; these tests compare it,
case by case, with services.clocks for every limit unit in data/policy.toml (days, working
days, hours), both statuses an import creates, and start times around midnight, weekends and
the Spring Festival holiday, where a cache keyed wrongly would show.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.lifecycle import Status
from caseworker.services.clocks import CaseRecords, apply_clocks, case_clocks
from caseworker.services.imports.fastclocks import NewCaseClocks
from caseworker.services.rules import Rules, load_rules

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
DEADLINES = (
    "assign_due_at",
    "reply_due_at",
    "close_due_at",
    "next_due_at",
    "warn_at",
    "provisional",
)


@pytest.fixture(scope="module")
def rules() -> Rules:
    return load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")


def _case(channel: str, urgency: str, received: datetime, replied: datetime | None) -> Any:
    case = SimpleNamespace(
        channel=channel,
        kind=None,
        urgency=urgency,
        status=Status.RECEIVED.value,
        assign_started_at=received,
        clock_started_at=received,
        assigned_at=None,
        replied_at=None,
        closed_at=None,
    )
    if replied is not None:
        case.status = Status.REPLIED.value
        case.assigned_at = case.replied_at = replied
    return case


def _starts() -> list[datetime]:
    """Times of day across two years, including the minutes around midnight."""
    out = []
    base = datetime(2025, 1, 20, tzinfo=SHANGHAI)  # Spring Festival 2025 is 28 Jan - 4 Feb
    for day in range(0, 700, 3):
        for minutes in (0, 1, 9 * 60 + 32, 23 * 60 + 59):
            out.append(base + timedelta(days=day, minutes=minutes))
    return out


@pytest.mark.parametrize(
    ("channel", "urgency"),
    [
        ("leader-board", "normal"),  # days and working days
        ("hotline-12345", "normal"),  # working days only
        ("leader-board", "urgent"),  # an hours limit: depends on the time of day
    ],
)
def test_cached_clocks_equal_the_services_computation(
    rules: Rules, channel: str, urgency: str
) -> None:
    fast = NewCaseClocks(rules)
    compared = 0
    for received in _starts():
        for replied in (None, received + timedelta(days=2, hours=3)):
            if replied is not None and replied > NOW:
                continue
            slow_case = _case(channel, urgency, received, replied)
            fast_case = _case(channel, urgency, received, replied)
            apply_clocks(slow_case, case_clocks(slow_case, CaseRecords((), 0), rules, NOW))
            fast.apply(fast_case)
            for name in DEADLINES:
                assert getattr(fast_case, name) == getattr(slow_case, name), (name, received)
            compared += 1
    assert compared > 300
    # The cache is what makes it fast: far fewer calendar walks than cases.
    assert len(fast._days) < compared


def test_times_given_in_another_zone_hit_the_same_shanghai_day(rules: Rules) -> None:
    """A UTC start late in the evening is the next morning in Shanghai: a different day."""
    fast = NewCaseClocks(rules)
    fast.apply(_case("leader-board", "normal", datetime(2026, 3, 5, 9, tzinfo=SHANGHAI), None))
    utc_evening = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)  # Friday 01:30 in Shanghai
    slow_case = _case("leader-board", "normal", utc_evening, None)
    fast_case = _case("leader-board", "normal", utc_evening, None)
    apply_clocks(slow_case, case_clocks(slow_case, CaseRecords((), 0), rules, NOW))
    fast.apply(fast_case)
    for name in DEADLINES:
        assert getattr(fast_case, name) == getattr(slow_case, name), name
