"""signature backfill: every stored case gets its text key and author

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Cases stored before case_signatures existed (migration 0015), or entered with `case new`
before it recorded one, had no text key, so an import could not find them as the originals
of a re-post. This computes the key exactly as the import does (services.repeats) for every
case that has none: about 6 s per 100,000 cases on SQLite, once. No schema change.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from caseworker.services.repeats import backfill_signatures

    backfill_signatures(op.get_bind())


def downgrade() -> None:
    """The keys stay: 0015's table holds them, and an import would have written the same."""
