"""pair sketches: each signature keeps a 128-byte summary of its character pairs

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

The same-citizen repeat test compares each new message with that citizen's messages of the
last 30 days; building their character pairs for every comparison cost an import more than
writing its rows. `pair_count` and `pair_bits` (domain.triage_repeats.Sketch) bound the
overlap from above, so nearly every comparison is settled by the stored sketches. Rows stored
before this stay NULL and are compared the long way, with the same result; nothing is
backfilled.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_signatures") as batch:
        batch.add_column(sa.Column("pair_count", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("pair_bits", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("case_signatures") as batch:
        batch.drop_column("pair_bits")
        batch.drop_column("pair_count")
