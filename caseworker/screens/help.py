"""The help screen: every key active in the screen it was opened from, with its binding id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, cast

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from caseworker.keys import offered_to

if TYPE_CHECKING:
    from caseworker.screens.contract import ConsoleApp


class HelpScreen(ModalScreen[None]):
    """Keys in context, read from the live bindings (so a remapped key shows as remapped)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape,question_mark,q",
            "dismiss(None)",
            "close",
            id="help.close",
            tooltip="Close the help",
        ),
    ]
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90%; max-width: 100; height: 90%; border: round $primary; background: $surface;
        padding: 0 1;
    }
    """

    def __init__(self, origin: Screen[Any]) -> None:
        super().__init__()
        self.origin = origin
        self.rows: list[tuple[str, str, str]] = []  # keys, what they do, binding id

    def compose(self) -> ComposeResult:
        app = cast("ConsoleApp", self.app)
        with VerticalScroll() as scroll:
            scroll.border_title = app.t("help.title")
            yield Static(self._table(app))

    def _table(self, app: ConsoleApp) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column(app.t("help.key"), no_wrap=True)
        table.add_column(app.t("help.does"))
        table.add_column(app.t("help.id"), style="dim", no_wrap=True)
        seen: set[str] = set()
        by_id: dict[str, list[str]] = {}
        rows: list[tuple[str, str, str]] = []
        for key, active in self.origin.active_bindings.items():
            binding = active.binding
            if not binding.id or not binding.description:
                continue
            if not offered_to(app.role, binding.id):
                continue  # a case action the clerk's role never takes (as in the footer)
            display = self.app.get_key_display(binding) if binding.key == key else key
            by_id.setdefault(binding.id, []).append(display)
            if binding.id in seen:
                continue
            seen.add(binding.id)
            rows.append((binding.id, binding.description, binding.tooltip))
        for binding_id, description, tooltip in rows:
            keys = " / ".join(by_id[binding_id])
            self.rows.append((keys, description, binding_id))
            table.add_row(
                Text(keys, style="bold"), Text(f"{description} — {tooltip}"), Text(binding_id)
            )
        table.add_row(Text("ctrl+p", style="bold"), Text(app.t("help.palette")), Text(""))
        return table
