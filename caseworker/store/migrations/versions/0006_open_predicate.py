"""open predicate: the partial indexes on open cases test the status with OR, not IN

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23

SQLite evaluates a partial index's WHERE on every insert and every update of a case. Written
as `status IN (five states)` it built the list afresh each time, about 4 us a row per index,
as much as six ordinary indexes together; the same test written with OR costs a few hundred
nanoseconds. The queries spell the predicate the same way (store.models.OPEN_SQL), so both
indexes still serve 已超期, 即将到期 and the overdue report. PostgreSQL gets the same
predicate: one spelling for both.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_OLD = "status IN ('received', 'accepted', 'assigned', 'acknowledged', 'replied')"
_NEW = (
    "(status = 'received' OR status = 'accepted' OR status = 'assigned'"
    " OR status = 'acknowledged' OR status = 'replied')"
)
_INDEXES = {
    "ix_cases_open_due": ["next_due_at", "id"],
    "ix_cases_open_warn": ["next_due_at", "warn_at", "id"],
}


def _recreate(predicate: str) -> None:
    for name, columns in _INDEXES.items():
        op.drop_index(name, table_name="cases")
        op.create_index(
            name,
            "cases",
            columns,
            sqlite_where=sa.text(predicate),
            postgresql_where=sa.text(predicate),
        )


def upgrade() -> None:
    _recreate(_NEW)


def downgrade() -> None:
    _recreate(_OLD)
