"""Who acts and on which case: the desk, finding a case, and the one way an action checks,
records and saves, so every action of the package refuses and records alike."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from caseworker.clock import Clock as TimeSource
from caseworker.clock import recorded_now
from caseworker.domain.bounds import case_id_of
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import (
    ENDED_STATES,
    RULES,
    Action,
    ExtensionState,
    Status,
    check_action,
)
from caseworker.services.clocks import refresh_clocks
from caseworker.services.people import UnknownName, resolve_actor
from caseworker.services.queues import check_visible
from caseworker.services.rules import Rules
from caseworker.store.audit import seal_new_event
from caseworker.store.models import CaseRow, CoUnit, EventRow, ExtensionRow, PauseRow


class VersionConflict(DomainError):
    """Someone else changed the case since it was read; the clerk must reload."""


@dataclass(frozen=True)
class Desk:
    """Who is acting, with which rules, at what time: what every action needs besides a session."""

    rules: Rules
    clock: TimeSource
    clerk: str

    def now(self) -> datetime:
        return self.clock.now()


def find_case(session: Session, ref: str | int) -> CaseRow:
    """A case by id or by external id, as a clerk types it.

    An int is always an id (the console passes those). Typed text may be either, and message
    boards use numbers for their ids too, so text that is both one case's id and another's
    external id is refused as ambiguous: `#N` names the id, `ext:X` the external id.
    """
    if isinstance(ref, int):
        by_id = session.get(CaseRow, ref)
        if by_id is None:
            raise UnknownName(
                f"unknown case {str(ref)!r}", key="refused.unknown_case", ref=str(ref)
            )
        return by_id
    text = ref.strip()
    if text.startswith("#") and text[1:].isdigit():
        number = case_id_of(text[1:])
        if number is None:
            raise UnknownName(f"unknown case {text!r}", key="refused.unknown_case", ref=text)
        return find_case(session, number)
    external_only = text.startswith("ext:")
    if external_only:
        text = text[4:].strip()
    # Only ASCII digits name an id (never `²` or `١٢٣`), and only one a database can hold.
    number = None if external_only else case_id_of(text)
    by_id = session.get(CaseRow, number) if number is not None else None
    matches = session.exec(select(CaseRow).where(CaseRow.external_id == text).limit(3)).all()
    if by_id is not None:
        other = next((c for c in matches if c.id != by_id.id), None)
        if other is not None:
            raise InvalidInput(
                f"{text!r} is case id {by_id.id} and the external id of case {other.id}; "
                f"write #{text} for the id or ext:{text} for the external id",
                key="refused.case_ref_ambiguous",
                ref=text,
                id=by_id.id,
                other=other.id,
            )
        return by_id
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        ids = ", ".join(str(c.id) for c in matches)
        raise InvalidInput(
            f"external id {text!r} is used by several cases ({ids}); use the id",
            key="refused.external_id_ambiguous",
            ref=text,
            ids=[c.id for c in matches],
        )
    raise UnknownName(f"unknown case {text!r}", key="refused.unknown_case", ref=text)


def case_label(case: CaseRow) -> str:
    """How a refusal names a case: its id and its external id."""
    return f"{case.id} ({case.external_id})"


def co_unit_ids(session: Session, case_id: int) -> list[int]:
    """The units currently helping on a case (协办)."""
    rows = session.exec(
        select(CoUnit.unit_id).where(CoUnit.case_id == case_id, col(CoUnit.released_at).is_(None))
    ).all()
    return list(rows)


def record_event(
    session: Session,
    desk: Desk,
    case: CaseRow,
    action: Action,
    *,
    actor: str,
    from_status: str | None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one sealed event to the case's history, after saving the case's change."""
    assert case.id is not None
    row = EventRow(
        case_id=case.id,
        actor=actor,
        action=action.value,
        from_status=from_status,
        to_status=case.status,
        reason=reason,
        detail=json.dumps(detail, ensure_ascii=False, default=str) if detail else None,
        effective_at=desk.now(),
        recorded_at=recorded_now(),
    )
    # The case's change and any earlier event of this transaction go first (a lost race shows
    # here as a conflict), so the seal links to the case's true last event.
    save(session, case, action=action)
    seal_new_event(session.connection(), row)
    session.add(row)


@dataclass(frozen=True)
class LapsedExtension:
    """An extension request that ended with its case before a supervisor decided it: its id
    and the days it asked for, so the clerk who ended the case can be told which one."""

    id: int
    days: int


class Act:
    """One action on one case: checks the rule, then records, recomputes and saves on exit."""

    def __init__(
        self,
        session: Session,
        desk: Desk,
        ref: str | int,
        action: Action,
        *,
        expected_version: int | None = None,
    ) -> None:
        self.session, self.desk, self.action = session, desk, action
        self.actor, self.actor_id = resolve_actor(session, desk.clerk)
        self.case = find_case(session, ref)
        assert self.case.id is not None
        self.case_id: int = self.case.id
        # Before any rule that would name the case's state: a case the clerk may not see is
        # refused as such, by the reference they typed, and nothing more is said of it.
        check_visible(session, desk.clerk, self.case_id, str(ref))
        if expected_version is not None and expected_version != self.case.version:
            raise version_conflict(session, self.case, action)
        self.from_status = self.case.status
        self.to_status = check_action(
            action,
            case_label=case_label(self.case),
            status=Status(self.case.status),
            actor=self.actor,
            lead_unit_id=self.case.lead_unit_id,
            co_unit_ids=co_unit_ids(session, self.case_id),
        )
        self.now = desk.now()
        # The extension requests `finish` lapsed (only a move into an ended state lapses any).
        self.lapsed: list[LapsedExtension] = []

    def finish(
        self,
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        record: bool = True,
    ) -> None:
        """Move to the target state, append the event (unless `record` is false: the change
        continues one the history already shows), recompute clocks, and save.

        A move into an ended state (closed, rejected, merged) lapses the case's extension
        requests still awaiting a decision, in this transaction; the event lists their ids under
        "lapsed_extensions", so its sealed history says why they were never decided, and
        `self.lapsed` keeps them for the action to tell the clerk.
        """
        case = self.case
        if self.to_status in ENDED_STATES and self.from_status != self.to_status.value:
            self.lapsed = lapse_extensions(self.session, self)
            if self.lapsed:
                ids = [lapsed.id for lapsed in self.lapsed]
                detail = {**(detail or {}), "lapsed_extensions": ids}
        case.status = self.to_status.value
        case.updated_at = recorded_now()
        case.updated_by = self.actor.name
        if record:
            record_event(
                self.session,
                self.desk,
                case,
                self.action,
                actor=self.actor.name,
                from_status=self.from_status,
                reason=reason,
                detail=detail,
            )
        self.session.add(case)
        save(self.session, case, action=self.action)  # records first, so the clocks see them
        refresh_clocks(self.session, case, self.desk.rules, self.now)
        save(self.session, case, action=self.action)


def check_allowed(session: Session, desk: Desk, ref: str | int, action: Action) -> None:
    """Refuse now what `action` would refuse on the case (who may see it, its state, the
    clerk's role), writing nothing: the console asks before a dialog opens."""
    Act(session, desk, ref, action)


def version_conflict(
    session: Session, case: CaseRow, action: Action | str | None = None
) -> VersionConflict:
    """The refusal for a clerk whose copy of the case is older than the stored one.

    It says who changed the case, when and what the change was, from the case's last event as
    `case history` shows it (its effective time, Shanghai, to the minute), and whether trying
    again can work: when the case's state now rules out `action`, it says so instead of
    inviting a retry that would be refused.
    """
    last = session.exec(
        select(EventRow.action, EventRow.actor, EventRow.effective_at)
        .where(EventRow.case_id == case.id)
        .order_by(col(EventRow.id).desc())
        .limit(1)
    ).first()
    who = last[1] if last is not None else case.updated_by
    at = last[2] if last is not None else case.updated_at
    when = at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
    label = case_label(case)
    status = Status(case.status)
    try:
        change: Action | str = Action(last[0]) if last is not None else ""
    except ValueError:  # an action of an older release: shown as recorded
        change = last[0] if last is not None else ""
    doing = Action(action) if action is not None else None
    rule = RULES.get(doing) if doing is not None else None
    if doing is not None and rule is not None and status not in rule.sources:
        return VersionConflict(
            f"case {label} was changed by {who} at {when} ({change}; now {status.value}); "
            f"{doing.value} is no longer possible",
            key="refused.version_conflict_final",
            case=label,
            who=who,
            when=when,
            change=change,
            state=status,
            action=doing,
            retry=False,
        )
    return VersionConflict(
        f"case {label} was changed by {who} at {when} ({change}; now {status.value}); "
        "reload and try again",
        key="refused.version_conflict",
        case=label,
        who=who,
        when=when,
        change=change,
        state=status,
        retry=True,
    )


def save(session: Session, case: CaseRow, *, action: Action | None = None) -> None:
    """Flush a case; losing a race to another clerk becomes a clear `VersionConflict` (which
    says whether `action`, the one being saved, can still be done)."""
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        current = session.get(CaseRow, case.id, populate_existing=True)
        if current is None:  # pragma: no cover - cases are never deleted
            raise VersionConflict(
                f"case {case.id} disappeared", key="refused.case_gone", id=case.id
            ) from None
        raise version_conflict(session, current, action) from None


def required(text: str | None, what: str, key: str) -> str:
    """The stripped text, or a refusal saying `what` is required (`key` says it in the catalog)."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required", key=key)
    return value


def end_pause(session: Session, act: Act) -> None:
    """Ending a case ends its pause, or a later reopening would start with frozen clocks."""
    for pause in session.exec(
        select(PauseRow).where(PauseRow.case_id == act.case_id, col(PauseRow.ended_at).is_(None))
    ).all():
        pause.ended_at, pause.ended_by_id = act.now, act.actor_id
        session.add(pause)
    act.case.paused_since = None


def awaiting_decision(session: Session, case_id: int) -> list[ExtensionRow]:
    """The case's extension requests still awaiting a decision, oldest first: what ending the
    case lapses."""
    return list(
        session.exec(
            select(ExtensionRow)
            .where(
                ExtensionRow.case_id == case_id,
                ExtensionRow.state == ExtensionState.REQUESTED.value,
            )
            .order_by(col(ExtensionRow.id))
        ).all()
    )


def lapse_extensions(session: Session, act: Act) -> list[LapsedExtension]:
    """Settle the case's extension requests still awaiting a decision as lapsed, decided by
    the clerk ending the case at the act's time; oldest first."""
    rows = awaiting_decision(session, act.case_id)
    for row in rows:
        row.state = ExtensionState.LAPSED.value
        row.decided_by_id, row.decided_at = act.actor_id, act.now
        session.add(row)
    return [LapsedExtension(row.id, row.days) for row in rows if row.id is not None]


def lapsing_extensions(session: Session, case_id: int) -> list[LapsedExtension]:
    """The requests that ending the case now would lapse: read by the same query as the
    lapse itself, so a dialog that ends a case warns of exactly what confirming it does."""
    rows = awaiting_decision(session, case_id)
    return [LapsedExtension(row.id, row.days) for row in rows if row.id is not None]
