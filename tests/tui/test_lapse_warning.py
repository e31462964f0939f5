"""The dialogs that end a case (close, reject, merge) say, before the clerk confirms, that the
case's extension request still awaiting a decision will lapse, and say nothing when none
waits (Pilot on the console itself, real SQLite, frozen clock, 120x36)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from console_data import CLERK, HANDLER, NOW, SUPERVISOR, Console
from sqlmodel import select
from test_console import SIZE, settle, sync
from test_pending_extensions_console import ask
from textual.pilot import Pilot
from textual.widgets import Input, Static

from caseworker.screens.case import CaseScreen
from caseworker.screens.dialogs.merge import MergeDialog
from caseworker.screens.dialogs.note import NoteDialog
from caseworker.screens.dialogs.reject import RejectDialog
from caseworker.services import cases as svc
from caseworker.store.models import CaseRow, ExtensionRow


def answer(console: Console, case_id: int) -> None:
    """The unit's final reply, published by the bureau: the case can be closed."""
    at = NOW - timedelta(hours=1)
    console.act(
        HANDLER, at, svc.draft_reply, case_id, text="已安排处理。", final=True, outcome="支持"
    )
    console.act(HANDLER, at + timedelta(minutes=5), svc.submit_reply, case_id)
    console.act(CLERK, at + timedelta(minutes=10), svc.publish_reply, case_id)


def returned(console: Console, case_id: int) -> None:
    """The lead unit sends the case back: accepted again, where it may be rejected."""
    console.act(HANDLER, NOW - timedelta(hours=1), svc.return_case, case_id, reason="非本单位职责")


async def open_from_case_view(pilot: Pilot[Any], case_id: int, key: str) -> Any:
    """Open the case, press the action's key, and give back the dialog it opened."""
    app = pilot.app
    await settle(pilot)
    app.push_screen(CaseScreen(case_id))
    await settle(pilot)
    await pilot.press(key)
    await settle(pilot)
    return app.screen


def lapse_line(dialog: Any) -> str | None:
    """The dialog's lapse line, or None when it has none."""
    found = dialog.query("#lapse")
    if not found:
        return None
    return str(found.only_one(Static).render())


def states(console: Console, case_id: int) -> tuple[str, list[str]]:
    with console.store.session() as session:
        case = session.get(CaseRow, case_id)
        assert case is not None
        rows = session.exec(select(ExtensionRow).where(ExtensionRow.case_id == case_id)).all()
        return case.status, [row.state for row in rows]


@sync
async def test_the_close_dialog_says_the_pending_request_will_lapse(console: Console) -> None:
    (case_id,) = ask(console, "c5")  # acknowledged; the request waits for a supervisor
    answer(console, case_id)
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "c")
        assert isinstance(dialog, NoteDialog) and dialog.spec.action == "close"
        assert lapse_line(dialog) == "待批延期申请（10日）将随之失效"
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, NoteDialog)
    assert states(console, case_id) == ("closed", ["lapsed"])


@sync
async def test_the_close_dialog_says_nothing_when_no_request_waits(console: Console) -> None:
    case_id = console.ids["c6"]  # replied; no request ever made
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "c")
        assert isinstance(dialog, NoteDialog) and dialog.spec.action == "close"
        assert lapse_line(dialog) is None


@sync
async def test_a_decided_request_is_not_announced(console: Console) -> None:
    """Only a request awaiting its decision lapses: an approved one stays approved, unsaid."""
    (case_id,) = ask(console, "c5")
    console.act(SUPERVISOR, NOW - timedelta(hours=1, minutes=30), svc.approve_extension, case_id)
    answer(console, case_id)
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "c")
        assert isinstance(dialog, NoteDialog)
        assert lapse_line(dialog) is None


@sync
async def test_the_reject_dialog_says_it_of_a_returned_cases_request(console: Console) -> None:
    """Rejection starts from accepted: a request reaches it on a case its unit returned."""
    (case_id,) = ask(console, "c18")  # assigned last Saturday: still within the return window
    returned(console, case_id)
    plain = console.ids["c1"]  # accepted, no request
    app = console.app(lang="en", poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "x")
        assert isinstance(dialog, RejectDialog)
        assert lapse_line(dialog) == "The pending extension request (10 days) will lapse"
        await pilot.press("escape")
        await settle(pilot)
        app.pop_screen()
        dialog = await open_from_case_view(pilot, plain, "x")
        assert isinstance(dialog, RejectDialog)
        assert lapse_line(dialog) is None


@sync
async def test_the_merge_dialog_says_it_and_nothing_without_a_request(console: Console) -> None:
    (case_id,) = ask(console, "c2")
    plain = console.ids["c10"]  # assigned like it, no request
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "m")
        assert isinstance(dialog, MergeDialog)
        assert lapse_line(dialog) == "待批延期申请（10日）将随之失效"
        await pilot.press("escape")
        await settle(pilot)
        app.pop_screen()
        dialog = await open_from_case_view(pilot, plain, "m")
        assert isinstance(dialog, MergeDialog)
        assert lapse_line(dialog) is None


@sync
async def test_a_request_filed_while_the_dialog_is_open_is_shown_before_it_lapses(
    console: Console,
) -> None:
    """The unit asks for more time while the clerk's merge dialog is open: confirming is
    refused (the case changed), and the dialog comes back saying the request will lapse, so
    nothing lapses that the clerk was not told of."""
    case_id = console.ids["c10"]
    original = console.ids["c2"]
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await open_from_case_view(pilot, case_id, "m")
        assert isinstance(dialog, MergeDialog) and lapse_line(dialog) is None
        dialog.query_one("#query", Input).value = str(original)
        await pilot.pause(dialog.SEARCH_DELAY + 0.1)  # the search waits for typing to pause
        await settle(pilot)
        assert dialog.chosen is not None and dialog.chosen.id == original
        ask(console, "c10")
        await pilot.press("ctrl+s")
        await settle(pilot)
        again = app.screen
        assert isinstance(again, MergeDialog) and again is not dialog
        assert lapse_line(again) == "待批延期申请（10日）将随之失效"
        assert states(console, case_id) == ("assigned", ["requested"])  # nothing lapsed yet
        await pilot.pause(again.SEARCH_DELAY + 0.1)
        await settle(pilot)  # the reopened dialog searches again and keeps the choice
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, MergeDialog)
    assert states(console, case_id) == ("merged", ["lapsed"])
