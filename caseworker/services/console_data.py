"""What the console's dialogs show, loaded as plain dataclasses: cases, units, deadlines, drafts.

The dialogs never touch the database; the console facade (services.console) calls these in a
worker thread, one transaction each, and hands the results to a dialog. Reply checks and
template filling are pure functions here so the composer and the tests share one definition of
"publishable".
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from sqlalchemy import and_, func
from sqlalchemy import case as sql_case
from sqlmodel import Session, col, select

from caseworker.config import DATA_DIR
from caseworker.domain.bounds import case_id_of
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import ClockState, Stage
from caseworker.domain.errors import IllegalTransition
from caseworker.domain.lifecycle import OPEN_STATES, Status
from caseworker.services.cases import (
    OUTCOMES,
    Desk,
    find_case,
    lapsing_extensions,
    readable_case,
)
from caseworker.services.clocks import case_clocks, load_records
from caseworker.services.people import list_units, resolve_actor
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow, ExtensionRow, PauseRow, ReplyRow, Unit

TEMPLATE_DIR = DATA_DIR / "reply_templates"
PLACEHOLDERS = ("citizen", "title", "unit", "date")


@dataclass(frozen=True)
class CaseSummary:
    """The few facts about a case every dialog shows in its title and header."""

    id: int
    external_id: str
    title: str
    body: str
    status: str
    channel: str
    author: str | None
    lead_unit: str | None
    received_at: datetime
    version: int
    updated_by: str
    updated_at: datetime
    paused: bool
    role: str  # the acting clerk's role, so a dialog offers only what they may do


@dataclass(frozen=True)
class UnitCandidate:
    """A unit as the assignment dialog lists it: where it sits, and how loaded and punctual."""

    id: int
    code: str
    name: str
    path: str  # "市政府 / 区政府 / 区教育局"
    depth: int
    open_cases: int
    close_due: int  # cases whose close deadline fell in the last ON_TIME_WINDOW
    closed_on_time: int  # of those, closed by it

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率 as the ranking counts it, over the last ON_TIME_WINDOW; None when no close
        deadline of the unit fell in it."""
        return self.closed_on_time / self.close_due if self.close_due else None


# The assignment dialog's 按期办结率 looks back this far: a quarter, the ranking's longest period.
ON_TIME_WINDOW = timedelta(days=90)


@dataclass(frozen=True)
class DeadlinePreview:
    """One deadline a dialog shows before the clerk confirms."""

    stage: str
    due_at: datetime
    provisional: bool
    running: bool


@dataclass(frozen=True)
class AssignData:
    case: CaseSummary
    units: list[UnitCandidate]
    deadlines: list[DeadlinePreview]
    # The triage model's lead units for the case (unit id, score), best first; none untrained.
    suggested: tuple[tuple[int, float], ...] = ()


@dataclass(frozen=True)
class ReplyTemplate:
    """A reply template from data/reply_templates/*.toml."""

    key: str
    name_zh: str
    name_en: str
    outcome: str | None
    final: bool
    text: str


@dataclass(frozen=True)
class ReplyDraft:
    """The case's open reply, if any: restored into the composer, shown in the review dialog."""

    text: str
    final: bool
    outcome: str | None
    state: str  # draft / submitted / sent_back
    review_note: str | None
    updated_at: datetime


@dataclass(frozen=True)
class ReplyData:
    case: CaseSummary
    draft: ReplyDraft | None
    templates: list[ReplyTemplate]
    fill: dict[str, str]  # placeholder -> value for this case


@dataclass(frozen=True)
class ExtensionData:
    case: CaseSummary
    pending_days: int | None
    pending_reason: str | None
    granted_days: int
    max_days: int
    close_due_at: datetime | None


@dataclass(frozen=True)
class EndingData:
    """What a dialog that ends a case (close, reject, merge) shows: the case, and the days
    asked by each of its extension requests still awaiting a decision, which ending the case
    lapses (services.cases.context.lapse_extensions); empty when none waits."""

    case: CaseSummary
    lapsing_days: tuple[int, ...] = ()


@dataclass(frozen=True)
class MergeTarget:
    id: int
    external_id: str
    title: str
    status: str
    received_at: datetime


@dataclass(frozen=True)
class ReplyChecks:
    """What the composer's line of checks shows; `blocking` ones refuse a submit."""

    empty: bool
    placeholders: list[str]
    sensitive: list[str]  # phone / ID numbers found: a warning, not a refusal

    @property
    def blocking(self) -> bool:
        return self.empty or bool(self.placeholders)


# ---------------------------------------------------------------- what the dialogs give back
# Frozen results each dialog is dismissed with, applied by services.console_actions.


@dataclass(frozen=True)
class AssignResult:
    lead_id: int
    co_unit_ids: tuple[int, ...]
    note: str
    version: int


@dataclass(frozen=True)
class ExtensionRequest:
    days: int
    reason: str
    version: int


@dataclass(frozen=True)
class ExtensionApproval:
    """The supervisor's decision: approve, or deny with the reason the unit is told."""

    days: int
    version: int
    deny: bool = False
    reason: str = ""


@dataclass(frozen=True)
class InstructionResult:
    leader: str
    text: str
    owner: bool
    version: int


@dataclass(frozen=True)
class MergeResult:
    target_id: int
    reason: str
    query: str
    version: int


@dataclass(frozen=True)
class NoteResult:
    note: str
    version: int


@dataclass(frozen=True)
class RatingResult:
    value: str  # one of RATINGS
    comment: str
    version: int


@dataclass(frozen=True)
class RejectResult:
    reason: str  # one of REJECT_REASONS
    text: str
    version: int

    def recorded(self) -> str:
        """The reason as the event records it: the listed reason, then the clerk's words."""
        return f"{self.reason}：{self.text}" if self.text else self.reason


@dataclass(frozen=True)
class ReplyResult:
    """The composer's state: what autosave stores and what a submit sends for review."""

    text: str
    final: bool
    outcome: str | None
    answered: bool
    version: int


@dataclass(frozen=True)
class ReviewResult:
    decision: Literal["publish", "send_back"]
    note: str
    version: int


@dataclass(frozen=True)
class SuperviseResult:
    level: str  # one of LEVELS
    note: str
    version: int


# ---------------------------------------------------------------- loading


def case_summary(session: Session, desk: Desk, case_id: int) -> CaseSummary:
    """The header facts of one case, with the acting clerk's role; every dialog shows them,
    so a unit handler is refused another unit's case here too (cases.readable_case)."""
    actor, _ = resolve_actor(session, desk.clerk)
    case = readable_case(session, case_id, clerk=desk.clerk)
    assert case.id is not None
    lead = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
    return CaseSummary(
        id=case.id,
        external_id=case.external_id,
        title=case.title,
        body=case.body,
        status=case.status,
        channel=case.channel,
        author=case.author,
        lead_unit=lead.name if lead else None,
        received_at=case.received_at,
        version=case.version,
        updated_by=case.updated_by,
        updated_at=case.updated_at,
        paused=case.paused_since is not None,
        role=actor.role.value,
    )


def unit_candidates(session: Session, now: datetime) -> list[UnitCandidate]:
    """Every active unit in tree order, with open cases and on-time closes by grouped SQL.

    Open cases are counted per (unit, status) with no status filter: that reads only the
    (lead_unit_id, status, ...) index, where a status filter makes SQLite pick the status index
    and visit every row (500 ms against 30 ms on 100,000 cases, bench/bench_dialog_data.py).
    按期办结率 is the measure supervisors rank by (domain.measures: closed by the close deadline
    ÷ cases whose close deadline fell in the period), over the last ON_TIME_WINDOW: a late case
    still open counts against the unit, as it does in the ranking.
    """
    open_values = {s.value for s in OPEN_STATES}
    open_counts: dict[int, int] = {}
    for unit_id, status, count in session.exec(
        select(CaseRow.lead_unit_id, CaseRow.status, func.count())
        .where(col(CaseRow.lead_unit_id).is_not(None))
        .group_by(col(CaseRow.lead_unit_id), col(CaseRow.status))
    ).all():
        if unit_id is not None and status in open_values:
            open_counts[unit_id] = open_counts.get(unit_id, 0) + int(count)
    on_time = sql_case(
        (
            and_(
                col(CaseRow.status) == Status.CLOSED.value,
                col(CaseRow.closed_at) <= col(CaseRow.close_due_at),
            ),
            1,
        ),
        else_=0,
    )
    ended = (Status.REJECTED.value, Status.MERGED.value)  # no close deadline to keep
    closed = {
        unit_id: (int(total), int(punctual or 0))
        for unit_id, total, punctual in session.exec(
            select(CaseRow.lead_unit_id, func.count(), func.sum(on_time))
            .where(col(CaseRow.close_due_at) >= now - ON_TIME_WINDOW)
            .where(col(CaseRow.close_due_at) < now)
            .where(col(CaseRow.status).not_in(ended))
            .where(col(CaseRow.lead_unit_id).is_not(None))
            .group_by(col(CaseRow.lead_unit_id))
        ).all()
    }
    units = list_units(session)
    by_id = {u.id: u for u in units}
    out: list[UnitCandidate] = []
    for unit in units:
        if not unit.active:
            continue
        names, node, depth = [unit.name], unit.parent_id, 0
        while node is not None and node in by_id and depth < 32:
            names.append(by_id[node].name)
            node, depth = by_id[node].parent_id, depth + 1
        total, punctual = closed.get(unit.id, (0, 0))
        out.append(
            UnitCandidate(
                id=unit.id,
                code=unit.code,
                name=unit.name,
                path=" / ".join(reversed(names)),
                depth=depth,
                open_cases=int(open_counts.get(unit.id, 0)),
                close_due=total,
                closed_on_time=punctual,
            )
        )
    return out


def deadline_preview(
    session: Session, rules: Rules, now: datetime, case_id: int
) -> list[DeadlinePreview]:
    """The reply and close deadlines the case will carry once assigned (they run from receipt,
    so whichever unit is chosen they are the same; the dialog shows them before confirming)."""
    case = find_case(session, case_id)
    assert case.id is not None
    clocks = case_clocks(case, load_records(session, case.id, case.clock_started_at), rules, now)
    return [
        DeadlinePreview(c.stage.value, c.due_at, c.provisional, c.state is not ClockState.STOPPED)
        for c in clocks
        if c.stage in (Stage.REPLY, Stage.CLOSE)
    ]


def assign_data(session: Session, desk: Desk, case_id: int) -> AssignData:
    from caseworker.services.triage import unit_suggestions

    return AssignData(
        case=case_summary(session, desk, case_id),
        units=unit_candidates(session, desk.now()),
        deadlines=deadline_preview(session, desk.rules, desk.now(), case_id),
        suggested=tuple(unit_suggestions(session, case_id, clerk=desk.clerk)),
    )


def load_templates(folder: Path = TEMPLATE_DIR) -> list[ReplyTemplate]:
    """Reply templates, one per TOML file, sorted by file name; a broken file is skipped."""
    out: list[ReplyTemplate] = []
    for path in sorted(folder.glob("*.toml")):
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError):
            continue
        text = doc.get("text")
        if not isinstance(text, str):
            continue
        outcome = doc.get("outcome")
        out.append(
            ReplyTemplate(
                key=path.stem,
                name_zh=str(doc.get("name", path.stem)),
                name_en=str(doc.get("name_en", doc.get("name", path.stem))),
                outcome=outcome if outcome in OUTCOMES else None,
                final=bool(doc.get("final", True)),
                text=text,
            )
        )
    return out


def open_reply(session: Session, case_id: int) -> ReplyDraft | None:
    reply = session.exec(
        select(ReplyRow)
        .where(ReplyRow.case_id == case_id)
        .where(col(ReplyRow.state).in_(("draft", "submitted", "sent_back")))
        .order_by(col(ReplyRow.id).desc())
    ).first()
    if reply is None:
        return None
    return ReplyDraft(
        reply.text, reply.final, reply.outcome, reply.state, reply.review_note, reply.updated_at
    )


def reply_data(session: Session, desk: Desk, case_id: int) -> ReplyData:
    """The case, its open draft (restored after a restart), the templates and their fillings."""
    summary = case_summary(session, desk, case_id)
    actor, _ = resolve_actor(session, desk.clerk)
    unit_name = summary.lead_unit
    if actor.unit_id is not None:
        own = session.get(Unit, actor.unit_id)
        unit_name = own.name if own else unit_name
    today = desk.now().astimezone(SHANGHAI)
    fill = {
        "citizen": summary.author or "网友",
        "title": summary.title,
        "unit": unit_name or "",
        "date": f"{today.year}年{today.month}月{today.day}日",
    }
    return ReplyData(summary, open_reply(session, case_id), load_templates(), fill)


def review_data(session: Session, desk: Desk, case_id: int) -> ReplyData:
    """The reply awaiting review; refused when the case has none."""
    data = reply_data(session, desk, case_id)
    if data.draft is None or data.draft.state == "sent_back":
        label = f"{case_id} ({data.case.external_id})"
        raise IllegalTransition(
            f"case {label} has no reply awaiting review",
            key="refused.no_reply_for_review",
            case=label,
        )
    return data


def extension_data(session: Session, desk: Desk, case_id: int) -> ExtensionData:
    summary = case_summary(session, desk, case_id)
    case = find_case(session, case_id)
    pending = session.exec(
        select(ExtensionRow).where(
            ExtensionRow.case_id == case_id, ExtensionRow.state == "requested"
        )
    ).first()
    granted = session.exec(
        select(func.coalesce(func.sum(ExtensionRow.days), 0)).where(
            ExtensionRow.case_id == case_id,
            ExtensionRow.state == "approved",
            col(ExtensionRow.decided_at) >= case.clock_started_at,
        )
    ).one()
    cap = desk.rules.policy.max_extension
    return ExtensionData(
        case=summary,
        pending_days=pending.days if pending else None,
        pending_reason=pending.reason if pending else None,
        granted_days=int(granted),
        max_days=cap.amount,
        close_due_at=None if case.closed_at else case.close_due_at,
    )


def approval_data(session: Session, desk: Desk, case_id: int) -> ExtensionData:
    """The pending extension; refused when the case has none."""
    data = extension_data(session, desk, case_id)
    if data.pending_days is None:
        label = f"{case_id} ({data.case.external_id})"
        raise IllegalTransition(
            f"case {label} has no extension awaiting approval",
            key="refused.no_extension",
            case=label,
        )
    return data


def ending_data(session: Session, desk: Desk, case_id: int) -> EndingData:
    """The case, and what ending it now would lapse, read in the dialog's one transaction: a
    request filed after the dialog opened changes the case's version, so the dialog's result
    is refused and it reopens with the request shown."""
    summary = case_summary(session, desk, case_id)
    return EndingData(summary, tuple(e.days for e in lapsing_extensions(session, case_id)))


def pause_reason(session: Session, case_id: int) -> str | None:
    """Why the case is paused, for the resume dialog."""
    row = session.exec(
        select(PauseRow).where(PauseRow.case_id == case_id, col(PauseRow.ended_at).is_(None))
    ).first()
    return row.reason if row else None


def search_merge_targets(
    session: Session,
    query: str,
    *,
    exclude: int,
    channels: Sequence[str] = (),
    limit: int = 20,
) -> list[MergeTarget]:
    """Cases a repeat may merge into: by id, by external id, then by every word of the title.

    An external id is looked up per channel (`channels`, from the policy) so the (channel,
    external_id) unique index answers it instead of a scan of every case.
    """
    text = query.strip()
    if not text:
        return []
    usable = col(CaseRow.status).not_in((Status.REJECTED.value, Status.MERGED.value))
    base = select(CaseRow).where(usable, CaseRow.id != exclude)
    found: list[CaseRow] = []
    number = case_id_of(text)
    if number is not None:
        found.extend(session.exec(base.where(CaseRow.id == number)).all())
    if channels:
        found.extend(
            session.exec(
                base.where(
                    col(CaseRow.channel).in_(list(channels)), CaseRow.external_id == text
                ).limit(limit)
            ).all()
        )
    if not text.isdigit():
        by_words = base
        for word in text.split():
            by_words = by_words.where(col(CaseRow.title).contains(word, autoescape=True))
        found.extend(session.exec(by_words.order_by(col(CaseRow.id).desc()).limit(limit)).all())
    unique = list({row.id: row for row in found}.values())
    return [_target(row) for row in unique[:limit]]


def _target(case: CaseRow) -> MergeTarget:
    assert case.id is not None
    return MergeTarget(case.id, case.external_id, case.title, case.status, case.received_at)


# ---------------------------------------------------------------- pure checks


_PLACEHOLDER = re.compile(r"\{[^{}\n]*\}")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
_ID_CARD = re.compile(r"(?<![\dXx])\d{17}[\dXx](?![\dXx])|(?<!\d)\d{15}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")


def fill_template(text: str, values: dict[str, str]) -> str:
    """Replace the known placeholders; unknown ones stay for the check to flag."""
    return _PLACEHOLDER.sub(
        lambda m: values.get(m.group(0)[1:-1].strip(), m.group(0)) or m.group(0), text
    )


def reply_checks(text: str) -> ReplyChecks:
    """The composer's checks (as strict as `services.cases.check_reply_text`, plus numbers)."""
    placeholders = _PLACEHOLDER.findall(text)
    if not placeholders and "{" in text and "}" in text[text.index("{") :]:
        placeholders = [text[text.index("{") : text.rindex("}") + 1][:20]]
    sensitive = [m.group(0) for p in (_MOBILE, _ID_CARD, _LANDLINE) for m in p.finditer(text)]
    return ReplyChecks(empty=not text.strip(), placeholders=placeholders, sensitive=sensitive)
