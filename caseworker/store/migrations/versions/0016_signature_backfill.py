"""signature backfill: every stored case gets its text key and author

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

Cases stored before case_signatures existed (migration 0015), or entered with `case new`
before it recorded one, had no text key, so an import could not find them as the originals
of a re-post. This computes the key exactly as the import does (store.signatures) for every
case that has none: about 6 s per 100,000 cases on SQLite, once. No schema change; the
sketches 0017 adds columns for are filled in by 0019.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from caseworker.store.signatures import backfill_signatures

    backfill_signatures(op.get_bind(), sketched=False)  # no sketch columns before 0017


def downgrade() -> None:
    """The keys stay: 0015's table holds them, and an import would have written the same."""
