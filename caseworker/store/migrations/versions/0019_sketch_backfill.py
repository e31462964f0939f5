"""sketch backfill: every stored signature gets the sketch of its case's pairs

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03

Migration 0016 gave old cases their signatures before 0017 added the sketch columns, so those
signatures have none and every repeat test that meets them takes the exact (slower) way. This
computes each missing sketch exactly as the import does (store.signatures): a few seconds per
100,000 cases, once. No schema change.
"""

from __future__ import annotations

from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from caseworker.store.signatures import backfill_sketches

    backfill_sketches(op.get_bind())


def downgrade() -> None:
    """The sketches stay: 0017's columns hold them, and an import would have written the same."""
