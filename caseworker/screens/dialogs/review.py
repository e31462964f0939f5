"""Reviewing a unit's reply (审核): publish it, or send it back (退回重办) with a note."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Static, TextArea

from caseworker.screens.dialogs._base import CaseDialog, visible
from caseworker.screens.dialogs._checks import checks_line
from caseworker.services.console_data import ReplyData, ReviewResult, reply_checks


class ReviewDialog(CaseDialog[ReviewResult]):
    """The draft is read-only here; a reviewer who wants changes sends it back with a note."""

    DEFAULT_CSS = """
    ReviewDialog > #frame { width: 110; height: 100%; }
    ReviewDialog #draft { height: 1fr; min-height: 4; }
    ReviewDialog #facts, ReviewDialog #checks { height: auto; }
    ReviewDialog #message { height: auto; max-height: 5; border: round $panel; }
    """

    def __init__(
        self, data: ReplyData, *, prefill: ReviewResult | None = None, refusal: str | None = None
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.prefill = prefill

    def compose(self) -> ComposeResult:
        draft = self.data.draft
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.review.title", id=self.case.id)
            yield self.case_line()
            kind = "dialog.reply.final" if draft and draft.final else "dialog.reply.interim"
            state = draft.state if draft else "none"
            facts = Text(
                self.t(
                    "dialog.review.facts",
                    kind=self.t(kind),
                    outcome=draft.outcome if draft and draft.outcome else "—",
                    state=self.t(f"dialog.review.state.{state}"),
                )
            )
            with VerticalScroll(id="message"):
                yield Static(Text(visible(self.case.body)))
            yield Static(facts, id="facts")
            yield TextArea(draft.text if draft else "", id="draft", read_only=True, soft_wrap=True)
            yield Static(
                checks_line(reply_checks(draft.text if draft else ""), None, self.t), id="checks"
            )
            yield Label(self.t("dialog.review.note"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.note if self.prefill else "",
                placeholder=self.t("dialog.review.note_placeholder"),
                id="note",
            )
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield Button(self.t("dialog.cancel"), id="cancel", compact=True)
                yield Button(
                    self.t("dialog.review.send_back"),
                    id="send-back",
                    variant="warning",
                    compact=True,
                )
                yield Button(
                    self.t("dialog.review.confirm"), id="confirm", variant="primary", compact=True
                )

    def button_pressed(self, button_id: str) -> None:
        if button_id == "send-back":
            note = self.query_one("#note", Input).value.strip()
            if not note:
                self.refuse(self.t("dialog.refused.note_required"))
                self.query_one("#note", Input).focus()
                return
            self.dismiss(ReviewResult("send_back", note, self.case.version))

    def result(self) -> ReviewResult | None:
        draft = self.data.draft
        checks = reply_checks(draft.text if draft else "")
        if checks.blocking:
            self.refuse(self.t("dialog.refused.not_publishable"))
            return None
        if draft is not None and draft.final and not draft.outcome:
            self.refuse(self.t("dialog.refused.outcome_required"))
            return None
        return ReviewResult(
            "publish", self.query_one("#note", Input).value.strip(), self.case.version
        )
