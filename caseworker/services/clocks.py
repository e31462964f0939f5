"""Computing a case's clocks from its facts, and keeping its deadline columns current.

Every command (the console too) calls recompute_if_calendar_changed on opening a store, which
almost always finds the calendar unchanged; the tables are imported only when a case is
touched, so that check does not make each start-up pay for loading the ORM's models.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from caseworker.domain.calendar import SHANGHAI
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
from caseworker.store.plain import Sql, SqliteReader, first_row

if TYPE_CHECKING:
    from sqlalchemy import ColumnElement
    from sqlalchemy.engine import Connection
    from sqlmodel import Session

    from caseworker.store.models import CaseRow


@dataclass(frozen=True)
class CaseRecords:
    """The records a case's clocks depend on besides the case row itself."""

    pauses: Sequence[Pause]
    approved_extension_days: int


def load_records(session: Session, case_id: int, since: datetime) -> CaseRecords:
    """Pauses of the case, and extensions approved since its clocks last started."""
    from sqlmodel import select

    from caseworker.store.models import ExtensionRow, PauseRow

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
    """The three clocks of a case: assign, first reply, close (docs/domain.md "Clocks")."""
    policy, calendar = rules.policy, rules.calendar
    status = Status(case.status)
    # Closing ends every clock: an imported history may close a case its source closed
    # without a reply (a 311 request), whose reply clock must not run on after the close.
    ended = case.closed_at if status in TERMINAL_STATES or status is Status.CLOSED else None

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
    from caseworker.store.types import END_OF_TIME  # SQLAlchemy's types: not for read-only runs

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
    return hashlib.sha256(json.dumps(_year_digests(rules), sort_keys=True).encode()).hexdigest()


def _year_digests(rules: Rules) -> dict[str, str]:
    """One digest per entered year, so a change can be traced to the years it touches."""
    return {
        str(year): hashlib.sha256(
            json.dumps([sorted(map(str, n.holidays)), sorted(map(str, n.workdays))]).encode()
        ).hexdigest()
        for year, n in sorted(rules.calendar.notices.items())
    }


def _stored_digests(stored: str | None) -> dict[str, str] | None:
    """The per-year digests last stored; None when unknown (no record, or an older format)."""
    if stored is None:
        return None
    try:
        value = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {str(k): str(v) for k, v in value.items()}


_STORED_CALENDAR = Sql("SELECT value FROM store_meta WHERE key = :key")


def _stored_calendar(db: Connection | Session | SqliteReader) -> str | None:
    found = first_row(db, _STORED_CALENDAR, {"key": "calendar"})
    return None if found is None or found[0] is None else str(found[0])


def calendar_changed(db: Connection | Session | SqliteReader, rules: Rules) -> bool:
    """Whether the calendar differs from the one the store's deadlines were computed with:
    one query, no ORM, so opening a store pays for recomputing only when there is work."""
    return _stored_calendar(db) != json.dumps(_year_digests(rules), sort_keys=True)


def recompute_if_calendar_changed(session: Session, rules: Rules, now: datetime) -> int:
    """Recompute the deadlines a change of the calendar file may have moved; returns how many.

    Called when a store is opened for work, so entering the official year in the calendar file
    is enough: the next command brings those deadlines to their exact values. Provisional cases
    are always recomputed; so are cases with running clocks whose deadlines touch a year that
    was entered, corrected or removed (an entry also overrides the library's known years).
    When the store holds no record of the calendar it last used, every entered year counts as
    changed, so a database upgraded from before this record still gets exact deadlines.
    """
    current = _year_digests(rules)
    value = json.dumps(current, sort_keys=True)
    stored = _stored_calendar(session)
    if stored == value:
        return 0
    from sqlalchemy import and_, or_
    from sqlmodel import col, select

    from caseworker.store.models import CaseRow, MetaRow
    from caseworker.store.types import END_OF_TIME

    previous = _stored_digests(stored)
    if previous is None:
        years = set(current)
    else:
        years = {y for y in set(current) | set(previous) if current.get(y) != previous.get(y)}
    touched: ColumnElement[bool] = col(CaseRow.provisional).is_(True)
    if years:
        first = datetime(min(map(int, years)), 1, 1, tzinfo=SHANGHAI)
        after = datetime(max(map(int, years)) + 1, 1, 1, tzinfo=SHANGHAI)
        touched = or_(
            touched,
            and_(
                col(CaseRow.next_due_at) < END_OF_TIME,
                col(CaseRow.assign_started_at) < after,
                or_(
                    col(CaseRow.assign_due_at) >= first,
                    col(CaseRow.reply_due_at) >= first,
                    col(CaseRow.close_due_at) >= first,
                ),
            ),
        )
    changed = 0
    for case in session.exec(select(CaseRow).where(touched)).all():
        refresh_clocks(session, case, rules, now)
        changed += 1
    session.merge(MetaRow(key="calendar", value=value))
    return changed
