"""The console's facade (services.console): each call one transaction, plain data out.

On a real SQLite store in tmp_path, with the small bureau and a frozen clock (a Thursday
morning, 2025-11-20 10:00 in Shanghai), as the console's screens call it from their workers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from caseworker.config import Settings
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import DomainError, NotPermitted
from caseworker.domain.queues import Filters, QueueKey
from caseworker.services import cases as svc
from caseworker.services import console_actions as kinds
from caseworker.services.cases import VersionConflict
from caseworker.services.console import Console
from caseworker.services.console_actions import NoteData
from caseworker.services.console_data import AssignResult, NoteResult, ReplyResult
from caseworker.services.people import UnknownName

NOW = datetime(2025, 11, 20, 10, tzinfo=SHANGHAI)
EARLIER = datetime(2025, 11, 18, 9, tzinfo=SHANGHAI)


@pytest.fixture
def backend() -> str:
    """The facade is the console's: one real SQLite store (the services' own tests cover
    PostgreSQL)."""
    return "sqlite"


def console_of(bureau: Any, clerk: str | None = None) -> Console:
    settings = Settings(
        database=str(bureau.store.url), clerk=clerk or bureau.CLERK, language="zh", now=NOW
    )
    return Console(bureau.store, bureau.rules, settings)


def accepted(bureau: Any, external_id: str, title: str = "小区门口道路积水") -> int:
    """A case received and accepted two days ago: it waits in 待交办."""
    case_id = int(bureau.receive(EARLIER, external_id=external_id, title=title))
    bureau.act(bureau.CLERK, EARLIER, svc.accept_case, case_id)
    return case_id


def assigned(bureau: Any, external_id: str) -> int:
    case_id = accepted(bureau, external_id)
    bureau.act(bureau.CLERK, EARLIER, svc.assign_case, case_id, lead="C-HOUSING")
    return case_id


def test_the_opening_page_is_the_queue_the_pages_read(bureau: Any) -> None:
    first, second = accepted(bureau, "A1"), accepted(bureau, "A2")
    console = console_of(bureau)
    opening = console.opening()
    assert opening.queue is QueueKey.ACCEPTED and opening.count == 2
    page = console.page(QueueKey.ACCEPTED, Filters())
    assert [line.id for line in opening.lines] == [line.id for line in page.lines]
    assert {first, second} == {line.id for line in page.lines} and page.at_end
    assert console.shown_count(QueueKey.ACCEPTED, Filters()) == 2
    assert console.queue_counts()[QueueKey.ACCEPTED] == 2
    handler = console_of(bureau, bureau.HANDLER)
    assert handler.opening().queue is QueueKey.MINE  # a unit handler opens on 我的
    assert handler.badge().role == "handler"


def test_a_refresh_follows_the_cursors_case_out_of_the_window(bureau: Any) -> None:
    ids = [accepted(bureau, f"F{n}") for n in range(4)]
    console = console_of(bureau)
    lines = console.page(QueueKey.ALL, Filters()).lines
    last = lines[-1]
    # Read the window from the first row only: the case asked to follow is not in it.
    page = console.page(QueueKey.ALL, Filters(), limit=1, follow=last.id)
    assert page.around and last.id in [line.id for line in page.lines]
    assert sorted(ids) == sorted(line.id for line in lines)


def test_the_marker_moves_when_a_case_changes(bureau: Any) -> None:
    case_id = accepted(bureau, "M1")
    console = console_of(bureau)
    before = console.marker()
    assert not before.search_pending
    view_marker = console.case_marker(case_id)
    bureau.act(bureau.CLERK, NOW, svc.assign_case, case_id, lead="C-HOUSING")
    assert console.marker().change != before.change
    assert console.case_marker(case_id) != view_marker


def test_reading_a_case_does_not_claim_it_the_claim_is_its_own_call(bureau: Any) -> None:
    first, second = accepted(bureau, "C1"), accepted(bureau, "C2")
    mine, other = console_of(bureau), console_of(bureau, bureau.SUPERVISOR)
    view = mine.case_view(first)
    assert view.detail.id == first and [e.action for e in view.history][-1] == "accept"
    assert view.marker == mine.case_marker(first)
    mine.case_view(second)  # read, not claimed
    mine.claim(first)
    # The claimed case is skipped for another clerk's take-next; the one only read is not.
    assert other.take_next(QueueKey.ACCEPTED, Filters()) == second
    with pytest.raises(NotPermitted):
        console_of(bureau, bureau.OTHER_HANDLER).case_view(first)


def test_an_action_loads_checks_and_applies_in_one_transaction(bureau: Any) -> None:
    case_id = bureau.receive(EARLIER, external_id="N1")
    console = console_of(bureau)
    loaded = console.load(kinds.ACCEPT, case_id)
    assert isinstance(loaded, NoteData) and loaded.case.id == case_id
    console.apply(kinds.ACCEPT, case_id, NoteResult("材料齐全", loaded.case.version))
    assert bureau.case(case_id).status == "accepted"
    assert bureau.events(case_id)[-1].reason == "材料齐全"
    # The dialog opened on the old version: refused, and nothing is written.
    events = len(bureau.events(case_id))
    with pytest.raises(VersionConflict):
        console.apply(kinds.RETURN, case_id, NoteResult("退回", loaded.case.version))
    assert len(bureau.events(case_id)) == events
    # Refused before a dialog opens, as the action itself would be: a handler may not reject
    # a case their unit does not have.
    with pytest.raises(DomainError):
        console_of(bureau, bureau.HANDLER).load(kinds.REJECT, case_id)
    # Reopened after a refusal, the dialog's data loads without the check.
    assert console.load(kinds.ACCEPT, case_id, check=False).case.status == "accepted"


def test_assignment_goes_by_the_unit_ids_the_dialog_chose(bureau: Any) -> None:
    case_id = accepted(bureau, "U1")
    console = console_of(bureau)
    data = console.load(kinds.ASSIGN, case_id)
    housing, transport = bureau.unit_id("C-HOUSING"), bureau.unit_id("C-TRANSPORT")
    assert {housing, transport} <= {u.id for u in data.units}
    with pytest.raises(UnknownName):
        console.apply(kinds.ASSIGN, case_id, AssignResult(999_999, (), "", data.case.version))
    console.apply(kinds.ASSIGN, case_id, AssignResult(housing, (transport,), "", data.case.version))
    assert bureau.case(case_id).lead_unit_id == housing
    detail = console.case_view(case_id).detail
    assert detail.lead_unit and detail.co_units


def test_reply_and_submit_is_one_service(bureau: Any) -> None:
    case_id = assigned(bureau, "R1")
    handler = console_of(bureau, bureau.HANDLER)
    data = handler.load(kinds.REPLY, case_id)
    text = "网友您好！经核实，积水问题已安排清理。"
    result = ReplyResult(text, True, "支持", True, data.case.version)
    handler.apply(kinds.REPLY, case_id, result)
    replies = handler.case_view(case_id).detail.replies
    assert [(r.state, r.text) for r in replies] == [("submitted", text)]
    assert [e.action for e in bureau.events(case_id)][-2:] == ["draft_reply", "submit_reply"]


def test_autosave_answers_with_the_new_version_and_refuses_a_stale_one(bureau: Any) -> None:
    case_id = assigned(bureau, "S1")
    handler = console_of(bureau, bureau.HANDLER)
    version = handler.case_version(case_id)
    saved = handler.autosave(
        case_id, text="正在核实", final=False, outcome=None, expected_version=version
    )
    assert saved == handler.case_version(case_id) and saved != version
    with pytest.raises(VersionConflict):
        handler.autosave(case_id, text="再改", final=False, outcome=None, expected_version=version)


def test_resume_with_a_note_appends_an_event_and_rewrites_none(bureau: Any) -> None:
    case_id = assigned(bureau, "P1")
    console = console_of(bureau)
    bureau.act(bureau.CLERK, EARLIER, svc.pause_case, case_id, reason="等待网民补充材料")
    data = console.load(kinds.RESUME, case_id)
    assert data.context == "等待网民补充材料"  # the resume dialog shows why it was paused
    pause = [(e.id, e.action, e.reason) for e in bureau.events(case_id) if e.action == "pause"]
    console.apply(kinds.RESUME, case_id, NoteResult("材料已收到", data.case.version))
    events = bureau.events(case_id)
    assert [(e.id, e.action, e.reason) for e in events if e.action == "pause"] == pause
    assert (events[-1].action, events[-1].reason) == ("resume", "材料已收到")


def test_merge_targets_filters_units_and_references(bureau: Any) -> None:
    first = accepted(bureau, "T1", title="公交站台破损")
    second = accepted(bureau, "T2", title="公交站台无遮阳棚")
    console = console_of(bureau)
    assert [t.id for t in console.merge_targets("公交", exclude=first)] == [second]
    assert [t.id for t in console.merge_targets(str(first), exclude=second)] == [first]
    assert console.find("T2") == second
    options = console.filter_options()
    assert "leader-board" in options.channels
    names = {unit_id: name for name, unit_id in options.units}
    housing = bureau.unit_id("C-HOUSING")
    assert names[housing].strip() and housing in console.unit_subtree(housing)


def test_no_backlog_means_no_catch_up(bureau: Any) -> None:
    accepted(bureau, "B1")
    assert list(console_of(bureau).search_catch_up(100)) == []
