"""The clocks of a new imported case, as services.clocks computes them, with day deadlines cached.

An imported case has no pauses and no extensions yet, so each stage's deadline is
`deadline_for(start, limit)`. For limits in days or working days that deadline depends only on
the start's Shanghai date and the limit, so a year's file (365 start days, a handful of
limits) needs a few thousand calendar walks instead of three per row. Limits in hours depend
on the time of day and are computed per row. tests/services/test_import_speed.py checks the
result equals `case_clocks` + `apply_clocks` for every stage, status and limit unit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import (
    WARNING_FRACTION,
    Deadline,
    Limit,
    LimitUnit,
    Stage,
    deadline_for,
)
from caseworker.domain.lifecycle import TERMINAL_STATES, Status
from caseworker.services.rules import Rules
from caseworker.store.types import END_OF_TIME

# A closed case has no clock running (services.clocks.case_clocks): states that end them all.
_ENDED = {s.value for s in TERMINAL_STATES} | {Status.CLOSED.value}
_STAGES = (Stage.ASSIGN, Stage.REPLY, Stage.CLOSE)


class NewCaseClocks:
    """`apply_clocks(case, case_clocks(case, no records, rules, now))` for new cases, memoised."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._limits: dict[tuple[str, str | None, str], tuple[Limit, Limit, Limit]] = {}
        self._days: dict[tuple[date, Limit], Deadline] = {}
        self._starts: dict[tuple[Any, ...], tuple[Deadline, ...]] = {}

    def limits(self, channel: str, kind: str | None, urgency: str) -> tuple[Limit, Limit, Limit]:
        key = (channel, kind, urgency)
        found = self._limits.get(key)
        if found is None:
            policy = self.rules.policy
            a, r, c = (
                policy.limit_for(s, channel=channel, kind=kind, urgency=urgency) for s in _STAGES
            )
            found = self._limits[key] = (a, r, c)
        return found

    def deadline(self, start: datetime, limit: Limit) -> Deadline:
        """deadline_for(start, limit); `start` already in Shanghai time."""
        if limit.unit is LimitUnit.HOURS:
            return deadline_for(start, limit, self.rules.calendar)
        key = (start.date(), limit)
        found = self._days.get(key)
        if found is None:
            found = self._days[key] = deadline_for(start, limit, self.rules.calendar)
        return found

    def stages(
        self, start: datetime, key: tuple[str, str | None, str], limits: tuple[Limit, ...]
    ) -> tuple[Deadline, ...]:
        """The three stages' deadlines from one start (a new case's clocks share theirs);
        `key` names the limits (channel, kind, urgency): cheaper to hash than the limits."""
        day = (*key, start.date())
        found = self._starts.get(day)
        if found is None:
            found = tuple(self.deadline(start, limit) for limit in limits)
            if all(limit.unit is not LimitUnit.HOURS for limit in limits):
                self._starts[day] = found  # hours depend on the time of day, not just the date
        return found

    def apply(self, case: Any) -> None:
        """Set the deadline columns of a case with no pauses and no approved extensions."""
        (
            case.assign_due_at,
            case.reply_due_at,
            case.close_due_at,
            case.provisional,
            case.next_due_at,
            case.warn_at,
        ) = self.columns(
            case.channel,
            case.kind,
            case.urgency,
            case.status,
            case.assign_started_at,
            case.clock_started_at,
            case.assigned_at,
            case.replied_at,
            case.closed_at,
        )

    def columns(
        self,
        channel: str,
        kind: str | None,
        urgency: str,
        status: str,
        assign_started_at: datetime,
        clock_started_at: datetime,
        assigned_at: datetime | None,
        replied_at: datetime | None,
        closed_at: datetime | None,
    ) -> tuple[datetime, datetime, datetime, bool, datetime, datetime]:
        """assign_due_at, reply_due_at, close_due_at, provisional, next_due_at and warn_at."""
        key = (channel, kind, urgency)
        limits = self._limits.get(key) or self.limits(*key)
        ended = closed_at if status in _ENDED else None
        assign_start = assign_started_at.astimezone(SHANGHAI)
        if clock_started_at is assign_started_at:
            clock_start = assign_start
            deadlines = self.stages(assign_start, key, limits)
        else:
            clock_start = clock_started_at.astimezone(SHANGHAI)
            deadlines = (
                self.deadline(assign_start, limits[0]),
                self.deadline(clock_start, limits[1]),
                self.deadline(clock_start, limits[2]),
            )
        stages = (
            (assign_start, deadlines[0], assigned_at or ended),
            (clock_start, deadlines[1], replied_at or ended),
            (clock_start, deadlines[2], closed_at),
        )
        # Every time compared here is in Shanghai time: comparing across zones costs ~20x more.
        # A warning comes at 80% of its limit, so from one start the nearest deadline also
        # warns first: one warning to compute for each start.
        nearest: dict[datetime, datetime] = {}  # a start -> its nearest running deadline
        provisional = False
        for start, deadline, stopped in stages:
            if stopped is None:
                due = deadline.due_at
                provisional = provisional or deadline.provisional
                if start not in nearest or due < nearest[start]:
                    nearest[start] = due
        next_due = warn = END_OF_TIME
        if nearest:
            next_due = min(nearest.values())
            warn = min(due - (due - start) * _REST for start, due in nearest.items())
        a, r, c = deadlines
        return a.due_at, r.due_at, c.due_at, provisional, next_due, warn


_REST = 1 - WARNING_FRACTION  # the share of a limit left when its warning is due
