"""A supervisor's hand on a case: extension requests and their decisions, the pending ones,
supervision (督办) and leaders' instructions (批示)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from caseworker.domain.deadlines import Limit, LimitUnit
from caseworker.domain.errors import IllegalTransition, InvalidInput
from caseworker.domain.lifecycle import Action, ExtensionState
from caseworker.services.cases.context import Act, Desk, case_label, required
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    ExtensionRow,
    InstructionRow,
    SupervisionRow,
    Unit,
)

SUPERVISION_LEVELS = {"催办": "remind", "挂牌": "flag", "挂牌督办": "flag", "约谈": "summon"}


SUPERVISION_LABELS = {"remind": "催办", "flag": "挂牌督办", "summon": "约谈"}


def request_extension(
    session: Session, desk: Desk, ref: str | int, *, days: int, reason: str
) -> int:
    act = Act(session, desk, ref, Action.REQUEST_EXTENSION)
    reason = required(reason, "a reason for the extension", "refused.required.extension_reason")
    cap = desk.rules.policy.max_extension
    if days < 1:
        raise InvalidInput("an extension is at least 1 day", key="refused.extension_min")
    if cap.unit is LimitUnit.DAYS and days > cap.amount:
        raise InvalidInput(
            f"an extension may be at most {cap.amount} days",
            key="refused.extension_max",
            days=cap.amount,
        )
    pending = session.exec(
        select(ExtensionRow.id).where(
            ExtensionRow.case_id == act.case_id,
            ExtensionRow.state == ExtensionState.REQUESTED.value,
        )
    ).first()
    if pending is not None:
        raise IllegalTransition(
            f"case {case_label(act.case)} already has an extension awaiting approval",
            key="refused.extension_pending",
            case=case_label(act.case),
        )
    # Only approved days count toward the cap (denied and lapsed requests moved nothing), and
    # only those since the clocks last started: a reopened case has a fresh close limit.
    granted = session.exec(
        select(func.coalesce(func.sum(ExtensionRow.days), 0)).where(
            ExtensionRow.case_id == act.case_id,
            ExtensionRow.state == ExtensionState.APPROVED.value,
            col(ExtensionRow.decided_at) >= act.case.clock_started_at,
        )
    ).one()
    if cap.unit is LimitUnit.DAYS and granted + days > cap.amount:
        raise InvalidInput(
            f"case {case_label(act.case)} already has {granted} days of extension; "
            f"at most {cap.amount} in all",
            key="refused.extension_total",
            case=case_label(act.case),
            granted=granted,
            days=cap.amount,
        )
    row = ExtensionRow(
        case_id=act.case_id,
        days=days,
        reason=reason,
        state=ExtensionState.REQUESTED.value,
        requested_by_id=act.actor_id,
        requested_at=act.now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    act.finish(reason=reason, detail={"extension": row.id, "days": days})
    return row.id


def _pending_extension(session: Session, act: Act) -> ExtensionRow:
    """The case's extension awaiting a supervisor's decision; refused when there is none."""
    row = session.exec(
        select(ExtensionRow).where(
            ExtensionRow.case_id == act.case_id,
            ExtensionRow.state == ExtensionState.REQUESTED.value,
        )
    ).first()
    if row is None:
        raise IllegalTransition(
            f"case {case_label(act.case)} has no extension awaiting approval",
            key="refused.no_extension",
            case=case_label(act.case),
        )
    return row


def approve_extension(session: Session, desk: Desk, ref: str | int) -> None:
    """A supervisor approves the pending extension; the close deadline moves."""
    act = Act(session, desk, ref, Action.APPROVE_EXTENSION)
    row = _pending_extension(session, act)
    row.state = ExtensionState.APPROVED.value
    row.decided_by_id, row.decided_at = act.actor_id, act.now
    session.add(row)
    act.finish(detail={"extension": row.id, "days": row.days})


def deny_extension(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> None:
    """A supervisor refuses the pending extension, saying why; the close deadline stays."""
    act = Act(session, desk, ref, Action.DENY_EXTENSION, expected_version=expected_version)
    reason = required(reason, "a reason for denying", "refused.required.deny_reason")
    row = _pending_extension(session, act)
    row.state = ExtensionState.DENIED.value
    row.decided_by_id, row.decided_at = act.actor_id, act.now
    session.add(row)
    act.finish(reason=reason, detail={"extension": row.id, "days": row.days})


@dataclass(frozen=True)
class PendingExtension:
    """An extension request awaiting a supervisor's decision, with what the decision needs."""

    case_id: int
    external_id: str
    title: str
    status: str
    lead_unit: str | None
    days: int
    reason: str
    requested_by: str | None
    requested_at: datetime
    close_due_at: datetime


def pending_extensions(session: Session, *, clerk: str | None) -> list[PendingExtension]:
    """Every extension awaiting a decision, oldest request first: the supervisor's queue
    (a request on a case returned meanwhile is not listed: it cannot be decided until the case
    is back in handling; one on a case closed, rejected or merged has lapsed with it).

    A unit handler sees only the requests of cases their units lead or help on.
    """
    from caseworker.services.queues import handler_units
    from caseworker.store import queries

    units = handler_units(session, clerk) if clerk is not None else None
    rows = session.exec(
        select(ExtensionRow, CaseRow)
        .join(CaseRow, col(CaseRow.id) == ExtensionRow.case_id)
        .where(ExtensionRow.state == ExtensionState.REQUESTED.value)
        .where(col(CaseRow.status).in_(queries.EXTENSION_DECIDABLE))
        .order_by(col(ExtensionRow.requested_at), col(ExtensionRow.id))
    ).all()
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    clerks = dict(session.exec(select(ClerkRow.id, ClerkRow.name)).all())
    out = []
    for ext, case in rows:
        assert case.id is not None
        if units is not None and not queries.case_in_scope(session, case.id, units):
            continue
        out.append(
            PendingExtension(
                case_id=case.id,
                external_id=case.external_id,
                title=case.title,
                status=case.status,
                lead_unit=names.get(case.lead_unit_id) if case.lead_unit_id else None,
                days=ext.days,
                reason=ext.reason,
                requested_by=clerks.get(ext.requested_by_id) if ext.requested_by_id else None,
                requested_at=ext.requested_at,
                close_due_at=case.close_due_at,
            )
        )
    return out


def supervise_case(session: Session, desk: Desk, ref: str | int, *, level: str, note: str) -> None:
    """Record that the case is being chased (督办)."""
    act = Act(session, desk, ref, Action.SUPERVISE)
    code = SUPERVISION_LEVELS.get(level, level if level in SUPERVISION_LABELS else "")
    if not code:
        raise InvalidInput(
            "level must be one of 催办 / 挂牌 / 约谈",
            key="refused.level_choice",
            choices="催办 / 挂牌 / 约谈",
        )
    note = required(note, "a supervision note", "refused.required.supervision_note")
    session.add(
        SupervisionRow(
            case_id=act.case_id,
            level=code,
            note=note,
            created_by_id=act.actor_id,
            created_at=act.now,
        )
    )
    act.finish(reason=note, detail={"level": code})


def instruct_case(
    session: Session, desk: Desk, ref: str | int, *, leader: str, text: str, owner: bool = False
) -> None:
    """Record a leader's instruction (批示), or that a leader owns the case (包案)."""
    act = Act(session, desk, ref, Action.INSTRUCT)
    leader = required(leader, "the leader's name", "refused.required.leader")
    text = required(text, "the instruction", "refused.required.instruction")
    session.add(
        InstructionRow(
            case_id=act.case_id,
            leader=leader,
            text=text,
            owner=owner,
            created_by_id=act.actor_id,
            created_at=act.now,
        )
    )
    act.finish(reason=text, detail={"leader": leader, "owner": owner})


def extension_limit(days: int) -> Limit:
    return Limit(days, LimitUnit.DAYS)
