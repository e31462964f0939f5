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
from caseworker.domain.lifecycle import TERMINAL_STATES
from caseworker.services.rules import Rules
from caseworker.store.types import END_OF_TIME

_TERMINAL = {s.value for s in TERMINAL_STATES}
_STAGES = (Stage.ASSIGN, Stage.REPLY, Stage.CLOSE)


class NewCaseClocks:
    """`apply_clocks(case, case_clocks(case, no records, rules, now))` for new cases, memoised."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self._limits: dict[tuple[str, str | None, str], tuple[Limit, Limit, Limit]] = {}
        self._days: dict[tuple[date, Limit], Deadline] = {}

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

    def apply(self, case: Any) -> None:
        """Set the deadline columns of a case with no pauses and no approved extensions."""
        assign_limit, reply_limit, close_limit = self.limits(case.channel, case.kind, case.urgency)
        ended = case.closed_at if case.status in _TERMINAL else None
        assign_start = case.assign_started_at.astimezone(SHANGHAI)
        clock_start = (
            assign_start if case.clock_started_at is case.assign_started_at
            else case.clock_started_at.astimezone(SHANGHAI)
        )
        stages = (
            (assign_start, assign_limit, case.assigned_at or ended),
            (clock_start, reply_limit, case.replied_at or ended),
            (clock_start, close_limit, case.closed_at),
        )
        dues: list[datetime] = []
        next_due = warn = END_OF_TIME
        provisional = False
        for start, limit, stopped in stages:
            deadline = self.deadline(start, limit)
            due = deadline.due_at
            dues.append(due)
            if stopped is None:
                provisional = provisional or deadline.provisional
                if due < next_due:
                    next_due = due
                at = due - (due - start) * (1 - WARNING_FRACTION)
                if at < warn:
                    warn = at
        case.assign_due_at, case.reply_due_at, case.close_due_at = dues
        case.provisional = provisional
        case.next_due_at = next_due
        case.warn_at = warn
