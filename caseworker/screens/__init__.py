"""Screens and modal dialogs of the console; one screen or dialog per module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:
    from caseworker.app import CaseworkerApp


class ConsoleScreen(Screen[None]):
    """A full screen of the console, with typed access to the app (catalog, store, clock)."""

    @property
    def capp(self) -> CaseworkerApp:
        from caseworker.app import CaseworkerApp

        assert isinstance(self.app, CaseworkerApp)
        return self.app

    @property
    def in_view(self) -> bool:
        """Whether the clerk can see this screen: it is on top, or only dialogs are above it.
        (Textual's is_current also counts a full screen's predecessor as visible.)"""
        stack = self.app.screen_stack
        if self not in stack:
            return False
        return all(isinstance(s, ModalScreen) for s in stack[stack.index(self) + 1 :])

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
        from caseworker.services.cases import find_case

        app = self.capp
        try:
            with app.store.session() as session:
                case_id = find_case(session, ref).id
        except DomainError as exc:
            app.call_from_thread(
                self.notify, app.catalog.refusal(exc), severity="warning", markup=False
            )
            return
        assert case_id is not None
        app.call_from_thread(self.open_case, case_id)

    def open_case(self, case_id: int) -> None:
        """Open one case on top of this screen (the queue says which queue it came from)."""
        from caseworker.screens.case import CaseScreen

        self.app.push_screen(CaseScreen(case_id))
