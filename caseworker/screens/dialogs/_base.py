"""What every case dialog shares: the frame, the case header, the refusal line and the keys."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from caseworker.domain.calendar import SHANGHAI
from caseworker.services.console_data import CaseSummary

R = TypeVar("R")


def translate(widget: Any, key: str, **params: object) -> str:
    """A message from the app's catalog (`app.catalog.t`); the key itself when none is set."""
    catalog = getattr(widget.app, "catalog", None)
    if catalog is None:
        return key
    return str(catalog.t(key, **params))


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def visible(text: str | None) -> str:
    """Citizen text made safe to draw: control characters (an ESC starting an ANSI sequence,
    a bell, a carriage return) become their visible Unicode pictures (␛, ␇, ␍)."""
    if not text:
        return ""
    return _CONTROL.sub(
        lambda m: chr(0x2400 + ord(m.group(0))) if m.group(0) != "\x7f" else "\u2421", text
    )


def language(widget: Any) -> str:
    """The catalog's language (zh or en), for data that carries both names."""
    return str(getattr(getattr(widget.app, "catalog", None), "lang", "zh"))


def local_time(value: datetime) -> str:
    """A deadline as clerks read it: Shanghai time, to the minute."""
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


class CaseDialog(ModalScreen[R | None], Generic[R]):
    """A modal about one case: escape cancels, ctrl+s confirms, refusals show in place."""

    DEFAULT_CSS = """
    CaseDialog {
        align: center middle;
    }
    CaseDialog > #frame {
        width: 96;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    CaseDialog .case-line {
        color: $text-muted;
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CaseDialog .field-label {
        margin-top: 1;
        color: $text;
        text-style: bold;
    }
    CaseDialog #error {
        color: $text-error;
        height: auto;
    }
    CaseDialog #lapse {
        color: $text-warning;
        height: auto;
        margin-top: 1;
    }
    CaseDialog .buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    CaseDialog .buttons Button {
        margin-left: 2;
    }
    CaseDialog Input, CaseDialog Select {
        width: 100%;
    }
    CaseDialog Input {
        background: $boost;
    }
    """

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "cancel", "cancel", id="dialog.cancel"),
        Binding("ctrl+s", "confirm", "confirm", id="dialog.confirm"),
    ]

    def __init__(self, case: CaseSummary, *, refusal: str | None = None) -> None:
        super().__init__()
        self.case = case
        self.initial_refusal = refusal
        self._localize_bindings()

    def _localize_bindings(self) -> None:
        """Key descriptions and tooltips from the catalog: `dialog.key.<id>`, `dialog.tip.<id>`."""
        bindings = self._bindings.copy()
        for key, found in bindings.key_to_bindings.items():
            bindings.key_to_bindings[key] = [
                replace(
                    b,
                    description=self.t(f"dialog.key.{b.id.removeprefix('dialog.')}"),
                    tooltip=self.t(f"dialog.tip.{b.id.removeprefix('dialog.')}"),
                )
                if b.id and b.id.startswith("dialog.")
                else b
                for b in found
            ]
        self._bindings = bindings

    def t(self, key: str, **params: object) -> str:
        return translate(self, key, **params)

    def case_line(self) -> Static:
        """The case's id, status and title; the title is citizen text, shown literally."""
        line = Text()
        line.append(f"{self.case.id} · {self.case.external_id} · ", style="bold")
        line.append(self.t(f"dialog.status.{self.case.status}"))
        line.append(" · ")
        line.append(visible(self.case.title))
        return Static(line, classes="case-line")

    def lapse_line(self, lapsing_days: Sequence[int]) -> Iterator[Static]:
        """One line when confirming ends the case with extension requests still awaiting a
        decision, which then lapse (services.cases.context.lapse_extensions); nothing otherwise."""
        if not lapsing_days:
            return
        if len(lapsing_days) == 1:
            text = self.t("dialog.lapse.one", days=lapsing_days[0])
        else:  # the rules keep one waiting at a time; only older data holds more
            text = self.t("dialog.lapse.many", count=len(lapsing_days))
        yield Static(Text(text), id="lapse")

    def error_line(self) -> Static:
        line = Static(Text(self.initial_refusal or ""), id="error")
        line.display = bool(self.initial_refusal)
        return line

    def refuse(self, text: str) -> None:
        """Show why the dialog cannot be confirmed as it stands, and stay open.

        The buttons take the next press at once: a Button ignores presses while its press
        effect lasts (0.2 s), which swallowed a retry made quickly after a refused press.
        """
        line = self.query_one("#error", Static)
        line.update(Text(text))
        line.display = True
        for button in self.query(Button):
            button.remove_class("-active")

    def clear_refusal(self) -> None:
        line = self.query_one("#error", Static)
        line.update("")
        line.display = False

    def buttons(self, confirm_key: str) -> list[Button]:
        return [
            Button(self.t("dialog.cancel"), id="cancel", compact=True),
            Button(self.t(confirm_key), id="confirm", variant="primary", compact=True),
        ]

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.action_cancel()
        elif event.button.id == "confirm":
            self.action_confirm()
        else:
            self.button_pressed(event.button.id or "")

    def button_pressed(self, button_id: str) -> None:
        """A dialog's own buttons (other than cancel and confirm)."""

    def action_cancel(self) -> None:
        self.dismiss(None)

    def action_confirm(self) -> None:
        result = self.result()
        if result is not None:
            self.dismiss(result)

    def result(self) -> R | None:
        """The dialog's result, or None after showing in place why it cannot be given."""
        raise NotImplementedError
