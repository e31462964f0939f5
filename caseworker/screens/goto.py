"""Go to a case by the number a citizen quotes: its case number or its external id."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class GotoScreen(ModalScreen[str | None]):
    """One line: Enter gives the typed reference, Escape gives None."""

    DEFAULT_CSS = """
    GotoScreen { align: center middle; }
    GotoScreen #frame {
        width: 60; height: auto; padding: 0 1;
        border: round $primary; background: $surface;
    }
    GotoScreen #ref { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel", show=False, id="goto.cancel")
    ]

    def __init__(self, title: str, hint: str, placeholder: str) -> None:
        super().__init__()
        self.title_text, self.hint, self.placeholder = title, hint, placeholder

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.title_text
            yield Label(self.hint, markup=False)
            yield Input(placeholder=self.placeholder, id="ref", compact=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
