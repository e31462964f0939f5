"""Screens and modal dialogs of the console; one screen or dialog per module."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual import work
from textual.screen import ModalScreen, Screen

from caseworker.screens.messages import CaseChanged

if TYPE_CHECKING:
    from caseworker.screens.contract import ConsoleApp


class ConsoleScreen(Screen[None]):
    """A full screen of the console, with typed access to the app (catalog, facade, clock)."""

    @property
    def capp(self) -> ConsoleApp:
        return cast("ConsoleApp", self.app)

    @property
    def in_view(self) -> bool:
        """Whether the clerk can see this screen: it is on top, or only dialogs are above it.
        (Textual's is_current also counts a full screen's predecessor as visible.)"""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        return all(isinstance(s, ModalScreen) for s in stack[stack.index(self) + 1 :])

    def on_case_changed(self, message: CaseChanged) -> None:
        """A case action or save from this screen changed a case: every screen that shows it
        hears of it through the app's `case_changed` signal."""
        message.stop()
        self.capp.case_changed.publish(message.case_id)

    def action_goto(self) -> None:
        """Ask for a case number or external id, then open that case (keys: queue.goto)."""
        from caseworker.screens.goto import GotoScreen

        t = self.capp.t
        asked = GotoScreen(t("goto.title"), t("goto.hint"), t("goto.placeholder"))
        self.app.push_screen(asked, self._goto_asked)

    def _goto_asked(self, ref: str | None) -> None:
        if ref:
            self.find_for_goto(ref)

    @work(thread=True, exclusive=True, group="goto", exit_on_error=False)
    def find_for_goto(self, ref: str) -> None:
        """The case a typed reference names (services.cases.find_case: `#N`, `ext:X` or either
        when only one case fits), or the refusal in the clerk's language."""
        from caseworker.domain.errors import DomainError

        app = self.capp
        try:
            case_id = app.services.find(ref)
        except DomainError as exc:
            self.app.call_from_thread(
                self.notify, app.catalog.refusal(exc), severity="warning", markup=False
            )
            return
        self.app.call_from_thread(self.open_case, case_id)

    def open_case(self, case_id: int) -> None:
        """Open one case on top of this screen (the queue says which queue it came from)."""
        self.capp.open_case(case_id)

    def take_next(self) -> None:
        """Open the most urgent case nobody has open (the queue screen's; others do nothing)."""
