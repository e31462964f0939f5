"""A note or reason for a one-step action: accept, return, close, reopen, pause, resume."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Static

from caseworker.screens.dialogs._base import CaseDialog, visible
from caseworker.services.console_data import CaseSummary, NoteResult


@dataclass(frozen=True)
class NoteSpec:
    """Which action the note is for, and whether the rules require it."""

    action: str  # accept / return / close / reopen / pause / resume
    required: bool


NOTE_SPECS = {
    "accept": NoteSpec("accept", required=False),
    "return": NoteSpec("return", required=True),
    "close": NoteSpec("close", required=False),
    "reopen": NoteSpec("reopen", required=True),
    "pause": NoteSpec("pause", required=True),
    "resume": NoteSpec("resume", required=False),
}


class NoteDialog(CaseDialog[NoteResult]):
    """One text field and a confirm button; an empty required reason is refused in place."""

    def __init__(
        self,
        case: CaseSummary,
        spec: NoteSpec,
        *,
        context: str | None = None,
        lapsing_days: Sequence[int] = (),
        prefill: NoteResult | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(case, refusal=refusal)
        self.spec = spec
        self.context = context
        self.lapsing_days = tuple(lapsing_days)  # what closing lapses (the close dialog only)
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        key = f"dialog.{self.spec.action}"
        with Vertical(id="frame") as frame:
            frame.border_title = self.t(f"{key}.title", id=self.case.id)
            yield self.case_line()
            if self.context:  # why the case was paused, in the clerk's words
                line = Text(self.t(f"{key}.context") + " ", style="bold")
                line.append(visible(self.context))
                yield Static(line, classes="field-label")
            yield Label(self.t(f"{key}.label"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.note if self.prefill else "",
                placeholder=self.t(f"{key}.placeholder"),
                id="note",
            )
            yield from self.lapse_line(self.lapsing_days)
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons(f"{key}.confirm")

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def result(self) -> NoteResult | None:
        note = self.query_one("#note", Input).value.strip()
        if self.spec.required and not note:
            self.refuse(self.t("dialog.refused.reason_required"))
            self.query_one("#note", Input).focus()
            return None
        return NoteResult(note, self.case.version)
