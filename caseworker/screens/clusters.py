"""One common issue's cases (共性问题): the messages of one matter, from the supervisor screen.

Enter opens a case; `l` links them all as one common issue, the record a brief (专报) is
written from.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.message import Message
from textual.widgets import DataTable, Footer, Static

from caseworker.keys import install
from caseworker.screens import ConsoleScreen
from caseworker.widgets.safe import clean

if TYPE_CHECKING:
    from caseworker.domain.triage_clusters import Cluster

SHANGHAI = ZoneInfo("Asia/Shanghai")


class ClusterScreen(ConsoleScreen):
    """The cases of one cluster, oldest first."""

    SCOPE = "clusters"
    AUTO_FOCUS = "#cluster-cases"
    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    ClusterScreen #cluster-head { height: auto; }
    ClusterScreen #cluster-cases { height: 1fr; }
    """

    class Linked(Message):
        def __init__(self, issue_id: int) -> None:
            super().__init__()
            self.issue_id = issue_id

    class Refused(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, cluster: Cluster) -> None:
        super().__init__()
        self.cluster = cluster
        self.docs = sorted(cluster.docs, key=lambda d: (d.received_at, d.id))

    def compose(self) -> ComposeResult:
        install(self, "clusters", self.capp.catalog, self.capp.role)
        yield Static(id="cluster-head")
        yield DataTable(id="cluster-cases", cursor_type="row", zebra_stripes=False)
        yield Footer()

    def on_mount(self) -> None:
        t = self.capp.t
        c = self.cluster
        head = Text(" ")
        head.append(t("triage.panel.title") + " · ", style="bold")
        head.append(clean(c.label, one_line=True), style="bold")
        head.append(
            "  " + t("triage.panel.summary", size=len(c.docs), citizens=c.citizens, heat=c.heat)
        )
        self.query_one("#cluster-head", Static).update(head)
        table = self.query_one("#cluster-cases", DataTable)
        table._bindings = table._bindings.copy()
        table._bindings.key_to_bindings.pop("enter", None)  # the screen's open key instead
        table.add_column(t("triage.column.case"), key="id")
        table.add_column(t("triage.column.received"), key="received")
        table.add_column(t("triage.column.title"), key="title")
        for doc in self.docs:
            table.add_row(
                Text(str(doc.id), justify="right"),
                Text(doc.received_at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")),
                Text(clean(doc.title, one_line=True)),
                key=str(doc.id),
            )

    @on(DataTable.RowSelected)
    def _row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open_case()

    def action_open_case(self) -> None:
        from caseworker.screens.case import CaseScreen

        table = self.query_one("#cluster-cases", DataTable)
        if not table.row_count:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        if key is not None:
            self.app.push_screen(CaseScreen(int(key), origin=self.cluster.label))

    def action_link_issue(self) -> None:
        self.link([d.id for d in self.docs], self.cluster.label)

    @work(thread=True, exclusive=True, group="cluster-link", exit_on_error=False)
    def link(self, case_ids: list[int], title: str) -> None:
        from caseworker.domain.errors import DomainError
        from caseworker.services.triage import record_common_issue

        app = self.capp
        try:
            with app.store.session() as session:
                issue = record_common_issue(session, app.desk(), title=title, case_ids=case_ids)
        except DomainError as exc:
            self.post_message(self.Refused(app.catalog.refusal(exc)))
            return
        self.post_message(self.Linked(issue))

    @on(Linked)
    def _linked(self, message: Linked) -> None:
        text = self.capp.t("triage.issue_recorded", id=message.issue_id, cases=len(self.docs))
        self.notify(text, markup=False)

    @on(Refused)
    def _refused(self, message: Refused) -> None:
        self.notify(message.text, severity="error", markup=False)

    def action_back(self) -> None:
        self.app.pop_screen()
