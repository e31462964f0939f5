"""Keeping PostgreSQL's id sequences ahead of the rows a bulk writer inserted with explicit ids.

A writer that fills tables with ids of its own (the demo builder does, to make two builds
identical) leaves each table's sequence where it was; the next ordinary insert would then draw
an id that is already taken and fail on the primary key. SQLite needs nothing: it takes the next
id from the table itself.
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer, text
from sqlmodel import SQLModel


def sync_id_sequences(connection: Connection) -> int:
    """Set each table's id sequence to follow its highest id; returns how many were set.

    Cheap (one MAX on each primary key), idempotent, and a no-op outside PostgreSQL.
    """
    if connection.dialect.name != "postgresql":
        return 0
    import caseworker.store.models  # noqa: F401  (the tables, into the metadata)

    done = 0
    for table in SQLModel.metadata.sorted_tables:
        column = table.columns.get("id")
        if column is None or not column.primary_key or not isinstance(column.type, Integer):
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        ).scalar_one_or_none()
        if sequence is None:
            continue
        # is_called = false when empty: the next id is then 1, as in a fresh table.
        connection.execute(
            text(
                "SELECT setval(CAST(:sequence AS regclass), COALESCE(MAX(id), 1), "
                f"MAX(id) IS NOT NULL) FROM {table.name}"
            ),
            {"sequence": sequence},
        )
        done += 1
    return done
