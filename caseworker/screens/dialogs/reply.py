"""The reply composer: templates, outcome, interim or final, checks, and drafts autosaved.

The composer never touches the database: `autosave` (given by the caller) saves a draft in a
worker and answers through `draft_saved` / `autosave_refused`. Confirming submits for review.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Checkbox, Select, Static, TextArea

from caseworker.screens.dialogs._base import CaseDialog, language, local_time, visible
from caseworker.screens.dialogs._checks import checks_line
from caseworker.services.console_data import ReplyData, ReplyResult, fill_template, reply_checks
from caseworker.widgets.toggles import GlyphCheckbox

OUTCOMES = ("支持", "解释说明", "不支持")


class ReplyComposer(CaseDialog[ReplyResult]):
    """A large editor under the message; ctrl+s submits, escape saves the draft and closes
    once it is stored (or stays open saying why it could not be)."""

    AUTOSAVE_DELAY = 1.5  # seconds of quiet typing before a draft is saved

    DEFAULT_CSS = """
    ReplyComposer > #frame { width: 110; height: 100%; }
    ReplyComposer #message { height: auto; max-height: 6; border: round $panel; }
    ReplyComposer .buttons { margin-top: 0; }
    ReplyComposer .reply-options { height: auto; margin-top: 1; }
    ReplyComposer .reply-options Select { width: 1fr; }
    ReplyComposer .reply-options Checkbox { width: auto; }
    ReplyComposer #text { height: 1fr; min-height: 4; }
    ReplyComposer #checks, ReplyComposer #saved { height: auto; }
    ReplyComposer #saved { color: $text-muted; }
    ReplyComposer #review-note { color: $text-warning; height: auto; }
    """

    def __init__(
        self,
        data: ReplyData,
        autosave: Callable[[ReplyComposer, ReplyResult], None] | None = None,
        *,
        prefill: ReplyResult | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.autosave = autosave
        self.version = data.case.version
        draft = data.draft
        self.initial = prefill or ReplyResult(
            text=draft.text if draft else "",
            final=draft.final if draft else True,
            outcome=draft.outcome if draft else None,
            answered=False,
            version=self.version,
        )
        self.saved = (draft.text, draft.final, draft.outcome) if draft else ("", True, None)
        self._timer: Timer | None = None
        # A save handed to the caller's worker and not yet answered, and a submit waiting for
        # it: the submit must carry the version that save leaves, or it refuses itself.
        self._saving = False
        self._submit_when_saved = False
        # Escape pressed with text not yet stored: the composer closes once it is, or stays
        # open saying why it could not be (never a keystroke lost without a word).
        self._close_when_saved = False
        self._save_again = False  # asked for while a save was on its way

    def compose(self) -> ComposeResult:
        init = self.initial
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.reply.title", id=self.case.id)
            yield self.case_line()
            with VerticalScroll(id="message"):
                yield Static(Text(visible(self.case.body)))
            draft = self.data.draft
            if draft is not None and draft.state == "sent_back" and draft.review_note:
                note = Text(self.t("dialog.reply.sent_back") + " ", style="bold")
                note.append(visible(draft.review_note))
                yield Static(note, id="review-note")
            with Horizontal(classes="reply-options"):
                lang = language(self)
                yield Select(
                    [
                        (tpl.name_en if lang == "en" else tpl.name_zh, tpl.key)
                        for tpl in self.data.templates
                    ],
                    prompt=self.t("dialog.reply.template"),
                    id="template",
                    compact=True,
                )
                yield Select(
                    [(self.t(f"dialog.reply.outcomes.{i}"), o) for i, o in enumerate(OUTCOMES)],
                    prompt=self.t("dialog.reply.outcome"),
                    value=init.outcome if init.outcome in OUTCOMES else Select.NULL,
                    id="outcome",
                    compact=True,
                )
                yield GlyphCheckbox(
                    self.t("dialog.reply.final"), value=init.final, id="final", compact=True
                )
            yield TextArea(init.text, id="text", soft_wrap=True, show_cursor=True)
            yield GlyphCheckbox(
                self.t("dialog.reply.answered"), value=init.answered, id="answered", compact=True
            )
            yield Static(id="checks")
            yield Static(id="saved")
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield Button(self.t("dialog.cancel"), id="cancel", compact=True)
                yield Button(self.t("dialog.reply.save"), id="save", compact=True)
                yield Button(
                    self.t("dialog.reply.confirm"), id="confirm", variant="primary", compact=True
                )

    def on_mount(self) -> None:
        self.show_checks()
        if self.data.draft is not None:
            self.query_one("#saved", Static).update(
                Text(self.t("dialog.reply.restored", at=local_time(self.data.draft.updated_at)))
            )
        self.query_one("#text", TextArea).focus()
        if self.current_key() != self.saved:  # prefilled after a refusal: not yet stored
            self.schedule_autosave()

    # ------------------------------------------------------------ state

    def current(self) -> ReplyResult:
        outcome = self.query_one("#outcome", Select).value
        return ReplyResult(
            text=self.query_one("#text", TextArea).text,
            final=self.query_one("#final", Checkbox).value,
            outcome=outcome if isinstance(outcome, str) else None,
            answered=self.query_one("#answered", Checkbox).value,
            version=self.version,
        )

    def current_key(self) -> tuple[str, bool, str | None]:
        now = self.current()
        return (now.text, now.final, now.outcome)

    def show_checks(self) -> None:
        state = self.current()
        self.query_one("#checks", Static).update(
            checks_line(reply_checks(state.text), state.answered, self.t)
        )

    # ------------------------------------------------------------ editing

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        event.stop()
        self.show_checks()
        self.schedule_autosave()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.show_checks()
        self.schedule_autosave()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.select.id == "template" and isinstance(event.value, str):
            self.insert_template(event.value)
        self.schedule_autosave()

    def insert_template(self, key: str) -> None:
        """A template fills an empty editor, or goes in at the cursor; its outcome is taken."""
        template = next((t for t in self.data.templates if t.key == key), None)
        if template is None:
            return
        text = fill_template(template.text.strip("\n"), self.data.fill)
        area = self.query_one("#text", TextArea)
        if area.text.strip():
            area.insert(text)
        else:
            area.load_text(text)
        self.query_one("#final", Checkbox).value = template.final
        if template.outcome is not None:
            self.query_one("#outcome", Select).value = template.outcome
        area.focus()
        self.show_checks()

    # ------------------------------------------------------------ autosave

    def schedule_autosave(self) -> None:
        if self.autosave is None or self.current_key() == self.saved:
            return
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(self.AUTOSAVE_DELAY, self.flush_autosave)

    def flush_autosave(self) -> None:
        """Save now if anything changed since the last save (the timer, ctrl+s, escape)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self.autosave is None or self.current_key() == self.saved:
            return
        if self._saving:
            # One save at a time: a second one racing the first would leave the composer with
            # the first one's version, and the submit after it refused as a conflict with the
            # clerk's own save. This one goes when the first is answered.
            self._save_again = True
            return
        self._saving = True
        self.autosave(self, self.current())

    def _on_screen(self) -> bool:
        """Whether the composer's widgets are there to update (not yet dismissed or removed)."""
        return self.is_mounted and bool(self.query("#error"))

    def draft_saved(self, state: ReplyResult, version: int, at: datetime) -> None:
        """The caller's worker stored `state`; the case is now at `version`."""
        self._saving = False
        self.saved = (state.text, state.final, state.outcome)
        self.version = version
        if not self._on_screen():
            return
        self.clear_refusal()
        self.query_one("#saved", Static).update(
            Text(self.t("dialog.reply.saved", at=local_time(at)))
        )
        again, self._save_again = self._save_again, False
        if self._submit_when_saved:  # ctrl+s came while this save was on its way
            self._submit_when_saved = False
            self.action_confirm()  # the submit stores the text as it stands now
        elif (again or self._close_when_saved) and self.current_key() != self.saved:
            self.flush_autosave()  # typed on while this save was on its way: store that too
        elif self._close_when_saved:  # escape came while this save was on its way
            self._close_when_saved = False
            self.dismiss(None)

    def autosave_refused(self, text: str, version: int | None) -> None:
        """Someone else changed the case: say who; keep the text; the next save goes over it.

        A submit or a close that was waiting for the save is dropped: the composer stays open
        with the clerk's text and the reason, and escape (or 保存草稿) saves over that change.
        """
        self._saving = self._submit_when_saved = self._close_when_saved = False
        self._save_again = False
        if version is not None:
            self.version = version
        if self._on_screen():
            self.refuse(text + (self.t("dialog.reply.kept") if version is not None else ""))

    def button_pressed(self, button_id: str) -> None:
        if button_id == "save":
            self.flush_autosave()

    def action_cancel(self) -> None:
        """Escape keeps the draft: the composer closes once every keystroke is stored."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        unsaved = self.autosave is not None and self.current_key() != self.saved
        if not unsaved and not self._saving:
            self.dismiss(None)
            return
        self._close_when_saved = True
        if not self._saving:  # else the save on its way answers first (draft_saved)
            self.flush_autosave()

    def result(self) -> ReplyResult | None:
        state = self.current()
        checks = reply_checks(state.text)
        if checks.empty:
            self.refuse(self.t("dialog.refused.reply_empty"))
        elif checks.placeholders:
            self.refuse(
                self.t("dialog.refused.placeholder", placeholder=" ".join(checks.placeholders[:3]))
            )
        elif state.final and state.outcome is None:
            self.refuse(self.t("dialog.refused.outcome_required"))
        elif not state.answered:
            self.refuse(self.t("dialog.refused.not_answered"))
        else:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            if self._saving:
                # The autosave in flight moves the case's version; submitting now would carry
                # the old one and be refused as a conflict with the clerk's own save.
                self._submit_when_saved = True
                return None
            return state
        return None
