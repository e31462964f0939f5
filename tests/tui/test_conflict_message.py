"""A version conflict in the console says what changed, in local time, and whether confirming
again can work; the dialog comes back with what the clerk typed either way."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_dialogs_support import (
    CLERK,
    OTHER_CLERK,
    Bureau,
    build_bureau,
    copy_bureau,
    host_app,
    open_dialog,
    rules_of_the_house,
    settle,
    sync,
)
from textual.widgets import Input, Select, Static

from caseworker.screens.dialogs.reject import RejectDialog
from caseworker.services import cases as svc
from caseworker.store.models import CaseRow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Bureau:
    return build_bureau(tmp_path_factory.mktemp("bureau"), rules_of_the_house())


@pytest.fixture
def bureau(template: Bureau, tmp_path: Path) -> Bureau:
    return copy_bureau(template, tmp_path / "store")


@sync
async def test_a_change_that_rules_the_action_out_says_so_and_keeps_the_text(
    bureau: Bureau,
) -> None:
    app = host_app(bureau, clerk=CLERK)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reject", bureau.cases["new"])
        assert isinstance(dialog, RejectDialog)
        dialog.query_one("#reason", Select).value = "无实质内容"
        dialog.query_one("#text", Input).value = "留言仅有标题"
        await pilot.pause()
        # Meanwhile another clerk rejects the case first.
        store = bureau.open()
        with store.session() as session:
            svc.reject_case(session, bureau.desk(OTHER_CLERK), bureau.cases["new"], reason="重复")
        store.close()
        await pilot.press("ctrl+s")
        await settle(pilot)
        # Told who, when (Shanghai time, to the minute) and what, and that rejecting is no
        # longer possible; the dialog is back with the text typed, so nothing is lost.
        [told] = app.host.refused
        assert f"已被 {OTHER_CLERK} 于 " in told and "（不予受理；现为“不予受理”）" in told
        assert "已不能不予受理" in told and "再试" not in told
        assert re.search(r"于 \d{4}-\d\d-\d\d \d\d:\d\d 修改", told), told
        reopened = app.screen
        assert isinstance(reopened, RejectDialog) and reopened is not dialog
        assert reopened.query_one("#text", Input).value == "留言仅有标题"
        assert "已不能不予受理" in str(reopened.query_one("#error", Static).render())
    store = bureau.open()
    with store.session() as session:
        case = session.get(CaseRow, bureau.cases["new"])
        assert case is not None and case.updated_by == OTHER_CLERK
    store.close()
