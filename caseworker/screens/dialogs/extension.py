"""Extensions (延期): a unit asks for more days with a reason; a supervisor approves or denies."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Static

from caseworker.screens.dialogs._base import CaseDialog, local_time, visible
from caseworker.services.console_data import ExtensionApproval, ExtensionData, ExtensionRequest


class ExtensionRequestDialog(CaseDialog[ExtensionRequest]):
    """Days within what the policy still allows, and a reason; both checked in place."""

    def __init__(
        self,
        data: ExtensionData,
        *,
        prefill: ExtensionRequest | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.prefill = prefill

    @property
    def room(self) -> int:
        return max(self.data.max_days - self.data.granted_days, 0)

    def compose(self) -> ComposeResult:
        data = self.data
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.extend.title", id=self.case.id)
            yield self.case_line()
            due = local_time(data.close_due_at) if data.close_due_at else "—"
            yield Static(
                Text(
                    self.t(
                        "dialog.extend.facts", due=due, granted=data.granted_days, room=self.room
                    )
                ),
                classes="field-label",
            )
            yield Label(self.t("dialog.extend.days"), classes="field-label")
            yield Input(
                compact=True,
                value=str(self.prefill.days) if self.prefill else "",
                placeholder=self.t("dialog.extend.days_placeholder", room=self.room),
                type="integer",
                id="days",
            )
            yield Label(self.t("dialog.extend.reason"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.reason if self.prefill else "",
                placeholder=self.t("dialog.extend.reason_placeholder"),
                id="reason",
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.extend.confirm")

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def result(self) -> ExtensionRequest | None:
        text = self.query_one("#days", Input).value.strip()
        days = int(text) if text.isdigit() else 0
        if days < 1 or days > self.room:
            self.refuse(self.t("dialog.refused.extension_days", room=self.room))
            self.query_one("#days", Input).focus()
            return None
        reason = self.query_one("#reason", Input).value.strip()
        if not reason:
            self.refuse(self.t("dialog.refused.reason_required"))
            self.query_one("#reason", Input).focus()
            return None
        return ExtensionRequest(days, reason, self.case.version)


class ExtensionApprovalDialog(CaseDialog[ExtensionApproval]):
    """Shows the pending request and where the close deadline would move; approve it, or deny
    it with a reason (the close deadline then stays)."""

    def __init__(
        self,
        data: ExtensionData,
        *,
        prefill: ExtensionApproval | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        data = self.data
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.approve_extension.title", id=self.case.id)
            yield self.case_line()
            due = local_time(data.close_due_at) if data.close_due_at else "—"
            yield Static(
                Text(
                    self.t(
                        "dialog.approve_extension.request",
                        days=data.pending_days or 0,
                        due=due,
                        granted=data.granted_days,
                    )
                ),
                classes="field-label",
            )
            reason = Text(self.t("dialog.approve_extension.reason") + " ")
            reason.append(visible(data.pending_reason))  # the unit's words, shown literally
            yield Static(reason)
            yield Label(self.t("dialog.approve_extension.deny_reason"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.reason if self.prefill and self.prefill.deny else "",
                placeholder=self.t("dialog.approve_extension.deny_placeholder"),
                id="deny-reason",
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield Button(self.t("dialog.cancel"), id="cancel", compact=True)
                yield Button(
                    self.t("dialog.approve_extension.deny"),
                    id="deny",
                    variant="error",
                    compact=True,
                )
                yield Button(
                    self.t("dialog.approve_extension.confirm"),
                    id="confirm",
                    variant="primary",
                    compact=True,
                )

    def button_pressed(self, button_id: str) -> None:
        if button_id == "deny":
            self.deny()

    def deny(self) -> None:
        """Deny the request; the reason is what the unit is told, so it cannot be empty."""
        field = self.query_one("#deny-reason", Input)
        reason = field.value.strip()
        if not reason:
            self.refuse(self.t("dialog.approve_extension.deny_needs_reason"))
            field.focus()
            return
        days = self.data.pending_days or 0
        self.dismiss(ExtensionApproval(days, self.case.version, deny=True, reason=reason))

    def on_input_submitted(self) -> None:
        self.deny()  # enter in the reason field: the one thing a reason is for

    def result(self) -> ExtensionApproval | None:
        # A typed reason for denying says the supervisor meant no: approving over it (ctrl+s,
        # or the approve button) is refused until it is cleared.
        if self.query_one("#deny-reason", Input).value.strip():
            self.refuse(self.t("dialog.approve_extension.reason_typed"))
            return None
        return ExtensionApproval(self.data.pending_days or 0, self.case.version)
