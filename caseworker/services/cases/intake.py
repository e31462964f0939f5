"""A message becoming a case: checking and building a new case, receiving it, and the
first decision on it (accept or reject)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from caseworker.clock import recorded_now
from caseworker.domain.errors import InvalidInput
from caseworker.domain.lifecycle import Action, Status
from caseworker.domain.policy import Kind, PolicyError, Urgency
from caseworker.services.cases.context import (
    Act,
    Desk,
    LapsedExtension,
    end_pause,
    record_event,
    required,
)
from caseworker.services.clocks import case_clocks
from caseworker.services.people import resolve_actor
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow
from caseworker.store.types import END_OF_TIME


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
    record_event(session, desk, case, Action.RECEIVE, actor=actor.name, from_status=None)
    assert case.id is not None
    from caseworker.services.repeats import record_signature

    record_signature(session, case.id)  # found as the original of a later import's re-post
    return case.id


def accept_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    note: str | None = None,
    expected_version: int | None = None,
) -> None:
    act = Act(session, desk, ref, Action.ACCEPT, expected_version=expected_version)
    act.finish(reason=note)


def reject_case(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    reason: str,
    expected_version: int | None = None,
) -> list[LapsedExtension]:
    """不予受理, with a reason; the extension requests still awaiting a decision (one left
    on a case its unit returned) lapse with it, and are returned."""
    act = Act(session, desk, ref, Action.REJECT, expected_version=expected_version)
    reason = required(reason, "a reason for rejecting", "refused.required.reject_reason")
    act.case.closed_at = act.now
    end_pause(session, act)
    act.finish(reason=reason)
    return act.lapsed
