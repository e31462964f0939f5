"""Back from a case, the queue's cursor is on that case, wherever its deadline moved it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

from console_data import CLERK, NOW, open_console
from sqlmodel import col, select
from textual.pilot import Pilot

from caseworker.clock import FrozenClock
from caseworker.screens.case import CaseScreen
from caseworker.services import cases as svc
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow
from caseworker.store.queries import QueueKey
from caseworker.widgets.case_table import CaseTable

SIZE = (120, 36)


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def _order(console: Any) -> list[int]:
    with console.store.session() as session:
        query = (
            select(CaseRow.id)
            .where(CaseRow.status == "received")
            .order_by(col(CaseRow.next_due_at), col(CaseRow.id))
        )
        return list(session.exec(query).all())


def test_the_cursor_follows_its_case_when_the_deadline_order_changed(
    tmp_path: Path, rules: Rules
) -> None:
    console = open_console(tmp_path, rules, count=8)
    desk = svc.Desk(rules=rules, clock=FrozenClock(NOW), clerk=CLERK)
    with console.store.session() as session:  # 待受理 holds 200 cases: two keyset pages
        for n in range(200):
            received = NOW - timedelta(hours=n * 3 % 300, minutes=n)
            new = svc.NewCase(
                channel="leader-board",
                title=f"第{n}件：路灯不亮",
                body="小区路灯坏了。",
                received_at=received,
                external_id=f"bulk-{n}",
            )
            session.add(svc.build_case(new, desk, CLERK))
    before = _order(console)

    async def drive() -> None:
        app = console.app(poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.screen.switch_queue(QueueKey.RECEIVED)
            await settle(pilot)
            table = app.screen.query_one(CaseTable)
            await pilot.press("down", "down", "down")
            opened = table.current
            assert opened is not None and opened.id == before[3]
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CaseScreen)
            # Meanwhile, elsewhere: the case was paused since soon after it arrived, and
            # resumed now. Its deadline moves past the hundred rows the queue had read.
            row_received = opened.received_at
            console.act(
                CLERK,
                row_received + timedelta(minutes=5),
                svc.pause_case,
                opened.id,
                reason="等待群众补充材料",
            )
            console.act(CLERK, NOW, svc.resume_case, opened.id)
            after = _order(console)
            assert after.index(opened.id) >= 100, after.index(opened.id)
            await pilot.press("escape")
            await settle(pilot)
            await pilot.press("ctrl+r")  # what the poll does when it sees the change
            await settle(pilot)
            assert table.current is not None and table.current.id == opened.id
            # The rows around it are the queue's, in order, and paging still works both ways.
            ids = [line.id for line in table.lines]
            start = after.index(ids[0])
            assert ids == after[start : start + len(ids)]
            await pilot.press("up")
            assert table.current is not None
            assert table.current.id == after[after.index(opened.id) - 1]

    try:
        asyncio.run(drive())
    finally:
        console.store.close()
