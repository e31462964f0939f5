"""The supervisor screen: overdue cases by unit, the unit ranking, and what came in lately.

Every figure comes from services.reports (the same functions as `caseworker report`), read in
one thread worker and posted back as one message. Choosing a unit (enter on the overdue table
or the ranking) opens the queue's 已超期 queue filtered to the cases that unit leads; choosing a
matter in the 共性问题 panel opens 全部 narrowed to its cases, `l` records them as one common
issue and `B` writes its brief (信访专报).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Footer, Static
from textual.worker import Worker, WorkerState

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.measures import Period
from caseworker.domain.queues import Filters, QueueKey
from caseworker.keys import install
from caseworker.screens import ConsoleScreen
from caseworker.services.console import DASHBOARD_DAYS as DAYS
from caseworker.services.console import DashboardData, Matters, window_days
from caseworker.widgets.charts import BarChart, Series, StackedDays, fit, legend
from caseworker.widgets.safe import clean

if TYPE_CHECKING:
    from caseworker.domain.triage_clusters import Cluster
    from caseworker.services.documents import DocumentChoice, Written
    from caseworker.services.reports import OverdueReport, RatesReport
    from caseworker.services.triage import CommonIssue

PERIODS = (Period.WEEK, Period.MONTH, Period.QUARTER)
# The three measures the ranking is ordered by; the rest are in `caseworker report rates`.
RATE_COLUMNS = ("on_time_close", "satisfaction", "timely_acceptance")
# Unit names in the overdue table and the ranking are cut with … beyond these widths (cells).
OVERDUE_NAME_CELLS = 16
RANKING_NAME_CELLS = 24
COUNT_ROWS = 8  # categories and regions shown one a line; the rest are summed in one line
CHANNEL_COLORS = (33, 36, 178, 171, 76, 208, 245)  # 256-colour indexes, none the error red
OVERDUE_COLOR = 167  # overdue is urgency: the one chart in a warm red
CLUSTER_DAYS = 90  # common issues among the cases received in this many days
CLUSTER_ROWS = 10
CLUSTER_LABEL_CELLS = 40
ISSUE_ROWS = 5  # the latest recorded common issues, listed under the clusters


class DashboardScreen(ConsoleScreen):
    """Overdue by unit, the ranking, 30 days of volume by channel, categories and regions."""

    SCOPE = "dashboard"
    AUTO_FOCUS = "#overdue-units"
    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    DashboardScreen #dash { height: 1fr; }
    DashboardScreen .dash-row { height: auto; }
    DashboardScreen .dash-panel { border: round $primary 50%; height: auto; }
    DashboardScreen #dash-top { height: 19; }
    DashboardScreen #dash-top .dash-panel { height: 1fr; }
    DashboardScreen #dash-overdue { width: 5fr; }
    DashboardScreen #dash-volume { width: 6fr; }
    DashboardScreen #overdue-units { height: auto; max-height: 6; }
    DashboardScreen #overdue-bars { height: 1fr; }
    DashboardScreen #volume { height: 1fr; }
    DashboardScreen #volume-legend { height: auto; }
    DashboardScreen #dash-rankings { width: 1fr; }
    DashboardScreen #rankings { height: auto; max-height: 14; }
    DashboardScreen #dash-counts .dash-panel { width: 1fr; }
    DashboardScreen #clusters { height: auto; max-height: 12; }
    DashboardScreen.-narrow .dash-row { layout: vertical; height: auto; }
    DashboardScreen.-narrow #dash-top { height: auto; }
    DashboardScreen.-narrow #dash-top .dash-panel { width: 1fr; height: 16; }
    DashboardScreen.-narrow .dash-panel { width: 1fr; }
    DashboardScreen.-narrow #overdue-units { max-height: 5; }
    DashboardScreen.-narrow #overdue-bars { min-height: 9; }
    """

    class Loaded(Message):
        def __init__(self, data: DashboardData) -> None:
            super().__init__()
            self.data = data

    class ClustersLoaded(Message):
        def __init__(self, matters: Matters) -> None:
            super().__init__()
            self.clusters = matters.clusters
            self.issues = matters.issues

    class IssueLinked(Message):
        def __init__(self, row: int, issue: CommonIssue) -> None:
            super().__init__()
            self.row, self.issue = row, issue

    class IssueRefused(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class BriefReady(Message):
        def __init__(self, choice: DocumentChoice, case_ids: list[int], title: str) -> None:
            super().__init__()
            self.choice, self.case_ids, self.title = choice, case_ids, title

    def __init__(self, period: Period = Period.MONTH) -> None:
        super().__init__()
        self.period = period
        self.data: DashboardData | None = None
        self.unit_rows: dict[str, dict[str, int | None]] = {"overdue-units": {}, "rankings": {}}
        # The unit's full name by table and row (the cells may be cut), for the drilled queue's
        # title; the ranking's total row is in neither (it drills to the whole 已超期 queue).
        self.row_names: dict[str, dict[str, str]] = {"overdue-units": {}, "rankings": {}}
        self.clusters: list[Cluster] = []
        # The 共性问题 panel's rows, in order: (a cluster's label, its case ids, the common
        # issue recorded with exactly those cases or listed as recorded, if any).
        self.matters: list[tuple[str, list[int], CommonIssue | None]] = []

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.capp
        t = app.t
        install(self, "dashboard", app.catalog)
        yield Static(id="header")
        with VerticalScroll(id="dash"):
            with Horizontal(id="dash-top", classes="dash-row"):
                with Vertical(id="dash-overdue", classes="dash-panel") as panel:
                    panel.border_title = t("dashboard.overdue")
                    yield DataTable(id="overdue-units", cursor_type="row", zebra_stripes=False)
                    yield BarChart(
                        t("dashboard.no_overdue"), color=OVERDUE_COLOR, id="overdue-bars"
                    )
                with Vertical(id="dash-volume", classes="dash-panel") as panel:
                    panel.border_title = t("dashboard.volume", days=DAYS)
                    yield StackedDays(t("dashboard.no_data"), id="volume")
                    yield Static(id="volume-legend")
            with Vertical(id="dash-rankings", classes="dash-panel") as panel:
                panel.border_title = t("dashboard.rankings_title")
                yield DataTable(id="rankings", cursor_type="row", zebra_stripes=False)
            with Vertical(id="dash-clusters", classes="dash-panel") as panel:
                panel.border_title = t("triage.panel.title_days", days=CLUSTER_DAYS)
                yield Static(Text(" " + t("triage.panel.working"), style="dim"), id="clusters-note")
                yield DataTable(id="clusters", cursor_type="row", zebra_stripes=False)
            with Horizontal(id="dash-counts", classes="dash-row"):
                with Vertical(classes="dash-panel") as panel:
                    panel.border_title = t("dashboard.categories_title", days=DAYS)
                    yield Static(id="categories")
                with Vertical(classes="dash-panel") as panel:
                    panel.border_title = t("dashboard.regions_title", days=DAYS)
                    yield Static(id="regions")
        yield Footer()

    def on_mount(self) -> None:
        for table in self.query(DataTable):
            # enter is the screen's drill key (remappable, in the footer and the help), not
            # the table's own select binding, which would shadow it.
            table._bindings = table._bindings.copy()
            table._bindings.key_to_bindings.pop("enter", None)
        self._header()
        self.reload()

    def _header(self) -> None:
        t = self.capp.t
        parts = [t("dashboard.title"), t(f"dashboard.period_{self.period.value}")]
        if self.data is not None:
            local = self.data.now.astimezone(SHANGHAI)
            parts.append(t("dashboard.as_of", time=f"{local:%Y-%m-%d %H:%M}"))
            rates = self.data.rates
            last = rates.end - timedelta(days=1)
            parts.append(f"{rates.start:%Y-%m-%d}–{last:%Y-%m-%d}")
        else:
            parts.append(t("dashboard.loading"))
        line = Text(" caseworker · ", style="bold")
        line.append(" · ".join(parts))
        self.query_one("#header", Static).update(line)

    # ------------------------------------------------------------------ loading

    def reload(self) -> None:
        self._header()
        self.load(self.period)
        self.load_clusters()

    @work(thread=True, exclusive=True, group="dashboard-clusters", exit_on_error=False)
    def load_clusters(self) -> None:
        """The hottest common issues of the last days: seconds on a large store, so apart
        from the figures, which show first; and the latest recorded common issues."""
        found = self.capp.services.matters(days=CLUSTER_DAYS, rows=CLUSTER_ROWS, issues=ISSUE_ROWS)
        self.post_message(self.ClustersLoaded(found))

    @on(ClustersLoaded)
    def _clusters_loaded(self, message: ClustersLoaded) -> None:
        t = self.capp.t
        self.clusters = message.clusters
        matters: list[tuple[str, list[int], CommonIssue | None]] = []
        for c in self.clusters:
            ids = sorted(d.id for d in c.docs)
            same = next((i for i in message.issues if sorted(i.case_ids) == ids), None)
            matters.append((c.label, ids, same))
        for issue in message.issues:
            if not any(m[2] is issue for m in matters):
                matters.append((issue.title, list(issue.case_ids), issue))
        self.matters = matters
        note = self.query_one("#clusters-note", Static)
        note.update(Text(" " + t("triage.panel.none"), style="dim") if not matters else "")
        note.display = not matters
        table = self.query_one("#clusters", DataTable)
        table.clear(columns=True)
        table.add_column(t("triage.column.rank"), key="rank")
        table.add_column(t("triage.column.label"), key="label")
        table.add_column(t("triage.column.size"), key="size")
        table.add_column(t("triage.column.citizens"), key="citizens")
        table.add_column(t("triage.column.heat"), key="heat")
        table.add_column(t("triage.column.last"), key="last")
        for n, c in enumerate(self.clusters):
            table.add_row(
                Text(str(n + 1), justify="right"),
                Text(fit(clean(c.label, one_line=True), CLUSTER_LABEL_CELLS)),
                Text(str(len(c.docs)), justify="right"),
                Text(str(c.citizens), justify="right"),
                Text(f"{c.heat:.1f}", justify="right"),
                Text(c.last.astimezone(SHANGHAI).strftime("%m-%d")),
                key=f"c{n}",
            )
        for n in range(len(self.clusters), len(matters)):
            label, ids, recorded = matters[n]
            assert recorded is not None
            title = t("issues.recorded", id=recorded.id, title=clean(label, one_line=True))
            table.add_row(
                Text(""),
                Text(fit(title, CLUSTER_LABEL_CELLS), style="dim"),
                Text(str(len(ids)), justify="right"),
                Text(""),
                Text(""),
                Text(""),
                key=f"c{n}",
            )

    def matter_at_cursor(self) -> int | None:
        """The 共性问题 panel's row under the cursor, when that table has the focus."""
        focused = self.focused
        if not isinstance(focused, DataTable) or focused.id != "clusters":
            return None
        if not focused.row_count or focused.cursor_row >= len(self.matters):
            return None
        return focused.cursor_row

    def drill_matter(self, row: int) -> None:
        """Back to the queue, on 全部 narrowed to the matter's cases (as drill does for a unit)."""
        label, ids, _ = self.matters[row]
        self.dismiss(None)
        self.capp.show_queue(
            QueueKey.ALL, Filters(case_ids=tuple(ids), case_set=label), from_dashboard=True
        )

    def action_link_issue(self) -> None:
        """`l`: record the cases of the matter under the cursor as one common issue."""
        row = self.matter_at_cursor()
        if row is None:
            self.notify(self.capp.t("issues.choose"), severity="warning", markup=False)
            return
        label, ids, issue = self.matters[row]
        if issue is not None:
            self.notify(self.capp.t("issues.already", id=issue.id), markup=False)
            return
        self.link_issue(row, ids, label)

    @work(thread=True, exclusive=True, group="dashboard-link", exit_on_error=False)
    def link_issue(self, row: int, case_ids: list[int], title: str) -> None:
        from caseworker.domain.errors import DomainError

        app = self.capp
        try:
            issue = app.services.record_common_issue(title, case_ids)
        except DomainError as exc:
            self.post_message(self.IssueRefused(app.catalog.refusal(exc)))
            return
        self.post_message(self.IssueLinked(row, issue))

    @on(IssueLinked)
    def _issue_linked(self, message: IssueLinked) -> None:
        label, ids, _ = self.matters[message.row]
        self.matters[message.row] = (label, ids, message.issue)
        text = self.capp.t("triage.issue_recorded", id=message.issue.id, cases=len(ids))
        self.notify(text, markup=False)

    @on(IssueRefused)
    def _issue_refused(self, message: IssueRefused) -> None:
        self.notify(message.text, severity="error", markup=False)

    def action_brief(self) -> None:
        """`B`: the 信访专报 on the matter under the cursor (its recorded issue's, once linked)."""
        row = self.matter_at_cursor()
        if row is None:
            self.notify(self.capp.t("issues.choose"), severity="warning", markup=False)
            return
        label, ids, issue = self.matters[row]
        if issue is not None:
            label, ids = issue.title, list(issue.case_ids)
        self.load_brief(ids, label)

    @work(thread=True, exclusive=True, group="brief", exit_on_error=False)
    def load_brief(self, case_ids: list[int], title: str) -> None:
        choice = self.capp.services.brief_choice(case_ids, Path.cwd(), title)
        self.post_message(self.BriefReady(choice, case_ids, title))

    @on(BriefReady)
    def _brief_ready(self, message: BriefReady) -> None:
        from caseworker.screens.dialogs.documents import DocumentsDialog

        app = self.capp
        case_ids, title = message.case_ids, message.title

        def write(
            choice: DocumentChoice,
            target: Path,
            proposal: str | None,
            progress: Callable[[str], None],
        ) -> Written:
            return app.services.write_brief(case_ids, target, title, progress)

        heading = app.t("issues.brief_title", title=clean(title, one_line=True))
        self.app.push_screen(DocumentsDialog(heading, [message.choice], write))

    @work(thread=True, exclusive=True, group="dashboard", exit_on_error=False)
    def load(self, period: Period) -> None:
        self.post_message(self.Loaded(self.capp.services.dashboard(period)))

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.data = message.data
        self._header()
        self._show_overdue(message.data.overdue)
        self._show_rankings(message.data.rates)
        self._show_volume(message.data)
        self._show_counts(message.data)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.notify(
                self.capp.t("notice.load_failed", error=str(event.worker.error)),
                severity="error",
                markup=False,
            )

    def unit_label(self, unit_id: int | None, name: str) -> str:
        """A unit's name as shown (unassigned cases have none); citizen-free but still cleaned."""
        if unit_id is None:
            return self.capp.t("dashboard.unassigned")
        return clean(name, one_line=True)

    def _show_overdue(self, report: OverdueReport) -> None:
        t = self.capp.t
        table = self.query_one("#overdue-units", DataTable)
        table.clear(columns=True)
        table.add_column(t("dashboard.col_unit"), key="unit")
        table.add_column(t("dashboard.col_overdue"), key="overdue")
        table.add_column(t("dashboard.col_worst"), key="worst")
        table.add_column(t("dashboard.col_total"), key="total")
        rows: dict[str, int | None] = {}
        names: dict[str, str] = {}
        for n, unit in enumerate(report.by_unit):
            key = f"u{n}"
            rows[key] = unit.unit_id
            names[key] = self.unit_label(unit.unit_id, unit.unit)
            table.add_row(
                Text(fit(self.unit_label(unit.unit_id, unit.unit), OVERDUE_NAME_CELLS)),
                Text(str(unit.overdue), justify="right"),
                Text(str(unit.max_overdue_working_days), justify="right"),
                Text(str(unit.total_overdue_working_days), justify="right"),
                key=key,
            )
        self.unit_rows["overdue-units"] = rows
        self.row_names["overdue-units"] = names
        self.query_one("#overdue-bars", BarChart).show(
            [(self.unit_label(u.unit_id, u.unit), u.overdue) for u in report.by_unit]
        )

    def _show_rankings(self, rates: RatesReport) -> None:
        t = self.capp.t
        panel = self.query_one("#dash-rankings")
        last = rates.end - timedelta(days=1)
        panel.border_title = t(
            "dashboard.rankings",
            period=t(f"dashboard.period_{self.period.value}"),
            start=f"{rates.start:%m-%d}",
            end=f"{last:%m-%d}",
        )
        table = self.query_one("#rankings", DataTable)
        table.clear(columns=True)
        table.add_column(t("dashboard.col_rank"), key="rank")
        table.add_column(t("dashboard.col_unit"), key="unit")
        table.add_column(t("dashboard.col_received"), key="received")
        for code in RATE_COLUMNS:
            table.add_column(t(f"dashboard.rate_{code}"), key=code)
        table.add_column(t("dashboard.col_overdue"), key="overdue")
        rows: dict[str, int | None] = {}
        names: dict[str, str] = {}
        for n, row in enumerate([*rates.rows, rates.total]):
            key = f"r{n}"
            is_total = row is rates.total
            rows[key] = None if is_total else row.unit_id
            name = t("dashboard.total") if is_total else self.unit_label(row.unit_id, row.unit)
            if not is_total:
                names[key] = name
            cells: list[Text] = [
                Text("" if row.rank is None else str(row.rank), justify="right"),
                Text(fit(name, RANKING_NAME_CELLS), style="bold" if is_total else ""),
                Text(str(row.counts.received), justify="right"),
            ]
            for code in RATE_COLUMNS:
                rate = row.measures.rates[code]
                cell = Text(rate.percent(), justify="right")
                if rate.denominator:
                    cell.append(f" {rate.numerator}/{rate.denominator}", style="dim")
                cells.append(cell)
            cells.append(Text(str(row.counts.overdue), justify="right"))
            table.add_row(*cells, key=key)
        self.unit_rows["rankings"] = rows
        self.row_names["rankings"] = names

    def _show_volume(self, data: DashboardData) -> None:
        days = window_days(data.now)
        index = {day: n for n, day in enumerate(days)}
        channels = list(self.capp.rules.policy.channels)
        for v in data.volume:  # a channel no longer in the policy still counts
            if v.channel not in channels:
                channels.append(v.channel)
        counts = {code: [0] * len(days) for code in channels}
        for v in data.volume:
            if v.day in index:
                counts[v.channel][index[v.day]] += v.count
        series = [
            Series(
                clean(self.capp.channel_label(code), one_line=True),
                CHANNEL_COLORS[n % len(CHANNEL_COLORS)],
                counts[code],
            )
            for n, code in enumerate(channels)
            if any(counts[code])
        ]
        self.query_one("#volume", StackedDays).show(days, series)
        self.query_one("#volume-legend", Static).update(legend(series))

    def _show_counts(self, data: DashboardData) -> None:
        t = self.capp.t
        for widget_id, rows, title in (
            ("#categories", data.categories, t("dashboard.categories")),
            ("#regions", data.regions, t("dashboard.regions")),
        ):
            table = Table(
                box=None,
                expand=True,
                show_header=True,
                header_style="bold",
                padding=(0, 1),
                pad_edge=False,
            )
            table.add_column(Text(title), no_wrap=True, overflow="ellipsis", ratio=1)
            table.add_column(Text(t("dashboard.col_count")), justify="right", no_wrap=True)
            total = sum(r.count for r in rows) or 1
            for r in rows[:COUNT_ROWS]:
                label = clean(r.label, one_line=True) if r.label else t("dashboard.unclassified")
                share = Text(f"{r.count} ")
                share.append(f"{100 * r.count / total:.0f}%", style="dim")
                table.add_row(Text(label), share)
            rest = rows[COUNT_ROWS:]
            if rest:
                share = Text(f"{sum(r.count for r in rest)} ")
                share.append(f"{100 * sum(r.count for r in rest) / total:.0f}%", style="dim")
                table.add_row(Text(t("dashboard.others", n=len(rest)), style="dim"), share)
            if not rows:
                table.add_row(Text(t("dashboard.no_data"), style="dim"), Text(""))
            self.query_one(widget_id, Static).update(table)

    # ------------------------------------------------------------------ actions

    def unit_at_cursor(self) -> tuple[bool, int | None]:
        """(is a unit row, its unit id) for the focused table's highlighted row."""
        focused = self.focused
        if not isinstance(focused, DataTable) or focused.id not in self.unit_rows:
            return False, None
        if not focused.row_count:
            return False, None
        key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value
        rows = self.unit_rows[focused.id]
        if key not in rows:
            return False, None
        return True, rows[key]

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_drill()

    def action_drill(self) -> None:
        focused = self.focused
        if isinstance(focused, DataTable) and focused.id == "clusters":
            row = self.matter_at_cursor()
            if row is not None:
                self.drill_matter(row)
            return
        found, unit_id = self.unit_at_cursor()
        if not found:
            return
        self.drill(unit_id, self.name_at_cursor())

    def name_at_cursor(self) -> str | None:
        """The highlighted row's unit name; None on the ranking's total row."""
        focused = self.focused
        assert isinstance(focused, DataTable) and focused.id is not None
        key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value
        return self.row_names.get(focused.id, {}).get(str(key))

    def drill(self, unit_id: int | None, name: str | None) -> None:
        """Back to the queue, on the 已超期 queue narrowed to the cases this unit leads (None: the
        cases no unit leads yet); the queue names the unit and Escape comes back here."""
        self.dismiss(None)
        if name is None:  # the ranking's total: every overdue case
            filters = Filters()
        elif unit_id is None:
            filters = Filters(unassigned=True)
        else:
            filters = Filters(unit_ids=(unit_id,))
        self.capp.show_queue(QueueKey.OVERDUE, filters, unit_name=name, from_dashboard=True)

    def action_next_period(self) -> None:
        self.period = PERIODS[(PERIODS.index(self.period) + 1) % len(PERIODS)]
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_back(self) -> None:
        self.dismiss(None)

    # ------------------------------------------------------------------ the bulletin

    class BulletinReady(Message):
        def __init__(self, choice: DocumentChoice) -> None:
            super().__init__()
            self.choice = choice

    def action_bulletin(self) -> None:
        """`b`: the bulletin of the period shown (周调度 / 月通报 / 季考核), written in a worker."""
        self.load_bulletin(self.period)

    @work(thread=True, exclusive=True, group="bulletin", exit_on_error=False)
    def load_bulletin(self, period: Period) -> None:
        choice = self.capp.services.bulletin_choice(period, Path.cwd())
        self.post_message(self.BulletinReady(choice))

    @on(BulletinReady)
    def _bulletin_ready(self, message: BulletinReady) -> None:
        from caseworker.screens.dialogs.documents import DocumentsDialog

        app, period = self.capp, self.period

        def write(
            choice: DocumentChoice,
            target: Path,
            proposal: str | None,
            progress: Callable[[str], None],
        ) -> Written:
            return app.services.write_bulletin(period, target, progress)

        title = app.t(
            "documents.dialog.bulletin_title", period=app.t(f"dashboard.period_{period.value}")
        )
        self.app.push_screen(DocumentsDialog(title, [message.choice], write))
