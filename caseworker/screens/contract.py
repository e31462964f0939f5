"""What a screen may ask of the console app: a protocol, so no screen imports caseworker.app.

The app (caseworker/app.py) imports the screens and fulfils this; the screens are typed against
it alone, which keeps the arrows one way (app -> screens) and lets a test host stand in.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from textual.screen import Screen
    from textual.signal import Signal

    from caseworker.config import Settings
    from caseworker.domain.queues import Filters, QueueKey
    from caseworker.i18n.catalog import Catalog
    from caseworker.services.console import Console
    from caseworker.services.rules import Rules


class ConsoleApp(Protocol):
    """The console as its screens see it: settings, rules and words, the services' facade,
    the news that a case changed, and the moves between screens."""

    settings: Settings
    rules: Rules
    catalog: Catalog
    services: Console
    poll_seconds: float
    role: str | None  # the clerk's role once the queue has read it (keys.offered_to)
    search_left: int  # cases a bulk import left for the search index
    catching_up: bool

    @property
    def case_changed(self) -> Signal[int]:
        """Published with a case's id when this console changed it; screens subscribe."""
        ...

    @property
    def search_changed(self) -> Signal[int]:
        """Published with the cases still left for the search index after each catch-up step."""
        ...

    def t(self, key: str, **params: object) -> str: ...

    def now(self) -> datetime: ...

    def channel_label(self, code: str) -> str: ...

    def run_case_action(self, screen: Screen[Any], action: str, case_id: int | None) -> None: ...

    def start_search_catch_up(self) -> None: ...

    def freeze_start_up_heap(self) -> None: ...

    def open_case(self, case_id: int, origin: str = "") -> None: ...

    def show_dashboard(self) -> None: ...

    def show_queue(
        self,
        key: QueueKey,
        filters: Filters,
        *,
        unit_name: str | None = None,
        from_dashboard: bool = False,
    ) -> None: ...
