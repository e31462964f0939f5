"""A leader's instruction (领导批示), or a leader taking personal ownership (包案)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Checkbox, Input, Label, TextArea

from caseworker.screens.dialogs._base import CaseDialog
from caseworker.services.console_data import CaseSummary, InstructionResult
from caseworker.widgets.toggles import GlyphCheckbox


class InstructionDialog(CaseDialog[InstructionResult]):
    DEFAULT_CSS = """
    InstructionDialog #text { height: 5; }
    InstructionDialog #owner { margin-top: 1; }
    """

    def __init__(
        self,
        case: CaseSummary,
        *,
        prefill: InstructionResult | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(case, refusal=refusal)
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.instruct.title", id=self.case.id)
            yield self.case_line()
            yield Label(self.t("dialog.instruct.leader"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.leader if self.prefill else "",
                placeholder=self.t("dialog.instruct.leader_placeholder"),
                id="leader",
            )
            yield Label(self.t("dialog.instruct.text"), classes="field-label")
            yield TextArea(self.prefill.text if self.prefill else "", id="text", compact=True)
            yield GlyphCheckbox(
                self.t("dialog.instruct.owner"),
                value=self.prefill.owner if self.prefill else False,
                id="owner",
                compact=True,
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.instruct.confirm")

    def result(self) -> InstructionResult | None:
        leader = self.query_one("#leader", Input).value.strip()
        text = self.query_one("#text", TextArea).text.strip()
        if not leader:
            self.refuse(self.t("dialog.refused.leader_required"))
            self.query_one("#leader", Input).focus()
            return None
        if not text:
            self.refuse(self.t("dialog.refused.instruction_required"))
            self.query_one("#text", TextArea).focus()
            return None
        owner = self.query_one("#owner", Checkbox).value
        return InstructionResult(leader, text, owner, self.case.version)
