"""Snapshots of the queue and the case view: 120x36 and 80x24, Chinese and English, frozen clock.

Each snapshot was looked at before it was accepted (render the SVG, check the countdowns,
the marks that read without colour, column dropping and CJK alignment).
"""

from __future__ import annotations

from typing import Any

import pytest
from console_data import Console
from textual.pilot import Pilot

from caseworker.screens.queue import QueueScreen
from caseworker.store.queries import QueueKey

SIZES = [(120, 36), (80, 24)]


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _queue(key: QueueKey, open_case: bool = False) -> Any:
    async def run_before(pilot: Pilot[Any]) -> None:
        await _settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, QueueScreen)
        screen.switch_queue(key)
        await _settle(pilot)
        await pilot.press("down")
        if open_case:
            await pilot.press("enter")
        await _settle(pilot)

    return run_before


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_queue_snapshot(console: Console, snap_compare: Any, lang: str, size: Any) -> None:
    app = console.app(lang=lang, poll_seconds=3600)
    assert snap_compare(app, terminal_size=size, run_before=_queue(QueueKey.ALL))


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_case_view_snapshot(console: Console, snap_compare: Any, lang: str, size: Any) -> None:
    app = console.app(lang=lang, poll_seconds=3600)
    assert snap_compare(app, terminal_size=size, run_before=_queue(QueueKey.REPLIED, True))


def test_handler_opening_snapshot(console: Console, snap_compare: Any) -> None:
    """A unit handler's first screen: 我的 chosen, only their unit's open cases, and the header
    saying who they are and for which unit."""
    from console_data import HANDLER

    app = console.app(clerk=HANDLER, poll_seconds=3600)
    assert snap_compare(app, terminal_size=(120, 36), run_before=_settle)
