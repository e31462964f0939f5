"""A refused action reads in the console's language: zh in a zh console, en in an en one.

Driven from the real queue and case view with Pilot on a store filled through the services; the
notice the clerk sees (the toast) and the line in a re-opened dialog are both checked, and the
database shows nothing was half done.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from console_data import CLERK, NOW, SUPERVISOR, Console
from textual.message import Message
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from textual.widgets._toast import Toast

from caseworker.screens.case import CaseScreen
from caseworker.screens.dialogs.reject import RejectDialog
from caseworker.screens.messages import ActionRefused
from caseworker.services import cases as svc
from caseworker.store.models import CaseRow
from caseworker.store.queries import QueueKey
from caseworker.widgets.case_table import CaseTable

SIZE = (120, 36)

# What each refusal says, by language: fragments the notice must contain.
EXPECT = {
    "zh": {
        "illegal": ["当前为“待交办”，不能办结；现在可以：不予受理、交办"],
        "denied": [f"{CLERK}（受理/交办人员）无权对案件", "执行“批准延期”；需要：督查/领导"],
        "conflict": [f"已被 {SUPERVISOR} 于 ", " 修改（督办；现为“待交办”）；请重新载入后再试"],
        "missing": ["请选择理由。"],
    },
    "en": {
        "illegal": ["is accepted: cannot close; allowed now: reject, assign"],
        "denied": [f"{CLERK} (clerk) may not approve_extension case", "; needs: supervisor"],
        "conflict": [f"was changed by {SUPERVISOR} at ", "(supervise; now accepted); reload"],
        "missing": ["Choose a reason."],
    },
}


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and its messages land (no sleeping on a guess)."""
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def queue_of(pilot: Pilot[Any]) -> QueueKey:
    screen: Any = pilot.app.screen
    queue: QueueKey = screen.queue
    return queue


def toasts(pilot: Pilot[Any]) -> list[str]:
    return [str(toast.render()) for toast in pilot.app.screen.query(Toast)]


def status_of(console: Console, case_id: int) -> tuple[str, int]:
    with console.store.session() as session:
        row = session.get(CaseRow, case_id)
        assert row is not None
        return row.status, row.version


def says(text: str, lang: str, what: str) -> None:
    for fragment in EXPECT[lang][what]:
        assert fragment in text, (fragment, text)
    if lang == "zh":  # no English words left, apart from the case label's external id
        words = text.split("(")[0] + text.split(")")[-1]
        assert not any(word in words for word in ("case", "cannot", "may not", "reload")), text


async def drive(console: Console, lang: str) -> None:
    refused: list[str] = []
    seen: list[Message] = []

    def hook(message: Message) -> None:  # a bubbling message is seen at each node it passes
        if isinstance(message, ActionRefused) and not any(m is message for m in seen):
            seen.append(message)
            refused.append(message.text)

    app = console.app(lang=lang, poll_seconds=3600)
    async with app.run_test(size=SIZE, message_hook=hook, notifications=True) as pilot:
        await settle(pilot)
        assert queue_of(pilot) is QueueKey.ACCEPTED
        current = app.screen.query_one(CaseTable).current
        assert current is not None
        accepted = current.id
        before = status_of(console, accepted)

        # An illegal transition from the queue: a notice, no dialog, nothing changed.
        await pilot.press("c")
        await settle(pilot)
        assert len(refused) == 1
        says(refused[-1], lang, "illegal")
        assert refused[-1] in toasts(pilot)
        assert queue_of(pilot) is QueueKey.ACCEPTED
        assert status_of(console, accepted) == before

        # A missing permission: a clerk may not approve an extension.
        await pilot.press("tab")
        await settle(pilot)
        assert queue_of(pilot) is QueueKey.HANDLING
        await pilot.press("E")
        await settle(pilot)
        assert len(refused) == 2
        says(refused[-1], lang, "denied")
        assert refused[-1] in toasts(pilot)

        # From the case view: a version conflict says who changed the case and when.
        await pilot.press("shift+tab")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.case_id == accepted
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RejectDialog)

        # Confirming without a reason is refused in place, in the console's language.
        await pilot.press("ctrl+s")
        await pilot.pause()
        error = str(dialog.query_one("#error", Static).render())
        says(error, lang, "missing")
        assert app.screen is dialog

        dialog.query_one("#reason", Select).value = "无实质内容"
        dialog.query_one("#text", Input).value = "留言无具体诉求"
        await pilot.pause()
        console.act(SUPERVISOR, NOW, svc.supervise_case, accepted, level="催办", note="请尽快")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(refused) == 3
        says(refused[-1], lang, "conflict")
        assert refused[-1] in toasts(pilot)
        reopened = app.screen
        assert isinstance(reopened, RejectDialog) and reopened is not dialog
        assert str(reopened.query_one("#error", Static).render()) == refused[-1]
        assert reopened.query_one("#text", Input).value == "留言无具体诉求"
        assert status_of(console, accepted)[0] == "accepted"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_refusals_speak_the_console_language(console: Console, lang: str) -> None:
    asyncio.run(drive(console, lang))
