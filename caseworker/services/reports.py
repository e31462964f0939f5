"""Supervisor reports: overdue cases, unit rankings, and the dashboard's counts.

Everything here reads the stored deadline columns kept current by `services.clocks`, so a report
over a million cases is a few indexed or aggregated queries, never a Python loop over every case.
Results are plain dataclasses, shared by the `report` command and the console's supervisor screen.

A pause stops every clock (docs/domain.md "Pauses"): while it is open the stored deadline
stays where the pause found it (the pause moves it once resumed), so a case paused before its
deadline is not listed as overdue, and one paused after it is listed with the lateness it had
when paused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, text
from sqlmodel import Session
from sqlmodel import select as model_select

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import Stage
from caseworker.domain.measures import (
    MEASURES,
    Period,
    UnitCounts,
    UnitMeasures,
    measures_of,
    period_bounds,
    ranking_key,
    rule_version,
    satisfied_values,
)
from caseworker.services.overdue import SUPERVISION_RANK
from caseworker.services.overdue import UNASSIGNED as UNASSIGNED

# The overdue report lives in services.overdue (no ORM there); its names are offered here too.
from caseworker.services.overdue import OverdueReport as OverdueReport
from caseworker.services.overdue import OverdueRow as OverdueRow
from caseworker.services.overdue import UnitOverdue as UnitOverdue
from caseworker.services.overdue import overdue_by_unit as overdue_by_unit
from caseworker.services.overdue import overdue_cases as overdue_cases
from caseworker.services.overdue import overdue_report as overdue_report
from caseworker.services.rules import Rules
from caseworker.store.models import (
    Unit,
)
from caseworker.store.types import UTCDateTime

if TYPE_CHECKING:  # the case actions are only needed to supervise, not to report
    from caseworker.services.cases import Desk

STAGE_ORDER = (Stage.ASSIGN, Stage.REPLY, Stage.CLOSE)
STAGE_LABELS = {Stage.ASSIGN: "受理/交办", Stage.REPLY: "答复", Stage.CLOSE: "办结"}


# ---------------------------------------------------------------- supervision


@dataclass(frozen=True)
class SupervisionDone:
    """One supervision record `supervise --overdue` created (or would create, on a dry run)."""

    case_id: int
    external_id: str
    lead_unit: str | None
    stage: str
    overdue_working_days: int
    previous: str | None
    level: str


def supervise_overdue(
    session: Session,
    desk: Desk,
    *,
    unit_ids: Collection[int] | None = None,
    channel: str | None = None,
    dry_run: bool = False,
) -> list[SupervisionDone]:
    """Chase every overdue case up to the level its lateness earns under the policy.

    A case gets a record only when the earned level is above the highest one it already has,
    so running this twice adds nothing, and a case already summoned is never "reminded" again.
    Records go through `supervise_case`, with its permission check, event and clock refresh.
    """
    from caseworker.services.cases import SUPERVISION_LABELS, supervise_case

    thresholds = desk.rules.policy.supervision
    done: list[SupervisionDone] = []
    rows = overdue_cases(
        session, desk.rules.calendar, as_of=desk.now(), unit_ids=unit_ids, channel=channel
    )
    for row in sorted(rows, key=lambda r: r.id):
        level = thresholds.level_for(row.overdue_working_days)
        if level is None:
            continue
        if SUPERVISION_RANK[level] <= SUPERVISION_RANK.get(row.supervision or "", 0):
            continue
        if not dry_run:
            stage_label = STAGE_LABELS[Stage(row.stage)]
            note = (
                f"{stage_label}逾期 {row.overdue_working_days} 个工作日，"
                f"自动{SUPERVISION_LABELS[level]}"
            )
            supervise_case(session, desk, row.id, level=level, note=note)
        done.append(
            SupervisionDone(
                case_id=row.id,
                external_id=row.external_id,
                lead_unit=row.lead_unit,
                stage=row.stage,
                overdue_working_days=row.overdue_working_days,
                previous=row.supervision,
                level=level,
            )
        )
    return done


# ---------------------------------------------------------------- rates


@dataclass(frozen=True)
class RateRow:
    """One unit's figures for a period, ranked; every rate carries numerator and denominator."""

    rank: int | None  # None for the unassigned cases and the total line
    unit_id: int | None
    unit: str
    level: str | None
    counts: UnitCounts
    measures: UnitMeasures


@dataclass(frozen=True)
class RatesReport:
    period: str
    start: date
    end: date  # first day after the period
    as_of: datetime  # figures count up to here: the period's end, or now if that is earlier
    rule_version: str
    level: str | None
    rows: list[RateRow]
    total: RateRow
    definitions: dict[str, str] = field(default_factory=dict)


def _instant(day: date) -> datetime:
    """Midnight at the start of a Shanghai day, as an aware instant."""
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)


def _local_day_sql(column: str, dialect: str) -> str:
    """SQL for the Asia/Shanghai day of a stored naive-UTC column (no DST since 1991)."""
    if dialect == "postgresql":
        return f"CAST({column} + INTERVAL '8 hours' AS DATE)"
    return f"date({column}, '+8 hours')"


def _day_value(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


_WINDOW = [
    bindparam("start", type_=UTCDateTime()),
    bindparam("until", type_=UTCDateTime()),
]


def _counts_by_unit(
    session: Session, rules: Rules, start: datetime, until: datetime
) -> dict[int | None, UnitCounts]:
    """The additive counts of every lead unit (None: unassigned) for [start, until)."""
    conn = session.connection()
    dialect = conn.dialect.name
    params = {"start": start, "until": until}
    counts: dict[int | None, UnitCounts] = {}

    def of(unit_id: int | None) -> UnitCounts:
        return counts.setdefault(unit_id, UnitCounts())

    # Received in the period (uses the received_at index). Replied means a published reply on
    # record: `replied_at` says so for most cases at no cost, but a reopening (重办) clears it to
    # restart the first-reply clock, so only the cases without it look for a published reply
    # (one index probe each: a few per cent of a period's cases, not a join of every reply).
    received = text(
        """
        SELECT lead_unit_id,
               COUNT(*),
               SUM(CASE WHEN status NOT IN ('received', 'rejected', 'merged') THEN 1 ELSE 0 END),
               SUM(CASE WHEN status NOT IN ('received', 'rejected', 'merged')
                         AND (replied_at IS NOT NULL
                              OR EXISTS (SELECT 1 FROM replies r
                                         WHERE r.state = 'published' AND r.case_id = cases.id))
                        THEN 1 ELSE 0 END),
               SUM(CASE WHEN repeat_of_id IS NOT NULL THEN 1 ELSE 0 END)
        FROM cases WHERE received_at >= :start AND received_at < :until
        GROUP BY lead_unit_id
        """
    ).bindparams(*_WINDOW)
    for unit_id, n, accepted, replied, repeats in conn.execute(received, params):
        c = of(unit_id)
        c.received, c.accepted, c.replied, c.repeats = n, accepted, replied, repeats

    # Deadlines that fell in the period, cases closed in it, and the days those were started
    # and closed: one pass over the table (materialised once), three groupings of its rows.
    satisfied = ", ".join(f"'{v}'" for v in satisfied_values(rules.policy))
    closed_in = "c.status = 'closed' AND c.closed_at >= :start AND c.closed_at < :until"
    close_day = _local_day_sql("c.closed_at", dialect)
    start_day = _local_day_sql("c.clock_started_at", dialect)
    window = text(
        f"""
        WITH w AS MATERIALIZED (
            SELECT c.lead_unit_id AS unit,
                   CASE WHEN c.assign_due_at >= :start AND c.assign_due_at < :until
                         AND NOT c.assign_imported THEN 1 ELSE 0 END AS assign_in,
                   CASE WHEN c.assign_due_at >= :start AND c.assign_due_at < :until
                         AND c.assign_imported THEN 1 ELSE 0 END AS assign_left_out,
                   CASE WHEN COALESCE(c.assigned_at, CASE WHEN c.status IN ('rejected', 'merged')
                                                          THEN c.closed_at END) <= c.assign_due_at
                        THEN 1 ELSE 0 END AS assign_ok,
                   CASE WHEN c.close_due_at >= :start AND c.close_due_at < :until
                         AND c.status NOT IN ('rejected', 'merged') THEN 1 ELSE 0 END AS close_in,
                   CASE WHEN c.status = 'closed' AND c.closed_at <= c.close_due_at
                        THEN 1 ELSE 0 END AS close_ok,
                   CASE WHEN {closed_in} THEN 1 ELSE 0 END AS closed_in,
                   CASE WHEN {closed_in}
                        THEN (SELECT r.value FROM ratings r
                              WHERE r.case_id = c.id AND r.value IS NOT NULL
                              ORDER BY r.id DESC LIMIT 1) END AS rating,
                   CASE WHEN {closed_in} THEN {close_day} END AS close_day,
                   CASE WHEN {closed_in} THEN {start_day} END AS start_day
            FROM cases c
            WHERE (c.assign_due_at >= :start AND c.assign_due_at < :until)
               OR (c.close_due_at >= :start AND c.close_due_at < :until)
               OR ({closed_in})
        )
        SELECT 'unit' AS part, unit, NULL AS day,
               SUM(assign_in), SUM(assign_in * assign_ok), SUM(close_in), SUM(close_in * close_ok),
               SUM(closed_in),
               SUM(CASE WHEN rating IS NOT NULL THEN 1 ELSE 0 END),
               SUM(CASE WHEN rating IN ({satisfied}) THEN 1 ELSE 0 END),
               SUM(assign_left_out)
        FROM w GROUP BY unit
        UNION ALL
        SELECT 'closed', unit, close_day, COUNT(*), 0, 0, 0, 0, 0, 0, 0
        FROM w WHERE close_day IS NOT NULL GROUP BY unit, close_day
        UNION ALL
        SELECT 'started', unit, start_day, COUNT(*), 0, 0, 0, 0, 0, 0, 0
        FROM w WHERE start_day IS NOT NULL GROUP BY unit, start_day
        """
    ).bindparams(*_WINDOW)
    # Handling time: working days from clock start to close, as W(close day) - W(start day)
    # summed per unit, so only distinct days (not cases) reach the calendar.
    by_day: list[tuple[int | None, date, int, int]] = []  # unit, day, count, sign
    for part, unit_id, day, *n in conn.execute(window, params):
        if part == "unit":
            c = of(unit_id)
            c.assign_due, c.assign_on_time, c.close_due, c.close_on_time = n[:4]
            c.closed, c.rated, c.satisfied, c.assign_left_out = n[4:]
        else:
            by_day.append((unit_id, _day_value(day), n[0], 1 if part == "closed" else -1))
    if by_day:
        base = min(day for _, day, _, _ in by_day) - timedelta(days=1)
        cumulative: dict[date, int] = {}
        for unit_id, day, count, sign in by_day:
            if day not in cumulative:
                cumulative[day] = rules.calendar.workdays_between(base, day)
            of(unit_id).handling_workdays += sign * count * cumulative[day]

    # Open cases overdue at the end of the window, with their working days.
    for row in overdue_cases(session, rules.calendar, as_of=until):
        c = of(row.lead_unit_id)
        c.overdue += 1
        c.overdue_workdays += row.overdue_working_days
    return counts


def unit_rates(
    session: Session,
    rules: Rules,
    *,
    period: Period,
    at: date,
    now: datetime,
    level: str | None = None,
) -> RatesReport:
    """Every unit's measures for the period holding `at`, ranked best first.

    Without `level`, each unit is measured on the cases it leads itself. With a level, only
    units of that level are ranked, each with the cases of its whole subtree.
    """
    first, after = period_bounds(period, at)
    start = _instant(first)
    until = min(_instant(after), now.astimezone(UTC))
    if until < start:
        until = start
    counts = _counts_by_unit(session, rules, start, until)
    units = {u.id: u for u in session.exec(model_select(Unit)).all()}
    total = UnitCounts()
    for c in counts.values():
        total.add(c)

    measured: list[tuple[Unit | None, UnitCounts]] = []
    if level is None:
        for unit_id, c in counts.items():
            measured.append((units.get(unit_id) if unit_id is not None else None, c))
    else:
        children: dict[int | None, list[int]] = {}
        for unit in units.values():
            assert unit.id is not None
            children.setdefault(unit.parent_id, []).append(unit.id)
        for unit in units.values():
            if unit.level != level:
                continue
            assert unit.id is not None
            rolled, stack = UnitCounts(), [unit.id]
            while stack:
                node = stack.pop()
                if node in counts:
                    rolled.add(counts[node])
                stack.extend(children.get(node, []))
            measured.append((unit, rolled))

    ranked = [(u, c, measures_of(c)) for u, c in measured if u is not None]
    ranked.sort(key=lambda item: (*ranking_key(item[2], item[1]), item[0].code))
    rows = [
        RateRow(rank=n, unit_id=u.id, unit=u.name, level=u.level, counts=c, measures=m)
        for n, (u, c, m) in enumerate(ranked, start=1)
    ]
    rows.extend(
        RateRow(
            rank=None, unit_id=None, unit=UNASSIGNED, level=None, counts=c, measures=measures_of(c)
        )
        for u, c in measured
        if u is None
    )
    return RatesReport(
        period=period.value,
        start=first,
        end=after,
        as_of=until,
        rule_version=rule_version(rules.policy),
        level=level,
        rows=rows,
        total=RateRow(
            rank=None,
            unit_id=None,
            unit="合计",
            level=None,
            counts=total,
            measures=measures_of(total),
        ),
        definitions={m.code: m.definition for m in MEASURES},
    )


# ---------------------------------------------------------------- dashboard counts


@dataclass(frozen=True)
class DayVolume:
    """Cases received on one Shanghai day through one channel."""

    day: date
    channel: str
    count: int


@dataclass(frozen=True)
class LabelCount:
    """How many cases carry one category or region (None: not classified)."""

    label: str | None
    count: int


def volume_by_day(session: Session, *, now: datetime, days: int = 30) -> list[DayVolume]:
    """Cases received per day and channel over the last `days` days up to today (for a chart)."""
    today = now.astimezone(SHANGHAI).date()
    start = _instant(today - timedelta(days=days - 1))
    conn = session.connection()
    day_sql = _local_day_sql("received_at", conn.dialect.name)
    stmt = text(
        f"SELECT {day_sql} AS day, channel, COUNT(*) FROM cases "
        f"WHERE received_at >= :start AND received_at < :until "
        f"GROUP BY {day_sql}, channel ORDER BY 1, 2"
    ).bindparams(*_WINDOW)
    until = _instant(today + timedelta(days=1))
    return [
        DayVolume(_day_value(day), channel, n)
        for day, channel, n in conn.execute(stmt, {"start": start, "until": until})
    ]


def counts_by(session: Session, what: str, *, since: datetime, until: datetime) -> list[LabelCount]:
    """Cases received in [since, until) by category or by region, largest first."""
    if what not in ("category", "region"):
        raise ValueError(f"cannot count cases by {what!r}")
    stmt = text(
        f"SELECT {what}, COUNT(*) FROM cases WHERE received_at >= :start AND received_at < :until "
        f"GROUP BY {what} ORDER BY 2 DESC, 1"
    ).bindparams(*_WINDOW)
    rows = session.connection().execute(stmt, {"start": since, "until": until})
    return [LabelCount(label, n) for label, n in rows]
