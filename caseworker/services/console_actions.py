"""The console's case actions as typed pairs: what a dialog loads, and how its result is applied.

Each `ActionKind[D, R]` names the lifecycle rule checked before its dialog opens, the loader
that gives the dialog its `D` (a dataclass of services.console_data), and the use-case that
applies the dialog's frozen `R`. The console facade (services.console) runs each in one
transaction; the screens pair a kind with its dialog (screens.case_actions), and mypy holds
the dialog's `R` to the one the kind applies. Functions here take a Session and never commit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from sqlmodel import Session

from caseworker.domain.lifecycle import Action
from caseworker.services import cases
from caseworker.services import console_data as data
from caseworker.services.cases import Desk
from caseworker.services.console_data import (
    AssignData,
    AssignResult,
    CaseSummary,
    EndingData,
    ExtensionApproval,
    ExtensionData,
    ExtensionRequest,
    InstructionResult,
    MergeResult,
    NoteResult,
    RatingResult,
    RejectResult,
    ReplyData,
    ReplyResult,
    ReviewResult,
    SuperviseResult,
)
from caseworker.services.people import UnknownName
from caseworker.store.models import Unit


class Versioned(Protocol):
    """A dialog's result: it carries the case version the dialog was opened on."""

    @property
    def version(self) -> int: ...


D = TypeVar("D")
R = TypeVar("R", bound=Versioned)


@dataclass(frozen=True)
class NoteData:
    """A note dialog's case, and what it shows beside the note (why a case is paused)."""

    case: CaseSummary
    context: str | None = None


@dataclass(frozen=True)
class ActionKind(Generic[D, R]):
    """One case action of the console: its rule, its dialog's data and how its result applies."""

    name: str  # the console's action name (keys.CASE_ACTIONS)
    rule: Action  # checked before the dialog opens (keys.CASE_ACTION_RULES)
    load: Callable[[Session, Desk, int], D]
    apply: Callable[[Session, Desk, int, R], None]


# ---------------------------------------------------------------- use-cases the console adds


def unit_code(session: Session, unit_id: int) -> str:
    """The code of the unit a dialog chose by id; refused when it is gone meanwhile."""
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise UnknownName(f"unit {unit_id} no longer exists", key="refused.unit_gone", id=unit_id)
    return unit.code


def assign_to_units(
    session: Session,
    desk: Desk,
    case_id: int,
    *,
    lead_id: int,
    co_unit_ids: tuple[int, ...] = (),
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    """交办 by unit ids, as the assignment dialog chooses them (cases.assign_case by codes)."""
    cases.assign_case(
        session,
        desk,
        case_id,
        lead=unit_code(session, lead_id),
        co_units=[unit_code(session, u) for u in co_unit_ids],
        note=note,
        expected_version=expected_version,
    )


def reply_and_submit(
    session: Session,
    desk: Desk,
    case_id: int,
    *,
    text: str,
    final: bool,
    outcome: str | None,
    expected_version: int | None,
) -> None:
    """Store the composer's text as the draft and hand it to the bureau for review, at once:
    nothing is half done when either step is refused."""
    save_draft(
        session,
        desk,
        case_id,
        text=text,
        final=final,
        outcome=outcome,
        expected_version=expected_version,
    )
    draft = data.open_reply(session, case_id)
    if draft is not None and draft.state == "draft":
        cases.submit_reply(session, desk, case_id)


def save_draft(
    session: Session,
    desk: Desk,
    case_id: int,
    *,
    text: str,
    final: bool,
    outcome: str | None,
    expected_version: int | None,
) -> int:
    """Autosave the composer's text as the case's draft; returns the case's new version."""
    if expected_version is not None:
        check_unchanged(session, case_id, expected_version)
    cases.draft_reply(session, desk, case_id, text=text, final=final, outcome=outcome)
    session.flush()
    return cases.find_case(session, case_id).version


def check_unchanged(
    session: Session, case_id: int, expected: int, action: Action | None = None
) -> None:
    """Refuse to write over a change made since the dialog opened (cases.version_conflict
    says who changed what, and whether `action` can still be done)."""
    case = cases.find_case(session, case_id)
    if case.version != expected:
        raise cases.version_conflict(session, case, action)


# ---------------------------------------------------------------- loaders


def _summary(session: Session, desk: Desk, case_id: int) -> CaseSummary:
    return data.case_summary(session, desk, case_id)


def _note(session: Session, desk: Desk, case_id: int) -> NoteData:
    return NoteData(data.case_summary(session, desk, case_id))


def _paused_note(session: Session, desk: Desk, case_id: int) -> NoteData:
    return NoteData(data.case_summary(session, desk, case_id), data.pause_reason(session, case_id))


# ---------------------------------------------------------------- appliers


def _accept(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    cases.accept_case(session, desk, case_id, note=r.note or None, expected_version=r.version)


def _reject(session: Session, desk: Desk, case_id: int, r: RejectResult) -> None:
    cases.reject_case(session, desk, case_id, reason=r.recorded(), expected_version=r.version)


def _assign(session: Session, desk: Desk, case_id: int, r: AssignResult) -> None:
    assign_to_units(
        session,
        desk,
        case_id,
        lead_id=r.lead_id,
        co_unit_ids=r.co_unit_ids,
        note=r.note or None,
        expected_version=r.version,
    )


def _return(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    cases.return_case(session, desk, case_id, reason=r.note, expected_version=r.version)


def _reply(session: Session, desk: Desk, case_id: int, r: ReplyResult) -> None:
    reply_and_submit(
        session,
        desk,
        case_id,
        text=r.text,
        final=r.final,
        outcome=r.outcome,
        expected_version=r.version,
    )


def _review(session: Session, desk: Desk, case_id: int, r: ReviewResult) -> None:
    if r.decision == "publish":
        cases.publish_reply(session, desk, case_id)
    else:
        cases.send_back_reply(session, desk, case_id, note=r.note)


def _close(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    cases.close_case(session, desk, case_id, note=r.note or None)


def _rate(session: Session, desk: Desk, case_id: int, r: RatingResult) -> None:
    cases.rate_case(session, desk, case_id, value=r.value, comment=r.comment or None)


def _reopen(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    cases.reopen_case(session, desk, case_id, reason=r.note)


def _extend(session: Session, desk: Desk, case_id: int, r: ExtensionRequest) -> None:
    cases.request_extension(session, desk, case_id, days=r.days, reason=r.reason)


def _decide_extension(session: Session, desk: Desk, case_id: int, r: ExtensionApproval) -> None:
    """The supervisor's decision on the pending request: approve it, or deny it with a reason."""
    if r.deny:
        cases.deny_extension(session, desk, case_id, reason=r.reason)
    else:
        cases.approve_extension(session, desk, case_id)


def _supervise(session: Session, desk: Desk, case_id: int, r: SuperviseResult) -> None:
    cases.supervise_case(session, desk, case_id, level=r.level, note=r.note)


def _instruct(session: Session, desk: Desk, case_id: int, r: InstructionResult) -> None:
    cases.instruct_case(session, desk, case_id, leader=r.leader, text=r.text, owner=r.owner)


def _pause(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    cases.pause_case(session, desk, case_id, reason=r.note)


def _resume(session: Session, desk: Desk, case_id: int, r: NoteResult) -> None:
    """The clerk's note goes on the resume event the service appends; nothing is rewritten."""
    cases.resume_case(session, desk, case_id, note=r.note or None)


def _merge(session: Session, desk: Desk, case_id: int, r: MergeResult) -> None:
    cases.merge_case(session, desk, case_id, into=r.target_id, reason=r.reason or None)


ACCEPT = ActionKind("accept", Action.ACCEPT, _note, _accept)
REJECT: ActionKind[EndingData, RejectResult] = ActionKind(
    "reject", Action.REJECT, data.ending_data, _reject
)
ASSIGN: ActionKind[AssignData, AssignResult] = ActionKind(
    "assign", Action.ASSIGN, data.assign_data, _assign
)
RETURN = ActionKind("return", Action.RETURN, _note, _return)
REPLY: ActionKind[ReplyData, ReplyResult] = ActionKind(
    "reply", Action.DRAFT_REPLY, data.reply_data, _reply
)
REVIEW: ActionKind[ReplyData, ReviewResult] = ActionKind(
    "review", Action.PUBLISH, data.review_data, _review
)
CLOSE: ActionKind[EndingData, NoteResult] = ActionKind(
    "close", Action.CLOSE, data.ending_data, _close
)
RATE = ActionKind("rate", Action.RATE, _summary, _rate)
REOPEN = ActionKind("reopen", Action.REOPEN, _note, _reopen)
EXTEND: ActionKind[ExtensionData, ExtensionRequest] = ActionKind(
    "extend", Action.REQUEST_EXTENSION, data.extension_data, _extend
)
APPROVE_EXTENSION: ActionKind[ExtensionData, ExtensionApproval] = ActionKind(
    "approve_extension", Action.APPROVE_EXTENSION, data.approval_data, _decide_extension
)
SUPERVISE = ActionKind("supervise", Action.SUPERVISE, _summary, _supervise)
INSTRUCT = ActionKind("instruct", Action.INSTRUCT, _summary, _instruct)
PAUSE = ActionKind("pause", Action.PAUSE, _note, _pause)
RESUME = ActionKind("resume", Action.RESUME, _paused_note, _resume)
MERGE: ActionKind[EndingData, MergeResult] = ActionKind(
    "merge", Action.MERGE, data.ending_data, _merge
)
