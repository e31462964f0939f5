"""The Textual app: holds the store, rules and catalog; screens do the rest.

The app never touches the database on its own thread: screens run every query in thread
workers. Keys come from caseworker.keys, so the help screen, the command palette and a
clerk's keymap file all agree.
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

from caseworker.config import Settings
from caseworker.i18n.catalog import Catalog
from caseworker.keys import KEYS, install, offered_to

if TYPE_CHECKING:
    from caseworker.services.cases import Desk
    from caseworker.services.rules import Rules
    from caseworker.store.engine import Store


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
        self.store = store
        self.rules = rules
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
        install(self, "app", self.catalog)
        # Textual's own palette binding says "palette" in English; ours comes from the catalog.
        palette = self._bindings.key_to_bindings.get(self.COMMAND_PALETTE_BINDING, [])
        palette[:] = [b for b in palette if b.id is not None or b.action != "command_palette"]
        if keymap:
            self.set_keymap(keymap)

    def desk(self) -> Desk:
        """Who acts, with which rules and clock: what every case action needs."""
        from caseworker.services.cases import Desk

        return Desk(rules=self.rules, clock=self.settings.clock(), clerk=self.settings.clerk)

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
        """Index the backlog a chunk per transaction (services.search_backlog), saying how
        many cases are left after each; search stays complete meanwhile (LIKE fallback)."""
        import sqlite3

        from textual.worker import get_current_worker

        from caseworker.services import search_backlog
        from caseworker.store.queries import search_backlog as backlog_of

        left = 0
        try:
            with self.store.session() as session:
                left = backlog_of(session)
            path = search_backlog.sqlite_path(self.store.url)
            if not left or path is None:
                return
            self.post_message(self.SearchProgress(left))
            worker = get_current_worker()
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            try:
                connection.execute("PRAGMA busy_timeout=30000")
                while not worker.is_cancelled:
                    if search_backlog.catch_up_chunk(connection, self.search_chunk) is None:
                        left = 0
                        break
                    left = search_backlog.backlog(connection.cursor())
                    self.post_message(self.SearchProgress(left))
            finally:
                connection.close()
        finally:
            self.post_message(self.SearchProgress(left, finished=True))

    @on(SearchProgress)
    def _search_progress(self, message: SearchProgress) -> None:
        from caseworker.screens.queue import QueueScreen

        if message.finished:
            self.catching_up = False
        self.search_left = message.left
        for screen in self.screen_stack:
            if isinstance(screen, QueueScreen):
                screen.show_header()

    def action_help(self) -> None:
        from caseworker.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def action_dashboard(self) -> None:
        from caseworker.screens.dashboard import DashboardScreen

        if not isinstance(self.screen, DashboardScreen):
            self.push_screen(DashboardScreen())

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
