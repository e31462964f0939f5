"""imported history: the source's own text, and acceptance times the source did not have

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

An import cleans text for display (padding, CRLF, blank lines); `source_text` keeps the
source's cells byte-exact where cleaning changed them. A history imported without the times of
its acceptance and assignment gets those steps dated by the import; `assign_imported` marks
such a case so that 及时受理率 leaves it out rather than judging it on a time nobody recorded.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("assign_imported", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("cases", sa.Column("source_text", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "source_text")
    op.drop_column("cases", "assign_imported")
