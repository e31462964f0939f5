"""Screens and modal dialogs of the console; one screen or dialog per module."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.screen import Screen

if TYPE_CHECKING:
    from caseworker.app import CaseworkerApp


class ConsoleScreen(Screen[None]):
    """A full screen of the console, with typed access to the app (catalog, store, clock)."""

    @property
    def capp(self) -> CaseworkerApp:
        from caseworker.app import CaseworkerApp

        assert isinstance(self.app, CaseworkerApp)
        return self.app
