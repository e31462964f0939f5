"""audit chain: every event and recorded ranking sealed with SHA-256

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

Events form a hash chain per case and recorded rankings one chain of their own (see
caseworker/store/audit.py). The history already in the store is sealed here, once, as it
stands at the upgrade: the seals attest that nothing changed after it.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from caseworker.store.audit import EVENT_FIELDS, GENESIS, RANKING_FIELDS, Chain, seal
from caseworker.store.types import UTCDateTime

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.add_column("rankings", sa.Column("hash", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    as_time = UTCDateTime().process_result_value
    dialect = connection.dialect
    chain = Chain()
    select_page = sa.text(
        f"SELECT id, {', '.join(EVENT_FIELDS)} FROM events "
        "WHERE case_id > :case OR (case_id = :case AND id > :id) ORDER BY case_id, id LIMIT 5000"
    )
    update = sa.text("UPDATE events SET hash = :hash WHERE id = :id")
    at = {"case": -1, "id": -1}
    while True:  # a page at a time, so a large history is never all in memory
        rows = connection.execute(select_page, at).all()
        if not rows:
            break
        seals = []
        for row in rows:
            values = list(row[1:])
            values[7], values[8] = as_time(values[7], dialect), as_time(values[8], dialect)
            seals.append({"id": row[0], "hash": chain.seal(values)})
        connection.execute(update, seals)
        last = rows[-1]
        at = {"case": last[1], "id": last[0]}
        chain.heads = {last[1]: chain.heads[last[1]]}
    previous = GENESIS
    rankings = connection.execute(
        sa.text(f"SELECT id, {', '.join(RANKING_FIELDS)} FROM rankings ORDER BY id")
    ).all()
    for row in rankings:
        values = list(row[1:])
        values[4], values[8] = as_time(values[4], dialect), as_time(values[8], dialect)
        values[1], values[2] = str(values[1])[:10], str(values[2])[:10]
        previous = seal(previous, values)
        connection.execute(
            sa.text("UPDATE rankings SET hash = :hash WHERE id = :id"),
            {"id": row[0], "hash": previous},
        )


def downgrade() -> None:
    with op.batch_alter_table("rankings") as batch:
        batch.drop_column("hash")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("hash")
