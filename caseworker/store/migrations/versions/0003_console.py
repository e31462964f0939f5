"""console: warn-at column, queue indexes, full-text search, case claims

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

The console's queues are keyset pages ordered by (next_due_at, id); every queue and its count
must be one indexed range, including 即将到期 (warning: >= 80% of a limit used), hence the
`warn_at` column kept current by services.clocks.apply_clocks. Search over title and body uses
an FTS5 trigram index on SQLite, kept current by triggers; PostgreSQL falls back to ILIKE.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_OPEN_SQL = "status IN ('received', 'accepted', 'assigned', 'acknowledged', 'replied')"

_FTS_TRIGGERS = (
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


def upgrade() -> None:
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "warn_at",
                caseworker.store.types.UTCDateTime(),
                nullable=False,
                server_default="9999-12-31 00:00:00.000000",
            )
        )
    # A fifth of each limit is not computable in SQL (working days, pauses), so existing rows
    # start warning at their deadline; the exact value comes with each case's next recompute.
    op.execute("UPDATE cases SET warn_at = next_due_at")
    op.create_index("ix_cases_due", "cases", ["next_due_at", "id"])
    op.create_index(
        "ix_cases_open_warn",
        "cases",
        ["next_due_at", "warn_at", "id"],
        sqlite_where=sa.text(_OPEN_SQL),
        postgresql_where=sa.text(_OPEN_SQL),
    )
    op.create_index("ix_cases_touched_due", "cases", ["updated_by", "next_due_at", "id"])
    op.create_index("ix_replies_state_case", "replies", ["state", "case_id"])
    op.create_table(
        "case_claims",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("opened_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE cases_fts USING fts5("
            "title, body, content='cases', content_rowid='id', tokenize='trigram')"
        )
        op.execute("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")
        for trigger in _FTS_TRIGGERS:
            op.execute(trigger)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for name in ("cases_fts_insert", "cases_fts_delete", "cases_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS cases_fts")
    op.drop_table("case_claims")
    op.drop_index("ix_replies_state_case", table_name="replies")
    op.drop_index("ix_cases_touched_due", table_name="cases")
    op.drop_index("ix_cases_open_warn", table_name="cases")
    op.drop_index("ix_cases_due", table_name="cases")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_column("warn_at")
