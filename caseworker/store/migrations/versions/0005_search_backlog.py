"""search backlog: bulk imports may leave new cases for the search index to catch up on

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22

The FTS5 trigram index costs more per row than everything else an import writes (about 2k
rows/s), so a bulk import records in store_meta "search_pending_from" = the first case id it
left unindexed. The triggers keep indexing every case below that id and skip the ones at or
above it (inserts, updates and deletes alike, so the index never holds a stale row), and
services.search_backlog indexes the pending range in chunks, moving the mark up until it is
gone. Meanwhile the console's search matches cases in the pending range with LIKE.
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_INDEXED = (
    "NOT EXISTS (SELECT 1 FROM store_meta WHERE key = 'search_pending_from' "
    "AND {row}.id >= CAST(value AS INTEGER))"
)

_NEW_TRIGGERS = (
    f"""
    CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases WHEN {_INDEXED.format(row="new")}
    BEGIN
        INSERT INTO cases_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    f"""
    CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases WHEN {_INDEXED.format(row="old")}
    BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    f"""
    CREATE TRIGGER cases_fts_update AFTER UPDATE OF title, body ON cases
    WHEN {_INDEXED.format(row="old")}
    BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO cases_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
)

_OLD_TRIGGERS = (
    """
    CREATE TRIGGER cases_fts_insert AFTER INSERT ON cases BEGIN
        INSERT INTO cases_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
    """
    CREATE TRIGGER cases_fts_delete AFTER DELETE ON cases BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
    END
    """,
    """
    CREATE TRIGGER cases_fts_update AFTER UPDATE OF title, body ON cases BEGIN
        INSERT INTO cases_fts(cases_fts, rowid, title, body)
        VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO cases_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END
    """,
)

_NAMES = ("cases_fts_insert", "cases_fts_delete", "cases_fts_update")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in _NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for trigger in _NEW_TRIGGERS:
        op.execute(trigger)


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    # The old triggers index every row, so the index must hold every row first.
    op.execute(
        "INSERT INTO cases_fts(rowid, title, body) SELECT id, title, body FROM cases "
        "WHERE id >= (SELECT CAST(value AS INTEGER) FROM store_meta "
        "WHERE key = 'search_pending_from')"
    )
    op.execute("DELETE FROM store_meta WHERE key = 'search_pending_from'")
    for name in _NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for trigger in _OLD_TRIGGERS:
        op.execute(trigger)
