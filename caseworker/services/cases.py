"""Everything a clerk does to a case, shared by the command line and the console.

Each action loads the case, asks the lifecycle whether the acting clerk may do it from the
case's state, changes the case and its records, appends one event, and recomputes the clocks.
An update that loses a race with another clerk raises `VersionConflict`, never overwrites.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy.orm.exc import StaleDataError
from sqlmodel import Session, col, select

from caseworker.clock import Clock as TimeSource
from caseworker.clock import recorded_now
from caseworker.domain.bounds import case_id_of
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import Clock, ClockState, Limit, LimitUnit, deadline_for
from caseworker.domain.errors import DomainError, IllegalTransition, InvalidInput
from caseworker.domain.lifecycle import (
    RULES,
    Action,
    Actor,
    Role,
    Status,
    check_action,
    check_reopen,
    check_reply_edit,
)
from caseworker.domain.policy import Kind, PolicyError, Urgency
from caseworker.services.clocks import case_clocks, load_records, refresh_clocks
from caseworker.services.people import UnknownName, find_unit, resolve_actor
from caseworker.services.queues import check_visible
from caseworker.services.rules import Rules
from caseworker.store.audit import seal_new_event
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    InstructionRow,
    LinkRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)
from caseworker.store.types import END_OF_TIME

OUTCOMES = ("支持", "解释说明", "不支持")
RATINGS = ("满意", "基本满意", "不满意")
SUPERVISION_LEVELS = {"催办": "remind", "挂牌": "flag", "挂牌督办": "flag", "约谈": "summon"}
SUPERVISION_LABELS = {"remind": "催办", "flag": "挂牌督办", "summon": "约谈"}


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


@dataclass(frozen=True)
class NewCase:
    """The fields of a new message, as `case new` reads them or an importer maps them."""

    channel: str
    title: str
    body: str
    received_at: datetime
    external_id: str | None = None
    author: str | None = None
    contact: str | None = None
    addressee: str | None = None
    region: str | None = None
    category: str | None = None
    kind: str | None = None
    urgency: str = Urgency.NORMAL.value
    extra: dict[str, Any] | None = None

    def content_key(self) -> str:
        """A stable key for messages that arrive without an id of their own."""
        text = "\x1f".join([self.title, self.body, self.received_at.isoformat(), self.author or ""])
        return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


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


# ---------------------------------------------------------------- finding and writing


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


def _label(case: CaseRow) -> str:
    return f"{case.id} ({case.external_id})"


def _co_unit_ids(session: Session, case_id: int) -> list[int]:
    rows = session.exec(
        select(CoUnit.unit_id).where(CoUnit.case_id == case_id, col(CoUnit.released_at).is_(None))
    ).all()
    return list(rows)


def _event(
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


class _Act:
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
            case_label=_label(self.case),
            status=Status(self.case.status),
            actor=self.actor,
            lead_unit_id=self.case.lead_unit_id,
            co_unit_ids=_co_unit_ids(session, self.case_id),
        )
        self.now = desk.now()

    def finish(
        self,
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        record: bool = True,
    ) -> None:
        """Move to the target state, append the event (unless `record` is false: the change
        continues one the history already shows), recompute clocks, and save."""
        case = self.case
        case.status = self.to_status.value
        case.updated_at = recorded_now()
        case.updated_by = self.actor.name
        if record:
            _event(
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
    _Act(session, desk, ref, action)


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
    label = _label(case)
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


def _require(text: str | None, what: str, key: str) -> str:
    """The stripped text, or a refusal saying `what` is required (`key` says it in the catalog)."""
    value = (text or "").strip()
    if not value:
        raise InvalidInput(f"{what} is required", key=key)
    return value


# ---------------------------------------------------------------- intake


_KIND_VALUES = frozenset(k.value for k in Kind)
_URGENCY_VALUES = frozenset(u.value for u in Urgency)


def validate_new_case(data: NewCase, rules: Rules) -> None:
    """Refuse a new case that lacks what every case needs, with one clear reason."""
    if not data.channel:
        raise InvalidInput("channel is required", key="refused.channel_required")
    try:
        rules.policy.channel(data.channel)
    except PolicyError as unknown:  # a clerk's typo, not a broken policy file
        raise InvalidInput(
            str(unknown),
            key="refused.unknown_channel",
            channel=data.channel,
            known=list(rules.policy.channels),
        ) from None
    if not data.title.strip() and not data.body.strip():
        raise InvalidInput("a case needs a title or a body", key="refused.title_or_body")
    if data.received_at.tzinfo is None:
        raise InvalidInput("received_at needs a timezone (or use a naive time for Asia/Shanghai)")
    if data.kind is not None and data.kind not in _KIND_VALUES:
        kinds = [k.value for k in Kind]
        raise InvalidInput(
            f"kind must be one of {', '.join(kinds)}", key="refused.kind_choice", choices=kinds
        )
    if data.urgency not in _URGENCY_VALUES:
        levels = [u.value for u in Urgency]
        raise InvalidInput(
            f"urgency must be one of {', '.join(levels)}",
            key="refused.urgency_choice",
            choices=levels,
        )


def build_case(data: NewCase, desk: Desk, actor: str) -> CaseRow:
    """A new case row with its clocks computed (no I/O: importers batch these)."""
    now = desk.now()
    stamp = recorded_now()
    case = CaseRow(
        channel=data.channel,
        external_id=(data.external_id or "").strip() or data.content_key(),
        addressee=data.addressee,
        author=data.author,
        contact=data.contact,
        title=data.title.strip() or data.body.strip()[:40],
        body=data.body,
        received_at=data.received_at,
        region=data.region,
        category=data.category,
        kind=data.kind,
        urgency=data.urgency,
        status=Status.RECEIVED.value,
        assign_started_at=data.received_at,
        clock_started_at=data.received_at,
        assign_due_at=END_OF_TIME,
        reply_due_at=END_OF_TIME,
        close_due_at=END_OF_TIME,
        extra=json.dumps(data.extra, ensure_ascii=False) if data.extra else None,
        created_at=stamp,
        updated_at=stamp,
        updated_by=actor,
    )
    from caseworker.services.clocks import CaseRecords, apply_clocks

    apply_clocks(case, case_clocks(case, CaseRecords((), 0), desk.rules, now))
    return case


def create_case(session: Session, desk: Desk, data: NewCase) -> int:
    """Receive a new message as a case; (channel, external id) must be new."""
    actor, _ = resolve_actor(session, desk.clerk)
    validate_new_case(data, desk.rules)
    if desk.rules.policy.imports.is_future(data.received_at, desk.now()):
        raise InvalidInput(
            f"received_at {data.received_at.isoformat()} is more than a day in the future",
            key="cli.case.history.future_received",
            time=data.received_at.isoformat(),
        )
    case = build_case(data, desk, actor.name)
    clash = session.exec(
        select(CaseRow.id).where(
            CaseRow.channel == case.channel, CaseRow.external_id == case.external_id
        )
    ).first()
    if clash is not None:
        raise InvalidInput(
            f"channel {case.channel} already has a case with external id {case.external_id} "
            f"(case {clash})",
            key="refused.duplicate_external_id",
            channel=case.channel,
            external_id=case.external_id,
            other=clash,
        )
    session.add(case)
    session.flush()
    _event(session, desk, case, Action.RECEIVE, actor=actor.name, from_status=None)
    assert case.id is not None
    from caseworker.services.repeats import record_signature

    record_signature(session, case.id)  # found as the original of a later import's re-post
    return case.id


# ---------------------------------------------------------------- triage and assignment


def accept_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    act = _Act(session, desk, ref, Action.ACCEPT, expected_version=expected_version)
    act.finish(reason=note)


def reject_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> None:
    act = _Act(session, desk, ref, Action.REJECT, expected_version=expected_version)
    reason = _require(reason, "a reason for rejecting", "refused.required.reject_reason")
    act.case.closed_at = act.now
    _end_pause(session, act)
    act.finish(reason=reason)


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
    act = _Act(session, desk, ref, Action.ASSIGN, expected_version=expected_version)
    lead_unit = find_unit(session, _require(lead, "a lead unit", "refused.required.lead_unit"))
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
    _Act(session, desk, ref, Action.ACKNOWLEDGE).finish()


def return_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> None:
    """A unit says "not ours" (退回): within the policy's window after assignment."""
    act = _Act(session, desk, ref, Action.RETURN, expected_version=expected_version)
    reason = _require(reason, "a reason for returning", "refused.required.return_reason")
    case = act.case
    assert case.assigned_at is not None
    window = desk.rules.policy.return_window
    limit = deadline_for(case.assigned_at, window, desk.rules.calendar)
    if act.now > limit.due_at:
        ended = limit.due_at.isoformat(timespec="minutes")
        raise IllegalTransition(
            f"case {_label(case)}: the {window} window to return it ended at {ended}",
            key="refused.return_window",
            case=_label(case),
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


# ---------------------------------------------------------------- replies


def _open_reply(session: Session, case_id: int) -> ReplyRow | None:
    return session.exec(
        select(ReplyRow)
        .where(
            ReplyRow.case_id == case_id,
            col(ReplyRow.state).in_(("draft", "submitted", "sent_back")),
        )
        .order_by(col(ReplyRow.id).desc())
    ).first()


def _check_reply_editable(session: Session, actor: Actor, case: CaseRow, reply: ReplyRow) -> None:
    """Refuse `actor` drafting over `reply` when it is under review or another unit's."""
    unit_id = reply.unit_id or case.lead_unit_id  # a reply is written for the lead unit by default
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    author = session.get(ClerkRow, reply.author_id) if reply.author_id is not None else None
    check_reply_edit(
        case_label=_label(case),
        reply_state=reply.state,
        reply_unit_id=unit_id,
        reply_unit=unit.name if unit is not None else "-",
        actor=actor,
        lead_unit_id=case.lead_unit_id,
        reply_author=Actor(author.name, Role(author.role), author.unit_id) if author else None,
    )


def check_reply_draftable(session: Session, actor: Actor, ref: str | int) -> None:
    """Refuse before a composer opens when drafting on the case would be refused anyway."""
    case = find_case(session, ref)
    assert case.id is not None
    reply = _open_reply(session, case.id)
    if reply is not None:
        _check_reply_editable(session, actor, case, reply)


def draft_reply(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    text: str,
    final: bool = False,
    outcome: str | None = None,
) -> int:
    """Write (or rewrite) the case's open draft reply; saved as a draft, not yet public.

    A reply awaiting review is not rewritten, and a handler does not rewrite another unit's
    draft (see `lifecycle.check_reply_edit`); the lead unit's handler taking up a co-unit's
    draft makes it the lead unit's reply, by that handler.

    The history gets one `draft_reply` event per drafting session, not one per save (the
    composer saves every few seconds of typing): a save that only continues the clerk's own
    draft, with nothing else recorded on the case since, updates the draft and its time but
    appends no event. A new draft, a draft taken up after review sent it back, another clerk's
    edit, or an edit after anything else happened to the case each start a new session.
    """
    act = _Act(session, desk, ref, Action.DRAFT_REPLY)
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidInput(
            f"outcome must be one of {' / '.join(OUTCOMES)}",
            key="refused.outcome_choice",
            choices=" / ".join(OUTCOMES),
        )
    reply = _open_reply(session, act.case_id)
    if reply is not None:
        _check_reply_editable(session, act.actor, act.case, reply)
        if act.actor.role is Role.HANDLER and reply.unit_id != act.actor.unit_id:
            # The lead unit takes up a co-unit's draft: from now on it answers in it.
            reply.unit_id, reply.author_id = act.actor.unit_id, act.actor_id
    continuing = (
        reply is not None
        and reply.state != "sent_back"
        and _drafting(session, act.case_id, act.actor.name, reply.id)
    )
    if reply is None:
        reply = ReplyRow(
            case_id=act.case_id,
            state="draft",
            text=text,
            author_id=act.actor_id,
            unit_id=act.actor.unit_id or act.case.lead_unit_id,
            created_at=act.now,
            updated_at=act.now,
        )
    reply.text, reply.final, reply.outcome = text, final, outcome
    reply.state = "draft"  # a draft, or one review sent back (a submitted one was refused)
    reply.updated_at = act.now
    session.add(reply)
    session.flush()
    assert reply.id is not None
    act.finish(
        detail={"reply": reply.id, "final": final, "outcome": outcome}, record=not continuing
    )
    return reply.id


def _drafting(session: Session, case_id: int, actor: str, reply_id: int | None) -> bool:
    """Whether the case's newest event is `actor` drafting reply `reply_id` (a session going on)."""
    last = session.exec(
        select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.id).desc())
    ).first()
    if last is None or last.action != Action.DRAFT_REPLY.value or last.actor != actor:
        return False
    detail = json.loads(last.detail) if last.detail else {}
    return isinstance(detail, dict) and detail.get("reply") == reply_id


def submit_reply(session: Session, desk: Desk, ref: str | int) -> None:
    """A unit hands its draft to the bureau for review (待审核)."""
    act = _Act(session, desk, ref, Action.SUBMIT_REPLY)
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state not in ("draft",):
        raise IllegalTransition(
            f"case {_label(act.case)} has no draft reply to submit",
            key="refused.no_draft",
            case=_label(act.case),
        )
    reply.state = "submitted"
    reply.updated_at = act.now
    session.add(reply)
    act.finish(detail={"reply": reply.id})


def send_back_reply(session: Session, desk: Desk, ref: str | int, *, note: str) -> None:
    """Review refuses the draft (退回重办): it goes back to the unit with the reviewer's note."""
    act = _Act(session, desk, ref, Action.SEND_BACK)
    note = _require(note, "a note for the unit", "refused.required.send_back_note")
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state not in ("draft", "submitted"):
        raise IllegalTransition(
            f"case {_label(act.case)} has no reply awaiting review",
            key="refused.no_reply_for_review",
            case=_label(act.case),
        )
    reply.state, reply.review_note, reply.updated_at = "sent_back", note, act.now
    session.add(reply)
    act.finish(reason=note, detail={"reply": reply.id})


def check_reply_text(text: str) -> list[str]:
    """Problems that block publishing a reply (empty text, an unfilled {placeholder})."""
    problems = []
    if not text.strip():
        problems.append("the reply is empty")
    if "{" in text and "}" in text[text.index("{") :]:
        problems.append("the reply still has an unfilled {placeholder}")
    return problems


def publish_reply(session: Session, desk: Desk, ref: str | int) -> int:
    """Publish the open reply: a final one moves the case to "replied"; an interim one does not."""
    act = _Act(session, desk, ref, Action.PUBLISH)
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state == "sent_back":
        raise IllegalTransition(
            f"case {_label(act.case)} has no reply ready to publish",
            key="refused.no_reply_to_publish",
            case=_label(act.case),
        )
    problems = check_reply_text(reply.text)
    if problems:  # an empty text has no placeholder: there is one problem at a time
        raise InvalidInput(
            f"case {_label(act.case)}: " + "; ".join(problems),
            key="refused.reply_empty" if not reply.text.strip() else "refused.reply_placeholder",
            case=_label(act.case),
        )
    if reply.final and reply.outcome is None:
        raise InvalidInput(
            "a final reply needs an outcome: " + " / ".join(OUTCOMES),
            key="refused.final_needs_outcome",
            choices=" / ".join(OUTCOMES),
        )
    reply.state, reply.published_at, reply.updated_at = "published", act.now, act.now
    session.add(reply)
    case = act.case
    if case.replied_at is None:
        case.replied_at = act.now
    if not reply.final:
        act.to_status = Status(case.status)
    assert reply.id is not None
    act.finish(detail={"reply": reply.id, "final": reply.final, "outcome": reply.outcome})
    return reply.id


# ---------------------------------------------------------------- closing and after


def close_case(session: Session, desk: Desk, ref: str | int, *, note: str | None = None) -> None:
    act = _Act(session, desk, ref, Action.CLOSE)
    act.case.closed_at = act.now
    _end_pause(session, act)
    act.finish(reason=note)


def _end_pause(session: Session, act: _Act) -> None:
    """Ending a case ends its pause, or a later reopening would start with frozen clocks."""
    for pause in session.exec(
        select(PauseRow).where(PauseRow.case_id == act.case_id, col(PauseRow.ended_at).is_(None))
    ).all():
        pause.ended_at, pause.ended_by_id = act.now, act.actor_id
        session.add(pause)
    act.case.paused_since = None


def rate_case(
    session: Session, desk: Desk, ref: str | int, *, value: str, comment: str | None = None
) -> None:
    """Record the citizen's rating; a second one is a follow-up (追评)."""
    act = _Act(session, desk, ref, Action.RATE)
    if value not in RATINGS:
        raise InvalidInput(
            f"rating must be one of {' / '.join(RATINGS)}",
            key="refused.rating_choice",
            choices=" / ".join(RATINGS),
        )
    earlier = session.exec(select(RatingRow.id).where(RatingRow.case_id == act.case_id)).first()
    session.add(
        RatingRow(
            case_id=act.case_id,
            value=value,
            comment=comment,
            follow_up=earlier is not None,
            rated_at=act.now,
            recorded_by_id=act.actor_id,
        )
    )
    act.finish(reason=comment, detail={"rating": value, "follow_up": earlier is not None})


def latest_rating(session: Session, case: CaseRow) -> str | None:
    """The newest rating given since the case was received or last reopened, if any."""
    return session.exec(
        select(RatingRow.value)
        .where(
            RatingRow.case_id == case.id,
            col(RatingRow.value).is_not(None),
            col(RatingRow.rated_at) >= case.clock_started_at,
        )
        .order_by(col(RatingRow.id).desc())
    ).first()


def check_reopenable(session: Session, case: CaseRow) -> None:
    """Refuse to reopen a case the citizen has not rated 不满意 since its last answer."""
    check_reopen(case_label=_label(case), latest_rating=latest_rating(session, case))


def reopen_case(session: Session, desk: Desk, ref: str | int, *, reason: str) -> None:
    """重办 after the citizen's 不满意: back to the unit with fresh reply and close clocks from now.

    The published replies stay on record (the 答复率 still counts them); `replied_at` is cleared
    because it stops the first-reply clock, which starts again with the reopening.
    """
    act = _Act(session, desk, ref, Action.REOPEN)
    reason = _require(reason, "a reason for reopening", "refused.required.reopen_reason")
    check_reopenable(session, act.case)
    case = act.case
    case.clock_started_at = act.now
    case.replied_at = None
    case.closed_at = None
    act.finish(reason=reason)


def request_extension(
    session: Session, desk: Desk, ref: str | int, *, days: int, reason: str
) -> int:
    act = _Act(session, desk, ref, Action.REQUEST_EXTENSION)
    reason = _require(reason, "a reason for the extension", "refused.required.extension_reason")
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
            ExtensionRow.case_id == act.case_id, ExtensionRow.state == "requested"
        )
    ).first()
    if pending is not None:
        raise IllegalTransition(
            f"case {_label(act.case)} already has an extension awaiting approval",
            key="refused.extension_pending",
            case=_label(act.case),
        )
    granted = session.exec(
        select(func.coalesce(func.sum(ExtensionRow.days), 0)).where(
            ExtensionRow.case_id == act.case_id,
            ExtensionRow.state == "approved",
            col(ExtensionRow.decided_at) >= act.case.clock_started_at,
        )
    ).one()
    if cap.unit is LimitUnit.DAYS and granted + days > cap.amount:
        raise InvalidInput(
            f"case {_label(act.case)} already has {granted} days of extension; "
            f"at most {cap.amount} in all",
            key="refused.extension_total",
            case=_label(act.case),
            granted=granted,
            days=cap.amount,
        )
    row = ExtensionRow(
        case_id=act.case_id,
        days=days,
        reason=reason,
        state="requested",
        requested_by_id=act.actor_id,
        requested_at=act.now,
    )
    session.add(row)
    session.flush()
    assert row.id is not None
    act.finish(reason=reason, detail={"extension": row.id, "days": days})
    return row.id


def _pending_extension(session: Session, act: _Act) -> ExtensionRow:
    """The case's extension awaiting a supervisor's decision; refused when there is none."""
    row = session.exec(
        select(ExtensionRow).where(
            ExtensionRow.case_id == act.case_id, ExtensionRow.state == "requested"
        )
    ).first()
    if row is None:
        raise IllegalTransition(
            f"case {_label(act.case)} has no extension awaiting approval",
            key="refused.no_extension",
            case=_label(act.case),
        )
    return row


def approve_extension(session: Session, desk: Desk, ref: str | int) -> None:
    """A supervisor approves the pending extension; the close deadline moves."""
    act = _Act(session, desk, ref, Action.APPROVE_EXTENSION)
    row = _pending_extension(session, act)
    row.state, row.decided_by_id, row.decided_at = "approved", act.actor_id, act.now
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
    act = _Act(session, desk, ref, Action.DENY_EXTENSION, expected_version=expected_version)
    reason = _require(reason, "a reason for denying", "refused.required.deny_reason")
    row = _pending_extension(session, act)
    row.state, row.decided_by_id, row.decided_at = "denied", act.actor_id, act.now
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
    """Every extension awaiting a decision, oldest request first: the supervisor's queue.

    A unit handler sees only the requests of cases their units lead or help on.
    """
    from caseworker.services.queues import handler_units
    from caseworker.store import queries

    units = handler_units(session, clerk) if clerk is not None else None
    rows = session.exec(
        select(ExtensionRow, CaseRow)
        .join(CaseRow, col(CaseRow.id) == ExtensionRow.case_id)
        .where(ExtensionRow.state == "requested")
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
    act = _Act(session, desk, ref, Action.SUPERVISE)
    code = SUPERVISION_LEVELS.get(level, level if level in SUPERVISION_LABELS else "")
    if not code:
        raise InvalidInput(
            "level must be one of 催办 / 挂牌 / 约谈",
            key="refused.level_choice",
            choices="催办 / 挂牌 / 约谈",
        )
    note = _require(note, "a supervision note", "refused.required.supervision_note")
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
    act = _Act(session, desk, ref, Action.INSTRUCT)
    leader = _require(leader, "the leader's name", "refused.required.leader")
    text = _require(text, "the instruction", "refused.required.instruction")
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


def pause_case(session: Session, desk: Desk, ref: str | int, *, reason: str) -> None:
    """Stop the clocks (a hearing, waiting for the citizen's materials)."""
    act = _Act(session, desk, ref, Action.PAUSE)
    reason = _require(reason, "a reason for pausing", "refused.required.pause_reason")
    if act.case.paused_since is not None:
        raise IllegalTransition(
            f"case {_label(act.case)} is already paused",
            key="refused.already_paused",
            case=_label(act.case),
        )
    session.add(
        PauseRow(case_id=act.case_id, reason=reason, started_at=act.now, started_by_id=act.actor_id)
    )
    act.case.paused_since = act.now
    act.finish(reason=reason)


def resume_case(session: Session, desk: Desk, ref: str | int, *, note: str | None = None) -> None:
    """Restart the clocks; a clerk's note is the resume event's own reason (nothing is edited)."""
    act = _Act(session, desk, ref, Action.RESUME)
    pause = session.exec(
        select(PauseRow).where(PauseRow.case_id == act.case_id, col(PauseRow.ended_at).is_(None))
    ).first()
    if pause is None:
        raise IllegalTransition(
            f"case {_label(act.case)} is not paused",
            key="refused.not_paused",
            case=_label(act.case),
        )
    pause.ended_at, pause.ended_by_id = act.now, act.actor_id
    session.add(pause)
    act.case.paused_since = None
    note = (note or "").strip() or None
    act.finish(reason=note, detail={"paused_since": pause.started_at.isoformat()})


def merge_case(
    session: Session, desk: Desk, ref: str | int, *, into: str | int, reason: str | None = None
) -> None:
    """Merge a repeat into its original: this case ends, linked to the one that carries on."""
    act = _Act(session, desk, ref, Action.MERGE)
    target = find_case(session, into)
    if target.id == act.case_id:
        raise InvalidInput("a case cannot be merged into itself", key="refused.merge_self")
    if Status(target.status) in (Status.REJECTED, Status.MERGED):
        raise IllegalTransition(
            f"case {_label(target)} is {target.status}; merge into the case it was merged into",
            key="refused.merge_ended_target",
            case=_label(target),
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
    _end_pause(session, act)
    act.finish(reason=reason, detail={"into": target.id})


def link_repeat(session: Session, desk: Desk, ref: str | int, *, original: str | int) -> None:
    """Mark a case as a repeat of an earlier one (重复留言), keeping it open."""
    act = _Act(session, desk, ref, Action.LINK_REPEAT)
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


# ---------------------------------------------------------------- reading


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
    from caseworker.store.models import ClerkRow

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
        co_units=[names[u] for u in _co_unit_ids(session, cid)],
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


def extension_limit(days: int) -> Limit:
    return Limit(days, LimitUnit.DAYS)
