"""Routing an accepted case: assigning it to units, their acknowledgement or return, and
tying repeats to their original (link or merge)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from caseworker.domain.deadlines import deadline_for
from caseworker.domain.errors import IllegalTransition, InvalidInput
from caseworker.domain.lifecycle import Action, Status
from caseworker.services.cases.context import (
    Act,
    Desk,
    LapsedExtension,
    case_label,
    end_pause,
    find_case,
    required,
)
from caseworker.services.people import find_unit
from caseworker.store.models import CoUnit, LinkRow, Unit


def assign_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    lead: str,
    co_units: Sequence[str] = (),
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    """Hand the case to a lead unit and optional co-units (交办)."""
    act = Act(session, desk, ref, Action.ASSIGN, expected_version=expected_version)
    lead_unit = find_unit(session, required(lead, "a lead unit", "refused.required.lead_unit"))
    _check_assignable(lead_unit)
    co_rows: list[Unit] = []
    for ref_co in co_units:
        unit = find_unit(session, ref_co)
        _check_assignable(unit)
        if unit.id == lead_unit.id:
            raise InvalidInput(
                f"co-unit {unit.name} is the lead unit",
                key="refused.co_unit_is_lead",
                unit=unit.name,
            )
        if any(u.id == unit.id for u in co_rows):
            raise InvalidInput(
                f"co-unit {unit.name} is named twice", key="refused.co_unit_twice", unit=unit.name
            )
        co_rows.append(unit)
    case = act.case
    case.lead_unit_id = lead_unit.id
    if case.assigned_at is None:
        case.assigned_at = act.now
        case.assign_imported = False  # a clerk's assignment: its time is on record
    for unit in co_rows:
        assert unit.id is not None
        session.add(CoUnit(case_id=act.case_id, unit_id=unit.id, assigned_at=act.now))
    act.finish(
        reason=note,
        detail={"lead": lead_unit.name, "co_units": [u.name for u in co_rows]},
    )


def _check_assignable(unit: Unit) -> None:
    if not unit.active:
        raise InvalidInput(
            f"unit {unit.name} is inactive", key="refused.unit_inactive", unit=unit.name
        )


def acknowledge_case(session: Session, desk: Desk, ref: str | int) -> None:
    """The unit confirms it has the case (签收); its clocks keep running."""
    Act(session, desk, ref, Action.ACKNOWLEDGE).finish()


def return_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> None:
    """A unit says "not ours" (退回): within the policy's window after assignment."""
    act = Act(session, desk, ref, Action.RETURN, expected_version=expected_version)
    reason = required(reason, "a reason for returning", "refused.required.return_reason")
    case = act.case
    assert case.assigned_at is not None
    window = desk.rules.policy.return_window
    limit = deadline_for(case.assigned_at, window, desk.rules.calendar)
    if act.now > limit.due_at:
        ended = limit.due_at.isoformat(timespec="minutes")
        raise IllegalTransition(
            f"case {case_label(case)}: the {window} window to return it ended at {ended}",
            key="refused.return_window",
            case=case_label(case),
            window=window,
            ended=ended,
        )
    lead = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    for co in session.exec(
        select(CoUnit).where(CoUnit.case_id == act.case_id, col(CoUnit.released_at).is_(None))
    ).all():
        co.released_at = act.now
        session.add(co)
    case.lead_unit_id = None
    case.assigned_at = None
    case.assign_started_at = act.now  # the bureau must reassign within the assign limit again
    act.finish(reason=reason, detail={"unit": lead.name if lead else None})


def merge_case(
    session: Session, desk: Desk, ref: str | int, *, into: str | int, reason: str | None = None
) -> list[LapsedExtension]:
    """Merge a repeat into its original: this case ends, linked to the one that carries on;
    its extension requests still awaiting a decision lapse with it, and are returned."""
    act = Act(session, desk, ref, Action.MERGE)
    target = find_case(session, into)
    if target.id == act.case_id:
        raise InvalidInput("a case cannot be merged into itself", key="refused.merge_self")
    if Status(target.status) in (Status.REJECTED, Status.MERGED):
        raise IllegalTransition(
            f"case {case_label(target)} is {target.status}; merge into the case it was merged into",
            key="refused.merge_ended_target",
            case=case_label(target),
            state=Status(target.status),
        )
    assert target.id is not None
    session.add(
        LinkRow(
            case_id=act.case_id,
            target_id=target.id,
            kind="merged_into",
            created_by_id=act.actor_id,
            created_at=act.now,
        )
    )
    act.case.merged_into_id = target.id
    act.case.repeat_of_id = act.case.repeat_of_id or target.id
    act.case.closed_at = act.now
    end_pause(session, act)
    act.finish(reason=reason, detail={"into": target.id})
    return act.lapsed


def link_repeat(session: Session, desk: Desk, ref: str | int, *, original: str | int) -> None:
    """Mark a case as a repeat of an earlier one (重复留言), keeping it open."""
    act = Act(session, desk, ref, Action.LINK_REPEAT)
    target = find_case(session, original)
    if target.id == act.case_id:
        raise InvalidInput("a case cannot repeat itself", key="refused.repeat_self")
    assert target.id is not None
    session.add(
        LinkRow(
            case_id=act.case_id,
            target_id=target.id,
            kind="repeat_of",
            created_by_id=act.actor_id,
            created_at=act.now,
        )
    )
    act.case.repeat_of_id = target.id
    act.finish(detail={"original": target.id})
