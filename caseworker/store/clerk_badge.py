"""Who the acting clerk is, as the console's header shows them: name, role and unit.

Read with one Core text query over the store's engine, like store/opening.py, so the header
can say it while the first screen is drawn, without waiting for the ORM's import.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Engine

from caseworker.domain.queues import ClerkBadge

_QUERY = text(
    "SELECT clerks.role, units.name FROM clerks "
    "LEFT OUTER JOIN units ON units.id = clerks.unit_id WHERE clerks.name = :name"
)


def clerk_badge(engine: Engine, name: str) -> ClerkBadge:
    with engine.connect() as connection:
        row = connection.execute(_QUERY, {"name": name}).first()
    if row is None:
        return ClerkBadge(name)
    return ClerkBadge(name, str(row[0]), None if row[1] is None else str(row[1]))
