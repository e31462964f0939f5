"""Recording the citizen's rating (满意度评价), or a follow-up comment (追评)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, RadioSet

from caseworker.screens.dialogs._base import CaseDialog
from caseworker.services.console_data import CaseSummary, RatingResult
from caseworker.widgets.toggles import GlyphRadioButton

RATINGS = ("满意", "基本满意", "不满意")


class RatingDialog(CaseDialog[RatingResult]):
    def __init__(
        self, case: CaseSummary, *, prefill: RatingResult | None = None, refusal: str | None = None
    ) -> None:
        super().__init__(case, refusal=refusal)
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        chosen = RATINGS.index(self.prefill.value) if self.prefill else -1
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.rate.title", id=self.case.id)
            yield self.case_line()
            yield Label(self.t("dialog.rate.value"), classes="field-label")
            with RadioSet(id="value", compact=True):
                for i, _value in enumerate(RATINGS):
                    yield GlyphRadioButton(self.t(f"dialog.rate.values.{i}"), value=i == chosen)
            yield Label(self.t("dialog.rate.comment"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.comment if self.prefill else "",
                placeholder=self.t("dialog.rate.placeholder"),
                id="comment",
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.rate.confirm")

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def result(self) -> RatingResult | None:
        index = self.query_one("#value", RadioSet).pressed_index
        if index < 0:
            self.refuse(self.t("dialog.refused.rating_required"))
            self.query_one("#value", RadioSet).focus()
            return None
        comment = self.query_one("#comment", Input).value.strip()
        return RatingResult(RATINGS[index], comment, self.case.version)
