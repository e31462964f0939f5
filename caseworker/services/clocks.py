"""Computing a case's clocks from its facts, and keeping its deadline columns current."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from caseworker.domain.deadlines import (
    WARNING_FRACTION,
    Clock,
    ClockState,
    Limit,
    LimitUnit,
    Pause,
    Stage,
    compute_clock,
)
from caseworker.domain.lifecycle import TERMINAL_STATES, Status
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow, ExtensionRow, MetaRow, PauseRow
from caseworker.store.types import END_OF_TIME


@dataclass(frozen=True)
class CaseRecords:
    """The records a case's clocks depend on besides the case row itself."""

    pauses: Sequence[Pause]
    approved_extension_days: int


def load_records(session: Session, case_id: int, since: datetime) -> CaseRecords:
    """Pauses of the case, and extensions approved since its clocks last started."""
    pauses = [
        Pause(started_at=p.started_at, ended_at=p.ended_at)
        for p in session.exec(select(PauseRow).where(PauseRow.case_id == case_id)).all()
    ]
    days = sum(
        e.days
        for e in session.exec(
            select(ExtensionRow).where(
                ExtensionRow.case_id == case_id, ExtensionRow.state == "approved"
            )
        ).all()
        if e.decided_at is not None and e.decided_at >= since
    )
    return CaseRecords(pauses=pauses, approved_extension_days=days)


def case_clocks(case: CaseRow, records: CaseRecords, rules: Rules, now: datetime) -> list[Clock]:
    """The three clocks of a case: assign, first reply, close (DOMAIN.md "Clocks")."""
    policy, calendar = rules.policy, rules.calendar
    status = Status(case.status)
    ended = case.closed_at if status in TERMINAL_STATES else None

    def limit(stage: Stage) -> Limit:
        return policy.limit_for(stage, channel=case.channel, kind=case.kind, urgency=case.urgency)

    extension = (
        Limit(records.approved_extension_days, LimitUnit.DAYS)
        if records.approved_extension_days
        else None
    )
    return [
        compute_clock(
            Stage.ASSIGN,
            case.assign_started_at,
            limit(Stage.ASSIGN),
            calendar,
            pauses=records.pauses,
            stopped_at=case.assigned_at or ended,
            now=now,
        ),
        compute_clock(
            Stage.REPLY,
            case.clock_started_at,
            limit(Stage.REPLY),
            calendar,
            pauses=records.pauses,
            stopped_at=case.replied_at or ended,
            now=now,
        ),
        compute_clock(
            Stage.CLOSE,
            case.clock_started_at,
            limit(Stage.CLOSE),
            calendar,
            pauses=records.pauses,
            extension=extension,
            stopped_at=case.closed_at,
            now=now,
        ),
    ]


def apply_clocks(case: CaseRow, clocks: Sequence[Clock]) -> None:
    """Copy the clocks' deadlines onto the case row, where queues and reports read them."""
    by_stage = {c.stage: c for c in clocks}
    case.assign_due_at = by_stage[Stage.ASSIGN].due_at
    case.reply_due_at = by_stage[Stage.REPLY].due_at
    case.close_due_at = by_stage[Stage.CLOSE].due_at
    ticking = [c for c in clocks if c.state is not ClockState.STOPPED]
    case.provisional = any(c.provisional for c in ticking)
    case.next_due_at = min((c.due_at for c in ticking), default=END_OF_TIME)
    case.warn_at = min((warning_at(c) for c in ticking), default=END_OF_TIME)


def warning_at(clock: Clock) -> datetime:
    """When a clock reaches the warning share of its limit (paused time not counted)."""
    span = clock.due_at - clock.started_at - clock.paused_for
    return clock.due_at - span * (1 - WARNING_FRACTION)


def refresh_clocks(session: Session, case: CaseRow, rules: Rules, now: datetime) -> list[Clock]:
    """Recompute a case's clocks from its records and store the deadlines; returns the clocks."""
    assert case.id is not None
    clocks = case_clocks(case, load_records(session, case.id, case.clock_started_at), rules, now)
    apply_clocks(case, clocks)
    return clocks


def calendar_fingerprint(rules: Rules) -> str:
    """A digest of the bureau's entered years: when it changes, provisional deadlines are stale."""
    notices = rules.calendar.notices
    doc = {
        str(year): [sorted(map(str, n.holidays)), sorted(map(str, n.workdays))]
        for year, n in sorted(notices.items())
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def recompute_if_calendar_changed(session: Session, rules: Rules, now: datetime) -> int:
    """Recompute every case whose deadline was provisional when the calendar file has changed.

    Called when a store is opened for work, so entering the official year in the calendar file
    is enough: the next command brings those deadlines to their exact values.
    """
    fingerprint = calendar_fingerprint(rules)
    meta = session.get(MetaRow, "calendar")
    if meta is not None and meta.value == fingerprint:
        return 0
    changed = 0
    if meta is not None:
        cases = session.exec(select(CaseRow).where(col(CaseRow.provisional).is_(True))).all()
        for case in cases:
            refresh_clocks(session, case, rules, now)
            changed += 1
    session.merge(MetaRow(key="calendar", value=fingerprint))
    return changed
