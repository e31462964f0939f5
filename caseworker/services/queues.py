"""The console's queues as use-cases: who is looking, counts, pages, take-next, and claims."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import and_
from sqlmodel import Session, col, select

from caseworker.domain.errors import NotPermitted
from caseworker.domain.lifecycle import Role
from caseworker.services.people import subtree_ids
from caseworker.store import queries
from caseworker.store.models import CaseRow, ClerkRow
from caseworker.store.queries import CaseLine, Filters, QueueKey, Viewer

# A case another clerk opened within this window counts as "being worked on" for take-next.
CLAIM_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True)
class QueuePage:
    """Rows of one queue after (or before) a keyset position."""

    key: QueueKey
    lines: list[CaseLine]
    at_end: bool


def handler_units(session: Session, clerk: str) -> tuple[int, ...] | None:
    """The units whose cases a unit handler may see (their unit and its subtree); None for
    the bureau's clerks and supervisors, who see every case. A name that is no active clerk,
    or a handler without a unit, sees nothing: scoping fails closed."""
    row = session.exec(select(ClerkRow).where(ClerkRow.name == clerk)).first()
    if row is None or not row.active:
        return ()
    if row.role != Role.HANDLER.value:
        return None
    if row.unit_id is None:
        return ()
    return tuple(subtree_ids(session, row.unit_id))


def viewer_for(session: Session, clerk: str) -> Viewer:
    """The viewer for a clerk name: a unit handler sees only the cases their unit or its
    subtree leads or helps on (协办), in every queue; the bureau sees every case."""
    units = handler_units(session, clerk)
    if units is None:
        return Viewer(clerk=clerk)
    if not units:
        # No units at all: a Viewer's empty set means the whole bureau, so name a unit that
        # cannot exist (ids start at 1) and the queues show nothing.
        return Viewer(clerk=clerk, unit_ids=(0,))
    share, total = queries.scope_size(session, units)
    return Viewer(clerk=clerk, unit_ids=units, wide=queries.is_wide(share, total), cases=share)


def check_visible(session: Session, clerk: str, case_id: int, label: str) -> None:
    """Refuse a unit handler a case their units neither lead nor currently help on: what the
    queues hide from them (store.queries.viewer_scope) cannot be opened by its number either."""
    units = handler_units(session, clerk)
    if units is None or queries.case_in_scope(session, case_id, units):
        return
    # `label` is what the clerk typed: the refusal tells nothing of the case (its status, its
    # external id) that they could not see.
    raise NotPermitted(
        f"{clerk} (handler) may not see case {label}: it is not assigned to their unit",
        key="refused.not_their_case",
        clerk=clerk,
        case=label,
    )


# A search matching more cases than this is not counted (see filtered_count).
TOO_MANY = -1


def counting(viewer: Viewer) -> Viewer:
    """The viewer for a COUNT: with no order to keep, a handler's set of cases may drive the
    count even when it is `wide` (store.queries.viewer_scope): 94 ms for 全部 of a county's
    54,000 cases at 1,000,000 against 330 ms walking every case."""
    return replace(viewer, wide=False)


def queue_counts(
    session: Session, now: datetime, viewer: Viewer, keys: Iterable[QueueKey] | None = None
) -> dict[QueueKey, int]:
    """The sidebar: one indexed COUNT per queue in `keys` (all of them when None); filters
    and search do not apply here."""
    dialect = session.get_bind().dialect.name
    viewer = counting(viewer)
    return {
        key: queries.count_where(session, queries.queue_condition(key, now, viewer, dialect))
        for key in (QueueKey if keys is None else keys)
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
    where = queries.where_of(session, key, now, counting(viewer), filters)
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
    most = queries.tie_rows(viewer)
    wanted = bool(viewer.wide and most and (after or before))  # see queries.page_after
    where, ties = queries.page_wheres(session, key, now, viewer, filters, ties=wanted)
    if before is not None:
        lines = queries.page_before(session, where, before, limit, ties, most)
        return QueuePage(key, lines, at_end=len(lines) < limit)
    lines = queries.page_after(session, where, after, limit, ties, most)
    return QueuePage(key, lines, at_end=len(lines) < limit)


@dataclass(frozen=True)
class WindowAround:
    """Rows of a queue around one case: a few before it, the case, and those after."""

    lines: list[CaseLine]
    at_start: bool
    at_end: bool


def window_around(
    session: Session,
    key: QueueKey,
    now: datetime,
    viewer: Viewer,
    filters: Filters,
    case_id: int,
    *,
    before: int,
    limit: int,
) -> WindowAround | None:
    """Up to `limit` rows of the queue with case `case_id` among them, `before` rows ahead of it
    where there are that many; None when the case is not in the queue (any more).

    A refresh reads the rows from the top of the window on screen; a case whose deadline moved
    (assigned, paused, extended) may have left that stretch, and the cursor follows it here.
    """
    where = queries.where_of(session, key, now, viewer, filters)
    found = queries.page_after(session, and_(where, col(CaseRow.id) == case_id), None, 1)
    if not found:
        return None
    due, case = found[0].key
    ahead = queries.page_before(session, where, (due, case), before)
    rest = queries.page_after(session, where, (due, case - 1), limit - len(ahead))
    return WindowAround(
        ahead + rest, at_start=len(ahead) < before, at_end=len(rest) < limit - len(ahead)
    )


def take_next(
    session: Session, key: QueueKey, now: datetime, viewer: Viewer, filters: Filters
) -> int | None:
    """The most urgent case of the queue nobody else opened in the last CLAIM_WINDOW, claimed
    for the clerk in the same transaction: two clerks taking next at once never get one case."""
    where = queries.where_of(session, key, now, viewer, filters)
    since = now - CLAIM_WINDOW
    lost: list[int] = []
    for _attempt in range(20):  # each loss is a case another clerk took a moment ago
        found = queries.next_unclaimed(session, where, viewer.clerk, since, skip=lost)
        if found is None:
            return None
        if queries.claim_if_free(session, found, viewer.clerk, now, since):
            return found
        lost.append(found)
    return None


def claim(session: Session, case_id: int, clerk: str, now: datetime) -> None:
    """Note that `clerk` has the case open, so take-next skips it for others for a while."""
    queries.claim_case(session, case_id, clerk, now)
