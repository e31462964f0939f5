"""The answer to the citizen: drafting, review (submit, send back) and publishing."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from caseworker.domain.errors import IllegalTransition, InvalidInput
from caseworker.domain.lifecycle import Action, Actor, Role, Status, check_reply_edit
from caseworker.services.cases.context import Act, Desk, case_label, find_case, required
from caseworker.store.models import CaseRow, ClerkRow, EventRow, ReplyRow, Unit

OUTCOMES = ("支持", "解释说明", "不支持")


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
        case_label=case_label(case),
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
    act = Act(session, desk, ref, Action.DRAFT_REPLY)
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
    act = Act(session, desk, ref, Action.SUBMIT_REPLY)
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state not in ("draft",):
        raise IllegalTransition(
            f"case {case_label(act.case)} has no draft reply to submit",
            key="refused.no_draft",
            case=case_label(act.case),
        )
    reply.state = "submitted"
    reply.updated_at = act.now
    session.add(reply)
    act.finish(detail={"reply": reply.id})


def send_back_reply(session: Session, desk: Desk, ref: str | int, *, note: str) -> None:
    """Review refuses the draft (退回重办): it goes back to the unit with the reviewer's note."""
    act = Act(session, desk, ref, Action.SEND_BACK)
    note = required(note, "a note for the unit", "refused.required.send_back_note")
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state not in ("draft", "submitted"):
        raise IllegalTransition(
            f"case {case_label(act.case)} has no reply awaiting review",
            key="refused.no_reply_for_review",
            case=case_label(act.case),
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
    act = Act(session, desk, ref, Action.PUBLISH)
    reply = _open_reply(session, act.case_id)
    if reply is None or reply.state == "sent_back":
        raise IllegalTransition(
            f"case {case_label(act.case)} has no reply ready to publish",
            key="refused.no_reply_to_publish",
            case=case_label(act.case),
        )
    problems = check_reply_text(reply.text)
    if problems:  # an empty text has no placeholder: there is one problem at a time
        raise InvalidInput(
            f"case {case_label(act.case)}: " + "; ".join(problems),
            key="refused.reply_empty" if not reply.text.strip() else "refused.reply_placeholder",
            case=case_label(act.case),
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
