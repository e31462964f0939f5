"""rankings: every ranking of units kept as it was computed

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23

docs/domain.md "Measures": every figure is stored with its numerator, denominator and the
rule's version, so a ranking can be audited. The figures of a period change as its cases
move afterwards, so each ranking `report rates` computes is kept with its figures as JSON,
the rule version and who ran it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rankings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=16), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=True),
        sa.Column("as_of", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.Column("rule_version", sa.String(length=200), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("clerk", sa.String(length=100), nullable=False),
        sa.Column("recorded_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("rankings")
