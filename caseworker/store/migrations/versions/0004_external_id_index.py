"""external id index: finding a case by the id its source gave it

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Clerks and scripts address cases by external id (`case show 10231`); the unique key is
(channel, external_id), which cannot serve a lookup without the channel, so every such lookup
scanned the whole table.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_external_id", "cases", ["external_id"])


def downgrade() -> None:
    op.drop_index("ix_cases_external_id", table_name="cases")
