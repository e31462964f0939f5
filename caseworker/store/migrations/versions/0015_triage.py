"""triage: trained models, and common issues with their cases

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Imports record each case's text key and author (case_signatures), so a re-post or the same
citizen writing again is found by an index lookup and marked as a repeat. `triage train`
keeps each model it trains (an .npz of plain arrays, with its training size and
cross-validated accuracy); the newest one suggests. A supervisor links the cases of one
matter as a common issue (共性问题), which a brief (专报) later reads.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "triage_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("features", sa.String(length=64), nullable=False),
        sa.Column("trained_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.Column("trained_by", sa.String(length=100), nullable=False),
        sa.Column("category_cases", sa.Integer(), nullable=False),
        sa.Column("unit_cases", sa.Integer(), nullable=False),
        sa.Column("category_top1", sa.Float(), nullable=True),
        sa.Column("category_top3", sa.Float(), nullable=True),
        sa.Column("unit_top1", sa.Float(), nullable=True),
        sa.Column("unit_top3", sa.Float(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("model", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "common_issues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "common_issue_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(length=100), nullable=False),
        sa.Column("added_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["common_issues.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("issue_id", "case_id", name="uq_common_issue_case"),
    )
    op.create_index("ix_common_issue_cases_issue_id", "common_issue_cases", ["issue_id"])
    op.create_index("ix_common_issue_cases_case_id", "common_issue_cases", ["case_id"])
    op.create_table(
        "case_signatures",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("received_at", caseworker.store.types.UTCDateTime(), nullable=False),
        sa.Column("author", sa.String(length=200), nullable=True),
        sa.Column("text_key", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id"),
    )
    op.create_index("ix_case_signatures_text_key", "case_signatures", ["text_key"])
    op.create_index("ix_case_signatures_author", "case_signatures", ["author", "received_at"])


def downgrade() -> None:
    op.drop_index("ix_case_signatures_author", table_name="case_signatures")
    op.drop_index("ix_case_signatures_text_key", table_name="case_signatures")
    op.drop_table("case_signatures")
    op.drop_index("ix_common_issue_cases_case_id", table_name="common_issue_cases")
    op.drop_index("ix_common_issue_cases_issue_id", table_name="common_issue_cases")
    op.drop_table("common_issue_cases")
    op.drop_table("common_issues")
    op.drop_table("triage_models")
