"""The 待批延期 queue in the console: a supervisor sees the cases whose extension request
awaits a decision, with a live count, and decides them from the queue (Pilot, real SQLite,
frozen clock); the bureau's clerks, who cannot decide, are not shown the queue."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from console_data import CLERK, HANDLER, NOW, SUPERVISOR, Console
from sqlmodel import select
from textual.pilot import Pilot

from caseworker.screens.dialogs.extension import ExtensionApprovalDialog
from caseworker.screens.queue import QueueList, QueueScreen
from caseworker.services import cases as svc
from caseworker.store.models import ExtensionRow
from caseworker.store.queries import QueueKey
from caseworker.widgets.case_table import CaseTable

SIZE = (120, 36)


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def ask(console: Console, *names: str) -> list[int]:
    """Extension requests by the lead unit's handler on these (assigned) cases."""
    ids = [console.ids[name] for name in names]
    for case_id in ids:
        console.act(
            HANDLER,
            NOW - timedelta(hours=2),
            svc.request_extension,
            case_id,
            days=10,
            reason="需现场勘查",
        )
    return ids


def sidebar(app: Any) -> str:
    queues = app.screen.query_one(QueueList)
    return "\n".join(queues.render_line(y).text for y in range(queues.size.height))


def test_a_supervisor_decides_pending_extensions_from_their_queue(console: Console) -> None:
    waiting = ask(console, "c2", "c10")  # stage 2: assigned to C-HOUSING, not yet answered

    async def run() -> None:
        app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            screen = app.screen
            assert screen.query_one(QueueList).counts[QueueKey.EXTENSIONS] == 2
            assert any(
                "待批延期" in line and line.rstrip().endswith("2")
                for line in sidebar(app).splitlines()
            )
            # Tab walks the sidebar down to it, past 督办件.
            opening = list(QueueKey).index(screen.queue)  # 待交办
            for _ in range(list(QueueKey).index(QueueKey.EXTENSIONS) - opening):
                await pilot.press("tab")
                await settle(pilot)
            assert screen.queue is QueueKey.EXTENSIONS
            table = screen.query_one(CaseTable)
            assert {line.id for line in table.lines} == set(waiting)
            assert [line.key for line in table.lines] == sorted(line.key for line in table.lines)
            first = table.current
            assert first is not None
            # The extension dialog decides it from the queue: approved, the case leaves.
            await pilot.press("E")
            await settle(pilot)
            dialog = app.screen
            assert isinstance(dialog, ExtensionApprovalDialog) and dialog.case.id == first.id
            await pilot.press("ctrl+s")
            await settle(pilot)
            assert app.screen is screen
            assert [line.id for line in table.lines] == [c for c in waiting if c != first.id]
            assert screen.query_one(QueueList).counts[QueueKey.EXTENSIONS] == 1
            assert screen.shown_count == 1

    asyncio.run(run())
    with console.store.session() as session:
        states = {e.case_id: e.state for e in session.exec(select(ExtensionRow)).all()}
    assert sorted(states.values()) == ["approved", "requested"]


def test_the_bureaus_clerks_are_not_shown_the_queue(console: Console) -> None:
    ask(console, "c2")

    async def run() -> None:
        app = console.app(clerk=CLERK, poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            assert "待批延期" not in sidebar(app)
            screen = app.screen
            # Nor counted: the sidebar asks only for the queues it lists.
            counts = screen.query_one(QueueList).counts
            assert QueueKey.EXTENSIONS not in counts and QueueKey.SUPERVISED in counts
            screen.switch_queue(QueueKey.SUPERVISED)
            await settle(pilot)
            await pilot.press("tab")  # past 督办件 straight to 我的
            await settle(pilot)
            assert screen.queue is QueueKey.MINE

    asyncio.run(run())


def test_pending_extensions_snapshot(console: Console, snap_compare: Any) -> None:
    """A supervisor on 待批延期: the queue in the sidebar after 督办件 with its count, and the
    two cases whose request waits, nearest deadline first."""
    ask(console, "c2", "c10")

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        screen = pilot.app.screen
        assert isinstance(screen, QueueScreen)
        screen.switch_queue(QueueKey.EXTENSIONS)
        await settle(pilot)

    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
