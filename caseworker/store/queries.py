"""Read-only queries behind the console's queues: keyset pages, indexed counts, search.

Every queue is ordered by (next_due_at, id) and paged with a keyset ("after this row"), so a
page costs the same at row 10 as at row 900,000, and nothing ever loads a whole queue. Counts
are single indexed COUNTs; search counts are capped because a one-character term cannot use an
index. SQLite-only SQL (FTS5) sits behind a dialect check, with an ILIKE fallback elsewhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from caseworker.domain.lifecycle import RULES, Action
from caseworker.store.models import OPEN_SQL as OPEN_SQL  # ix_cases_open_due / _warn
from caseworker.store.models import (
    CaseClaim,
    CaseRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    MetaRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)
from caseworker.store.queue_types import PAGE_SIZE as PAGE_SIZE
from caseworker.store.queue_types import CaseLine as CaseLine
from caseworker.store.queue_types import Filters as Filters
from caseworker.store.queue_types import QueueKey as QueueKey
from caseworker.store.queue_types import Viewer as Viewer

# The states a pending extension can be decided from: its request awaits a supervisor only then.
EXTENSION_DECIDABLE = sorted(s.value for s in RULES[Action.APPROVE_EXTENSION].sources)

CASES = CaseRow.__table__  # type: ignore[attr-defined]
UNITS = Unit.__table__  # type: ignore[attr-defined]
CO_UNITS = CoUnit.__table__  # type: ignore[attr-defined]
C = CASES.c

SEARCH_COUNT_CAP = 10_000
# store_meta key: the first case id not yet in the search index (see search_pending_from).
SEARCH_PENDING_KEY = "search_pending_from"


def _open() -> ColumnElement[bool]:
    return text(OPEN_SQL)  # type: ignore[return-value]


def queue_condition(
    key: QueueKey,
    now: datetime,
    viewer: Viewer,
    dialect: str = "sqlite",
    *,
    one_by_one: bool = False,
) -> ColumnElement[bool]:
    """The WHERE of one queue as `viewer` sees it: a unit handler only their units' cases
    (`one_by_one`: their scope tested on each row, see row_scope)."""
    where = _queue_cases(key, now, viewer, dialect)
    if not viewer.unit_ids:
        return where
    return and_(where, row_scope(viewer) if one_by_one else viewer_scope(viewer, dialect))


def viewer_scope(viewer: Viewer, dialect: str = "sqlite") -> ColumnElement[bool]:
    """The cases a viewer may see at all: for a unit handler, those their units (their own and
    the units below it, `viewer.unit_ids`) lead or currently help on (协办); all for the bureau.

    One id set, `id IN (cases led UNION ALL current co-unit rows)`, each half read from an
    index (ix_cases_unit_status_due, ix_case_co_units_unit_id), so every queue's own index
    range can test its rows by rowid without reading them. SQLite, which has no statistics
    here (the store never runs ANALYZE), would rather look the set's cases up one by one:
    right for a unit's few thousand cases, but a county's 50,000 read and sorted for one page
    of 全部 took 110 ms at 1,000,000 cases. A `wide` viewer's set (is_wide) is tested
    with "+", which SQLite cannot drive a lookup from, so 全部 walks ix_cases_due in order
    and stops at a page (30 ms, of which building the set is 28).
    """
    if not viewer.unit_ids:
        return true()
    units = viewer.unit_ids
    led = CASES.alias("led")
    lead = select(led.c.id).where(led.c.lead_unit_id.in_(units))
    helping = select(CO_UNITS.c.case_id).where(
        CO_UNITS.c.unit_id.in_(units), CO_UNITS.c.released_at.is_(None)
    )
    case_id = literal_column("+cases.id") if viewer.wide and dialect == "sqlite" else C.id
    return case_id.in_(lead.union_all(helping))


def row_scope(viewer: Viewer) -> ColumnElement[bool]:
    """viewer_scope tested on each row rather than by building the set: its lead unit, then a
    probe of its current co-units. For a few rows (page_after's rows sharing a deadline) this
    costs far less than the set, which a county's 50,000 cases take about 25 ms to build."""
    units = viewer.unit_ids
    helping = select(CO_UNITS.c.id).where(
        CO_UNITS.c.case_id == C.id,
        CO_UNITS.c.unit_id.in_(units),
        CO_UNITS.c.released_at.is_(None),
    )
    return or_(C.lead_unit_id.in_(units), exists(helping))


def case_in_scope(session: Session, case_id: int, unit_ids: Sequence[int]) -> bool:
    """Whether one case is in a unit handler's scope: viewer_scope asked of a single case."""
    lead = select(C.id).where(C.id == case_id, C.lead_unit_id.in_(unit_ids))
    helping = select(CO_UNITS.c.id).where(
        CO_UNITS.c.case_id == case_id,
        CO_UNITS.c.unit_id.in_(unit_ids),
        CO_UNITS.c.released_at.is_(None),
    )
    return bool(session.execute(select(or_(exists(lead), exists(helping)))).scalar_one())


def is_wide(share: int, total: int) -> bool:
    """Whether a handler's `share` of `total` cases (scope_size) is so large that a queue page
    should walk the queue in order rather than look their cases up (viewer_scope).

    A lookup costs about 2.5 µs a case of the set; walking costs about 0.25 µs an index entry,
    and a page of 100 passes 100 × total / set entries: the two meet where set² ≈ 10 × total
    (about 3,000 cases of 1,000,000), and either way a page then costs under 10 ms.
    """
    return share * share > 10 * total


def scope_size(session: Session, unit_ids: Sequence[int]) -> tuple[int, int]:
    """How many cases these units lead or help on, and about how many cases there are."""
    if not unit_ids:
        return 0, 0
    led = select(func.count()).select_from(CASES).where(C.lead_unit_id.in_(unit_ids))
    helping = select(func.count()).where(
        CO_UNITS.c.unit_id.in_(unit_ids), CO_UNITS.c.released_at.is_(None)
    )
    total = select(func.max(C.id))
    row = session.execute(
        select(led.scalar_subquery(), helping.scalar_subquery(), total.scalar_subquery())
    ).one()
    return int(row[0] or 0) + int(row[1] or 0), int(row[2] or 0)


def _queue_cases(key: QueueKey, now: datetime, viewer: Viewer, dialect: str) -> ColumnElement[bool]:
    """The WHERE of one queue before the viewer's scope; each is a range on one of the
    (…, next_due_at, id) indexes."""
    due = C.next_due_at
    if key is QueueKey.RECEIVED:
        return C.status == "received"  # type: ignore[no-any-return]
    if key is QueueKey.ACCEPTED:
        return C.status == "accepted"  # type: ignore[no-any-return]
    if key is QueueKey.HANDLING:
        return and_(_open(), C.status.in_(("assigned", "acknowledged")))
    if key is QueueKey.REVIEW:
        submitted = select(ReplyRow.case_id).where(ReplyRow.state == "submitted")  # type: ignore[call-overload]
        return and_(_open(), C.id.in_(submitted))
    if key is QueueKey.REPLIED:
        return C.status == "replied"  # type: ignore[no-any-return]
    # A paused clock stands still, so a paused case is judged as it stood when paused: due soon
    # only if it was warned and not yet late then, overdue only if it was already late (as the
    # overdue report counts it). Overdue means past the deadline: at the deadline's own second a
    # case is still due soon, as its countdown and the report say. (A case paused while warned
    # leaves 即将到期 once its old deadline passes, until it resumes and the deadline moves:
    # keeping the range on the deadline keeps this queue an index range at a million cases.)
    if key is QueueKey.DUE_SOON:
        as_paused = or_(
            C.paused_since.is_(None), and_(due >= C.paused_since, C.warn_at <= C.paused_since)
        )
        return and_(_open(), due >= now, C.warn_at <= now, as_paused)
    if key is QueueKey.OVERDUE:
        not_paused_in_time = or_(C.paused_since.is_(None), due < C.paused_since)
        return and_(_open(), due < now, not_paused_in_time)
    if key is QueueKey.SUPERVISED:
        return and_(_open(), C.id.in_(select(SupervisionRow.case_id)))  # type: ignore[call-overload]
    if key is QueueKey.EXTENSIONS:
        # Every request awaiting a decision, as services.cases.pending_extensions lists them:
        # a few at a time, so their ids drive the lookup: its count took 48 ms at 1,000,000
        # cases with 50,000 extensions on record, 300 of them pending (a loaded machine; the
        # 督办件 count, 999 cases, 48-76 ms in the same runs).
        # Only while it can be decided: a case returned meanwhile leaves the queue, and comes
        # back once reassigned. (Closing, rejecting or merging a case lapses its request, so
        # none waits on an ended case; migration 0018 settled those left from before.) The
        # state test costs nothing measurable: 4.1 ms against 3.8 ms without it (1,000,000
        # cases, 50,300 extensions, 300 pending, 50 of them on closed cases; idle).
        requested = select(ExtensionRow.case_id).where(ExtensionRow.state == "requested")  # type: ignore[call-overload]
        return and_(C.status.in_(EXTENSION_DECIDABLE), C.id.in_(requested))
    if key is QueueKey.MINE:
        if viewer.unit_ids:  # their units' open cases, lead or co-unit (see viewer_scope)
            return _open()
        if dialect == "sqlite":
            # "+" keeps SQLite on the open-cases index: an importer or a busy clerk may have
            # last touched most of a million closed cases, the open ones are a few thousand.
            touched = literal_column("+cases.updated_by") == bindparam("clerk", viewer.clerk)
            return and_(touched, _open())
        return and_(C.updated_by == viewer.clerk, _open())
    if key is QueueKey.CLOSED:
        return C.status == "closed"  # type: ignore[no-any-return]
    return true()


def search_terms(query: str) -> list[str]:
    """The words of a search; whitespace separates them, each must appear in title or body."""
    return [word for word in query.split() if word]


def _like_pattern(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


DENSE_SEARCH = 5_000  # more FTS hits than this: walk the queue's index instead of sorting hits


def fts_query(terms: list[str]) -> str:
    """An FTS5 MATCH string: every 3+ character term as a quoted phrase."""
    return " AND ".join(_fts_phrase(t) for t in terms if len(t) >= 3)


def fts_hits(session: Session, query: str, cap: int | None = None) -> int:
    """How many documents match, counting at most `cap` (a cheap look at the doclists)."""
    cap = DENSE_SEARCH + 1 if cap is None else cap
    sql = text(
        "SELECT count(*) FROM (SELECT rowid FROM cases_fts WHERE cases_fts MATCH :q LIMIT :cap)"
    )
    return int(session.execute(sql, {"q": query, "cap": cap}).scalar_one())


def search_pending_from(session: Session) -> int | None:
    """The first case id a bulk import left for the search index to catch up on, if any.

    Cases from this id on are not in cases_fts yet (migration 0004, services.search_backlog);
    search matches them with LIKE until the index has caught up.
    """
    if _dialect(session) != "sqlite":
        return None
    value = session.execute(
        select(MetaRow.__table__.c.value).where(  # type: ignore[attr-defined]
            MetaRow.__table__.c.key == SEARCH_PENDING_KEY  # type: ignore[attr-defined]
        )
    ).scalar_one_or_none()
    return int(value) if value is not None else None


def search_backlog(session: Session) -> int:
    """How many cases the search index is still catching up on (0: it is complete)."""
    start = search_pending_from(session)
    if start is None:
        return 0
    return int(session.execute(select(func.count()).where(C.id >= start)).scalar_one())


def _contains(term: str, dialect: str) -> ColumnElement[bool]:
    pattern = _like_pattern(term)
    if dialect == "postgresql":
        return or_(C.title.ilike(pattern, escape="\\"), C.body.ilike(pattern, escape="\\"))
    return or_(C.title.like(pattern, escape="\\"), C.body.like(pattern, escape="\\"))


def search_condition(
    query: str, dialect: str, *, dense: bool = False, pending_from: int | None = None
) -> ColumnElement[bool]:
    """Title or body holds every term: FTS5 trigram for 3+ characters on SQLite, LIKE for less.

    One- and two-character Chinese words (水, 噪音) are too short for a trigram index, so they
    filter the candidates with LIKE; the keyset page stops after PAGE_SIZE hits, and counts are
    capped, so the scan stays bounded. With few hits the FTS rowids drive the query (and are
    sorted); with many (`dense`) the queue's own index is walked in order and each row is
    checked against the FTS index by rowid, so the first page never sorts a million hits.
    Cases from `pending_from` on are not indexed yet (search_pending_from): they are matched
    with LIKE instead, so a search during an import's catch-up misses nothing.
    """
    terms = search_terms(query)
    if not terms:
        return true()
    parts: list[ColumnElement[bool]] = []
    match = fts_query(terms)
    if dialect == "sqlite" and match:
        fts: BindParameter[str] = bindparam("fts", match)
        indexed: ColumnElement[bool]
        if dense:
            indexed = exists(
                select(literal_column("1"))
                .select_from(text("cases_fts"))
                .where(text("cases_fts MATCH :fts").bindparams(fts))
                .where(literal_column("cases_fts.rowid") == C.id)
            )
        else:
            indexed = C.id.in_(
                select(literal_column("rowid"))
                .select_from(text("cases_fts"))
                .where(text("cases_fts MATCH :fts").bindparams(fts))
            )
        if pending_from is not None:
            unindexed = and_(
                C.id >= pending_from, *(_contains(t, dialect) for t in terms if len(t) >= 3)
            )
            indexed = or_(indexed, unindexed)
        parts.append(indexed)
        short_terms = [t for t in terms if len(t) < 3]
    else:
        short_terms = terms
    for term in short_terms:
        parts.append(_contains(term, dialect))
    return and_(*parts) if parts else false()


def filter_condition(
    filters: Filters, dialect: str, *, dense: bool = False, pending_from: int | None = None
) -> ColumnElement[bool]:
    parts: list[ColumnElement[bool]] = []
    if filters.channel:
        parts.append(C.channel == filters.channel)
    if filters.category:
        parts.append(C.category == filters.category)
    if filters.unit_ids:
        parts.append(C.lead_unit_id.in_(filters.unit_ids))
    if filters.unassigned:
        parts.append(C.lead_unit_id.is_(None))
    if filters.region:
        parts.append(C.region == filters.region)
    if filters.urgency:
        parts.append(C.urgency == filters.urgency)
    if filters.case_ids:
        # One matter's cases, tens or hundreds: looked up by id and sorted, and the keyset
        # pages on (next_due_at, id) as for any filter.
        parts.append(C.id.in_(filters.case_ids))
    if filters.search.strip():
        found = search_condition(filters.search, dialect, dense=dense, pending_from=pending_from)
        by_id = id_condition(filters.search)
        parts.append(found if by_id is None else or_(found, by_id))
    return and_(true(), *parts)


def id_condition(query: str) -> ColumnElement[bool] | None:
    """A search of one word also finds the case with that number or external id (citizens quote
    them on the phone: `/644`, `/#644`, `/RMW-2025-00312`); None when the query cannot be one."""
    words = search_terms(query)
    if len(words) != 1:
        return None
    word = words[0].removeprefix("#")
    if not word:
        return None
    by_external: ColumnElement[bool] = C.external_id == word
    if word.isascii() and word.isdigit() and len(word) <= 18:  # inside a 64-bit integer
        return or_(C.id == int(word), by_external)
    return by_external


def is_dense_search(session: Session, filters: Filters) -> bool:
    """Whether the search matches so many cases that counting them would cost a full scan."""
    if _dialect(session) != "sqlite" or not filters.search.strip():
        return False
    match = fts_query(search_terms(filters.search))
    return bool(match) and fts_hits(session, match) > DENSE_SEARCH


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def where_of(
    session: Session, key: QueueKey, now: datetime, viewer: Viewer, filters: Filters
) -> ColumnElement[bool]:
    return page_wheres(session, key, now, viewer, filters, ties=False)[0]


def page_wheres(
    session: Session,
    key: QueueKey,
    now: datetime,
    viewer: Viewer,
    filters: Filters,
    *,
    ties: bool,
) -> tuple[ColumnElement[bool], ColumnElement[bool] | None]:
    """The WHERE of a queue as `viewer` sees it, and with `ties` the same WHERE testing a
    handler's scope on each row (row_scope, for page_after's rows sharing a deadline); the
    filters, which may ask the search index, are worked out once for both."""
    dialect = _dialect(session)
    dense = is_dense_search(session, filters)
    pending = search_pending_from(session) if filters.search.strip() else None
    narrowed = filter_condition(filters, dialect, dense=dense, pending_from=pending)
    where = and_(queue_condition(key, now, viewer, dialect), narrowed)
    if not ties:
        return where, None
    return where, and_(queue_condition(key, now, viewer, dialect, one_by_one=True), narrowed)


def _line_select(where: ColumnElement[bool]) -> Select[tuple[object, ...]]:
    return (
        select(
            C.id,
            C.channel,
            C.title,
            C.category,
            UNITS.c.name,
            C.status,
            C.urgency,
            C.received_at,
            C.next_due_at,
            C.warn_at,
            C.provisional,
            C.paused_since,
            C.repeat_of_id,
        )
        .select_from(CASES.outerjoin(UNITS, UNITS.c.id == C.lead_unit_id))
        .where(where)
    )


def _lines(rows: Sequence[Sequence[object]]) -> list[CaseLine]:
    out = []
    for r in rows:
        out.append(
            CaseLine(
                id=r[0],  # type: ignore[arg-type]
                channel=r[1],  # type: ignore[arg-type]
                title=r[2],  # type: ignore[arg-type]
                category=r[3],  # type: ignore[arg-type]
                lead_unit=r[4],  # type: ignore[arg-type]
                status=r[5],  # type: ignore[arg-type]
                urgency=r[6],  # type: ignore[arg-type]
                received_at=r[7],  # type: ignore[arg-type]
                next_due_at=r[8],  # type: ignore[arg-type]
                warn_at=r[9],  # type: ignore[arg-type]
                provisional=bool(r[10]),
                paused=r[11] is not None,
                repeat_of=r[12],  # type: ignore[arg-type]
            )
        )
    return out


def tie_rows(viewer: Viewer) -> int:
    """How many rows sharing a deadline page_after should test one by one (row_scope) rather
    than by the handler's case set: a row costs about 22 µs that way (its lookup and a probe of
    its co-units), a case of the set about 0.5 µs to build (25 ms for a county's 50,000)."""
    return viewer.cases // 40


def _tie_where(
    session: Session,
    where: ColumnElement[bool],
    ties: ColumnElement[bool] | None,
    group: ColumnElement[bool],
    most: int,
) -> ColumnElement[bool]:
    """`ties` (the same WHERE, scope tested per row) if the rows of `group` are fewer than
    `most`; counting them reads the deadline's index alone."""
    if ties is None or most < 1:
        return where
    few = select(func.count()).select_from(select(C.id).where(group).limit(most).subquery())
    return ties if int(session.execute(few).scalar_one()) < most else where


def page_after(
    session: Session,
    where: ColumnElement[bool],
    after: tuple[datetime, int] | None = None,
    limit: int = PAGE_SIZE,
    ties: ColumnElement[bool] | None = None,
    most_ties: int = 0,
) -> list[CaseLine]:
    """The next `limit` rows after the keyset `after` (None: from the top), nearest due first.

    The keyset is sought in two index ranges, rows sharing `after`'s deadline with a larger
    id, then rows with a later deadline: most closed cases share END_OF_TIME, and a row-value
    comparison would walk all of them from the start (SQLite seeks on its first column only).
    A wide handler's `where` builds their case set in each query (viewer_scope); `ties`, the
    same WHERE testing each row instead, serves the first range when it holds fewer than
    `most_ties` rows (tie_rows; a day's deadlines end at the same second), so a page builds the
    set once: a county's next page took 47-51 ms, twice its first.
    """
    if after is None:
        query = _line_select(where).order_by(C.next_due_at, C.id).limit(limit)
        return _lines(session.execute(query).all())
    due, last_id = after
    group = and_(C.next_due_at == due, C.id > last_id)
    same = _line_select(and_(_tie_where(session, where, ties, group, most_ties), group))
    lines = _lines(session.execute(same.order_by(C.id).limit(limit)).all())
    if len(lines) < limit:
        later = _line_select(and_(where, C.next_due_at > due)).order_by(C.next_due_at, C.id)
        lines += _lines(session.execute(later.limit(limit - len(lines))).all())
    return lines


def page_before(
    session: Session,
    where: ColumnElement[bool],
    before: tuple[datetime, int],
    limit: int,
    ties: ColumnElement[bool] | None = None,
    most_ties: int = 0,
) -> list[CaseLine]:
    """The `limit` rows just before the keyset `before`, in queue order (for paging up; `ties`
    as in page_after)."""
    due, first_id = before
    group = and_(C.next_due_at == due, C.id < first_id)
    same = _line_select(and_(_tie_where(session, where, ties, group, most_ties), group))
    lines = _lines(session.execute(same.order_by(C.id.desc()).limit(limit)).all())
    if len(lines) < limit:
        earlier = _line_select(and_(where, C.next_due_at < due)).order_by(
            C.next_due_at.desc(), C.id.desc()
        )
        lines += _lines(session.execute(earlier.limit(limit - len(lines))).all())
    return list(reversed(lines))


def count_where(session: Session, where: ColumnElement[bool], cap: int | None = None) -> int:
    """How many cases match; with `cap`, counting stops there (the caller shows "≥cap")."""
    if cap is None:
        query = select(func.count()).select_from(CASES).where(where)
        return int(session.execute(query).scalar_one())
    inner = select(C.id).where(where).limit(cap).subquery()
    return int(session.execute(select(func.count()).select_from(inner)).scalar_one())


def change_marker(session: Session) -> tuple[int, int, int]:
    """A cheap fingerprint of the store: the newest event, case and reply ids (primary keys).

    Every action appends an event and every import adds cases, so a change of this triple is
    the signal to reload the visible rows; three MAX() on primary keys cost microseconds.
    """
    row = session.execute(
        select(
            select(func.max(EventRow.id)).scalar_subquery(),
            select(func.max(C.id)).scalar_subquery(),
            select(func.max(ReplyRow.id)).scalar_subquery(),
        )
    ).one()
    return (int(row[0] or 0), int(row[1] or 0), int(row[2] or 0))


def case_marker(session: Session, case_id: int) -> tuple[int, ...]:
    """`change_marker` and the case's own version: what the case view polls.

    A save that continues a draft appends no event (services.cases.draft_reply) but does
    update the case, so another clerk's case view still sees the new text.
    """
    version = session.execute(select(C.version).where(C.id == case_id)).scalar_one_or_none()
    return (*change_marker(session), int(version or 0))


def next_unclaimed(
    session: Session,
    where: ColumnElement[bool],
    clerk: str,
    since: datetime,
    *,
    skip: Sequence[int] = (),
) -> int | None:
    """The most urgent case in a queue that no other clerk has opened since `since`.

    On PostgreSQL the case's row is locked, skipping rows another clerk's take-next holds at
    this moment (FOR UPDATE SKIP LOCKED), so concurrent clerks fan out instead of queueing.
    """
    claims = CaseClaim.__table__  # type: ignore[attr-defined]
    taken = exists().where(
        claims.c.case_id == C.id, claims.c.clerk != clerk, claims.c.opened_at > since
    )
    query = select(C.id).where(where, ~taken)
    if skip:
        query = query.where(C.id.not_in(list(skip)))
    query = query.order_by(C.next_due_at, C.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=C)
    found = session.execute(query).scalar_one_or_none()
    return int(found) if found is not None else None


def claim_if_free(
    session: Session, case_id: int, clerk: str, at: datetime, since: datetime
) -> bool:
    """Claim the case for `clerk` unless another clerk opened it after `since`; one statement.

    An upsert whose update is conditional: the database decides against the latest committed
    claim, so two clerks racing for one case cannot both win.
    """
    return _claim(session, case_id, clerk, at, since=since)


def claim_case(session: Session, case_id: int, clerk: str, at: datetime) -> None:
    """Record that `clerk` opened the case now (one row per case, the latest opener).

    One upsert, so two clerks opening a case at the same moment do not clash on its row.
    """
    _claim(session, case_id, clerk, at, since=None)


def _claim(
    session: Session, case_id: int, clerk: str, at: datetime, *, since: datetime | None
) -> bool:
    from sqlalchemy.dialects import postgresql, sqlite

    session.flush()  # the ORM's own pending changes first; this statement bypasses it
    claims = CaseClaim.__table__  # type: ignore[attr-defined]
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    free = None if since is None else (claims.c.clerk == clerk) | (claims.c.opened_at <= since)
    statement = (
        dialect.insert(claims)
        .values(case_id=case_id, clerk=clerk, opened_at=at)
        .on_conflict_do_update(
            index_elements=[claims.c.case_id],
            set_={"clerk": clerk, "opened_at": at},
            where=free,
        )
        .returning(claims.c.case_id)
    )
    claimed = session.execute(statement).first() is not None
    return claimed


def distinct_values(session: Session, column: str, limit: int = 200) -> list[str]:
    """Values a filter can choose from (channel, category, region, urgency), most common first."""
    col = C[column]
    query = (
        select(col).where(col.is_not(None)).group_by(col).order_by(func.count().desc()).limit(limit)
    )
    return [str(v) for v in session.execute(query).scalars().all()]
