"""import liveness: the host, process and heartbeat of a running import

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

An import killed with -9 cannot record that it stopped, so its record said "running" for
ever. The importing process now records where it runs and touches a heartbeat with every
batch it commits; `imports list` shows a running import whose process is gone (same host) or
whose heartbeat is stale (another host) as interrupted.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import caseworker.store.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pid", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("heartbeat_at", caseworker.store.types.UTCDateTime(), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("imports", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("pid")
        batch_op.drop_column("host")
