"""The documents dialog: choose a document, see its number and file, write it in a worker.

Opened with `l` on a case (its 交办函, 督办函, 呈批单 and its group's 信访专报) and with `b` on
the supervisor screen (the bulletin of the period shown). A document that cannot be written
now says why in place of its number. Writing runs in a thread worker that reports each step;
once written, the path is shown and can be copied to the clipboard.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from caseworker.screens.dialogs._base import translate

if TYPE_CHECKING:
    from caseworker.services.documents import DocumentChoice, Written

# Writes one document: (choice, target file, proposal, progress) -> what was written.
Writer = Callable[["DocumentChoice", Path, "str | None", Callable[[str], None]], "Written"]


class DocumentsDialog(ModalScreen[str | None]):
    """One modal, one job: write the chosen document; dismissed with the path written (or None)."""

    DEFAULT_CSS = """
    DocumentsDialog {
        align: center middle;
    }
    DocumentsDialog > #frame {
        width: 96;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    DocumentsDialog .field-label {
        margin-top: 1;
        text-style: bold;
    }
    DocumentsDialog #number.-refused, DocumentsDialog #status.-refused {
        color: $text-error;
    }
    DocumentsDialog Input, DocumentsDialog Select {
        width: 100%;
    }
    DocumentsDialog Input {
        background: $boost;
    }
    DocumentsDialog .buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    DocumentsDialog .buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [  # noqa: RUF012
        Binding("escape", "cancel", "cancel", id="dialog.cancel"),
        Binding("ctrl+s", "confirm", "confirm", id="dialog.confirm"),
    ]

    class Step(Message):
        """The worker reached a step (gather, render, pdf, number, charts)."""

        def __init__(self, step: str) -> None:
            super().__init__()
            self.step = step

    class Finished(Message):
        """The worker wrote the document, or was refused (`refusal`, in the clerk's words)."""

        def __init__(self, written: Written | None, refusal: str | None) -> None:
            super().__init__()
            self.written, self.refusal = written, refusal

    def __init__(self, title: str, choices: list[DocumentChoice], writer: Writer) -> None:
        super().__init__()
        self.heading = title
        self.choices = {c.kind: c for c in choices}
        self.chosen = choices[0].kind
        self.writer = writer
        self.written: str | None = None
        self.busy = False
        self._localize_bindings()

    def t(self, key: str, **params: object) -> str:
        return translate(self, key, **params)

    def _localize_bindings(self) -> None:
        bindings = self._bindings.copy()
        for key, found in bindings.key_to_bindings.items():
            bindings.key_to_bindings[key] = [
                replace(
                    b,
                    description=self.t(f"dialog.key.{(b.id or '').removeprefix('dialog.')}"),
                    tooltip=self.t(f"dialog.tip.{(b.id or '').removeprefix('dialog.')}"),
                )
                for b in found
            ]
        self._bindings = bindings

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.heading
            yield Label(self.t("documents.dialog.kind"), classes="field-label")
            yield Select(
                [(self.t(f"documents.kind.{kind}"), kind) for kind in self.choices],
                value=self.chosen,
                allow_blank=False,
                id="kind",
                compact=True,
            )
            yield Label(self.t("documents.dialog.number"), classes="field-label")
            yield Static(id="number")
            yield Label(self.t("documents.dialog.file"), classes="field-label")
            yield Input(compact=True, id="path")
            yield Label(
                self.t("documents.dialog.proposal"), classes="field-label", id="proposal-label"
            )
            yield Input(compact=True, id="proposal")
            yield Static(id="status")
            with Horizontal(classes="buttons"):
                yield Button(self.t("documents.dialog.cancel"), id="cancel", compact=True)
                yield Button(self.t("documents.dialog.copy"), id="copy", compact=True)
                yield Button(
                    self.t("documents.dialog.write"), id="confirm", variant="primary", compact=True
                )

    def on_mount(self) -> None:
        self._show(self.chosen)

    def _show(self, kind: str) -> None:
        """The chosen document's number (or why it cannot be written), file and proposal."""
        choice = self.choices[kind]
        self.chosen = kind
        number = self.query_one("#number", Static)
        if choice.refusal is not None:
            number.update(Text(self._refusal(choice.refusal)))
            number.add_class("-refused")
        else:
            key = "number_again" if choice.reissued else "number_new"
            number.update(Text(self.t(f"documents.dialog.{key}", number=choice.number)))
            number.remove_class("-refused")
        self.query_one("#path", Input).value = choice.path
        approval = kind == "approval"
        self.query_one("#proposal-label").display = approval
        proposal = self.query_one("#proposal", Input)
        proposal.display = approval
        proposal.value = choice.proposal
        self.query_one("#confirm", Button).disabled = choice.refusal is not None
        self.query_one("#copy", Button).disabled = self.written is None
        self._status("")

    def _refusal(self, exc: Exception) -> str:
        catalog = getattr(self.app, "catalog", None)
        return str(catalog.refusal(exc)) if catalog is not None else str(exc)

    def _status(self, text: str, *, refused: bool = False) -> None:
        status = self.query_one("#status", Static)
        status.update(Text(text))
        status.set_class(refused, "-refused")

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in self.choices:
            self._show(event.value)

    def on_input_submitted(self) -> None:
        self.action_confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "cancel":
            self.action_cancel()
        elif event.button.id == "copy":
            self.action_copy()
        elif event.button.id == "confirm":
            self.action_confirm()

    def action_cancel(self) -> None:
        if not self.busy:
            self.dismiss(self.written)

    def action_copy(self) -> None:
        if self.written is not None:
            self.app.copy_to_clipboard(self.written)
            self.notify(self.t("documents.dialog.copied"), markup=False)

    def action_confirm(self) -> None:
        choice = self.choices[self.chosen]
        if self.busy or choice.refusal is not None:
            return
        target = Path(self.query_one("#path", Input).value.strip()).expanduser()
        proposal = self.query_one("#proposal", Input).value if self.chosen == "approval" else None
        self.busy = True
        self.query_one("#confirm", Button).disabled = True
        self._status(
            self.t("documents.dialog.writing", kind=self.t(f"documents.kind.{choice.kind}"))
        )
        self.write(choice, target, proposal)

    @work(thread=True, exclusive=True, group="document", exit_on_error=False)
    def write(self, choice: DocumentChoice, target: Path, proposal: str | None) -> None:
        from caseworker.domain.errors import DomainError

        def progress(step: str) -> None:
            self.post_message(self.Step(step))

        try:
            written = self.writer(choice, target, proposal, progress)
        except DomainError as exc:
            self.post_message(self.Finished(None, self._refusal(exc)))
            return
        except OSError as exc:  # a folder not writable, a disk full: said, never a traceback
            self.post_message(self.Finished(None, f"{target}: {exc.strerror or exc}"))
            return
        self.post_message(self.Finished(written, None))

    @on(Step)
    def _step(self, message: Step) -> None:
        self._status(self.t(f"documents.dialog.step_{message.step}") + "…")

    @on(Finished)
    def _finished(self, message: Finished) -> None:
        self.busy = False
        self.query_one("#confirm", Button).disabled = False
        if message.written is None:
            self._status(message.refusal or "", refused=True)
            return
        done = message.written
        self.written = done.path
        self.choices[self.chosen] = replace(
            self.choices[self.chosen], number=done.number, reissued=True
        )
        number = self.t("documents.dialog.number_again", number=done.number)
        self.query_one("#number", Static).update(Text(number))
        text = self.t("documents.dialog.written", number=done.number, path=done.path)
        self._status("\n".join([text, *done.notes]))
        self.query_one("#copy", Button).disabled = False

    def on_worker_state_changed(self, event: Any) -> None:
        """An unexpected failure in the worker ends the wait and is said, not swallowed."""
        from textual.worker import WorkerState

        if event.state is WorkerState.ERROR and event.worker.error is not None:
            self.busy = False
            self.query_one("#confirm", Button).disabled = False
            self._status(self._refusal(event.worker.error), refused=True)
