"""A supervisor's decision on an extension request, in the console: deny it with a reason.

Driven with Pilot through `start_action`, as the queue and the case view run it, on a real
SQLite store with a frozen clock; the case's extension, deadline and events are read back.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import col, select
from test_dialogs_support import (
    HANDLER,
    SUPERVISOR,
    Bureau,
    build_bureau,
    copy_bureau,
    host_app,
    open_dialog,
    rules_of_the_house,
    settle,
    sync,
)
from textual.widgets import Input, Static

from caseworker.screens.dialogs.extension import ExtensionApprovalDialog
from caseworker.services import cases as svc
from caseworker.store.models import CaseRow, EventRow, ExtensionRow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Bureau:
    return build_bureau(tmp_path_factory.mktemp("bureau"), rules_of_the_house())


@pytest.fixture
def bureau(template: Bureau, tmp_path: Path) -> Bureau:
    """The dialogs' test bureau, its handling case carrying a unit's request for 20 days."""
    bureau = copy_bureau(template, tmp_path / "store")
    store = bureau.open()
    try:
        with store.session() as session:
            svc.request_extension(
                session,
                bureau.desk(HANDLER),
                bureau.cases["handling"],
                days=20,
                reason="需现场勘查",
            )
    finally:
        store.close()
    return bureau


def read(bureau: Bureau) -> tuple[CaseRow, list[ExtensionRow], EventRow]:
    store = bureau.open()
    try:
        with store.session() as session:
            case_id = bureau.cases["handling"]
            case = session.get(CaseRow, case_id)
            assert case is not None
            extensions = list(
                session.exec(select(ExtensionRow).where(ExtensionRow.case_id == case_id)).all()
            )
            event = session.exec(
                select(EventRow)
                .where(EventRow.case_id == case_id)
                .order_by(col(EventRow.id).desc())
            ).first()
            assert event is not None
            return case, extensions, event
    finally:
        store.close()


def error_text(screen: object) -> str:
    assert isinstance(screen, ExtensionApprovalDialog)
    return str(screen.query_one("#error", Static).render())


@sync
async def test_a_supervisor_denies_the_request_with_a_reason(bureau: Bureau) -> None:
    before, _, _ = read(bureau)
    app = host_app(bureau, clerk=SUPERVISOR)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "approve_extension", bureau.cases["handling"])
        assert isinstance(dialog, ExtensionApprovalDialog)
        # Deny with no reason: refused in place, the dialog stays.
        await pilot.click("#deny")
        await settle(pilot)
        assert app.screen is dialog and "请说明不批准延期的理由" in error_text(dialog)
        field = dialog.query_one("#deny-reason", Input)
        field.value = "现场勘查可在期限内完成"
        # With a reason typed, approving is refused: the supervisor said no.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is dialog and "清空理由后再批准" in error_text(dialog)
        await pilot.click("#deny")
        await settle(pilot)
        assert app.screen is app.host and app.host.refused == []
    after, extensions, event = read(bureau)
    assert [(e.days, e.state) for e in extensions] == [(20, "denied")]
    assert after.close_due_at == before.close_due_at  # a denial moves nothing
    assert (event.actor, event.action, event.reason) == (
        SUPERVISOR,
        "deny_extension",
        "现场勘查可在期限内完成",
    )


@sync
async def test_enter_in_the_reason_denies_and_a_handler_is_told_the_role(bureau: Bureau) -> None:
    handler = host_app(bureau, clerk=HANDLER)
    async with handler.run_test(size=(120, 36)) as pilot:
        await open_dialog(pilot, "approve_extension", bureau.cases["handling"])
        assert handler.screen is handler.host and "督查" in handler.host.refused[0]
    handler.store.close()
    app = host_app(bureau, clerk=SUPERVISOR, lang="en")
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "approve_extension", bureau.cases["handling"])
        assert isinstance(dialog, ExtensionApprovalDialog)
        dialog.query_one("#deny-reason", Input).focus()
        await pilot.press(*"no need")
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is app.host and app.host.refused == []
    _, extensions, event = read(bureau)
    assert [e.state for e in extensions] == ["denied"]
    assert (event.action, event.reason) == ("deny_extension", "no need")
