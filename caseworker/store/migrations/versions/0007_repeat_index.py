"""repeat index: ix_cases_repeat_of_id holds the repeats only

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23

Almost every case is no repeat (重复件), so the index on repeat_of_id held a NULL for nearly
every case, and each new case paid an insert into it (about 1.4 us, some 3% of an import's
writing). Every lookup by it asks for a given case's repeats (`repeat_of_id = ?`), which a
partial index over `repeat_of_id IS NOT NULL` answers on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_cases_repeat_of_id", table_name="cases")
    op.create_index(
        "ix_cases_repeat_of_id",
        "cases",
        ["repeat_of_id"],
        sqlite_where=sa.text("repeat_of_id IS NOT NULL"),
        postgresql_where=sa.text("repeat_of_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_cases_repeat_of_id", table_name="cases")
    op.create_index("ix_cases_repeat_of_id", "cases", ["repeat_of_id"])
