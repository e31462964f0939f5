"""The console's opening queue read with plain SQL, before the ORM is imported.

Importing the SQLModel tables costs about a tenth of a second, a tenth of the console's whole
start-up budget. The first page and count of the opening queue are simple enough to read with
a few Core text queries over the store's engine, so the first screen is drawn while the models
still load in a worker. They are the same rows and count as store.queries gives for the
queue (a test holds them to it); every later read goes through store.queries.

The bureau's clerks open on 待交办 (QueueKey.ACCEPTED), the cases waiting for a unit; a unit
handler, who never sees those (they have no lead unit yet), opens on 我的 (QueueKey.MINE):
their units' open cases.
"""

from __future__ import annotations

from sqlalchemy import Boolean, TextClause, bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import TextualSelect

from caseworker.store.queue_types import OPEN_SQL, CaseLine, QueueKey
from caseworker.store.types import UTCDateTime

OPENING_STATUS = "accepted"  # QueueKey.ACCEPTED: the queue a bureau clerk opens on

# A unit handler's units: their own and every unit below it (services.people.subtree_ids);
# no row for the bureau's clerks and supervisors, who see every case.
_HANDLER_UNITS = text(
    "WITH RECURSIVE scope(id) AS ("
    "SELECT clerks.unit_id FROM clerks WHERE clerks.name = :clerk AND clerks.role = 'handler' "
    "AND clerks.unit_id IS NOT NULL "
    "UNION SELECT units.id FROM units JOIN scope ON units.parent_id = scope.id) "
    "SELECT id FROM scope"
)
# store.queries.viewer_scope: the cases those units lead or currently help on.
_SCOPE = (
    " AND cases.id IN (SELECT led.id FROM cases AS led WHERE led.lead_unit_id IN :units "
    "UNION ALL SELECT case_co_units.case_id FROM case_co_units "
    "WHERE case_co_units.unit_id IN :units AND case_co_units.released_at IS NULL)"
)
_SELECT = (
    "SELECT cases.id, cases.channel, cases.title, cases.category, units.name, cases.status, "
    "cases.urgency, cases.received_at, cases.next_due_at, cases.warn_at, cases.provisional, "
    "cases.paused_since IS NOT NULL AS paused "
    "FROM cases LEFT OUTER JOIN units ON units.id = cases.lead_unit_id WHERE "
)
# A clerk's 待交办; a handler's 我的 (store.queries: the open cases of their scope), whose
# predicate is the partial index's own, so the page walks ix_cases_open_due.
_WHERE = {False: "cases.status = :status", True: OPEN_SQL}
_ORDER = " ORDER BY cases.next_due_at, cases.id LIMIT :limit"
_COUNT = "SELECT count(*) FROM cases WHERE "


def _page(scoped: bool) -> TextualSelect:
    query = text(_SELECT + _WHERE[scoped] + (_SCOPE if scoped else "") + _ORDER).columns(
        received_at=UTCDateTime,
        next_due_at=UTCDateTime,
        warn_at=UTCDateTime,
        provisional=Boolean,
        paused=Boolean,
    )
    return query.bindparams(bindparam("units", expanding=True)) if scoped else query


def _count(scoped: bool) -> TextClause:
    query = text(_COUNT + _WHERE[scoped] + (_SCOPE if scoped else ""))
    return query.bindparams(bindparam("units", expanding=True)) if scoped else query


_PAGES = {scoped: _page(scoped) for scoped in (False, True)}
_COUNTS = {scoped: _count(scoped) for scoped in (False, True)}


def opening_page(engine: Engine, limit: int, clerk: str) -> tuple[QueueKey, list[CaseLine], int]:
    """The queue `clerk` opens on, its first `limit` rows as they see it (nearest deadline
    first) and its size: 待交办 for the bureau, 我的 for a unit handler."""
    with engine.connect() as connection:
        units = [int(r[0]) for r in connection.execute(_HANDLER_UNITS, {"clerk": clerk})]
        params: dict[str, object] = {"limit": limit}
        if units:
            params["units"] = units
        else:
            params["status"] = OPENING_STATUS
        scoped = bool(units)
        rows = connection.execute(_PAGES[scoped], params).all()
        count = int(connection.execute(_COUNTS[scoped], params).scalar_one())
    lines = [
        CaseLine(
            id=r[0],
            channel=r[1],
            title=r[2],
            category=r[3],
            lead_unit=r[4],
            status=r[5],
            urgency=r[6],
            received_at=r[7],
            next_due_at=r[8],
            warn_at=r[9],
            provisional=bool(r[10]),
            paused=bool(r[11]),
        )
        for r in rows
    ]
    return (QueueKey.MINE if scoped else QueueKey.ACCEPTED), lines, count
