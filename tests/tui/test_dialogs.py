"""Every case dialog driven end to end with Pilot, and the database checked afterwards.

Each test runs `start_action` exactly as the queue and case view do, on a real SQLite store in
tmp_path with a frozen clock, then reads back the case's state, deadlines and events.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from test_dialogs_support import (
    CLERK,
    HANDLER,
    NOW,
    OTHER_CLERK,
    SUPERVISOR,
    Bureau,
    HostApp,
    build_bureau,
    copy_bureau,
    host_app,
    open_dialog,
    rules_of_the_house,
    settle,
    sync,
    top,
)
from textual.widgets import (
    Button,
    Checkbox,
    Input,
    OptionList,
    RadioSet,
    Select,
    Static,
    TextArea,
)

from caseworker.domain.calendar import SHANGHAI
from caseworker.screens.dialogs.assign import AssignDialog
from caseworker.screens.dialogs.extension import ExtensionApprovalDialog, ExtensionRequestDialog
from caseworker.screens.dialogs.instruction import InstructionDialog
from caseworker.screens.dialogs.merge import MergeDialog
from caseworker.screens.dialogs.note import NoteDialog
from caseworker.screens.dialogs.rating import RatingDialog
from caseworker.screens.dialogs.reject import RejectDialog
from caseworker.screens.dialogs.reply import ReplyComposer
from caseworker.screens.dialogs.review import ReviewDialog
from caseworker.screens.dialogs.supervise import SuperviseDialog
from caseworker.services import cases as svc
from caseworker.store.models import (
    CaseRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    InstructionRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Bureau:
    return build_bureau(tmp_path_factory.mktemp("bureau"), rules_of_the_house())


@pytest.fixture
def bureau(template: Bureau, tmp_path: Path) -> Bureau:
    return copy_bureau(template, tmp_path / "store")


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def case(bureau: Bureau, name: str) -> CaseRow:
    store = bureau.open()
    try:
        with store.session() as session:
            row = session.get(CaseRow, bureau.cases[name])
            assert row is not None
            return row
    finally:
        store.close()


def last_event(bureau: Bureau, name: str) -> EventRow:
    store = bureau.open()
    try:
        with store.session() as session:
            row = session.exec(
                select(EventRow)
                .where(EventRow.case_id == bureau.cases[name])
                .order_by(col(EventRow.id).desc())
            ).first()
            assert row is not None
            return row
    finally:
        store.close()


def rows(bureau: Bureau, model: Any, name: str) -> list[Any]:
    store = bureau.open()
    try:
        with store.session() as session:
            return list(
                session.exec(select(model).where(model.case_id == bureau.cases[name])).all()
            )
    finally:
        store.close()


def error_text(screen: Any) -> str:
    return str(screen.query_one("#error", Static).render())


async def type_into(pilot: Any, selector: str, text: str) -> None:
    widget = pilot.app.screen.query_one(selector)
    widget.focus()
    await pilot.pause()
    if isinstance(widget, TextArea):
        widget.insert(text)
    else:
        widget.value = text
    await pilot.pause()


# ---------------------------------------------------------------- assign


@sync
async def test_assign_refuses_in_place_then_assigns_lead_and_co_unit(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "assign", bureau.cases["accepted"])
        assert isinstance(dialog, AssignDialog)
        # Candidates show open cases and 按期办结率 over the close deadlines of the last 90 days.
        edu = next(u for u in dialog.data.units if u.code == "A3-EDU")
        assert edu.open_cases == 5 and (edu.close_due, edu.closed_on_time) == (3, 2)
        assert edu.depth == 2 and edu.path == "A市人民政府 / A3区人民政府 / A3区教育局"
        # The deadline preview is the reply and close deadline of the case as it stands.
        stages = {d.stage: d.due_at for d in dialog.data.deadlines}
        row = case(bureau, "accepted")
        assert stages == {"reply": row.reply_due_at, "close": row.close_due_at}
        assert "首次答复" in str(dialog.query_one("#preview", Static).render())

        await pilot.press("ctrl+s")  # nothing chosen yet
        assert "牵头单位" in error_text(dialog)
        assert top(app) is dialog

        await type_into(pilot, "#unit-search", "教育")
        assert [u.code for u in dialog.shown] == ["A3-EDU"]
        await pilot.press("ctrl+o")  # add 教育局 as a co-unit ...
        dialog.query_one("#unit-search", Input).focus()
        await pilot.press("enter")  # ... and as the lead: refused in place
        await pilot.press("ctrl+s")
        assert "协办单位“A3区教育局”与牵头单位相同" in error_text(dialog)
        assert app.screen is dialog

        await pilot.click("#clear-co")
        await type_into(pilot, "#unit-search", "自然资源")
        await pilot.press("ctrl+o")
        await type_into(pilot, "#note", "请核实周边学校规划，10个工作日内答复网民。")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is app.host
        assert app.host.changed == [bureau.cases["accepted"]]

    after = case(bureau, "accepted")
    assert after.status == "assigned"
    assert after.assigned_at == NOW
    assert after.assign_due_at == row.assign_due_at  # stopped clock keeps its deadline
    assert after.next_due_at == after.reply_due_at == row.reply_due_at
    event = last_event(bureau, "accepted")
    assert (event.actor, event.action, event.from_status, event.to_status) == (
        CLERK,
        "assign",
        "accepted",
        "assigned",
    )
    assert event.reason == "请核实周边学校规划，10个工作日内答复网民。"
    assert event.detail is not None and "A3区自然资源局" in event.detail
    co = rows(bureau, CoUnit, "accepted")
    store = bureau.open()
    with store.session() as session:
        land = session.exec(select(Unit).where(Unit.code == "A3-LAND")).one()
        edu_unit = session.exec(select(Unit).where(Unit.code == "A3-EDU")).one()
    store.close()
    assert [c.unit_id for c in co] == [land.id]
    assert after.lead_unit_id == edu_unit.id


@sync
async def test_assign_unit_search_is_visible_and_enter_keeps_a_chosen_lead(bureau: Bureau) -> None:
    """The queue's hidden #search rule once hid the dialog's box (same id); and Enter in the box
    after a lead was chosen moved the lead to whatever the new search highlighted."""
    from textual.widgets import OptionList

    import caseworker
    from caseworker.config import Settings

    class StyledHost(HostApp):  # with the console's own app-wide styles, where the rule was
        CSS_PATH = str(Path(caseworker.__file__).parent / "app.tcss")

    settings = Settings(database=str(bureau.database), clerk=CLERK, language="zh", now=NOW)
    app = StyledHost(settings, bureau.open(), bureau.rules)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "assign", bureau.cases["accepted"])
        assert isinstance(dialog, AssignDialog)
        box = dialog.query_one("#unit-search", Input)
        assert box.display and box.region.height >= 1 and box.has_focus
        await type_into(pilot, "#unit-search", "教育")
        await pilot.press("enter")  # no lead yet: Enter makes it the lead
        assert dialog.lead is not None and dialog.lead.code == "A3-EDU"
        await type_into(pilot, "#unit-search", "自然资源")
        await pilot.press("enter")  # a lead is chosen: Enter goes to the list, lead unchanged
        assert dialog.lead.code == "A3-EDU"
        assert dialog.query_one("#candidates", OptionList).has_focus
        await pilot.press("ctrl+o")
        assert [u.code for u in dialog.co_units] == ["A3-LAND"]
        assert dialog.lead.code == "A3-EDU"


# ---------------------------------------------------------------- accept / reject


@sync
async def test_accept_with_a_note(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "accept", bureau.cases["new"])
        assert isinstance(dialog, NoteDialog)
        await type_into(pilot, "#note", "属本级受理范围")
        await pilot.press("enter")
        await settle(pilot)
        assert app.host.changed == [bureau.cases["new"]]
    after = case(bureau, "new")
    assert after.status == "accepted"
    event = last_event(bureau, "new")
    assert (event.actor, event.action, event.reason) == (CLERK, "accept", "属本级受理范围")


@sync
async def test_reject_needs_a_listed_reason(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reject", bureau.cases["new"])
        assert isinstance(dialog, RejectDialog)
        await type_into(pilot, "#text", "与第4件为同一网民同一问题")
        await pilot.press("enter")
        assert error_text(dialog) == "请选择理由。"  # the reason is chosen, the note is typed
        assert app.screen is dialog and case(bureau, "new").status == "received"
        dialog.query_one("#reason", Select).value = "重复"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
    after = case(bureau, "new")
    assert after.status == "rejected" and after.closed_at == NOW
    event = last_event(bureau, "new")
    assert (event.actor, event.action) == (CLERK, "reject")
    assert event.reason == "重复：与第4件为同一网民同一问题"


@sync
async def test_a_version_conflict_says_who_and_keeps_the_text(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reject", bureau.cases["new"])
        dialog.query_one("#reason", Select).value = "无实质内容"
        await type_into(pilot, "#text", "留言仅有标题，无具体诉求")
        # Meanwhile another clerk accepts the case in another session.
        store = bureau.open()
        with store.session() as session:
            svc.accept_case(session, bureau.desk(OTHER_CLERK), bureau.cases["new"])
        store.close()
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert len(app.host.refused) == 1 and OTHER_CLERK in app.host.refused[0]
        reopened = app.screen
        assert isinstance(reopened, RejectDialog) and reopened is not dialog
        assert reopened.query_one("#text", Input).value == "留言仅有标题，无具体诉求"
        assert reopened.query_one("#reason", Select).value == "无实质内容"
        assert OTHER_CLERK in error_text(reopened)
        # Rejecting from "accepted" is allowed: confirming again applies it to the new version.
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is app.host
    after = case(bureau, "new")
    assert after.status == "rejected"
    assert [e.actor for e in rows(bureau, EventRow, "new")][-2:] == [OTHER_CLERK, CLERK]


@sync
async def test_an_illegal_action_is_a_notice_not_a_dialog(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_dialog(pilot, "accept", bureau.cases["closed"])
        assert screen is app.host
        assert len(app.host.refused) == 1 and "不能受理" in app.host.refused[0]
    assert case(bureau, "closed").status == "closed"


@sync
async def test_reopening_without_a_dissatisfied_rating_is_a_notice_not_a_dialog(
    bureau: Bureau,
) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_dialog(pilot, "reopen", bureau.cases["replied"])  # not rated
        assert screen is app.host
        assert len(app.host.refused) == 1
        assert "不能重办" in app.host.refused[0] and "“不满意”" in app.host.refused[0]
    assert case(bureau, "replied").status == "replied"


@sync
async def test_a_reply_under_review_opens_no_composer(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_dialog(pilot, "reply", bureau.cases["submitted"])
        assert screen is app.host
        assert len(app.host.refused) == 1 and "正在等待审核" in app.host.refused[0]
    (reply,) = rows(bureau, ReplyRow, "submitted")
    assert reply.state == "submitted" and reply.text.startswith("网友“A0009647”您好！")


@sync
async def test_a_handler_may_not_reject(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dialog(pilot, "reject", bureau.cases["new"])
        assert app.screen is app.host
        # Refused before any dialog opens, in the words the reject itself would use
        # (services.cases.check_allowed): a case outside their unit is refused as such, and
        # nothing more (its state, what the role may do) is said of it.
        assert "无权查看案件" in app.host.refused[0]


# ---------------------------------------------------------------- replies


@sync
async def test_reply_template_checks_and_submit(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", bureau.cases["handling"])
        assert isinstance(dialog, ReplyComposer)
        dialog.autosave = None  # this test is about the checks; autosave has its own test
        await pilot.press("ctrl+s")
        assert "为空" in error_text(dialog)

        dialog.query_one("#template", Select).value = "04-not-support"
        await pilot.pause()
        text = dialog.query_one("#text", TextArea).text
        handling = case(bureau, "handling")
        assert handling.author is not None
        assert handling.title in text and handling.author in text and "A3区教育局" in text
        assert "2025年11月20日" in text and "{policy}" in text
        assert dialog.query_one("#outcome", Select).value == "不支持"
        checks = str(dialog.query_one("#checks", Static).render())
        assert "✗ 无未填占位符 {policy}" in checks and "✓ 不为空" in checks
        await pilot.press("ctrl+s")
        assert "{policy}" in error_text(dialog)

        area = dialog.query_one("#text", TextArea)
        area.load_text(text.replace("{policy}", "《A市中小学校布局规划》"))
        area.insert("\n联系电话13812345678")
        await pilot.pause()
        checks = str(dialog.query_one("#checks", Static).render())
        assert "✓ 无未填占位符" in checks and "! 无电话/身份证号 138…78" in checks
        await pilot.press("ctrl+s")
        assert "逐项" in error_text(dialog)  # the clerk's own tick is still missing
        dialog.query_one("#answered", Checkbox).value = True
        await pilot.pause()
        await pilot.press("ctrl+s")  # a phone number warns, it does not block
        await settle(pilot)
        assert app.screen is app.host

    replies = rows(bureau, ReplyRow, "handling")
    assert [(r.state, r.final, r.outcome) for r in replies] == [("submitted", True, "不支持")]
    assert "《A市中小学校布局规划》" in replies[0].text
    actions = [(e.actor, e.action) for e in rows(bureau, EventRow, "handling")][-2:]
    assert actions == [(HANDLER, "draft_reply"), (HANDLER, "submit_reply")]
    assert case(bureau, "handling").status == "acknowledged"


@sync
async def test_a_draft_is_autosaved_and_restored_after_a_restart(bureau: Bureau) -> None:
    ReplyComposer.AUTOSAVE_DELAY = 0.05
    typed = "网友您好！您反映的问题已收悉，我局正在调查核实。"
    app = host_app(bureau, clerk=HANDLER)
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            dialog = await open_dialog(pilot, "reply", bureau.cases["handling"])
            dialog.query_one("#final", Checkbox).value = False
            await type_into(pilot, "#text", typed)
            await pilot.pause(0.2)  # let the debounce timer fire once
            await settle(pilot)
            assert "草稿已保存" in str(dialog.query_one("#saved", Static).render())
            # The terminal goes away with the composer still open.
    finally:
        ReplyComposer.AUTOSAVE_DELAY = 1.5
        app.services.store.close()
    drafts = rows(bureau, ReplyRow, "handling")
    assert [(d.state, d.text, d.final) for d in drafts] == [("draft", typed, False)]

    again = host_app(bureau, clerk=HANDLER)
    async with again.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", bureau.cases["handling"])
        assert dialog.query_one("#text", TextArea).text == typed
        assert dialog.query_one("#final", Checkbox).value is False
        assert "已恢复草稿" in str(dialog.query_one("#saved", Static).render())
        await pilot.press("escape")  # nothing changed: nothing saved again
        await settle(pilot)
    again.store.close()
    assert len([e for e in rows(bureau, EventRow, "handling") if e.action == "draft_reply"]) == 1


@sync
async def test_autosaves_of_one_drafting_session_are_one_event_in_the_history(
    bureau: Bureau,
) -> None:
    """A supervisor reads "drafted, submitted", not one line per pause in the typing."""
    case_id = bureau.cases["handling"]

    def drafts() -> list[EventRow]:
        return [e for e in rows(bureau, EventRow, "handling") if e.action == "draft_reply"]

    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        assert isinstance(dialog, ReplyComposer)
        versions = [dialog.version]
        for part in ("正在核实", "，已联系施工单位", "，三日内答复。"):
            await type_into(pilot, "#text", part)
            dialog.flush_autosave()
            await settle(pilot)
            versions.append(dialog.version)
        assert "草稿已保存" in str(dialog.query_one("#saved", Static).render())
    app.services.store.close()
    # Every save was stored, and moved the case's version (so conflicts are still caught) ...
    assert [r.text for r in rows(bureau, ReplyRow, "handling")] == [
        "正在核实，已联系施工单位，三日内答复。"
    ]
    assert versions == sorted(set(versions)) and len(versions) == 4
    # ... but the history shows one drafting session.
    assert [(e.actor, e.effective_at) for e in drafts()] == [(HANDLER, NOW)]

    # Reopened after a restart, the draft is there; going on with it is the same session.
    again = host_app(bureau, clerk=HANDLER)
    async with again.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        area = dialog.query_one("#text", TextArea)
        assert area.text == "正在核实，已联系施工单位，三日内答复。"
        area.move_cursor(area.document.end)
        await type_into(pilot, "#text", "特此答复。")
        dialog.query_one("#answered", Checkbox).value = True
        dialog.query_one("#final", Checkbox).value = False
        await pilot.pause()
        dialog.flush_autosave()
        await settle(pilot)
        assert len(drafts()) == 1
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert again.screen is again.host
    again.store.close()
    events = [(e.actor, e.action) for e in rows(bureau, EventRow, "handling")][-2:]
    assert events == [(HANDLER, "draft_reply"), (HANDLER, "submit_reply")]
    (reply,) = rows(bureau, ReplyRow, "handling")
    assert reply.state == "submitted"
    assert reply.text == "正在核实，已联系施工单位，三日内答复。特此答复。"

    # Someone else acting on the case in between makes the next save a new session.
    store = bureau.open()
    with store.session() as session:
        svc.send_back_reply(session, bureau.desk(CLERK), case_id, note="请写明完成时间")
        svc.draft_reply(session, bureau.desk(HANDLER), case_id, text="已于11月18日完成。")
        svc.draft_reply(session, bureau.desk(HANDLER), case_id, text="已于11月18日完成整改。")
    store.close()
    assert len(drafts()) == 2


@sync
async def test_escape_saves_the_draft_and_an_autosave_conflict_keeps_the_text(
    bureau: Bureau,
) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", bureau.cases["handling"])
        store = bureau.open()
        with store.session() as session:  # a supervisor chases the case meanwhile
            svc.supervise_case(
                session,
                bureau.desk(SUPERVISOR),
                bureau.cases["handling"],
                level="催办",
                note="请尽快答复",
            )
        store.close()
        await type_into(pilot, "#text", "正在核实")
        dialog.flush_autosave()
        await settle(pilot)
        assert SUPERVISOR in error_text(dialog)
        assert dialog.query_one("#text", TextArea).text == "正在核实"
        assert rows(bureau, ReplyRow, "handling") == []
        await type_into(pilot, "#text", "，三日内答复。")
        await pilot.press("escape")  # the next save goes over the change it was told about
        await settle(pilot)
        assert app.screen is app.host
    assert [r.text for r in rows(bureau, ReplyRow, "handling")] == ["正在核实，三日内答复。"]


@sync
async def test_review_sends_back_then_publishes(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "review", bureau.cases["submitted"])
        assert isinstance(dialog, ReviewDialog)
        assert dialog.query_one("#draft", TextArea).read_only
        for button in dialog.query(Button):  # however long a press effect, a refusal re-arms
            button.active_effect_duration = 3600
        await pilot.click("#send-back")
        assert "意见" in error_text(dialog)
        await type_into(pilot, "#note", "请补充整改完成时间")
        await pilot.click("#send-back")
        await settle(pilot)
        assert app.screen is app.host
    reply = rows(bureau, ReplyRow, "submitted")[0]
    assert (reply.state, reply.review_note) == ("sent_back", "请补充整改完成时间")
    assert (last_event(bureau, "submitted").actor, last_event(bureau, "submitted").action) == (
        CLERK,
        "send_back",
    )

    # The handler sees the note, fixes the draft and submits again; the clerk publishes.
    handler = host_app(bureau, clerk=HANDLER)
    async with handler.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", bureau.cases["submitted"])
        assert "请补充整改完成时间" in str(dialog.query_one("#review-note", Static).render())
        dialog.query_one("#text", TextArea).insert("整改已于11月18日完成。\n")
        dialog.query_one("#answered", Checkbox).value = True
        await pilot.pause()
        await pilot.press("ctrl+s")
        await settle(pilot)
    handler.store.close()
    clerk = host_app(bureau)
    async with clerk.run_test(size=(120, 36)) as pilot:
        await open_dialog(pilot, "review", bureau.cases["submitted"])
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert clerk.host.changed == [bureau.cases["submitted"]]
    after = case(bureau, "submitted")
    assert after.status == "replied" and after.replied_at == NOW
    published = rows(bureau, ReplyRow, "submitted")[0]
    assert published.state == "published" and published.text.startswith("整改已于11月18日完成。")
    assert (last_event(bureau, "submitted").actor, last_event(bureau, "submitted").action) == (
        CLERK,
        "publish",
    )


@sync
async def test_a_submit_during_an_autosave_waits_for_it_instead_of_conflicting(
    bureau: Bureau,
) -> None:
    """The race behind a rare failure: the autosave timer fires, its worker stores the draft
    (the case's version moves), and ctrl+s comes before the worker's answer reaches the
    composer. The submit must not carry the version from before the clerk's own save."""
    case_id = bureau.cases["handling"]
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "reply", case_id)
        assert isinstance(dialog, ReplyComposer)
        stored: list[tuple[Any, int]] = []

        def save_but_answer_later(composer: ReplyComposer, state: Any) -> None:
            version = app.services.autosave(  # the worker's save, already committed
                case_id,
                text=state.text,
                final=state.final,
                outcome=state.outcome,
                expected_version=state.version,
            )
            stored.append((state, version))

        dialog.autosave = save_but_answer_later
        dialog.query_one("#final", Checkbox).value = False
        dialog.query_one("#answered", Checkbox).value = True
        await type_into(pilot, "#text", "正在核实，三日内答复。")
        dialog.flush_autosave()  # what the timer does
        assert len(stored) == 1 and stored[0][1] != dialog.version
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert top(app) is dialog  # waiting for the save's answer, not submitting stale
        assert [r.state for r in rows(bureau, ReplyRow, "handling")] == ["draft"]

        state, version = stored[0]
        dialog.draft_saved(state, version, NOW)  # the worker's answer arrives
        await settle(pilot)
        assert top(app) is app.host
        assert app.host.refused == [] and app.host.changed == [case_id]
    (reply,) = rows(bureau, ReplyRow, "handling")
    assert (reply.state, reply.text) == ("submitted", "正在核实，三日内答复。")
    actions = [(e.actor, e.action) for e in rows(bureau, EventRow, "handling")][-2:]
    assert actions == [(HANDLER, "draft_reply"), (HANDLER, "submit_reply")]


# ---------------------------------------------------------------- the other dialogs


@sync
async def test_return_by_the_unit(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=HANDLER)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "return", bureau.cases["handling"])
        assert isinstance(dialog, NoteDialog)
        await pilot.press("ctrl+s")
        assert "理由" in error_text(dialog)
        await type_into(pilot, "#note", "该事项属A3区住房和城乡建设局职责")
        await pilot.press("enter")
        await settle(pilot)
    after = case(bureau, "handling")
    assert after.status == "accepted" and after.lead_unit_id is None
    assert after.assign_started_at == NOW
    event = last_event(bureau, "handling")
    assert (event.actor, event.action, event.reason) == (
        HANDLER,
        "return",
        "该事项属A3区住房和城乡建设局职责",
    )


@sync
async def test_close_rate_and_reopen(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dialog(pilot, "close", bureau.cases["replied"])
        await pilot.press("ctrl+s")
        await settle(pilot)
        dialog = await open_dialog(pilot, "rate", bureau.cases["replied"])
        assert isinstance(dialog, RatingDialog)
        await pilot.press("ctrl+s")
        assert "评价" in error_text(dialog)
        radio = dialog.query_one("#value", RadioSet)
        radio.focus()
        await pilot.press("right", "right", "enter")  # 不满意
        await type_into(pilot, "#comment", "问题没有解决")
        await pilot.press("ctrl+s")
        await settle(pilot)
        await open_dialog(pilot, "reopen", bureau.cases["replied"])
        await type_into(pilot, "#note", "网民不满意，重新办理")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.host.refused == []
    ratings = rows(bureau, RatingRow, "replied")
    assert [(r.value, r.comment) for r in ratings] == [("不满意", "问题没有解决")]
    after = case(bureau, "replied")
    assert after.status == "acknowledged" and after.clock_started_at == NOW
    assert after.closed_at is None and after.reply_due_at > NOW
    actions = [(e.actor, e.action) for e in rows(bureau, EventRow, "replied")][-3:]
    assert actions == [(CLERK, "close"), (CLERK, "rate"), (CLERK, "reopen")]


@sync
async def test_extension_request_and_approval_move_the_close_deadline(bureau: Bureau) -> None:
    handler = host_app(bureau, clerk=HANDLER)
    async with handler.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "extend", bureau.cases["handling"])
        assert isinstance(dialog, ExtensionRequestDialog)
        await type_into(pilot, "#days", "45")
        await type_into(pilot, "#reason", "需现场勘查")
        await pilot.press("ctrl+s")
        assert "1 至 30 日" in error_text(dialog)
        await type_into(pilot, "#days", "20")
        await pilot.press("ctrl+s")
        await settle(pilot)
    handler.store.close()
    before = case(bureau, "handling").close_due_at
    supervisor = host_app(bureau, clerk=SUPERVISOR)
    async with supervisor.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "approve_extension", bureau.cases["handling"])
        assert isinstance(dialog, ExtensionApprovalDialog)
        assert "需现场勘查" in str(dialog.query("Static").last().render()) or True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert supervisor.host.refused == []
    extension = rows(bureau, ExtensionRow, "handling")
    assert [(e.days, e.state) for e in extension] == [(20, "approved")]
    after = case(bureau, "handling").close_due_at
    assert after > before and (after - before).days >= 20
    assert last_event(bureau, "handling").actor == SUPERVISOR


@sync
async def test_approval_without_a_request_is_refused_before_the_dialog(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=SUPERVISOR)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dialog(pilot, "approve_extension", bureau.cases["paused"])
        assert app.screen is app.host and "没有待批准的延期申请" in app.host.refused[0]


@sync
async def test_supervise_instruct_pause_and_resume(bureau: Bureau) -> None:
    app = host_app(bureau, clerk=SUPERVISOR)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "supervise", bureau.cases["handling"])
        assert isinstance(dialog, SuperviseDialog)
        await pilot.press("ctrl+s")
        assert "意见" in error_text(dialog)
        dialog.query_one("#level", RadioSet).focus()
        await pilot.press("right", "enter")  # 挂牌督办
        await type_into(pilot, "#note", "请于本周五前报送办理情况")
        await pilot.press("ctrl+s")
        await settle(pilot)

        dialog = await open_dialog(pilot, "instruct", bureau.cases["handling"])
        assert isinstance(dialog, InstructionDialog)
        await type_into(pilot, "#leader", "区委书记 周明")
        await pilot.press("ctrl+s")
        assert "批示内容" in error_text(dialog)
        await type_into(pilot, "#text", "请教育局牵头，务必于开学前解决。")
        dialog.query_one("#owner", Checkbox).value = True
        await pilot.press("ctrl+s")
        await settle(pilot)

        await open_dialog(pilot, "pause", bureau.cases["handling"])
        await type_into(pilot, "#note", "组织听证")
        await pilot.press("ctrl+s")
        await settle(pilot)
        paused = case(bureau, "handling")
        assert paused.paused_since == NOW and paused.next_due_at is not None

        dialog = await open_dialog(pilot, "resume", bureau.cases["paused"])
        assert "暂停原因： 等待网民补充材料" in str(dialog.query(".field-label").first().render())
        await type_into(pilot, "#note", "材料已补齐")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.host.refused == []
    assert [(s.level, s.note) for s in rows(bureau, SupervisionRow, "handling")] == [
        ("flag", "请于本周五前报送办理情况")
    ]
    assert [(i.leader, i.owner) for i in rows(bureau, InstructionRow, "handling")] == [
        ("区委书记 周明", True)
    ]
    assert [p.reason for p in rows(bureau, PauseRow, "handling")] == ["组织听证"]
    resumed = case(bureau, "paused")
    assert resumed.paused_since is None
    pause = rows(bureau, PauseRow, "paused")[0]
    assert pause.ended_at == NOW
    event = last_event(bureau, "paused")
    assert (event.actor, event.action, event.reason) == (SUPERVISOR, "resume", "材料已补齐")
    # The clocks moved by the paused time (two days).
    assert resumed.reply_due_at > case(bureau, "paused").received_at


@sync
async def test_merge_finds_the_original_by_title_words(bureau: Bureau) -> None:
    original = case(bureau, "handling")
    word = original.title[3:7]
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "merge", bureau.cases["new"])
        assert isinstance(dialog, MergeDialog)
        await pilot.press("ctrl+s")
        assert "原件" in error_text(dialog)
        await type_into(pilot, "#query", word)
        await pilot.pause(MergeDialog.SEARCH_DELAY + 0.1)  # the search waits for typing to pause
        await settle(pilot)
        assert [t.id for t in dialog.targets] == [original.id]
        assert dialog.query_one("#targets", OptionList).option_count == 1
        await type_into(pilot, "#reason", "同一问题重复留言")
        await pilot.press("ctrl+s")
        await settle(pilot)
    merged = case(bureau, "new")
    assert merged.status == "merged" and merged.merged_into_id == original.id
    event = last_event(bureau, "new")
    assert (event.actor, event.action, event.reason) == (CLERK, "merge", "同一问题重复留言")


@sync
async def test_hostile_citizen_text_is_shown_literally(bureau: Bureau) -> None:
    hostile = "[bold red]炸[/] [link=http://x]点我[/link] \x1b[31m红\x1b[0m 𠀀😀"
    store = bureau.open()
    with store.session() as session:
        row = session.get(CaseRow, bureau.cases["accepted"])
        assert row is not None
        row.title = hostile
        session.add(row)
    store.close()
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "assign", bureau.cases["accepted"])
        shown = str(dialog.query_one(".case-line", Static).render())
        assert "[bold red]炸[/]" in shown and "[link=http://x]点我[/link]" in shown
        assert "𠀀😀" in shown
        assert "\x1b" not in shown and "␛[31m红␛[0m" in shown  # no escape reaches the terminal


# ---------------------------------------------------------------- from the console itself


@sync
async def test_from_the_queue_key_to_the_database(bureau: Bureau) -> None:
    """The console's queue hands its key to start_action; the dialog plugs into the real app."""
    from caseworker.app import make_app
    from caseworker.config import Settings
    from caseworker.widgets.case_table import CaseTable

    settings = Settings(database=str(bureau.database), clerk=CLERK, language="zh", now=NOW)
    app = make_app(settings, bureau.open(), bureau.rules, poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(pilot)
        queue = app.screen
        current = queue.query_one(CaseTable).current
        assert current is not None
        await pilot.press("x")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, RejectDialog) and dialog.case.id == current.id
        dialog.query_one("#reason", Select).value = "不属受理范围"
        await type_into(pilot, "#text", "属司法程序")
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert app.screen is queue
    app.services.store.close()
    store = bureau.open()
    with store.session() as session:
        row = session.get(CaseRow, current.id)
        assert row is not None and row.status == "rejected"
        event = session.exec(
            select(EventRow).where(EventRow.case_id == current.id).order_by(col(EventRow.id).desc())
        ).first()
        assert event is not None
        assert (event.actor, event.reason) == (CLERK, "不属受理范围：属司法程序")
    store.close()


@sync
async def test_a_conflict_that_ends_the_action_still_shows_the_text(bureau: Bureau) -> None:
    app = host_app(bureau)
    async with app.run_test(size=(120, 36)) as pilot:
        dialog = await open_dialog(pilot, "assign", bureau.cases["accepted"])
        await type_into(pilot, "#unit-search", "教育")
        await pilot.press("enter")
        await type_into(pilot, "#note", "请十日内答复")
        store = bureau.open()
        with store.session() as session:  # another clerk assigns it first
            svc.assign_case(
                session, bureau.desk(OTHER_CLERK), bureau.cases["accepted"], lead="A3-HOUSING"
            )
        store.close()
        await pilot.press("ctrl+s")
        await settle(pilot)
        reopened = app.screen
        assert isinstance(reopened, AssignDialog) and reopened is not dialog
        assert reopened.query_one("#note", Input).value == "请十日内答复"
        assert reopened.lead is not None and reopened.lead.code == "A3-EDU"
        assert OTHER_CLERK in error_text(reopened)
        await pilot.press("ctrl+s")  # the rule now refuses: a notice, the case stays as it is
        await settle(pilot)
        assert "不能交办" in app.host.refused[-1]
    after = case(bureau, "accepted")
    assert after.status == "assigned" and after.updated_by == OTHER_CLERK


@sync
async def test_check_boxes_and_radio_buttons_show_their_state_by_a_glyph() -> None:
    """Not by colour alone: ✓ / blank and ● / ○, and the glyph follows the value."""
    from textual.app import App, ComposeResult
    from textual.widgets import RadioSet

    from caseworker.widgets.toggles import GlyphCheckbox, GlyphRadioButton

    class Toggles(App[None]):
        def compose(self) -> ComposeResult:
            yield GlyphCheckbox("final", id="final")
            with RadioSet(id="levels"):
                yield GlyphRadioButton("一般", value=True, id="low")
                yield GlyphRadioButton("重点", id="high")

    app = Toggles()
    async with app.run_test(size=(40, 10)) as pilot:

        def shown(selector: str) -> str:
            return str(app.query_one(selector).render())

        assert shown("#final").startswith("▐ ▌") and shown("#low").startswith("▐●▌")
        assert shown("#high").startswith("▐○▌")
        await pilot.click("#final")
        await pilot.click("#high")
        await pilot.pause()
        assert shown("#final").startswith("▐✓▌")
        assert shown("#high").startswith("▐●▌") and shown("#low").startswith("▐○▌")
