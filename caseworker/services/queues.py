"""The console's queues as use-cases: who is looking, counts, pages, take-next, and claims."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, select

from caseworker.domain.lifecycle import Role
from caseworker.services.people import subtree_ids
from caseworker.store import queries
from caseworker.store.models import ClerkRow
from caseworker.store.queries import CaseLine, Filters, QueueKey, Viewer

# A case another clerk opened within this window counts as "being worked on" for take-next.
CLAIM_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class QueuePage:
    """Rows of one queue after (or before) a keyset position."""

    key: QueueKey
    lines: list[CaseLine]
    at_end: bool


def viewer_for(session: Session, clerk: str) -> Viewer:
    """The viewer for a clerk name: a unit handler sees their unit and its subtree as "mine"."""
    row = session.exec(select(ClerkRow).where(ClerkRow.name == clerk)).first()
    if row is None or row.role != Role.HANDLER.value or row.unit_id is None:
        return Viewer(clerk=clerk)
    return Viewer(clerk=clerk, unit_ids=tuple(subtree_ids(session, row.unit_id)))


# A search matching more cases than this is not counted (see filtered_count).
TOO_MANY = -1


def queue_counts(session: Session, now: datetime, viewer: Viewer) -> dict[QueueKey, int]:
    """The sidebar: one indexed COUNT per queue (filters and search do not apply here)."""
    dialect = session.get_bind().dialect.name
    return {
        key: queries.count_where(session, queries.queue_condition(key, now, viewer, dialect))
        for key in QueueKey
    }


def filtered_count(
    session: Session, key: QueueKey, now: datetime, viewer: Viewer, filters: Filters
) -> int:
    """The current queue's size under filters, capped when a search is on (see queries).

    A search whose term is in more than DENSE_SEARCH cases returns TOO_MANY: counting how many
    of those fall in the queue means probing the text index once per case, seconds at 1M.
    """
    if queries.is_dense_search(session, filters):
        return TOO_MANY
    where = queries.where_of(session, key, now, viewer, filters)
    cap = queries.SEARCH_COUNT_CAP if filters.search.strip() else None
    return queries.count_where(session, where, cap)


def queue_page(
    session: Session,
    key: QueueKey,
    now: datetime,
    viewer: Viewer,
    filters: Filters,
    *,
    after: tuple[datetime, int] | None = None,
    before: tuple[datetime, int] | None = None,
    limit: int = queries.PAGE_SIZE,
) -> QueuePage:
    """One keyset page of a queue, nearest deadline first."""
    where = queries.where_of(session, key, now, viewer, filters)
    if before is not None:
        lines = queries.page_before(session, where, before, limit)
        return QueuePage(key, lines, at_end=len(lines) < limit)
    lines = queries.page_after(session, where, after, limit)
    return QueuePage(key, lines, at_end=len(lines) < limit)


def take_next(
    session: Session, key: QueueKey, now: datetime, viewer: Viewer, filters: Filters
) -> int | None:
    """The most urgent case of the queue nobody else opened in the last CLAIM_WINDOW."""
    where = queries.where_of(session, key, now, viewer, filters)
    return queries.next_unclaimed(session, where, viewer.clerk, now - CLAIM_WINDOW)


def claim(session: Session, case_id: int, clerk: str, now: datetime) -> None:
    """Note that `clerk` has the case open, so take-next skips it for others for a while."""
    queries.claim_case(session, case_id, clerk, now)
