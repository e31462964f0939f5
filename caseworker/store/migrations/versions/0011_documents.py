"""documents: numbered official documents, and the population of a unit's area

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

A bureau's letters (交办函, 督办函, 呈批单), briefs (信访专报) and bulletins carry a 发文字号
that runs by kind and year; printing the same document again must reuse its number, so every
number given is kept with what it was given for. The bulletin reports intake per 10,000
residents by region, from an optional population per unit.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("issued_by", sa.String(length=100), nullable=False),
        sa.Column("issued_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "year", "number", name="uq_document_numbers_kind_year_number"),
        sa.UniqueConstraint("kind", "subject", name="uq_document_numbers_kind_subject"),
    )
    op.create_index("ix_document_numbers_case_id", "document_numbers", ["case_id"])
    with op.batch_alter_table("units") as batch:
        batch.add_column(sa.Column("population", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("units") as batch:
        batch.drop_column("population")
    op.drop_index("ix_document_numbers_case_id", table_name="document_numbers")
    op.drop_table("document_numbers")
