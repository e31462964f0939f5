"""Reading a case for a clerk: the visibility check, its history, its full detail and its
clocks as JSON shows them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from caseworker.domain.deadlines import Clock, ClockState
from caseworker.services.cases.context import co_unit_ids, find_case
from caseworker.services.cases.oversight import SUPERVISION_LABELS
from caseworker.services.clocks import case_clocks, load_records
from caseworker.services.queues import check_visible
from caseworker.services.rules import Rules
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    EventRow,
    ExtensionRow,
    InstructionRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)


@dataclass(frozen=True)
class EventInfo:
    """One line of a case's history."""

    id: int
    actor: str
    action: str
    from_status: str | None
    to_status: str | None
    reason: str | None
    detail: dict[str, Any]
    effective_at: datetime
    recorded_at: datetime

    @property
    def lapsed_extensions(self) -> list[int]:
        """The extension requests that lapsed with this event (its case ended undecided)."""
        ids = self.detail.get("lapsed_extensions") if isinstance(self.detail, dict) else None
        return [i for i in ids if isinstance(i, int)] if isinstance(ids, list) else []


@dataclass(frozen=True)
class ReplyInfo:
    id: int
    state: str
    final: bool
    outcome: str | None
    text: str
    unit: str | None
    author: str | None
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class CaseDetail:
    """A case with everything attached to it, as `case show` and the case view present it."""

    id: int
    external_id: str
    channel: str
    title: str
    body: str
    status: str
    author: str | None
    contact: str | None
    addressee: str | None
    region: str | None
    category: str | None
    kind: str | None
    urgency: str
    received_at: datetime
    lead_unit: str | None
    co_units: list[str]
    clocks: list[Clock]
    version: int
    updated_by: str
    updated_at: datetime
    merged_into: int | None
    repeat_of: int | None
    repeats: int
    replies: list[ReplyInfo] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    supervisions: list[dict[str, Any]] = field(default_factory=list)
    instructions: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def readable_case(session: Session, ref: str | int, *, clerk: str | None) -> CaseRow:
    """`find_case` for reading it: a unit handler is refused a case their units neither lead
    nor help on, as the queues never show it to them (services.queues.check_visible).

    `clerk` None reads on nobody's behalf (tests, tooling); the console and the command line
    always say who is reading.
    """
    case = find_case(session, ref)
    assert case.id is not None
    if clerk is not None:
        check_visible(session, clerk, case.id, str(ref))
    return case


def case_history(session: Session, ref: str | int, *, clerk: str | None) -> list[EventInfo]:
    """Every event of a case, oldest first; refused to a unit handler not of its units."""
    case = readable_case(session, ref, clerk=clerk)
    rows = session.exec(
        select(EventRow).where(EventRow.case_id == case.id).order_by(col(EventRow.id))
    ).all()
    return [
        EventInfo(
            id=e.id or 0,
            actor=e.actor,
            action=e.action,
            from_status=e.from_status,
            to_status=e.to_status,
            reason=e.reason,
            detail=json.loads(e.detail) if e.detail else {},
            effective_at=e.effective_at,
            recorded_at=e.recorded_at,
        )
        for e in rows
    ]


def case_detail(
    session: Session, rules: Rules, now: datetime, ref: str | int, *, clerk: str | None
) -> CaseDetail:
    """Everything about one case, with clocks computed for `now`; refused to a unit handler
    whose units neither lead nor help on it (readable_case)."""
    case = readable_case(session, ref, clerk=clerk)
    assert case.id is not None
    cid = case.id
    names = dict(session.exec(select(Unit.id, Unit.name)).all())

    clerks = dict(session.exec(select(ClerkRow.id, ClerkRow.name)).all())
    records = load_records(session, cid, case.clock_started_at)
    clocks = case_clocks(case, records, rules, now)
    replies = [
        ReplyInfo(
            r.id or 0,
            r.state,
            r.final,
            r.outcome,
            r.text,
            names.get(r.unit_id) if r.unit_id else None,
            clerks.get(r.author_id) if r.author_id else None,
            r.updated_at,
            r.published_at,
        )
        for r in session.exec(
            select(ReplyRow).where(ReplyRow.case_id == cid).order_by(col(ReplyRow.id))
        ).all()
    ]
    ratings = [
        {"value": r.value, "comment": r.comment, "follow_up": r.follow_up, "rated_at": r.rated_at}
        for r in session.exec(
            select(RatingRow).where(RatingRow.case_id == cid).order_by(col(RatingRow.id))
        ).all()
    ]
    extensions = [
        {
            "days": e.days,
            "reason": e.reason,
            "state": e.state,
            "requested_at": e.requested_at,
            "decided_at": e.decided_at,
        }
        for e in session.exec(
            select(ExtensionRow).where(ExtensionRow.case_id == cid).order_by(col(ExtensionRow.id))
        ).all()
    ]
    supervisions = [
        {
            "level": s.level,
            "label": SUPERVISION_LABELS.get(s.level, s.level),
            "note": s.note,
            "created_at": s.created_at,
            "by": clerks.get(s.created_by_id) if s.created_by_id else None,
        }
        for s in session.exec(
            select(SupervisionRow)
            .where(SupervisionRow.case_id == cid)
            .order_by(col(SupervisionRow.id))
        ).all()
    ]
    instructions = [
        {"leader": i.leader, "text": i.text, "owner": i.owner, "created_at": i.created_at}
        for i in session.exec(
            select(InstructionRow)
            .where(InstructionRow.case_id == cid)
            .order_by(col(InstructionRow.id))
        ).all()
    ]
    pauses = [
        {"reason": p.reason, "started_at": p.started_at, "ended_at": p.ended_at}
        for p in session.exec(
            select(PauseRow).where(PauseRow.case_id == cid).order_by(col(PauseRow.id))
        ).all()
    ]
    repeats = session.exec(
        select(func.count()).select_from(CaseRow).where(CaseRow.repeat_of_id == cid)
    ).one()
    return CaseDetail(
        id=cid,
        external_id=case.external_id,
        channel=case.channel,
        title=case.title,
        body=case.body,
        status=case.status,
        author=case.author,
        contact=case.contact,
        addressee=case.addressee,
        region=case.region,
        category=case.category,
        kind=case.kind,
        urgency=case.urgency,
        received_at=case.received_at,
        lead_unit=names.get(case.lead_unit_id) if case.lead_unit_id else None,
        co_units=[names[u] for u in co_unit_ids(session, cid)],
        clocks=clocks,
        version=case.version,
        updated_by=case.updated_by,
        updated_at=case.updated_at,
        merged_into=case.merged_into_id,
        repeat_of=case.repeat_of_id,
        repeats=repeats,
        replies=replies,
        ratings=ratings,
        extensions=extensions,
        supervisions=supervisions,
        instructions=instructions,
        pauses=pauses,
        extra=json.loads(case.extra) if case.extra else {},
    )


def clock_summary(clock: Clock, rules: Rules, now: datetime) -> dict[str, Any]:
    """One clock as JSON shows it: remaining seconds while on time, working days when late."""
    out: dict[str, Any] = {
        "stage": clock.stage.value,
        "limit": str(clock.limit),
        "started_at": clock.started_at,
        "due_at": clock.due_at,
        "state": clock.state.value,
        "provisional": clock.provisional,
    }
    if clock.state is ClockState.STOPPED:
        out["stopped_at"] = clock.stopped_at
        out["finished_late"] = clock.finished_late()
    elif clock.is_overdue(now):
        out["overdue_working_days"] = clock.overdue_working_days(now, rules.calendar)
        out["overdue_days"] = clock.overdue_days(now)
    else:
        out["remaining_seconds"] = int(clock.remaining(now).total_seconds())
    return out
