"""Supervision (督办): a reminder, a flag, or a summons, with a note the unit will read."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioSet

from caseworker.screens.dialogs._base import CaseDialog
from caseworker.services.console_data import CaseSummary, SuperviseResult
from caseworker.widgets.toggles import GlyphRadioButton

LEVELS = ("催办", "挂牌", "约谈")


class SuperviseDialog(CaseDialog[SuperviseResult]):
    def __init__(
        self,
        case: CaseSummary,
        *,
        prefill: SuperviseResult | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(case, refusal=refusal)
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        chosen = LEVELS.index(self.prefill.level) if self.prefill else 0
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.supervise.title", id=self.case.id)
            yield self.case_line()
            yield Label(self.t("dialog.supervise.level"), classes="field-label")
            with RadioSet(id="level", compact=True):
                for i, _level in enumerate(LEVELS):
                    yield GlyphRadioButton(
                        self.t(f"dialog.supervise.levels.{i}"), value=i == chosen
                    )
            yield Label(self.t("dialog.supervise.note"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.note if self.prefill else "",
                placeholder=self.t("dialog.supervise.placeholder"),
                id="note",
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.supervise.confirm")

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def result(self) -> SuperviseResult | None:
        note = self.query_one("#note", Input).value.strip()
        if not note:
            self.refuse(self.t("dialog.refused.note_required"))
            self.query_one("#note", Input).focus()
            return None
        index = max(self.query_one("#level", RadioSet).pressed_index, 0)
        return SuperviseResult(LEVELS[index], note, self.case.version)
