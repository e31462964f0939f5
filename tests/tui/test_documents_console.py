"""The documents dialog in the console: `l` on a case writes its letters, `b` on the supervisor
screen the bulletin of the period shown; each in a worker, the number shown before and the path
after, on the console tests' bureau (a real SQLite store, the clock frozen at NOW)."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from console_data import CLERK, Console
from docx import Document
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Button, Input, Select, Static

from caseworker.screens.case import CaseScreen
from caseworker.screens.dialogs.documents import DocumentsDialog
from caseworker.store.models import CaseRow, EventRow


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(4):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def shown(dialog: DocumentsDialog, selector: str) -> str:
    return str(dialog.query_one(selector, Static).render())


def an_assigned_case(console: Console, *, overdue: bool) -> CaseRow:
    from console_data import NOW

    from caseworker.domain.calendar import SHANGHAI

    with console.store.session() as session:
        rows: list[CaseRow] = list(
            session.exec(
                select(CaseRow)
                .where(CaseRow.status == "assigned", col(CaseRow.lead_unit_id).is_not(None))
                .order_by(col(CaseRow.id))
            ).all()
        )
    for row in rows:
        late = row.reply_due_at.astimezone(SHANGHAI) < NOW
        if late == overdue:
            return row
    pytest.skip("the console bureau has no such case")


@sync
async def test_l_writes_a_letter_and_shows_its_number_and_path(
    console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    case = an_assigned_case(console, overdue=False)
    app = console.app("zh")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.push_screen(CaseScreen(case.id or 0))
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DocumentsDialog)
        assert "江信交〔2025〕1号（新编号）" in shown(dialog, "#number")
        path = dialog.query_one("#path", Input)
        assert path.value == str(tmp_path / f"交办函-{case.external_id}.docx")
        assert dialog.query_one("#copy", Button).disabled
        # 督办函: this case is not late, so it says why and cannot be written.
        dialog.query_one("#kind", Select).value = "supervise"
        await settle(pilot)
        assert "未超期" in shown(dialog, "#number")
        assert dialog.query_one("#confirm", Button).disabled
        dialog.query_one("#kind", Select).value = "assign"
        await settle(pilot)
        target = tmp_path / "letters" / "交办函.docx"
        target.parent.mkdir()
        path.value = str(target)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert f"江信交〔2025〕1号 已写入 {target}" in shown(dialog, "#status")
        assert "江信交〔2025〕1号（沿用原文号）" in shown(dialog, "#number")
        assert target.exists() and "江信交〔2025〕1号" in [
            p.text for p in Document(str(target)).paragraphs
        ]
        assert not dialog.query_one("#copy", Button).disabled
        await pilot.click("#copy")
        await pilot.pause()
        assert app.clipboard == str(target)
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
    with console.store.session() as session:
        issued = session.exec(
            select(EventRow).where(EventRow.case_id == case.id, EventRow.action == "issue_document")
        ).all()
    assert [(e.actor, e.reason, json.loads(e.detail or "{}")["kind"]) for e in issued] == [
        (CLERK, "江信交〔2025〕1号", "assign")
    ]


@sync
async def test_a_refused_write_is_said_in_the_dialog(
    console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    case = an_assigned_case(console, overdue=False)
    app = console.app("en")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        app.push_screen(CaseScreen(case.id or 0))
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DocumentsDialog)
        dialog.query_one("#path", Input).value = str(tmp_path / "no-such-folder" / "x.docx")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "does not exist" in shown(dialog, "#status")
        assert isinstance(app.screen, DocumentsDialog)  # still open, nothing numbered


@sync
async def test_b_on_the_supervisor_screen_writes_the_bulletin_of_the_period_shown(
    console: Console, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    app = console.app("zh")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("p")  # month -> quarter
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DocumentsDialog)
        assert "江信通〔2025〕1号" in shown(dialog, "#number")
        path = dialog.query_one("#path", Input)
        assert path.value == str(tmp_path / "通报-季考核-2025-10-01.docx")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "已写入" in shown(dialog, "#status")
    text = [p.text for p in Document(str(tmp_path / "通报-季考核-2025-10-01.docx")).paragraphs]
    assert "2025年第4季度网上群众工作季考核" in text
