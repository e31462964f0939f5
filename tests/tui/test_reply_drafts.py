"""A draft is never lost: escape stores every keystroke, or the composer stays open saying why.

Driven with Pilot over a real SQLite file; "elsewhere" is the real `caseworker` command in
another process, as a supervisor chasing the case would run it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from test_dialogs_support import (
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
    sync,
    top,
)
from textual.widgets import Checkbox, Static, TextArea
from textual.widgets._toast import Toast
from textual.worker import WorkerState

from caseworker.screens.dialogs.reply import ReplyComposer
from caseworker.store.models import ReplyRow


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory, bind_clerks: Callable[..., str]) -> Bureau:
    built = build_bureau(tmp_path_factory.mktemp("bureau"), rules_of_the_house())
    bind_clerks(built.database)  # the supervisor acts from the command line too
    return built


@pytest.fixture
def bureau(template: Bureau, tmp_path: Path) -> Bureau:
    return copy_bureau(template, tmp_path / "store")


def stored(bureau: Bureau, case_id: int) -> list[str]:
    from sqlmodel import select

    store = bureau.open()
    try:
        with store.session() as session:
            return [
                r.text for r in session.exec(select(ReplyRow).where(ReplyRow.case_id == case_id))
            ]
    finally:
        store.close()


def supervise_elsewhere(bureau: Bureau, case_id: int) -> None:
    """`caseworker case supervise` in its own process: the case's version moves under us."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "caseworker",
            "--db",
            str(bureau.database),
            "--clerk",
            SUPERVISOR,
            "--now",
            NOW.isoformat(),
            "case",
            "supervise",
            f"#{case_id}",
            "--level",
            "催办",
            "--note",
            "请尽快答复",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


def failed_workers(app: Any) -> list[Any]:
    return [w for w in app.workers if w.state is WorkerState.ERROR]


@sync
async def test_escape_right_after_a_change_elsewhere_keeps_every_keystroke(
    bureau: Bureau,
) -> None:
    case_id = bureau.cases["handling"]
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        assert isinstance(dialog, ReplyComposer)
        area = dialog.query_one("#text", TextArea)
        area.insert("正在核实")
        await pilot.pause()
        dialog.flush_autosave()  # what the timer does after a pause in typing
        await settle(pilot)
        assert "草稿已保存" in str(dialog.query_one("#saved", Static).render())
        supervise_elsewhere(bureau, case_id)
        area.insert("，三日内答复。")
        await pilot.press("escape")  # before the autosave timer could fire
        await settle(pilot)
        # The save met the supervisor's change: the composer stays open, says who, keeps all.
        assert app.screen is dialog
        error = str(dialog.query_one("#error", Static).render())
        assert SUPERVISOR in error and "（督办；现为“办理中”）" in error  # who, and what changed
        assert error.endswith(
            "请重新载入后再试。您的文字仍保留在此：按 Esc 或“保存草稿”即在此改动之上保存。"
        )
        assert area.text == "正在核实，三日内答复。"
        assert not failed_workers(app)
        assert not any("No nodes" in str(t.render()) for t in app.screen.query(Toast))
        await pilot.press("escape")  # told, the clerk saves over that change
        await settle(pilot)
        assert top(app) is app.host
        assert not failed_workers(app)
    app.services.store.close()
    assert stored(bureau, case_id) == ["正在核实，三日内答复。"]


@sync
async def test_escape_during_a_save_waits_for_it_and_stores_what_followed(
    bureau: Bureau,
) -> None:
    case_id = bureau.cases["handling"]
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        assert isinstance(dialog, ReplyComposer)
        area = dialog.query_one("#text", TextArea)
        area.insert("正在核实")
        await pilot.pause()
        dialog.flush_autosave()  # a save on its way ...
        area.insert("，已联系施工单位")  # ... more typed before it is answered ...
        await pilot.press("escape")  # ... and escape at once
        await settle(pilot)
        assert app.screen is app.host
        assert not failed_workers(app)
    app.services.store.close()
    assert stored(bureau, case_id) == ["正在核实，已联系施工单位"]


@sync
async def test_escape_with_nothing_typed_closes_at_once(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", bureau.cases["handling"])
        assert isinstance(dialog, ReplyComposer)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.host
    app.services.store.close()
    assert stored(bureau, bureau.cases["handling"]) == []


@sync
async def test_a_save_asked_for_during_another_goes_after_it_from_its_version(
    bureau: Bureau,
) -> None:
    """Two saves on their way at once left the composer with the first one's version, so the
    submit after them was refused as a conflict with the clerk's own second save."""
    case_id = bureau.cases["handling"]
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        assert isinstance(dialog, ReplyComposer)
        asked: list[Any] = []
        dialog.autosave = lambda composer, state: asked.append(state)  # answered below

        def store(state: Any) -> int:
            return app.services.autosave(
                case_id,
                text=state.text,
                final=state.final,
                outcome=state.outcome,
                expected_version=state.version,
            )

        dialog.query_one("#final", Checkbox).value = False
        dialog.query_one("#answered", Checkbox).value = True
        area = dialog.query_one("#text", TextArea)
        area.insert("正在核实")
        await pilot.pause()
        dialog.flush_autosave()  # the timer after a pause in typing
        area.insert("，三日内答复。")
        await pilot.pause()
        dialog.flush_autosave()  # the timer again, the first save still on its way
        assert [s.text for s in asked] == ["正在核实"]
        first = store(asked[0])
        dialog.draft_saved(asked[0], first, NOW)  # its answer: now the second one goes
        assert [s.text for s in asked] == ["正在核实", "正在核实，三日内答复。"]
        assert asked[1].version == first
        dialog.draft_saved(asked[1], store(asked[1]), NOW)
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is app.host
        assert app.host.refused == [] and app.host.changed == [case_id]
    app.services.store.close()
    assert stored(bureau, case_id) == ["正在核实，三日内答复。"]


@sync
async def test_a_bureau_clerk_is_refused_a_units_draft_before_the_composer_opens(
    bureau: Bureau,
) -> None:
    from caseworker.services import cases as svc

    case_id = bureau.cases["handling"]
    store = bureau.open()
    with store.session() as session:
        svc.draft_reply(session, bureau.desk(HANDLER), case_id, text="承办单位初稿")
    store.close()
    app = host_app(bureau)  # the bureau's clerk
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_dialog(pilot, "reply", case_id)
        assert screen is app.host
        (refusal,) = app.host.refused
        assert f"不能改写A3区教育局的{HANDLER}为案件" in refusal and "审核退回" in refusal
    app.services.store.close()
    assert stored(bureau, case_id) == ["承办单位初稿"]
