"""The Textual app: holds the console facade, rules and catalog; screens do the rest.

The app never touches the database on its own thread: screens call the facade
(services.console) in thread workers, one transaction a call. The screens are typed against
screens.contract.ConsoleApp, which this app fulfils, and never import it. Keys come from
caseworker.keys, so the help screen, the command palette and a clerk's keymap file all agree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import App, SystemCommand
from textual.binding import BindingType
from textual.message import Message
from textual.screen import Screen
from textual.signal import Signal

from caseworker.config import Settings
from caseworker.domain.queues import Filters, QueueKey
from caseworker.i18n.catalog import Catalog
from caseworker.keys import KEYS, install, offered_to
from caseworker.services.console import Console

if TYPE_CHECKING:
    from caseworker.services.console import Store
    from caseworker.services.rules import Rules


# Textual's built-in palette entries by their help text -> our catalog's palette.builtin.<name>.
BUILT_IN_COMMANDS = {
    "Change the current theme": "theme",
    "Quit the application as soon as possible": "quit",
    "Hide the keys and widget help panel": "keys_hide",
    "Show help for the focused widget and a summary of available keys": "keys_show",
    "Minimize the widget and restore to normal size": "minimize",
    "Maximize the focused widget": "maximize",
    "Save an SVG 'screenshot' of the current screen": "screenshot",
}


class CaseworkerApp(App[None]):
    """The clerk's console: the queue screen first, the case view on enter."""

    CSS_PATH = "app.tcss"
    TITLE = "caseworker"
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012  (App declares it as an instance variable)
        (0, "-narrow"),
        (100, "-wide"),
    ]
    BINDINGS: ClassVar[list[BindingType]] = []

    class SearchProgress(Message):
        """How many cases the search index still catches up on; `finished`: the worker ended."""

        def __init__(self, left: int, finished: bool = False) -> None:
            super().__init__()
            self.left, self.finished = left, finished

    def __init__(
        self,
        settings: Settings,
        store: Store,
        rules: Rules,
        *,
        keymap: dict[str, str] | None = None,
        poll_seconds: float = 2.5,
    ) -> None:
        self.settings = settings
        self.rules = rules
        # The one door to the store: every screen's read and write goes through it.
        self.services = Console(store, rules, settings)
        self.catalog = Catalog(settings.language)
        self.poll_seconds = poll_seconds
        # Cases a bulk import left for the search index (the queue header says so while > 0).
        self.search_left = 0
        self.search_chunk = 10_000
        self.catching_up = False
        self.heap_frozen = False
        # The acting clerk's role once the queue screen has read it (store.clerk_badge): case
        # keys their role can never use are left out of the footer (keys.offered_to).
        self.role: str | None = None
        super().__init__()
        # News that this console changed a case: the queue and the case views subscribe.
        self._case_changed: Signal[int] = Signal(self, "case-changed")
        # News of the search index's catch-up: how many cases are left (the queue's header).
        self._search_changed: Signal[int] = Signal(self, "search-changed")
        install(self, "app", self.catalog)
        # Textual's own palette binding says "palette" in English; ours comes from the catalog.
        palette = self._bindings.key_to_bindings.get(self.COMMAND_PALETTE_BINDING, [])
        palette[:] = [b for b in palette if b.id is not None or b.action != "command_palette"]
        if keymap:
            self.set_keymap(keymap)

    @property
    def case_changed(self) -> Signal[int]:
        """Published with a case's id when this console changed it (screens subscribe)."""
        return self._case_changed

    @property
    def search_changed(self) -> Signal[int]:
        """Published with the cases still left for the search index after each catch-up
        step (0 once it is done, or given up); subscribers show it."""
        return self._search_changed

    def now(self) -> datetime:
        return self.settings.clock().now()

    def t(self, key: str, **params: object) -> str:
        return self.catalog.t(key, **params)

    def channel_label(self, code: str) -> str:
        channel = self.rules.policy.channels.get(code)
        if channel is None:
            return code
        return channel.zh if self.catalog.lang == "zh" else channel.en

    def on_mount(self) -> None:
        from caseworker.screens.queue import QueueScreen

        self.theme = "textual-dark"
        # The queue screen starts the search catch-up once its first page is on screen.
        self.push_screen(QueueScreen())

    def freeze_start_up_heap(self) -> None:
        """Leave the objects start-up made (Textual's, the ORM's, the catalog) out of the
        garbage collector's full passes from now on: once the ORM is in, a pass over them takes
        tens of milliseconds, enough to hold up whichever key it lands in."""
        if not self.heap_frozen:
            self.heap_frozen = True
            gc.freeze()

    def on_unmount(self) -> None:
        if self.heap_frozen:  # hand them back, so an app closed inside a longer process is freed
            gc.unfreeze()

    def start_search_catch_up(self) -> None:
        """Let the search index catch up on a bulk import's backlog, if there is one."""
        if not self.catching_up:
            self.catching_up = True
            self.catch_up_search()

    @work(thread=True, exclusive=True, group="search-backlog", exit_on_error=False)
    def catch_up_search(self) -> None:
        """Index the backlog a chunk per transaction (Console.search_catch_up), saying how
        many cases are left after each; search stays complete meanwhile (LIKE fallback)."""
        from textual.worker import get_current_worker

        left = 0
        try:
            worker = get_current_worker()
            for left in self.services.search_catch_up(self.search_chunk):
                self.post_message(self.SearchProgress(left))
                if worker.is_cancelled:
                    break
        finally:
            self.post_message(self.SearchProgress(left, finished=True))

    @on(SearchProgress)
    def _search_progress(self, message: SearchProgress) -> None:
        if message.finished:
            self.catching_up = False
        self.search_left = message.left
        self.search_changed.publish(message.left)

    def action_help(self) -> None:
        from caseworker.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_dashboard(self) -> None:
        self.show_dashboard()

    def show_dashboard(self) -> None:
        from caseworker.screens.dashboard import DashboardScreen

        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen())

    def open_case(self, case_id: int, origin: str = "") -> None:
        """Open one case on top of the current screen (`origin`: the queue it came from)."""
        from caseworker.screens.case import CaseScreen

        self.push_screen(CaseScreen(case_id, origin=origin))

    def show_queue(
        self,
        key: QueueKey,
        filters: Filters,
        *,
        unit_name: str | None = None,
        from_dashboard: bool = False,
    ) -> None:
        """The queue screen on `key` with `filters` (where the supervisor screen drills down)."""
        from caseworker.screens.queue import QueueScreen

        for screen in reversed(self.screen_stack):
            if isinstance(screen, QueueScreen):
                screen.show_queue(key, filters, unit_name=unit_name, from_dashboard=from_dashboard)
                return

    def run_case_action(self, screen: Screen[Any], action: str, case_id: int | None) -> None:
        """Hand a case action to the dialogs' entry point, or say why it cannot run."""
        if case_id is None:
            self.notify(self.t("notice.no_case"), severity="warning", markup=False)
            return
        try:
            from caseworker.screens.case_actions import start_action
        except ImportError:
            self.notify(self.t("notice.not_available"), severity="warning", markup=False)
            return
        start_action(screen, action, case_id)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The palette runs every action of the current screen by name, from the key list."""
        scopes = {"app"}
        scope = getattr(screen, "SCOPE", None)
        if isinstance(scope, str):
            scopes.add(scope)
        for key in KEYS:
            if not key.scopes & scopes or key.id == "app.quit":
                continue
            if not offered_to(self.role, key.id):
                continue  # an action the clerk's role never takes, as in the footer
            yield SystemCommand(
                self.t(f"key.{key.id}"),
                self.t(f"keytip.{key.id}"),
                partial(screen.call_later, screen.run_action, key.action),
            )
        for command in super().get_system_commands(screen):
            # Textual's own entries (theme, quit, keys, screenshot ...) in the clerk's language,
            # known by their help text; one a newer Textual adds stays as Textual says it.
            name = BUILT_IN_COMMANDS.get(command.help)
            if name is None:
                yield command
            else:
                yield command._replace(
                    title=self.t(f"palette.builtin.{name}.title"),
                    help=self.t(f"palette.builtin.{name}.help"),
                )


def make_app(
    settings: Settings,
    store: Store,
    rules: Rules,
    *,
    keymap: dict[str, str] | None = None,
    poll_seconds: float = 2.5,
) -> CaseworkerApp:
    """The console for an open store; `keymap` overrides keys by binding id."""
    return CaseworkerApp(settings, store, rules, keymap=keymap, poll_seconds=poll_seconds)
