"""The console's opening queue (待交办) read with plain SQL, before the ORM is imported.

Importing the SQLModel tables costs about a tenth of a second, a tenth of the console's whole
start-up budget. The first page and count of the opening queue are simple enough to read with
two Core text queries over the store's engine, so the first screen is drawn while the models
still load in a worker. They are the same rows and count as store.queries gives for
QueueKey.ACCEPTED (a test holds them to it); every later read goes through store.queries.
"""

from __future__ import annotations

from sqlalchemy import Boolean, text
from sqlalchemy.engine import Engine

from caseworker.store.queue_types import CaseLine
from caseworker.store.types import UTCDateTime

OPENING_STATUS = "accepted"  # QueueKey.ACCEPTED: the queue the console opens on

_PAGE = text(
    "SELECT cases.id, cases.channel, cases.title, cases.category, units.name, cases.status, "
    "cases.urgency, cases.received_at, cases.next_due_at, cases.warn_at, cases.provisional, "
    "cases.paused_since IS NOT NULL AS paused "
    "FROM cases LEFT OUTER JOIN units ON units.id = cases.lead_unit_id "
    "WHERE cases.status = :status ORDER BY cases.next_due_at, cases.id LIMIT :limit"
).columns(
    received_at=UTCDateTime, next_due_at=UTCDateTime, warn_at=UTCDateTime,
    provisional=Boolean, paused=Boolean,
)
_COUNT = text("SELECT count(*) FROM cases WHERE status = :status")


def opening_page(engine: Engine, limit: int) -> tuple[list[CaseLine], int]:
    """The first `limit` rows of the opening queue, nearest deadline first, and its size."""
    with engine.connect() as connection:
        rows = connection.execute(_PAGE, {"status": OPENING_STATUS, "limit": limit}).all()
        count = int(connection.execute(_COUNT, {"status": OPENING_STATUS}).scalar_one())
    lines = [
        CaseLine(
            id=r[0], channel=r[1], title=r[2], category=r[3], lead_unit=r[4], status=r[5],
            urgency=r[6], received_at=r[7], next_due_at=r[8], warn_at=r[9],
            provisional=bool(r[10]), paused=bool(r[11]),
        )
        for r in rows
    ]
    return lines, count
