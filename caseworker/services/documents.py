"""The fields of the bureau's documents, gathered from the store, and their numbers.

A letter (交办函, 督办函, 呈批单) is about one case; a brief (信访专报) about a group of linked
cases; a bulletin about a period. Each gets a 发文字号 that runs by kind and year: the same
document printed again keeps its number (table `document_numbers`), and issuing a letter is
an event in the case's history. The Word file itself is written by caseworker.documents.
"""

from __future__ import annotations

import hashlib
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, or_, text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import Clock, ClockState, Stage
from caseworker.domain.errors import IllegalTransition, InvalidInput, NotPermitted
from caseworker.domain.policy import Bureau
from caseworker.services.cases import SUPERVISION_LABELS, case_detail, find_case
from caseworker.services.queues import handler_units
from caseworker.services.redact import redact_text
from caseworker.services.rules import Rules
from caseworker.store.audit import seal_new_event
from caseworker.store.engine import Store
from caseworker.store.models import CaseRow, DocumentNumber, EventRow, Unit

LETTER_KINDS = ("assign", "supervise", "approval")
ISSUE_ACTION = "issue_document"
EXCERPT_CHARS = 150
STAGE_LABELS = {"assign": "交办", "reply": "首次答复", "close": "办结"}
STATUS_LABELS = {
    "received": "待受理",
    "accepted": "待交办",
    "assigned": "已交办",
    "acknowledged": "办理中",
    "replied": "已答复",
    "closed": "已办结",
    "rejected": "不予受理",
    "merged": "已合并",
}
REPLIES_SHOWN = 5  # published replies quoted in a brief (the latest)
ANSWER_WORKDAYS = 3  # a 督办函 asks the unit to answer within this many working days


def chinese_date(value: date | datetime) -> str:
    """2025年11月14日 (a time is read as its Shanghai day)."""
    if isinstance(value, datetime):
        value = value.astimezone(SHANGHAI).date()
    return f"{value.year}年{value.month}月{value.day}日"


def chinese_time(value: datetime) -> str:
    local = value.astimezone(SHANGHAI)
    return f"{chinese_date(local)} {local:%H:%M}"


def excerpt(text: str | None, chars: int = EXCERPT_CHARS) -> str:
    """The start of a text on one line, masked, with …… where it was cut."""
    from caseworker.documents.templates import plain

    whole = plain(redact_text(text)).strip()
    return whole if len(whole) <= chars else whole[:chars] + "……"


def masked(text: str | None) -> str:
    """Personal data masked as `export --redact` masks it; "—" for nothing."""
    return redact_text(text) or "—"


@dataclass(frozen=True)
class Draft:
    """A document ready to number and write: what it is about and its template's values."""

    kind: str
    subject: str  # what makes two printings the same document, e.g. "case:12"
    case_id: int | None
    context: dict[str, Any]
    detail: dict[str, Any]  # kept in the issuing event (the proposal of a 呈批单, …)
    history_of: tuple[int, ...] = ()  # the cases whose history records the issuing


@dataclass(frozen=True)
class Issued:
    """A number given (or given again) to a document."""

    kind: str
    year: int
    number: int
    text: str  # 江信交〔2025〕12号
    reissued: bool  # printed before: the number it was given then


# ---------------------------------------------------------------- numbers


def _existing(session: Session, kind: str, subject: str) -> DocumentNumber | None:
    return session.exec(
        select(DocumentNumber).where(DocumentNumber.kind == kind, DocumentNumber.subject == subject)
    ).first()


def peek_number(session: Session, bureau: Bureau, draft: Draft, now: datetime) -> Issued:
    """The number `draft` would get if issued now (its own when printed before); writes nothing."""
    row = _existing(session, draft.kind, draft.subject)
    if row is not None:
        return Issued(
            row.kind, row.year, row.number, bureau.number(row.kind, row.year, row.number), True
        )
    year = now.astimezone(SHANGHAI).year
    n = _next_number(session, draft.kind, year)
    return Issued(draft.kind, year, n, bureau.number(draft.kind, year, n), False)


def _next_number(session: Session, kind: str, year: int) -> int:
    """The next free number of `kind` in `year`.

    On PostgreSQL the numbering of one kind and year is serialised by a transaction-scoped
    advisory lock, so clerks printing at once wait for each other instead of racing to the
    same number and retrying (under load five retries were not always enough); on SQLite the
    write lock does the same and the unique key stays the last guard on both.
    """
    if session.get_bind().dialect.name == "postgresql":
        name = f"caseworker:document-number:{kind}:{year}".encode()
        key = int.from_bytes(hashlib.sha256(name).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    last = session.exec(
        select(func.max(DocumentNumber.number)).where(
            DocumentNumber.kind == kind, DocumentNumber.year == year
        )
    ).one()
    return int(last or 0) + 1


def issue(store: Store, bureau: Bureau, draft: Draft, *, clerk: str, now: datetime) -> Issued:
    """Give `draft` its number (the one it already has, if printed before) and record the
    issuing in the history of each case it is about; one transaction.

    Two clerks numbering at once cannot take the same number: (kind, year, number) is unique,
    and the loser's transaction is tried again with the next one.
    """
    for _attempt in range(10):
        with store.session() as session:
            row = _existing(session, draft.kind, draft.subject)
            reissued = row is not None
            if row is None:
                year = now.astimezone(SHANGHAI).year
                row = DocumentNumber(
                    kind=draft.kind,
                    year=year,
                    number=_next_number(session, draft.kind, year),
                    subject=draft.subject,
                    case_id=draft.case_id,
                    issued_by=clerk,
                    issued_at=now,
                )
                session.add(row)
            text = bureau.number(row.kind, row.year, row.number)
            detail = {"kind": draft.kind, "number": text, "reissued": reissued, **draft.detail}
            for case_id in draft.history_of:
                event = EventRow(
                    case_id=case_id,
                    actor=clerk,
                    action=ISSUE_ACTION,
                    reason=text,
                    detail=json.dumps(detail, ensure_ascii=False),
                    effective_at=now,
                    recorded_at=recorded_now(),
                )
                seal_new_event(session.connection(), event)  # on the case's audit chain
                session.add(event)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                continue
            return Issued(row.kind, row.year, row.number, text, reissued)
    raise IllegalTransition(  # pragma: no cover - five lost races in a row
        "the document number is taken by others again and again; try again",
        key="refused.document_number_race",
    )


# ---------------------------------------------------------------- letters about one case


def _check_own_unit(session: Session, clerk: str, case: CaseRow) -> None:
    """A unit handler prints letters only for cases their unit (or one below it) leads."""
    units = handler_units(session, clerk)
    if units is None or case.lead_unit_id in units:
        return
    raise NotPermitted(
        f"{clerk} (handler) may print letters only for their own unit's cases; "
        f"case {case.id} ({case.external_id}) is not led by their unit",
        key="refused.letter_not_their_case",
        clerk=clerk,
        case=f"{case.id} ({case.external_id})",
    )


def _clock(clocks: Sequence[Clock], stage: Stage) -> Clock:
    return next(c for c in clocks if c.stage is stage)


def _last_issue_detail(session: Session, case_id: int, kind: str) -> dict[str, Any]:
    """The detail of the case's latest issuing of `kind` (e.g. the proposal given then)."""
    rows = session.exec(
        select(EventRow.detail)
        .where(EventRow.case_id == case_id, EventRow.action == ISSUE_ACTION)
        .order_by(col(EventRow.id).desc())
    ).all()
    for detail in rows:
        doc = json.loads(detail) if detail else {}
        if doc.get("kind") == kind:
            return dict(doc)
    return {}


def _assign_note(session: Session, case_id: int) -> str | None:
    return session.exec(
        select(EventRow.reason)
        .where(EventRow.case_id == case_id, EventRow.action == "assign")
        .order_by(col(EventRow.id).desc())
    ).first()


def letter_draft(
    session: Session,
    rules: Rules,
    now: datetime,
    kind: str,
    ref: str | int,
    *,
    clerk: str | None,
    proposal: str | None = None,
) -> Draft:
    """The fields of a letter about one case, from its record as it stands at `now`.

    Refused: a case the clerk may not read, a unit handler's case led by another unit, a
    交办函 or 督办函 for a case with no lead unit, a 督办函 for a case not overdue.
    """
    from caseworker.documents.templates import paragraphs, plain

    if kind not in LETTER_KINDS:
        raise InvalidInput(f"unknown letter {kind!r}", key="refused.letter_kind", kind=kind)
    detail = case_detail(session, rules, now, ref, clerk=clerk)
    case = find_case(session, detail.id)
    label = f"{detail.id} ({detail.external_id})"
    if clerk is not None:
        _check_own_unit(session, clerk, case)
    if kind in ("assign", "supervise") and detail.lead_unit is None:
        raise IllegalTransition(
            f"case {label} has no lead unit: assign it before writing a letter to a unit",
            key="refused.letter_no_lead",
            case=label,
        )
    policy = rules.policy
    channel = policy.channels.get(detail.channel)
    body = redact_text(detail.body) or ""
    context: dict[str, Any] = {
        "case_id": str(detail.id),
        "case_ref": plain(detail.external_id),
        "case_title": plain(redact_text(detail.title)),
        "case_channel": channel.zh if channel else detail.channel,
        "case_addressee": plain(detail.addressee) or "—",
        "case_author": plain(masked(detail.author)),
        "case_received": chinese_date(detail.received_at),
        "case_received_time": chinese_time(detail.received_at),
        "case_region": plain(detail.region) or "—",
        "case_category": plain(detail.category) or "—",
        "case_excerpt": excerpt(detail.body),
        "case_paragraphs": paragraphs(body),
        "lead_unit": plain(detail.lead_unit) or "—",
        "co_units": "、".join(plain(u) for u in detail.co_units) or "—",
        "assign_note": plain(_assign_note(session, detail.id)) or "—",
        "reply_due": chinese_date(_clock(detail.clocks, Stage.REPLY).due_at),
        "close_due": chinese_date(_clock(detail.clocks, Stage.CLOSE).due_at),
    }
    extra: dict[str, Any] = {}
    subject = f"case:{detail.id}"
    if kind == "supervise":
        late = [c for c in detail.clocks if c.state is not ClockState.STOPPED and c.is_overdue(now)]
        if not late:
            raise IllegalTransition(
                f"case {label} is not overdue: a 督办函 goes to a late unit",
                key="refused.letter_not_overdue",
                case=label,
            )
        clock = min(late, key=lambda c: c.due_at)
        workdays = clock.overdue_working_days(now, rules.calendar)
        latest = detail.supervisions[-1] if detail.supervisions else None
        level = latest["level"] if latest else policy.supervision.level_for(workdays) or "remind"
        answer_by, _ = rules.calendar.add_workdays(now.astimezone(SHANGHAI).date(), ANSWER_WORKDAYS)
        context |= {
            "late_stage": STAGE_LABELS[clock.stage.value],
            "late_due": chinese_date(clock.due_at),
            "overdue_workdays": str(workdays),
            "overdue_days": str(clock.overdue_days(now)),
            "supervision_level": SUPERVISION_LABELS.get(level, level),
            "supervision_note": plain(redact_text(latest["note"])) if latest else "",
            "answer_by": chinese_date(answer_by),
        }
        subject = f"case:{detail.id}:{level}"  # a higher level is a new letter
    elif kind == "approval":
        if proposal is None:
            proposal = _last_issue_detail(session, detail.id, "approval").get("proposal")
        proposal = (proposal or "").strip()
        extra["proposal"] = proposal
        context |= {
            "proposal": plain(proposal),
            "instructions": [
                {
                    "leader": plain(i["leader"]),
                    "text": plain(redact_text(i["text"])),
                    "date": chinese_date(i["created_at"]),
                }
                for i in detail.instructions
            ],
        }
    return Draft(
        kind=kind,
        subject=subject,
        case_id=detail.id,
        context=context,
        detail=extra,
        history_of=(detail.id,),
    )


def with_heading(draft: Draft, bureau: Bureau, number: str, now: datetime) -> dict[str, Any]:
    """The draft's values with the bureau's lines, the number and the date of issue."""
    return {
        "bureau_name": bureau.name,
        "bureau_short_name": bureau.short_name,
        "bureau_address": bureau.address or "—",
        "bureau_contact": bureau.contact or "—",
        "doc_number": number,
        "doc_date": chinese_date(now),
        **draft.context,
    }


# ---------------------------------------------------------------- a group of linked cases


def linked_case_ids(session: Session, ref: str | int, *, clerk: str | None) -> list[int]:
    """The group a case belongs to: its original (followed through repeat and merge links) and
    every case linked to that original as a repeat or merged into it, at any depth; by id.

    The brief takes a list of case ids, so a common-issue table can feed it the same way.
    """
    from caseworker.services.cases import readable_case

    case = readable_case(session, ref, clerk=clerk)
    seen: set[int] = set()
    root = case
    while True:  # up to the original
        assert root.id is not None
        seen.add(root.id)
        parent_id = root.merged_into_id or root.repeat_of_id
        if parent_id is None or parent_id in seen:
            break
        parent = session.get(CaseRow, parent_id)
        if parent is None:  # pragma: no cover - links point at cases, never deleted
            break
        root = parent
    assert root.id is not None
    group, frontier = {root.id}, [root.id]
    while frontier:  # down through every repeat and merge
        rows = session.exec(
            select(CaseRow.id).where(
                or_(
                    col(CaseRow.repeat_of_id).in_(frontier),
                    col(CaseRow.merged_into_id).in_(frontier),
                )
            )
        ).all()
        frontier = [r for r in rows if r is not None and r not in group]
        group.update(frontier)
    return sorted(group)


def _group_subject(case_ids: Sequence[int]) -> str:
    """What makes two briefs the same: the same set of cases (a group that grew since is a
    new brief). A digest keeps it short whatever the group's size."""
    ids = sorted(set(case_ids))
    digest = hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()[:16]
    return f"cases:{ids[0]}+{len(ids) - 1}:{digest}"


def brief_draft(
    session: Session,
    rules: Rules,
    now: datetime,
    case_ids: Sequence[int],
    *,
    clerk: str | None,
    title: str | None = None,
) -> Draft:
    """The fields of a 信访专报 on the cases `case_ids` (a group of linked cases, or any common
    issue): counts, period, regions and units, representative messages, replies, ratings and a
    table of every case. A unit handler is refused a case they may not read.

    `title` names the issue (a recorded common issue's title, a cluster's label); without it
    the brief is headed by its first message's title."""
    from caseworker.documents.templates import plain

    if not case_ids:
        raise InvalidInput("a brief needs at least one case", key="refused.brief_empty")
    details = [case_detail(session, rules, now, cid, clerk=clerk) for cid in case_ids]
    details.sort(key=lambda d: (d.received_at, d.id))
    citizens = {(d.author or "").strip() or f"#{d.id}" for d in details}
    regions = sorted({d.region for d in details if d.region})
    units = sorted({d.lead_unit for d in details if d.lead_unit})
    representatives = [
        {
            "title": plain(redact_text(d.title)),
            "received": chinese_date(d.received_at),
            "author": plain(masked(d.author)),
            "excerpt": excerpt(d.body),
        }
        for d in details[:3]
    ]
    published = sorted(
        (
            (r.published_at, r)
            for d in details
            for r in d.replies
            if r.state == "published" and r.published_at is not None
        ),
        key=lambda pair: pair[0],
    )
    replies = [  # the latest few, oldest of them first
        {"unit": plain(r.unit) or "—", "date": chinese_date(at), "text": excerpt(r.text)}
        for at, r in published[-REPLIES_SHOWN:]
    ]
    rated: dict[str, int] = {}
    for d in details:
        values = [r["value"] for r in d.ratings if r["value"] and not r["follow_up"]]
        if values:
            rated[values[-1]] = rated.get(values[-1], 0) + 1
    order = ("满意", "基本满意", "不满意")
    ratings = "、".join(f"{v} {rated[v]} 件" for v in order if v in rated) or "暂无评价"
    first = details[0]
    context: dict[str, Any] = {
        "issue_title": plain(
            redact_text(title.strip() if title and title.strip() else first.title)
        ),
        "message_count": str(len(details)),
        "citizen_count": str(len(citizens)),
        "period_from": chinese_date(first.received_at),
        "period_to": chinese_date(details[-1].received_at),
        "regions": "、".join(plain(r) for r in regions) or "—",
        "units": "、".join(plain(u) for u in units) or "—",
        "representatives": representatives,
        "replies": replies,
        "reply_count": str(len(published)),
        "ratings": ratings,
        "cases": [
            {
                "n": str(n),
                "ref": plain(d.external_id),
                "received": d.received_at.astimezone(SHANGHAI).strftime("%Y-%m-%d"),
                "author": plain(masked(d.author)),
                "title": plain(redact_text(d.title)),
                "unit": plain(d.lead_unit) or "—",
                "status": STATUS_LABELS.get(d.status, d.status),
            }
            for n, d in enumerate(details, start=1)
        ],
    }
    return Draft(
        kind="brief",
        subject=_group_subject([d.id for d in details]),
        case_id=None,
        context=context,
        detail={"cases": [d.id for d in details]},
        history_of=tuple(d.id for d in details),
    )


# ---------------------------------------------------------------- the bulletin


@dataclass(frozen=True)
class UrgentTimes:
    """Minutes from receipt to assignment in the urgent lane for one unit."""

    unit: str
    count: int
    median: float
    p90: float


def percentile(values: Sequence[float], share: float) -> float:
    """The `share` quantile by linear interpolation between the closest ranks (as numpy does)."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * share
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# Cases received in a period, counted by (channel, lead unit id, region).
IntakeGroups = list[tuple[str, int | None, str | None, int]]


def intake_groups(session: Session, start: datetime, end: datetime) -> IntakeGroups:
    """The period's cases counted by channel, lead unit and region: one pass over the period
    that both the intake by channel and the intake per capita are read from."""
    rows = session.exec(
        select(CaseRow.channel, CaseRow.lead_unit_id, CaseRow.region, func.count())
        .where(CaseRow.received_at >= start, CaseRow.received_at < end)
        .group_by(col(CaseRow.channel), col(CaseRow.lead_unit_id), col(CaseRow.region))
    ).all()
    return [(channel, lead, region, int(n)) for channel, lead, region, n in rows]


def intake_by_channel(
    session: Session, start: datetime, end: datetime, groups: IntakeGroups | None = None
) -> list[tuple[str, int]]:
    """Cases received in [start, end) per channel code, largest first."""
    counts: dict[str, int] = {}
    for channel, _lead, _region, n in groups or intake_groups(session, start, end):
        counts[channel] = counts.get(channel, 0) + n
    return sorted(counts.items(), key=lambda r: (-r[1], r[0]))


def urgent_assignment_times(session: Session, start: datetime, end: datetime) -> list[UrgentTimes]:
    """Receipt to first assignment, in minutes, of urgent cases received in [start, end) and
    assigned, by their lead unit; slowest median first."""
    names = dict(session.exec(select(Unit.id, Unit.name)).all())
    rows = session.exec(
        select(CaseRow.lead_unit_id, CaseRow.received_at, CaseRow.assigned_at).where(
            CaseRow.urgency == "urgent",
            CaseRow.received_at >= start,
            CaseRow.received_at < end,
            col(CaseRow.assigned_at).is_not(None),
        )
    ).all()
    minutes: dict[str, list[float]] = {}
    for unit_id, received, assigned in rows:
        if assigned is None:  # pragma: no cover - the query asks for assigned cases
            continue
        unit = names.get(unit_id, "—") if unit_id is not None else "—"
        minutes.setdefault(unit, []).append((assigned - received).total_seconds() / 60)
    out = [
        UrgentTimes(unit, len(m), statistics.median(m), percentile(m, 0.9))
        for unit, m in minutes.items()
    ]
    return sorted(out, key=lambda u: (-u.median, u.unit))


@dataclass(frozen=True)
class RegionIntake:
    region: str
    population: int
    intake: int

    @property
    def per_10k(self) -> float:
        return self.intake * 10_000 / self.population if self.population else 0.0


def intake_per_capita(
    session: Session, start: datetime, end: datetime, groups: IntakeGroups | None = None
) -> list[RegionIntake]:
    """For each unit with a population: cases received in [start, end) from its area (the
    case's region is the unit's name) or led by it or a unit below it; most per capita first.

    Read from the period's groups (intake_groups), whatever the number of units with a
    population.
    """
    from caseworker.services.people import subtree_ids

    units = session.exec(select(Unit).where(col(Unit.population).is_not(None))).all()
    if not units:
        return []
    if groups is None:
        groups = intake_groups(session, start, end)
    out = []
    for unit in units:
        assert unit.id is not None and unit.population is not None
        below = set(subtree_ids(session, unit.id))
        n = sum(n for _, lead, region, n in groups if lead in below or region == unit.name)
        out.append(RegionIntake(unit.name, unit.population, int(n)))
    return sorted(out, key=lambda r: (-r.per_10k, r.region))


def period_instants(start: date, end: date) -> tuple[datetime, datetime]:
    """Midnight in Shanghai at the start of `start` and of `end`."""
    return (
        datetime.combine(start, datetime.min.time(), tzinfo=SHANGHAI),
        datetime.combine(end, datetime.min.time(), tzinfo=SHANGHAI),
    )


def last_day(end: date) -> date:
    return end - timedelta(days=1)


PERIOD_NAMES = {"week": "周调度", "month": "月通报", "quarter": "季考核"}
WORST_SHOWN = 3  # overdue cases named per unit in the bulletin
CHART_ENDS = 15  # the ranking chart shows this many first and last units of a longer ranking


def period_label(period: str, start: date, end: date) -> str:
    """2025年10月 / 2025年第4季度 / 2025年10月13日至19日."""
    if period == "month":
        return f"{start.year}年{start.month}月"
    if period == "quarter":
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    last = last_day(end)
    tail = f"{last.day}日" if last.month == start.month else f"{last.month}月{last.day}日"
    return f"{chinese_date(start)}至{tail}"


@dataclass(frozen=True)
class BulletinDraft:
    """The bulletin's values, and the figures its charts are drawn from."""

    draft: Draft
    chart_units: list[str]
    chart_on_time: list[float | None]
    chart_channels: list[str]
    chart_counts: list[int]


def bulletin_draft(
    session: Session, rules: Rules, now: datetime, rates: dict[str, Any], ranking_number: int
) -> BulletinDraft:
    """The 周调度 / 月通报 / 季考核 of the period of `rates` (the JSON `report rates` gives and
    records, as recorded as ranking `ranking_number`): intake by channel, the ranking with its
    numerators and denominators, the units with overdue cases and their worst, intake per
    10,000 residents, and the urgent lane's minutes from receipt to assignment."""
    from caseworker.documents.templates import plain
    from caseworker.domain.measures import Rate
    from caseworker.services.reports import overdue_report

    period = str(rates["period"])
    start, end = date.fromisoformat(str(rates["start"])), date.fromisoformat(str(rates["end"]))
    since, until = period_instants(start, end)
    policy = rules.policy

    def channel_name(code: str) -> str:
        known = policy.channels.get(code)
        return known.zh if known else code

    groups = intake_groups(session, since, until)
    channels = intake_by_channel(session, since, until, groups)
    total = sum(n for _, n in channels)

    def rate(unit: dict[str, Any], code: str) -> str:
        figure = unit["rates"][code]
        r = Rate(int(figure["numerator"]), int(figure["denominator"]))
        return f"{r.percent()} ({r.numerator}/{r.denominator})"

    ranked = [u for u in rates["units"] if u["rank"] is not None]
    ranking = [
        {
            "rank": str(u["rank"]),
            "unit": plain(u["unit"]),
            "on_time": rate(u, "on_time_close"),
            "satisfaction": rate(u, "satisfaction"),
            "timely": rate(u, "timely_acceptance"),
        }
        for u in [*rates["units"], rates["total"]]
    ]
    for row, unit in zip(ranking, [*rates["units"], rates["total"]], strict=True):
        if unit["rank"] is None:
            row["rank"] = "—"
    overdue = overdue_report(session, rules.calendar, as_of=now)
    worst: dict[str, list[str]] = {}
    for case in sorted(overdue.cases, key=lambda c: (-c.overdue_working_days, c.id)):
        shown = worst.setdefault(case.lead_unit or "未交办", [])
        if len(shown) < WORST_SHOWN:
            shown.append(
                f"{plain(case.external_id)} {plain(redact_text(case.title))[:20]}"
                f"（{STAGE_LABELS[case.stage]}超期{case.overdue_working_days}个工作日）"
            )
    overdue_units = [
        {"unit": plain(u.unit), "count": str(u.overdue), "worst": "；".join(worst.get(u.unit, []))}
        for u in overdue.by_unit
    ]
    per_capita = [
        {
            "region": plain(r.region),
            "population": f"{r.population:,}",
            "intake": str(r.intake),
            "per10k": f"{r.per_10k:.2f}",
        }
        for r in intake_per_capita(session, since, until, groups)
    ]
    urgent = [
        {
            "unit": plain(u.unit),
            "count": str(u.count),
            "median": f"{u.median:.0f}",
            "p90": f"{u.p90:.0f}",
        }
        for u in urgent_assignment_times(session, since, until)
    ]
    context: dict[str, Any] = {
        "period_name": PERIOD_NAMES[period],
        "period_label": period_label(period, start, end),
        "period_from": chinese_date(start),
        "period_to": chinese_date(last_day(end)),
        "as_of": chinese_time(datetime.fromisoformat(str(rates["as_of"]))),
        "intake_total": str(total),
        "channels": [
            {
                "name": channel_name(code),
                "count": str(n),
                "share": f"{100 * n / total:.1f}%" if total else "—",
            }
            for code, n in channels
        ],
        "ranking": ranking,
        "ranking_number": str(ranking_number),
        "rule_version": plain(str(rates["rule_version"])),
        "overdue_units": overdue_units,
        "overdue_total": str(len(overdue.cases)),
        "per_capita": per_capita,
        "urgent": urgent,
        "chart_ranking": "",
        "chart_channels": "",
    }
    draft = Draft(
        kind="bulletin",
        subject=f"bulletin:{period}:{start.isoformat()}",
        case_id=None,
        context=context,
        detail={"ranking": ranking_number},
    )
    return BulletinDraft(
        draft=draft,
        chart_units=[str(u["unit"]) for u in ranked],
        chart_on_time=[u["rates"]["on_time_close"]["value"] for u in ranked],
        chart_channels=[channel_name(code) for code, _ in channels],
        chart_counts=[n for _, n in channels],
    )


# ---------------------------------------------------------------- writing the files


@dataclass(frozen=True)
class Written:
    """A document written: its number, where, and whether the number was given before."""

    kind: str
    number: str
    path: str
    reissued: bool
    notes: tuple[str, ...] = ()  # what the clerk should know (a chart left out, and why)
    ranking: int | None = None  # a bulletin's ranking, recorded as `report rates` records it


Progress = Any  # Callable[[str], None] | None: told "gather", "render", "pdf", "number"


def _tell(progress: Progress, step: str) -> None:
    if progress is not None:
        progress(step)


def _write_numbered(
    store: Store,
    rules: Rules,
    draft: Draft,
    *,
    clerk: str,
    now: datetime,
    output: Path,
    template: Path | None,
    extra: dict[str, Any] | None = None,
    progress: Progress = None,
) -> Issued:
    """Render with the number the draft will get, then issue it; if another clerk took that
    number meanwhile, render again with the one issued. A failed write takes no number."""
    from caseworker.documents.templates import template_path
    from caseworker.documents.writing import write

    bureau = rules.policy.bureau
    path = template_path(draft.kind, template)
    with store.session() as session:
        planned = peek_number(session, bureau, draft, now)
    context = with_heading(draft, bureau, planned.text, now) | (extra or {})
    write(draft.kind, path, context, output, progress)
    _tell(progress, "number")
    issued = issue(store, bureau, draft, clerk=clerk, now=now)
    if issued.text != planned.text:
        context = with_heading(draft, bureau, issued.text, now) | (extra or {})
        write(draft.kind, path, context, output, progress)
    return issued


def write_letter(
    store: Store,
    rules: Rules,
    *,
    clerk: str,
    now: datetime,
    kind: str,
    ref: str | int,
    output: Path | None,
    template: Path | None = None,
    proposal: str | None = None,
    progress: Progress = None,
) -> Written:
    """Write a 交办函, 督办函 or 呈批单 for one case; number it and record it in its history."""
    from caseworker.documents.writing import default_output

    _tell(progress, "gather")
    with store.session() as session:
        draft = letter_draft(session, rules, now, kind, ref, clerk=clerk, proposal=proposal)
    target = output or default_output(kind, str(draft.context["case_ref"]))
    return _write_to(store, rules, draft, kind, target, clerk, now, template, progress)


def write_brief(
    store: Store,
    rules: Rules,
    *,
    clerk: str,
    now: datetime,
    case_ids: Sequence[int],
    output: Path | None,
    template: Path | None = None,
    progress: Progress = None,
    title: str | None = None,
) -> Written:
    """Write a 信访专报 on `case_ids` (a case's linked group, see linked_case_ids, or a common
    issue's cases, headed by its `title`); noted in every case's history."""
    from caseworker.documents.writing import default_output

    _tell(progress, "gather")
    with store.session() as session:
        draft = brief_draft(session, rules, now, case_ids, clerk=clerk, title=title)
    target = output or default_output("brief", str(min(case_ids)))
    return _write_to(store, rules, draft, "brief", target, clerk, now, template, progress)


def _write_to(
    store: Store,
    rules: Rules,
    draft: Draft,
    kind: str,
    target: Path,
    clerk: str,
    now: datetime,
    template: Path | None,
    progress: Progress,
) -> Written:
    """Check the target, write the numbered document there and say what was written."""
    from caseworker.documents.writing import check_output

    check_output(target)
    issued = _write_numbered(
        store,
        rules,
        draft,
        clerk=clerk,
        now=now,
        output=target,
        template=template,
        progress=progress,
    )
    return Written(kind, issued.text, str(target), issued.reissued)


def write_bulletin(
    store: Store,
    rules: Rules,
    *,
    clerk: str,
    now: datetime,
    period: str,
    at: date,
    output: Path | None,
    template: Path | None = None,
    progress: Progress = None,
) -> Written:
    """Write the period's bulletin; its ranking is computed and recorded as `report rates`
    records it (the bulletin names the ranking's number)."""
    from caseworker.documents import charts
    from caseworker.documents.templates import Chart, check_template, template_path
    from caseworker.documents.writing import check_output, default_output
    from caseworker.domain.measures import Period
    from caseworker.services.rankings import rank_and_record

    if output is not None:
        check_output(output)
    check_template("bulletin", template_path("bulletin", template))  # before recording anything
    _tell(progress, "gather")
    with store.session() as session:
        figures, number = rank_and_record(
            session, rules, period=Period(period), at=at, now=now, clerk=clerk
        )
        bulletin = bulletin_draft(session, rules, now, figures, number)
    draft = bulletin.draft
    target = output or default_output("bulletin", f"{PERIOD_NAMES[period]}-{figures['start']}")
    check_output(target)
    _tell(progress, "charts")
    label = draft.context["period_label"]
    notes: list[str] = []
    extra: dict[str, Any] = {}
    try:
        if bulletin.chart_units:
            units, on_time = bulletin.chart_units, bulletin.chart_on_time
            title = f"{label} 承办单位按期办结率"
            if len(units) > 2 * CHART_ENDS:  # a readable chart: the first and the last ranked
                units = units[:CHART_ENDS] + units[-CHART_ENDS:]
                on_time = on_time[:CHART_ENDS] + on_time[-CHART_ENDS:]
                title += f"（前{CHART_ENDS}名和后{CHART_ENDS}名）"
            extra["chart_ranking"] = Chart(charts.ranking_chart(units, on_time, title), 150)
        if bulletin.chart_channels:
            extra["chart_channels"] = Chart(
                charts.channel_chart(
                    bulletin.chart_channels, bulletin.chart_counts, f"{label} 各渠道留言量"
                ),
                150,
            )
    except charts.NoChineseFont as exc:
        notes.append(str(exc))
    issued = _write_numbered(
        store,
        rules,
        draft,
        clerk=clerk,
        now=now,
        output=target,
        template=template,
        extra=extra,
        progress=progress,
    )
    return Written("bulletin", issued.text, str(target), issued.reissued, tuple(notes), number)


# ---------------------------------------------------------------- what the console offers


@dataclass(frozen=True)
class DocumentChoice:
    """One document the console offers: the number it would get (or has), where it would be
    written, or why it cannot be written now."""

    kind: str
    number: str | None
    reissued: bool
    path: str
    refusal: Exception | None = None
    proposal: str = ""  # the 呈批单's last proposal, to edit


def letter_choices(
    store: Store, rules: Rules, now: datetime, case_id: int, *, clerk: str, folder: Path
) -> list[DocumentChoice]:
    """The case's letters and its group's brief, each with its number or its refusal."""
    from caseworker.documents.writing import default_output
    from caseworker.domain.errors import DomainError

    out = []
    bureau = rules.policy.bureau
    with store.session() as session:
        case = find_case(session, case_id)
        name = case.external_id
        for kind in (*LETTER_KINDS, "brief"):
            path = str(default_output(kind, name, folder))
            try:
                if kind == "brief":
                    ids = linked_case_ids(session, case_id, clerk=clerk)
                    draft = brief_draft(session, rules, now, ids, clerk=clerk)
                else:
                    draft = letter_draft(session, rules, now, kind, case_id, clerk=clerk)
            except DomainError as exc:
                out.append(DocumentChoice(kind, None, False, path, exc))
                continue
            planned = peek_number(session, bureau, draft, now)
            proposal = str(draft.detail.get("proposal", ""))
            out.append(DocumentChoice(kind, planned.text, planned.reissued, path, None, proposal))
    return out


def bulletin_choice(
    store: Store, rules: Rules, now: datetime, *, period: str, folder: Path
) -> DocumentChoice:
    """The bulletin of the period holding `now`: the number it would get, and its file."""
    from caseworker.documents.writing import default_output
    from caseworker.domain.measures import Period, period_bounds

    start, _ = period_bounds(Period(period), now.astimezone(SHANGHAI).date())
    subject = f"bulletin:{period}:{start.isoformat()}"
    draft = Draft("bulletin", subject, None, {}, {})
    with store.session() as session:
        planned = peek_number(session, rules.policy.bureau, draft, now)
    path = default_output("bulletin", f"{PERIOD_NAMES[period]}-{start.isoformat()}", folder)
    return DocumentChoice("bulletin", planned.text, planned.reissued, str(path))


def brief_choice(
    store: Store,
    rules: Rules,
    now: datetime,
    case_ids: Sequence[int],
    *,
    clerk: str,
    folder: Path,
    title: str | None = None,
) -> DocumentChoice:
    """The 信访专报 on a common issue's cases: the number it would get (or why it cannot be
    written now) and its file, named as `caseworker brief` names it."""
    from caseworker.documents.writing import default_output
    from caseworker.domain.errors import DomainError

    path = str(default_output("brief", str(min(case_ids)) if case_ids else "", folder))
    with store.session() as session:
        try:
            draft = brief_draft(session, rules, now, case_ids, clerk=clerk, title=title)
        except DomainError as exc:
            return DocumentChoice("brief", None, False, path, exc)
        planned = peek_number(session, rules.policy.bureau, draft, now)
    return DocumentChoice("brief", planned.text, planned.reissued, path)
