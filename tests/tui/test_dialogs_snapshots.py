"""What each case dialog looks like, at 120x36 and 80x24, in Chinese and English, frozen clock.

Each snapshot opens the dialog through `start_action` on the prepared bureau and, for the
dialogs with a search or an editor, does what a clerk would do first, so the picture shows the
dialog in use rather than empty.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from test_dialogs_support import (
    CLERK,
    HANDLER,
    NOW,
    SUPERVISOR,
    Bureau,
    build_bureau,
    copy_bureau,
    host_app,
    open_dialog,
    rules_of_the_house,
    settle,
)
from textual.widgets import Input, Select

from caseworker.services import cases as svc

SIZES = {"wide": (120, 36), "narrow": (80, 24)}


async def _assign(pilot: Any) -> None:
    screen = pilot.app.screen
    screen.query_one("#unit-search", Input).value = "教育"
    await pilot.pause()
    screen.action_make_lead()
    screen.query_one("#unit-search", Input).value = "自然资源"
    await pilot.pause()
    screen.action_add_co_unit()
    screen.query_one("#unit-search", Input).value = "区"
    screen.query_one("#note", Input).value = "请核实周边学校规划，10个工作日内答复网民。"
    await pilot.pause()


async def _reply(pilot: Any) -> None:
    screen = pilot.app.screen
    screen.autosave = None  # the picture shows the composer, not a save in flight
    screen.query_one("#template", Select).value = "03-explain"
    await pilot.pause()


async def _merge(pilot: Any) -> None:
    screen = pilot.app.screen
    title = screen.case.title
    screen.query_one("#query", Input).value = "A3区"
    await pilot.pause(screen.SEARCH_DELAY + 0.1)  # the search waits for typing to pause
    await settle(pilot)
    assert title  # the case itself is never offered as its own original


async def _reject(pilot: Any) -> None:
    screen = pilot.app.screen
    screen.query_one("#reason", Select).value = "重复"
    screen.query_one("#text", Input).value = "与第1件为同一网民同一问题"
    await pilot.pause()


Prepare = Callable[[Any], Awaitable[None]] | None

# action -> (case, acting clerk, what the clerk does before the picture)
DIALOGS: dict[str, tuple[str, str, Prepare]] = {
    "assign": ("accepted", CLERK, _assign),
    "reply": ("handling", HANDLER, _reply),
    "review": ("submitted", CLERK, None),
    "reject": ("new", CLERK, _reject),
    "accept": ("new", CLERK, None),
    "extend": ("handling", HANDLER, None),
    "approve_extension": ("extension", SUPERVISOR, None),
    "supervise": ("handling", CLERK, None),
    "rate": ("replied", CLERK, None),
    "instruct": ("handling", CLERK, None),
    "merge": ("new", CLERK, _merge),
}
# The other one-note actions share the accept dialog's layout: one picture each.
NOTE_ACTIONS = {
    "return": ("handling", HANDLER),
    "close": ("replied", CLERK),
    "reopen": ("closed", CLERK),
    "pause": ("handling", CLERK),
    "resume": ("paused", CLERK),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Bureau:
    return build_bureau(tmp_path_factory.mktemp("bureau"), rules_of_the_house())


@pytest.fixture
def bureau(template: Bureau, tmp_path: Path) -> Bureau:
    return copy_bureau(template, tmp_path / "store")


def _shoot(
    snap_compare: Any,
    bureau: Bureau,
    action: str,
    case: str,
    clerk: str,
    lang: str,
    size: tuple[int, int],
    prepare: Prepare,
) -> bool:
    app = host_app(bureau, clerk=clerk, lang=lang)

    async def run_before(pilot: Any) -> None:
        dialog = await open_dialog(pilot, action, bureau.cases[case])
        assert dialog is not app.host, app.host.refused
        if prepare is not None:
            await prepare(pilot)
        await settle(pilot)

    try:
        return bool(snap_compare(app, terminal_size=size, run_before=run_before))
    finally:
        app.services.store.close()


@pytest.mark.parametrize("size", list(SIZES))
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("action", list(DIALOGS))
def test_dialog(snap_compare: Any, bureau: Bureau, action: str, lang: str, size: str) -> None:
    case, clerk, prepare = DIALOGS[action]
    assert _shoot(snap_compare, bureau, action, case, clerk, lang, SIZES[size], prepare)


@pytest.mark.parametrize("action", list(NOTE_ACTIONS))
def test_note_dialog(snap_compare: Any, bureau: Bureau, action: str) -> None:
    case, clerk = NOTE_ACTIONS[action]
    assert _shoot(snap_compare, bureau, action, case, clerk, "zh", SIZES["wide"], None)


def test_close_dialog_with_a_pending_extension(snap_compare: Any, bureau: Bureau) -> None:
    """Closing a case whose unit's request for 15 more days still awaits a decision: the close
    dialog says, in the warning colour, that the request will lapse (test_note_dialog[close]
    is the same dialog without it)."""
    case_id = bureau.cases["extension"]
    at = NOW - timedelta(hours=2)  # the unit's final reply, published: the case can be closed
    store = bureau.open()
    try:
        with store.session() as session:
            svc.draft_reply(
                session,
                bureau.desk(HANDLER, at),
                case_id,
                text="经核实，已处理。",
                final=True,
                outcome="支持",
            )
            svc.submit_reply(session, bureau.desk(HANDLER, at), case_id)
            svc.publish_reply(session, bureau.desk(CLERK, at), case_id)
    finally:
        store.close()
    assert _shoot(snap_compare, bureau, "close", "extension", CLERK, "zh", SIZES["wide"], None)
