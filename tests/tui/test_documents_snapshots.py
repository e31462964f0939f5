"""What the documents dialog looks like over a case, at 120x36, in Chinese and English."""

from __future__ import annotations

from typing import Any

import pytest
from console_data import Console
from sqlmodel import col, select
from textual.widgets import Input

from caseworker.screens.case import CaseScreen
from caseworker.store.models import CaseRow


def first_assigned(console: Console) -> int:
    with console.store.session() as session:
        case_id = session.exec(
            select(CaseRow.id)
            .where(CaseRow.status == "assigned", col(CaseRow.lead_unit_id).is_not(None))
            .order_by(col(CaseRow.id))
        ).first()
    assert case_id is not None
    return int(case_id)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_documents_dialog_snapshot(console: Console, snap_compare: Any, lang: str) -> None:
    case_id = first_assigned(console)

    async def open_dialog(pilot: Any) -> None:
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        pilot.app.push_screen(CaseScreen(case_id))
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press("l")
        for _ in range(3):
            await pilot.app.workers.wait_for_complete()
            await pilot.pause()
        # The file is named relative to the folder the console runs in: no local path shown.
        pilot.app.screen.query_one("#path", Input).value = "交办函-示例.docx"
        await pilot.pause()

    assert snap_compare(console.app(lang), terminal_size=(120, 36), run_before=open_dialog)
