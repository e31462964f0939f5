"""The morning overdue report: which open cases are late, in which stage, by how much.

Read with one plain query (store.plain) over a connection or a session, never through the
ORM's models, or on a SQLite file through sqlite3 alone: `report overdue` is run by cron every
morning on a million cases, and importing SQLModel and the tables, or SQLAlchemy itself, would
cost it more than the query and the working days together. Results are plain
dataclasses, shared by the `report` command, the documents and the console's supervisor screen
(services.reports re-exports them).

A pause stops every clock (DOMAIN.md "Pauses"): while it is open the stored deadline stays where
the pause found it (the pause moves it once resumed), so a case paused before its deadline is
not listed as overdue, and one paused after it is listed with the lateness it had when paused.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from caseworker.domain.calendar import SHANGHAI, WorkCalendar
from caseworker.domain.deadlines import Stage
from caseworker.store.plain import Sql, SqliteReader, all_rows, first_row
from caseworker.store.queue_types import OPEN_SQL  # the partial index's exact predicate

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    # A Core connection, a session, or a SQLite file read through sqlite3 (store.plain).
    Reader = Connection | Session | SqliteReader

SUPERVISION_RANK = {"remind": 1, "flag": 2, "summon": 3}
_LEVEL_OF_RANK = {rank: code for code, rank in SUPERVISION_RANK.items()}
UNASSIGNED = "(未交办)"


@dataclass(frozen=True)
class OverdueRow:
    """One overdue case: which stage is late, since when, and how hard it is already chased."""

    id: int
    external_id: str
    title: str
    channel: str
    lead_unit_id: int | None
    lead_unit: str | None
    stage: str
    due_at: datetime
    overdue_working_days: int
    overdue_days: int
    supervision: str | None  # the highest level recorded: remind / flag / summon
    repeats: int  # cases linked as repeats of this one


@dataclass(frozen=True)
class UnitOverdue:
    """A unit's overdue cases in one line; the unassigned ones have no unit id."""

    unit_id: int | None
    unit: str
    overdue: int
    max_overdue_working_days: int
    total_overdue_working_days: int


@dataclass(frozen=True)
class OverdueReport:
    as_of: datetime
    cases: list[OverdueRow]
    by_unit: list[UnitOverdue]


_RANK_SQL = " ".join(f"WHEN '{level}' THEN {rank}" for level, rank in SUPERVISION_RANK.items())
# `next_due_at < :as_of` on open cases, with OPEN_SQL written out as the partial index
# ix_cases_open_due's own predicate, so SQLite answers it from that index.
_SELECT = (
    "SELECT cases.id, cases.external_id, cases.title, cases.channel, cases.lead_unit_id, "
    "units.name, cases.assigned_at, cases.replied_at, cases.assign_due_at, "
    "cases.reply_due_at, cases.close_due_at, "
    f"(SELECT max(CASE supervisions.level {_RANK_SQL} ELSE 0 END) FROM supervisions "
    "WHERE supervisions.case_id = cases.id) AS supervision, "
    "(SELECT count(*) FROM cases AS repeat_case WHERE repeat_case.repeat_of_id = cases.id) "
    "AS repeats, cases.paused_since "
    "FROM cases LEFT OUTER JOIN units ON units.id = cases.lead_unit_id "
    f"WHERE cases.next_due_at < :as_of AND {OPEN_SQL} "
    # A paused clock stands still: a case paused before its deadline is not late, one paused
    # after it stays late by what it was when paused (pausing hides nothing).
    "AND (cases.paused_since IS NULL OR cases.next_due_at < cases.paused_since)"
)
_ORDER = " ORDER BY cases.next_due_at, cases.id"


_TIMES = ("assigned_at", "replied_at", "assign_due_at", "reply_due_at", "close_due_at")
_STATEMENTS: dict[tuple[bool, bool], Sql] = {}


def overdue_statement(*, units: bool, channel: bool) -> Sql:
    """The overdue query, narrowed to lead units (`:units`) and a channel (`:channel`)."""
    if (units, channel) not in _STATEMENTS:
        sql = _SELECT
        if units:
            sql += " AND cases.lead_unit_id IN :units"
        if channel:
            sql += " AND cases.channel = :channel"
        _STATEMENTS[units, channel] = Sql(
            sql + _ORDER,
            times=(*_TIMES, "paused_since"),
            time_params=("as_of",),
            lists=("units",) if units else (),
        )
    return _STATEMENTS[units, channel]


def overdue_cases(
    db: Reader,
    calendar: WorkCalendar,
    *,
    as_of: datetime,
    unit_ids: Collection[int] | None = None,
    channel: str | None = None,
    stage: Stage | None = None,
) -> list[OverdueRow]:
    """Open cases with a running clock past its deadline at `as_of`, most overdue first.

    The stage shown is the running clock with the earliest deadline (assign runs until the case
    is assigned, reply until the first published reply, close until it is closed); on a tie the
    earlier stage wins. Working days overdue count the working days after the due day up to the
    as-of day (Asia/Shanghai), natural days the calendar days between them. A case paused after
    its deadline is listed with the lateness it had when paused: its clocks stand still.
    """
    params: dict[str, object] = {"as_of": as_of}
    if unit_ids is not None:
        params["units"] = sorted(unit_ids)
    if channel is not None:
        params["channel"] = channel
    query = overdue_statement(units=unit_ids is not None, channel=channel is not None)
    rows: list[OverdueRow] = []
    for r in all_rows(db, query, params):
        paused_since = r.paused_since
        until = min(as_of, paused_since) if paused_since is not None else as_of
        as_of_day = until.astimezone(SHANGHAI).date()
        running = []
        if r.assigned_at is None:
            running.append((r.assign_due_at, 0, Stage.ASSIGN))
        if r.replied_at is None:
            running.append((r.reply_due_at, 1, Stage.REPLY))
        running.append((r.close_due_at, 2, Stage.CLOSE))
        due_at, _, late_stage = min(running)
        if due_at >= until:  # pragma: no cover - next_due_at is the earliest running deadline
            continue
        if stage is not None and late_stage is not stage:
            continue
        due_day = due_at.astimezone(SHANGHAI).date()
        rows.append(
            OverdueRow(
                id=r.id,
                external_id=r.external_id,
                title=r.title,
                channel=r.channel,
                lead_unit_id=r.lead_unit_id,
                lead_unit=r.name,
                stage=late_stage.value,
                due_at=due_at,
                overdue_working_days=calendar.workdays_between(due_day, as_of_day),
                overdue_days=(as_of_day - due_day).days,
                supervision=_LEVEL_OF_RANK.get(r.supervision or 0),
                repeats=r.repeats or 0,
            )
        )
    rows.sort(key=lambda row: (-row.overdue_working_days, -row.overdue_days, row.id))
    return rows


def overdue_by_unit(rows: Sequence[OverdueRow]) -> list[UnitOverdue]:
    """Per lead unit: how many are overdue, the worst and the total working days, worst first."""
    groups: dict[int | None, list[OverdueRow]] = {}
    for row in rows:
        groups.setdefault(row.lead_unit_id, []).append(row)
    summary = [
        UnitOverdue(
            unit_id=unit_id,
            unit=(group[0].lead_unit or UNASSIGNED) if unit_id is not None else UNASSIGNED,
            overdue=len(group),
            max_overdue_working_days=max(r.overdue_working_days for r in group),
            total_overdue_working_days=sum(r.overdue_working_days for r in group),
        )
        for unit_id, group in groups.items()
    ]
    summary.sort(
        key=lambda u: (
            -u.max_overdue_working_days,
            -u.total_overdue_working_days,
            -u.overdue,
            u.unit,
        )
    )
    return summary


def overdue_report(
    db: Reader,
    calendar: WorkCalendar,
    *,
    as_of: datetime,
    unit_ids: Collection[int] | None = None,
    channel: str | None = None,
    stage: Stage | None = None,
) -> OverdueReport:
    """The morning overdue report: the cases, then the summary by unit."""
    rows = overdue_cases(db, calendar, as_of=as_of, unit_ids=unit_ids, channel=channel, stage=stage)
    return OverdueReport(as_of=as_of, cases=rows, by_unit=overdue_by_unit(rows))


_HANDLER = Sql("SELECT role, unit_id, active FROM clerks WHERE name = :clerk")
_SUBTREE = Sql(
    "WITH RECURSIVE scope(id) AS (SELECT units.id FROM units WHERE units.id = :unit UNION "
    "SELECT units.id FROM units JOIN scope ON units.parent_id = scope.id) SELECT id FROM scope"
)


def handler_unit_ids(db: Reader, clerk: str) -> tuple[int, ...] | None:
    """services.queues.handler_units in plain SQL: a unit handler's unit and its subtree; None
    for the bureau's clerks and supervisors; nothing for a name that is no active clerk or a
    handler without a unit (scoping fails closed)."""
    row = first_row(db, _HANDLER, {"clerk": clerk})
    if row is None or not row.active:
        return ()
    if row.role != "handler":
        return None
    if row.unit_id is None:
        return ()
    return tuple(int(r[0]) for r in all_rows(db, _SUBTREE, {"unit": row.unit_id}))
