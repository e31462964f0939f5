"""lapsed extensions: requests left pending on ended cases are settled

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03

Closing, rejecting or merging a case now lapses its extension requests still awaiting a
decision (domain.lifecycle.ENDED_STATES). Before, such a request stayed "requested" for ever,
only hidden from the 待批延期 queue, and a reopened case brought it back. This settles the ones
already stored: state "lapsed", decided at the case's close time when it has one, otherwise at
the time of its last event (its last change, when it has no event at all), by nobody
(decided_by_id NULL: no clerk took that decision). No event is written: the history of those
cases is sealed as it was, and the request's own row says when and that it lapsed. Only data
changes; a few rows on any store (one pending request a case at most).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# The states that end a case, as domain.lifecycle.ENDED_STATES names them today (spelled out:
# a migration keeps the meaning it had when it was written).
ENDED = ("closed", "rejected", "merged")


def upgrade() -> None:
    ended = ", ".join(f"'{s}'" for s in ENDED)
    op.get_bind().execute(
        sa.text(
            "UPDATE extensions SET state = 'lapsed', decided_by_id = NULL, decided_at = COALESCE("
            "(SELECT c.closed_at FROM cases c WHERE c.id = extensions.case_id), "
            "(SELECT e.effective_at FROM events e WHERE e.case_id = extensions.case_id "
            "ORDER BY e.id DESC LIMIT 1), "
            "(SELECT c.updated_at FROM cases c WHERE c.id = extensions.case_id)) "
            "WHERE state = 'requested' AND case_id IN "
            f"(SELECT id FROM cases WHERE status IN ({ended}))"
        )
    )


def downgrade() -> None:
    """The requests stay lapsed: an older program never decides them (it decides "requested"
    ones only) and lets the unit ask again, which is what lapsed means; making them pending
    again would bring them back to life on a reopened case."""
