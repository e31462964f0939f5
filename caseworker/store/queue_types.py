"""The SQL side of the console's queues: the open states' predicate.

The plain types (QueueKey, Filters, Viewer, CaseLine) live in caseworker.domain.queues, where
the console may import them too; they are re-exported here for the store's own modules.
"""

from __future__ import annotations

from caseworker.domain.queues import PAGE_SIZE as PAGE_SIZE
from caseworker.domain.queues import CaseLine as CaseLine
from caseworker.domain.queues import Filters as Filters
from caseworker.domain.queues import QueueKey as QueueKey
from caseworker.domain.queues import Viewer as Viewer

# The open states (domain.lifecycle.OPEN_STATES) as the WHERE of the partial indexes on open
# cases, and of every query meant to use them: SQLite uses a partial index only for a query
# that repeats its WHERE. Spelled with OR, not IN: SQLite evaluates it on every insert and
# update, and the IN list cost ~4 us a row for each index (migration 0006).
OPEN_SQL = (
    "(status = 'received' OR status = 'accepted' OR status = 'assigned'"
    " OR status = 'acknowledged' OR status = 'replied')"
)
