"""The console's one door to the store: each method is one transaction that returns plain data.

The screens and widgets import no store module and no SQLModel; they call a `Console`, built
once by `make_app`, from their thread workers. Every method opens its own transaction (the
Store's session commits on success and rolls back on any error), so a method is the unit of
work a clerk's key stands for: a page of a queue, the case view, a dialog's data, a dialog's
result applied. Nothing returned is a live ORM object.

This module imports no ORM at its top: the opening page (store.opening) and the clerk's badge
(store.clerk_badge) are read with SQLAlchemy Core, so the first screen is drawn before the
ORM's models are imported; every other method imports what it uses when first called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.queues import PAGE_SIZE, CaseLine, ClerkBadge, Filters, QueueKey, Viewer

if TYPE_CHECKING:
    from sqlmodel import Session

    from caseworker.config import Settings
    from caseworker.domain.measures import Period
    from caseworker.domain.triage_clusters import Cluster
    from caseworker.services.cases import CaseDetail, Desk, EventInfo
    from caseworker.services.console_actions import ActionKind, Versioned
    from caseworker.services.console_data import MergeTarget
    from caseworker.services.documents import DocumentChoice, Written
    from caseworker.services.reports import DayVolume, LabelCount, OverdueReport, RatesReport
    from caseworker.services.rules import Rules
    from caseworker.services.triage import CommonIssue
    from caseworker.store.engine import Store as Store  # what make_app is handed

D = TypeVar("D")
R = TypeVar("R", bound="Versioned")

DASHBOARD_DAYS = 30  # the supervisor screen's volume chart and category and region counts


@dataclass(frozen=True)
class Opening:
    """The queue a clerk opens on, its first page and its size."""

    queue: QueueKey
    lines: list[CaseLine]
    count: int


@dataclass(frozen=True)
class Page:
    """Rows of a queue. `around`: the rows were read around a case that left the window asked
    for (its deadline moved), and `at_start` says whether they begin the queue."""

    lines: list[CaseLine]
    at_end: bool
    around: bool = False
    at_start: bool = False


@dataclass(frozen=True)
class Marker:
    """What the queue polls: the store's change marker, and whether an import left cases for
    the search index since."""

    change: tuple[int, int, int]
    search_pending: bool


@dataclass(frozen=True)
class SearchCaps:
    """How a search's count is capped (store.queries): counted up to `cap`; `too_many` is the
    count given when the term is in more than `dense` cases."""

    cap: int
    dense: int
    too_many: int


@dataclass(frozen=True)
class FilterOptions:
    """What the filter dialog offers: channel codes, categories, regions, units (name indented
    by its depth in the tree, id)."""

    channels: list[str]
    categories: list[str]
    regions: list[str]
    units: list[tuple[str, int]]


@dataclass(frozen=True)
class CaseView:
    """One case as the case view shows it, with the marker its poll compares against."""

    detail: CaseDetail
    history: list[EventInfo]
    marker: tuple[int, ...]


@dataclass(frozen=True)
class CategorySuggestion:
    """The triage model's first category for a case."""

    category: str
    score: float
    model_id: int


@dataclass(frozen=True)
class DashboardData:
    """Everything the supervisor screen shows, read at one instant."""

    now: datetime
    overdue: OverdueReport
    rates: RatesReport
    volume: list[DayVolume]
    categories: list[LabelCount]
    regions: list[LabelCount]


@dataclass(frozen=True)
class Matters:
    """The supervisor screen's 共性问题 panel: the hottest clusters, the latest recorded issues."""

    clusters: list[Cluster]
    issues: list[CommonIssue]


def window_days(now: datetime, days: int = DASHBOARD_DAYS) -> list[date]:
    """The last `days` Shanghai days up to today, oldest first."""
    today = now.astimezone(SHANGHAI).date()
    return [today - timedelta(days=days - 1 - n) for n in range(days)]


class Console:
    """The console's use-cases over one store, as one clerk at the settings' clock."""

    def __init__(self, store: Store, rules: Rules, settings: Settings) -> None:
        self.store = store
        self.rules = rules
        self.settings = settings
        self.clerk = settings.clerk
        # Who is looking (a unit handler's units), read once: the queue's every read uses it.
        self._viewer: Viewer | None = None

    def desk(self) -> Desk:
        """Who acts, with which rules and clock: what every case action needs."""
        from caseworker.services.cases import Desk

        return Desk(rules=self.rules, clock=self.settings.clock(), clerk=self.clerk)

    def now(self) -> datetime:
        return self.settings.clock().now()

    def _viewer_in(self, session: Session) -> Viewer:
        from caseworker.services import queues

        if self._viewer is None:
            self._viewer = queues.viewer_for(session, self.clerk)
        return self._viewer

    # ------------------------------------------------------------------ the queue screen

    def opening(self, limit: int = PAGE_SIZE) -> Opening:
        """The queue the clerk opens on (store.opening: plain SQL, before the ORM loads)."""
        from caseworker.store.opening import opening_page

        key, lines, count = opening_page(self.store.engine, limit, self.clerk)
        return Opening(key, lines, count)

    def badge(self) -> ClerkBadge:
        """The clerk's role and unit for the header (store.clerk_badge: no ORM import)."""
        from caseworker.store.clerk_badge import clerk_badge

        return clerk_badge(self.store.engine, self.clerk)

    def page(
        self,
        queue: QueueKey,
        filters: Filters,
        *,
        after: tuple[datetime, int] | None = None,
        before: tuple[datetime, int] | None = None,
        limit: int = PAGE_SIZE,
        inclusive: bool = False,
        follow: int | None = None,
    ) -> Page:
        """One keyset page of a queue, nearest deadline first. `inclusive`: start at the row
        `after` names; `follow`: when that case is not among the rows (its deadline moved),
        the rows around it instead."""
        from caseworker.services import queues

        now = self.now()
        with self.store.session() as session:
            viewer = self._viewer_in(session)
            if inclusive and after is not None:  # just before the first row, in keyset order
                after = (after[0], after[1] - 1)
            page = queues.queue_page(
                session, queue, now, viewer, filters, after=after, before=before, limit=limit
            )
            if follow is not None and all(row.id != follow for row in page.lines):
                around = queues.window_around(
                    session,
                    queue,
                    now,
                    viewer,
                    filters,
                    follow,
                    before=min(limit // 2, PAGE_SIZE // 2),
                    limit=limit,
                )
                if around is not None:
                    return Page(around.lines, around.at_end, around=True, at_start=around.at_start)
        return Page(page.lines, page.at_end)

    def shown_count(self, queue: QueueKey, filters: Filters) -> int:
        """The size of the queue shown, under its filters (capped for a search: SearchCaps)."""
        from caseworker.services import queues

        now = self.now()
        with self.store.session() as session:
            return queues.filtered_count(session, queue, now, self._viewer_in(session), filters)

    def queue_counts(self, keys: Sequence[QueueKey] | None = None) -> dict[QueueKey, int]:
        """The sidebar: the size of each queue in `keys` (every queue when None), without
        filters."""
        from caseworker.services import queues

        now = self.now()
        with self.store.session() as session:
            return queues.queue_counts(session, now, self._viewer_in(session), keys)

    @staticmethod
    def search_caps() -> SearchCaps:
        from caseworker.services.queues import TOO_MANY
        from caseworker.store.queries import DENSE_SEARCH, SEARCH_COUNT_CAP

        return SearchCaps(cap=SEARCH_COUNT_CAP, dense=DENSE_SEARCH, too_many=TOO_MANY)

    def marker(self) -> Marker:
        from caseworker.store.queries import change_marker, search_pending_from

        with self.store.session() as session:
            return Marker(change_marker(session), search_pending_from(session) is not None)

    def take_next(self, queue: QueueKey, filters: Filters) -> int | None:
        """The most urgent case of the queue nobody else has open, claimed for the clerk."""
        from caseworker.services import queues

        now = self.now()
        with self.store.session() as session:
            return queues.take_next(session, queue, now, self._viewer_in(session), filters)

    def filter_options(self) -> FilterOptions:
        from caseworker.services.people import list_units, unit_depths
        from caseworker.store.queries import distinct_values

        with self.store.session() as session:
            units = list_units(session)
            depths = unit_depths(units)
            return FilterOptions(
                channels=list(self.rules.policy.channels),
                categories=distinct_values(session, "category"),
                regions=distinct_values(session, "region"),
                units=[(("  " * depths.get(u.id, 0)) + u.name, u.id) for u in units],
            )

    def unit_subtree(self, unit_id: int) -> tuple[int, ...]:
        """A unit and every unit below it: what a unit filter matches."""
        from caseworker.services.people import subtree_ids

        with self.store.session() as session:
            return tuple(subtree_ids(session, unit_id))

    def search_catch_up(self, chunk: int) -> Iterator[int]:
        """Let the search index catch up on a bulk import's backlog, a chunk per transaction
        (services.search_backlog): yields how many cases are left, first before any chunk,
        then after each; nothing when there is no backlog. Stop iterating to stop."""
        import sqlite3

        from caseworker.services import search_backlog
        from caseworker.store.queries import search_backlog as backlog_of

        with self.store.session() as session:
            left = backlog_of(session)
        path = search_backlog.sqlite_path(self.store.url)
        if not left or path is None:
            return
        yield left
        connection = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            connection.execute("PRAGMA busy_timeout=30000")
            while True:
                if search_backlog.catch_up_chunk(connection, chunk) is None:
                    yield 0
                    return
                yield search_backlog.backlog(connection.cursor())
        finally:
            connection.close()

    # ------------------------------------------------------------------ the case view

    def find(self, ref: str) -> int:
        """The case a typed reference names (`#N`, `ext:X`, or either when one case fits)."""
        from caseworker.services.cases import find_case

        with self.store.session() as session:
            case_id = find_case(session, ref).id
        assert case_id is not None
        return case_id

    def case_view(self, case_id: int) -> CaseView:
        """The case, its history and its marker; refused (NotPermitted) to a clerk who may not
        read it."""
        from caseworker.services.cases import case_detail, case_history
        from caseworker.store.queries import case_marker

        now = self.now()
        with self.store.session() as session:
            detail = case_detail(session, self.rules, now, case_id, clerk=self.clerk)
            history = case_history(session, case_id, clerk=self.clerk)
            marker = case_marker(session, case_id)
        return CaseView(detail, history, marker)

    def claim(self, case_id: int) -> None:
        """Note that the clerk has the case open, so take-next skips it for others a while."""
        from caseworker.services import queues

        now = self.now()
        with self.store.session() as session:
            queues.claim(session, case_id, self.clerk, now)

    def case_marker(self, case_id: int) -> tuple[int, ...]:
        from caseworker.store.queries import case_marker

        with self.store.session() as session:
            return case_marker(session, case_id)

    def suggestion(self, case_id: int) -> CategorySuggestion | None:
        """The model's first category for the case; None before a model is trained."""
        from caseworker.services.triage import latest_model, suggest_cases

        with self.store.session() as session:
            loaded = latest_model(session)
            if loaded is None:
                return None
            found = suggest_cases(session, loaded, [case_id], clerk=self.clerk)
        if not found or not found[0].categories:
            return None
        best = found[0].categories[0]
        return CategorySuggestion(str(best["label"]), float(best["score"]), loaded.id)

    def accept_category(self, case_id: int, suggestion: CategorySuggestion) -> None:
        from caseworker.services.triage import accept_category

        with self.store.session() as session:
            accept_category(
                session,
                self.desk(),
                case_id,
                category=suggestion.category,
                score=suggestion.score,
                model_id=suggestion.model_id,
            )

    # ------------------------------------------------------------------ case actions

    def load(self, kind: ActionKind[D, R], case_id: int, *, check: bool = True) -> D:
        """What `kind`'s dialog shows; with `check`, refused first when the rules would refuse
        its result anyway (the clerk's role, the case's state, a reopen or draft rule)."""
        from caseworker.domain.lifecycle import Action
        from caseworker.services import cases
        from caseworker.services.people import resolve_actor

        desk = self.desk()
        with self.store.session() as session:
            if check:
                cases.check_allowed(session, desk, case_id, kind.rule)
                if kind.rule is Action.REOPEN:
                    cases.check_reopenable(session, cases.find_case(session, case_id))
                elif kind.rule is Action.DRAFT_REPLY:
                    actor = resolve_actor(session, desk.clerk)[0]
                    cases.check_reply_draftable(session, actor, case_id)
            return kind.load(session, desk, case_id)

    def apply(self, kind: ActionKind[D, R], case_id: int, result: R) -> None:
        """Apply a dialog's result in one transaction, refused (VersionConflict) when the case
        changed since the dialog opened; nothing is half done when refused."""
        from caseworker.services.console_actions import check_unchanged

        with self.store.session() as session:
            check_unchanged(session, case_id, result.version, kind.rule)
            kind.apply(session, self.desk(), case_id, result)

    def autosave(
        self, case_id: int, *, text: str, final: bool, outcome: str | None, expected_version: int
    ) -> int:
        """Store the composer's text as the case's draft; the case's new version."""
        from caseworker.services.console_actions import save_draft

        with self.store.session() as session:
            return save_draft(
                session,
                self.desk(),
                case_id,
                text=text,
                final=final,
                outcome=outcome,
                expected_version=expected_version,
            )

    def case_version(self, case_id: int) -> int:
        from caseworker.services.cases import find_case

        with self.store.session() as session:
            return find_case(session, case_id).version

    def merge_targets(self, query: str, *, exclude: int) -> list[MergeTarget]:
        """Cases a repeat may merge into, by id, external id or the words of the title."""
        from caseworker.services.console_data import search_merge_targets

        channels = list(self.rules.policy.channels)
        with self.store.session() as session:
            return search_merge_targets(session, query, exclude=exclude, channels=channels)

    # ------------------------------------------------------------------ documents

    def letter_choices(self, case_id: int, folder: Path) -> list[DocumentChoice]:
        from caseworker.services.documents import letter_choices

        return letter_choices(
            self.store, self.rules, self.now(), case_id, clerk=self.clerk, folder=folder
        )

    def write_case_document(
        self,
        case_id: int,
        choice: DocumentChoice,
        target: Path,
        proposal: str | None,
        progress: Callable[[str], None],
    ) -> Written:
        """A letter of the case, or the brief on it and the cases linked to it."""
        from caseworker.services import documents

        now = self.now()
        if choice.kind == "brief":
            with self.store.session() as session:
                ids = documents.linked_case_ids(session, case_id, clerk=self.clerk)
            return documents.write_brief(
                self.store,
                self.rules,
                clerk=self.clerk,
                now=now,
                case_ids=ids,
                output=target,
                progress=progress,
            )
        return documents.write_letter(
            self.store,
            self.rules,
            clerk=self.clerk,
            now=now,
            kind=choice.kind,
            ref=case_id,
            output=target,
            proposal=proposal,
            progress=progress,
        )

    def brief_choice(self, case_ids: Sequence[int], folder: Path, title: str) -> DocumentChoice:
        from caseworker.services.documents import brief_choice

        return brief_choice(
            self.store,
            self.rules,
            self.now(),
            case_ids,
            clerk=self.clerk,
            folder=folder,
            title=title,
        )

    def write_brief(
        self,
        case_ids: Sequence[int],
        target: Path,
        title: str,
        progress: Callable[[str], None],
    ) -> Written:
        from caseworker.services.documents import write_brief

        return write_brief(
            self.store,
            self.rules,
            clerk=self.clerk,
            now=self.now(),
            case_ids=case_ids,
            output=target,
            progress=progress,
            title=title,
        )

    def bulletin_choice(self, period: Period, folder: Path) -> DocumentChoice:
        from caseworker.services.documents import bulletin_choice

        return bulletin_choice(
            self.store, self.rules, self.now(), period=period.value, folder=folder
        )

    def write_bulletin(
        self, period: Period, target: Path, progress: Callable[[str], None]
    ) -> Written:
        from caseworker.services.documents import write_bulletin

        now = self.now()
        return write_bulletin(
            self.store,
            self.rules,
            clerk=self.clerk,
            now=now,
            period=period.value,
            at=now.astimezone(SHANGHAI).date(),
            output=target,
            progress=progress,
        )

    # ------------------------------------------------------------------ the supervisor screen

    def dashboard(self, period: Period) -> DashboardData:
        """The supervisor screen's figures (the same functions as `caseworker report`)."""
        from caseworker.services import reports

        now = self.now()
        days = window_days(now)
        since = datetime.combine(days[0], time(0), tzinfo=SHANGHAI)
        until = datetime.combine(days[-1] + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        with self.store.session() as session:
            overdue = reports.overdue_report(session, self.rules.calendar, as_of=now)
            rates = reports.unit_rates(
                session, self.rules, period=period, at=now.astimezone(SHANGHAI).date(), now=now
            )
            volume = reports.volume_by_day(session, now=now, days=DASHBOARD_DAYS)
            categories = reports.counts_by(session, "category", since=since, until=until)
            regions = reports.counts_by(session, "region", since=since, until=until)
        return DashboardData(now, overdue, rates, volume, categories, regions)

    def matters(self, *, days: int, rows: int, issues: int) -> Matters:
        """The hottest common issues among the cases of the last `days` (seconds on a large
        store), and the latest `issues` recorded ones."""
        from caseworker.services.triage import clusters, recent_common_issues

        now = self.now()
        with self.store.session() as session:
            found = clusters(session, since=now - timedelta(days=days), until=now, now=now)
            recorded = recent_common_issues(session, limit=issues)
        return Matters(found[:rows], recorded)

    def record_common_issue(self, title: str, case_ids: Sequence[int]) -> CommonIssue:
        """Record these cases as one common issue (共性问题)."""
        from caseworker.services.triage import common_issue, record_common_issue

        with self.store.session() as session:
            number = record_common_issue(session, self.desk(), title=title, case_ids=case_ids)
            return common_issue(session, number)
