"""The console's opening queue (待交办) read with plain SQL, before the ORM is imported.

Importing the SQLModel tables costs about a tenth of a second, a tenth of the console's whole
start-up budget. The first page and count of the opening queue are simple enough to read with
a few Core text queries over the store's engine, so the first screen is drawn while the models
still load in a worker. They are the same rows and count as store.queries gives for
QueueKey.ACCEPTED (a test holds them to it); every later read goes through store.queries.
"""

from __future__ import annotations

from sqlalchemy import Boolean, TextClause, bindparam, text
from sqlalchemy.engine import Engine
from sqlalchemy.sql.selectable import TextualSelect

from caseworker.store.queue_types import CaseLine
from caseworker.store.types import UTCDateTime

OPENING_STATUS = "accepted"  # QueueKey.ACCEPTED: the queue the console opens on

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
    "FROM cases LEFT OUTER JOIN units ON units.id = cases.lead_unit_id "
    "WHERE cases.status = :status"
)
_ORDER = " ORDER BY cases.next_due_at, cases.id LIMIT :limit"
_COUNT = "SELECT count(*) FROM cases WHERE status = :status"


def _page(scoped: bool) -> TextualSelect:
    query = text(_SELECT + (_SCOPE if scoped else "") + _ORDER).columns(
        received_at=UTCDateTime, next_due_at=UTCDateTime, warn_at=UTCDateTime,
        provisional=Boolean, paused=Boolean,
    )
    return query.bindparams(bindparam("units", expanding=True)) if scoped else query


def _count(scoped: bool) -> TextClause:
    if not scoped:
        return text(_COUNT)
    return text(_COUNT + _SCOPE).bindparams(bindparam("units", expanding=True))


_PAGES = {scoped: _page(scoped) for scoped in (False, True)}
_COUNTS = {scoped: _count(scoped) for scoped in (False, True)}


def opening_page(engine: Engine, limit: int, clerk: str) -> tuple[list[CaseLine], int]:
    """The first `limit` rows of the opening queue as `clerk` sees it, nearest deadline first,
    and its size: a unit handler only their units' cases, as in every other queue."""
    with engine.connect() as connection:
        units = [int(r[0]) for r in connection.execute(_HANDLER_UNITS, {"clerk": clerk})]
        params: dict[str, object] = {"status": OPENING_STATUS, "limit": limit}
        if units:
            params["units"] = units
        scoped = bool(units)
        rows = connection.execute(_PAGES[scoped], params).all()
        count = int(connection.execute(_COUNTS[scoped], params).scalar_one())
    lines = [
        CaseLine(
            id=r[0], channel=r[1], title=r[2], category=r[3], lead_unit=r[4], status=r[5],
            urgency=r[6], received_at=r[7], next_due_at=r[8], warn_at=r[9],
            provisional=bool(r[10]), paused=bool(r[11]),
        )
        for r in rows
    ]
    return lines, count
