"""The end of a case and what may follow it: closing, the citizen's rating, reopening, and
pausing and resuming the clocks."""

from __future__ import annotations

from sqlmodel import Session, col, select

from caseworker.domain.errors import IllegalTransition, InvalidInput
from caseworker.domain.lifecycle import Action, check_reopen
from caseworker.services.cases.context import (
    Act,
    Desk,
    LapsedExtension,
    case_label,
    end_pause,
    required,
)
from caseworker.store.models import CaseRow, PauseRow, RatingRow

RATINGS = ("满意", "基本满意", "不满意")


def close_case(
    session: Session, desk: Desk, ref: str | int, *, note: str | None = None
) -> list[LapsedExtension]:
    """办结; the extension requests still awaiting a decision lapse with it (returned, so the
    clerk can be told)."""
    act = Act(session, desk, ref, Action.CLOSE)
    act.case.closed_at = act.now
    end_pause(session, act)
    act.finish(reason=note)
    return act.lapsed


def rate_case(
    session: Session, desk: Desk, ref: str | int, *, value: str, comment: str | None = None
) -> None:
    """Record the citizen's rating; a second one is a follow-up (追评)."""
    act = Act(session, desk, ref, Action.RATE)
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
    check_reopen(case_label=case_label(case), latest_rating=latest_rating(session, case))


def reopen_case(session: Session, desk: Desk, ref: str | int, *, reason: str) -> None:
    """重办 after the citizen's 不满意: back to the unit with fresh reply and close clocks from now.

    The published replies stay on record (the 答复率 still counts them); `replied_at` is cleared
    because it stops the first-reply clock, which starts again with the reopening.
    """
    act = Act(session, desk, ref, Action.REOPEN)
    reason = required(reason, "a reason for reopening", "refused.required.reopen_reason")
    check_reopenable(session, act.case)
    case = act.case
    case.clock_started_at = act.now
    case.replied_at = None
    case.closed_at = None
    act.finish(reason=reason)


def pause_case(session: Session, desk: Desk, ref: str | int, *, reason: str) -> None:
    """Stop the clocks (a hearing, waiting for the citizen's materials)."""
    act = Act(session, desk, ref, Action.PAUSE)
    reason = required(reason, "a reason for pausing", "refused.required.pause_reason")
    if act.case.paused_since is not None:
        raise IllegalTransition(
            f"case {case_label(act.case)} is already paused",
            key="refused.already_paused",
            case=case_label(act.case),
        )
    session.add(
        PauseRow(case_id=act.case_id, reason=reason, started_at=act.now, started_by_id=act.actor_id)
    )
    act.case.paused_since = act.now
    act.finish(reason=reason)


def resume_case(session: Session, desk: Desk, ref: str | int, *, note: str | None = None) -> None:
    """Restart the clocks; a clerk's note is the resume event's own reason (nothing is edited)."""
    act = Act(session, desk, ref, Action.RESUME)
    pause = session.exec(
        select(PauseRow).where(PauseRow.case_id == act.case_id, col(PauseRow.ended_at).is_(None))
    ).first()
    if pause is None:
        raise IllegalTransition(
            f"case {case_label(act.case)} is not paused",
            key="refused.not_paused",
            case=case_label(act.case),
        )
    pause.ended_at, pause.ended_by_id = act.now, act.actor_id
    session.add(pause)
    act.case.paused_since = None
    note = (note or "").strip() or None
    act.finish(reason=note, detail={"paused_since": pause.started_at.isoformat()})
