"""Rejecting a case (不予受理): a reason from the list, and the clerk's words."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Input, Label, Select

from caseworker.screens.dialogs._base import CaseDialog
from caseworker.services.console_data import EndingData, RejectResult

REJECT_REASONS = ("重复", "无实质内容", "不属受理范围", "已进入法定程序")


class RejectDialog(CaseDialog[RejectResult]):
    """Refuses to confirm without a listed reason; says when a request awaiting a decision
    (one left on a case its unit returned) will lapse."""

    def __init__(
        self, data: EndingData, *, prefill: RejectResult | None = None, refusal: str | None = None
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.reject.title", id=self.case.id)
            yield self.case_line()
            yield Label(self.t("dialog.reject.reason"), classes="field-label")
            options = [
                (self.t(f"dialog.reject.reasons.{i}"), r) for i, r in enumerate(REJECT_REASONS)
            ]
            yield Select(
                options,
                prompt=self.t("dialog.reject.choose"),
                value=self.prefill.reason if self.prefill else Select.NULL,
                id="reason",
                compact=True,
            )
            yield Label(self.t("dialog.reject.text"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.text if self.prefill else "",
                placeholder=self.t("dialog.reject.placeholder"),
                id="text",
            )
            yield from self.lapse_line(self.data.lapsing_days)
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.reject.confirm")

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def result(self) -> RejectResult | None:
        reason = self.query_one("#reason", Select).value
        if not isinstance(reason, str):
            # The reason is picked from the list, not typed: say so, whatever the note holds.
            self.refuse(self.t("dialog.refused.reason_choice"))
            self.query_one("#reason", Select).focus()
            return None
        return RejectResult(reason, self.query_one("#text", Input).value.strip(), self.case.version)
