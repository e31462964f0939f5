"""Case services end to end on a real store (SQLite and PostgreSQL): states, deadlines, events.

Every date below is hand-checked against the State Council notices for 2025 (Spring Festival:
01-28..02-04 off, Sunday 01-26 and Saturday 02-08 worked; National Day: 10-01..10-08 off,
Sunday 09-28 and Saturday 10-11 worked; Labour Day: 05-01..05-05 off).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import ClockState, Stage
from caseworker.domain.errors import IllegalTransition, InvalidInput, NotPermitted
from caseworker.services import cases as svc
from caseworker.services.people import UnknownName
from caseworker.store.models import (
    CoUnit,
    ExtensionRow,
    InstructionRow,
    LinkRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
)
from caseworker.store.types import END_OF_TIME


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=SHANGHAI)


def eod(y: int, m: int, d: int) -> datetime:
    """23:59:59 Shanghai, when every day-based limit ends."""
    return sh(y, m, d, 23, 59, 59)


def deadlines(case: Any) -> tuple[datetime, datetime, datetime, datetime]:
    return case.assign_due_at, case.reply_due_at, case.close_due_at, case.next_due_at


def rows(bureau: Any, model: Any, case_id: int) -> list[Any]:
    with bureau.store.session() as session:
        return list(session.exec(select(model).where(model.case_id == case_id)).all())


# ---------------------------------------------------------------- the whole life


def test_a_case_through_its_whole_life(bureau: Any) -> None:
    b = bureau
    started = datetime.now(UTC)

    # Received Saturday 2025-08-02 15:30. Assign: 3 工作日 = Mon 08-04, 05, 06. First reply:
    # 10 工作日 = 08-15. Close: 60 日 = 10-01, a National Day holiday, so 10-09 (as in the issue).
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="LB-2025-0802")
    case = b.case(case_id)
    assert case.status == "received"
    assert deadlines(case) == (eod(2025, 8, 6), eod(2025, 8, 15), eod(2025, 10, 9), eod(2025, 8, 6))
    assert case.close_due_at.astimezone(SHANGHAI).isoformat() == "2025-10-09T23:59:59+08:00"
    assert case.provisional is False

    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, case_id, note="属受理范围")
    b.act(
        b.CLERK,
        sh(2025, 8, 4, 10),
        svc.assign_case,
        case_id,
        lead="C-HOUSING",
        co_units=["C-TRANSPORT"],
        note="请住建局牵头",
    )
    case = b.case(case_id)
    assert case.status == "assigned"
    assert case.lead_unit_id == b.unit_id("C-HOUSING")
    assert case.assigned_at == sh(2025, 8, 4, 10)
    # The assign clock stopped; the nearest running one is now the first reply.
    first = (eod(2025, 8, 6), eod(2025, 8, 15), eod(2025, 10, 9))
    assert deadlines(case) == (*first, eod(2025, 8, 15))
    co_units = rows(b, CoUnit, case_id)
    assert [c.unit_id for c in co_units] == [b.unit_id("C-TRANSPORT")]

    # A handler of another unit may not touch it; the lead unit's handler acknowledges.
    with pytest.raises(NotPermitted, match="not assigned to their unit"):
        b.act(b.OTHER_HANDLER, sh(2025, 8, 4, 11), svc.acknowledge_case, case_id)
    b.act(b.HANDLER, sh(2025, 8, 4, 14), svc.acknowledge_case, case_id)
    assert b.case(case_id).status == "acknowledged"

    # The co-unit drafts its part; the lead unit rewrites the same open draft and submits it.
    reply_id = b.act(b.CO_HANDLER, sh(2025, 8, 5, 9), svc.draft_reply, case_id, text="交通局意见")
    same = b.act(b.HANDLER, sh(2025, 8, 5, 10), svc.draft_reply, case_id, text="已安排排查积水点。")
    assert same == reply_id
    b.act(b.HANDLER, sh(2025, 8, 5, 11), svc.submit_reply, case_id)
    b.act(b.CLERK, sh(2025, 8, 5, 15), svc.send_back_reply, case_id, note="请写明完成时间")
    (reply,) = rows(b, ReplyRow, case_id)
    assert (reply.state, reply.review_note) == ("sent_back", "请写明完成时间")
    with pytest.raises(IllegalTransition, match="no reply ready to publish"):
        b.act(b.CLERK, sh(2025, 8, 5, 16), svc.publish_reply, case_id)
    b.act(b.HANDLER, sh(2025, 8, 6, 9), svc.draft_reply, case_id, text="已排查，8月底前完成改造。")
    (reply,) = rows(b, ReplyRow, case_id)
    assert reply.state == "draft"
    b.act(b.HANDLER, sh(2025, 8, 6, 10), svc.submit_reply, case_id)

    # An interim reply stops the first-reply clock but leaves the case in handling.
    b.act(b.CLERK, sh(2025, 8, 8, 10), svc.publish_reply, case_id)
    case = b.case(case_id)
    assert case.status == "acknowledged"
    assert case.replied_at == sh(2025, 8, 8, 10)
    assert deadlines(case) == (*first, eod(2025, 10, 9))

    # The final reply needs an outcome, then moves the case to "replied".
    b.act(
        b.HANDLER,
        sh(2025, 9, 19, 9),
        svc.draft_reply,
        case_id,
        text="积水点已完成改造。",
        final=True,
    )
    with pytest.raises(InvalidInput, match="outcome"):
        b.act(b.CLERK, sh(2025, 9, 19, 10), svc.publish_reply, case_id)
    b.act(
        b.HANDLER,
        sh(2025, 9, 19, 11),
        svc.draft_reply,
        case_id,
        text="积水点已完成改造。",
        final=True,
        outcome="支持",
    )
    b.act(b.CLERK, sh(2025, 9, 20, 10), svc.publish_reply, case_id)
    assert b.case(case_id).status == "replied"
    assert b.case(case_id).replied_at == sh(2025, 8, 8, 10)  # the first published reply

    b.act(b.CLERK, sh(2025, 9, 22, 10), svc.close_case, case_id)
    case = b.case(case_id)
    assert (case.status, case.closed_at, case.next_due_at) == (
        "closed",
        sh(2025, 9, 22, 10),
        END_OF_TIME,
    )

    # 不满意, so the bureau reopens it (重办) on Friday 2025-09-26: fresh reply and close clocks.
    b.act(b.CLERK, sh(2025, 9, 25, 10), svc.rate_case, case_id, value="不满意", comment="没修好")
    with pytest.raises(InvalidInput, match="reason"):
        b.act(b.CLERK, sh(2025, 9, 26, 10), svc.reopen_case, case_id, reason=" ")
    b.act(b.CLERK, sh(2025, 9, 26, 10), svc.reopen_case, case_id, reason="群众不满意，重办")
    case = b.case(case_id)
    assert case.status == "acknowledged"
    assert (case.replied_at, case.closed_at) == (None, None)
    # 10 工作日 after Fri 09-26: Sun 09-28 (调休, 1), 09-29, 09-30, [10-01..10-08 off], 10-09,
    # 10-10, Sat 10-11 (调休, 6), 10-13..10-16 (10). 60 日: 11-25, a Tuesday.
    assert deadlines(case)[1:] == (eod(2025, 10, 16), eod(2025, 11, 25), eod(2025, 10, 16))

    b.act(
        b.HANDLER,
        sh(2025, 10, 9, 9),
        svc.draft_reply,
        case_id,
        text="已返工并复查。",
        final=True,
        outcome="解释说明",
    )
    b.act(b.CLERK, sh(2025, 10, 10, 10), svc.publish_reply, case_id)
    b.act(b.CLERK, sh(2025, 10, 11, 10), svc.close_case, case_id, note="复查完毕")
    b.act(b.CLERK, sh(2025, 10, 15, 10), svc.rate_case, case_id, value="满意", comment="修好了")
    case = b.case(case_id)
    assert (case.status, case.next_due_at) == ("closed", END_OF_TIME)

    ratings = rows(b, RatingRow, case_id)
    assert [(r.value, r.follow_up) for r in ratings] == [("不满意", False), ("满意", True)]
    replies = rows(b, ReplyRow, case_id)
    assert [(r.state, r.final, r.outcome) for r in replies] == [
        ("published", False, None),
        ("published", True, "支持"),
        ("published", True, "解释说明"),
    ]

    # The history: who, what, from and to, why, at the frozen time, recorded at the real time.
    events = b.events(case_id)
    got = [(e.actor, e.action, e.from_status, e.to_status, e.reason) for e in events]
    c, h, ch = b.CLERK, b.HANDLER, b.CO_HANDLER
    assert got == [
        (c, "receive", None, "received", None),
        (c, "accept", "received", "accepted", "属受理范围"),
        (c, "assign", "accepted", "assigned", "请住建局牵头"),
        (h, "acknowledge", "assigned", "acknowledged", None),
        (ch, "draft_reply", "acknowledged", "acknowledged", None),
        (h, "draft_reply", "acknowledged", "acknowledged", None),
        (h, "submit_reply", "acknowledged", "acknowledged", None),
        (c, "send_back", "acknowledged", "acknowledged", "请写明完成时间"),
        (h, "draft_reply", "acknowledged", "acknowledged", None),
        (h, "submit_reply", "acknowledged", "acknowledged", None),
        (c, "publish", "acknowledged", "acknowledged", None),
        # Drafted at 9:00, the outcome added at 11:00: one drafting session, one event.
        (h, "draft_reply", "acknowledged", "acknowledged", None),
        (c, "publish", "acknowledged", "replied", None),
        (c, "close", "replied", "closed", None),
        (c, "rate", "closed", "closed", "没修好"),
        (c, "reopen", "closed", "acknowledged", "群众不满意，重办"),
        (h, "draft_reply", "acknowledged", "acknowledged", None),
        (c, "publish", "acknowledged", "replied", None),
        (c, "close", "replied", "closed", "复查完毕"),
        (c, "rate", "closed", "closed", "修好了"),
    ]
    assert [e.effective_at for e in events][:4] == [
        sh(2025, 8, 2, 15, 30),
        sh(2025, 8, 4, 9),
        sh(2025, 8, 4, 10),
        sh(2025, 8, 4, 14),
    ]
    assert events[-1].effective_at == sh(2025, 10, 15, 10)
    finished = datetime.now(UTC)
    for event in events:
        assert started - timedelta(seconds=1) <= event.recorded_at
        assert event.recorded_at <= finished + timedelta(seconds=1)
    assert '"co_units": ["市交通运输局"]' in (events[2].detail or "")
    assert case.updated_by == b.CLERK


def test_case_detail_reads_back_what_the_services_stored(bureau: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="LB-DETAIL")
    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, case_id)
    b.act(
        b.CLERK,
        sh(2025, 8, 4, 10),
        svc.assign_case,
        case_id,
        lead="市住房和城乡建设局",
        co_units=["C-TRANSPORT", "C-EDU"],
    )
    with b.store.session() as session:
        detail = svc.case_detail(session, b.rules, sh(2025, 8, 5, 12), "LB-DETAIL", clerk=None)
    assert (detail.id, detail.status) == (case_id, "assigned")
    assert detail.lead_unit == "市住房和城乡建设局"
    assert set(detail.co_units) == {"市教育局", "市交通运输局"}
    clocks = {c.stage: c for c in detail.clocks}
    assert clocks[Stage.ASSIGN].state is ClockState.STOPPED
    assert clocks[Stage.REPLY].state is ClockState.RUNNING
    assert clocks[Stage.CLOSE].due_at == eod(2025, 10, 9)
    summary = svc.clock_summary(clocks[Stage.REPLY], b.rules, sh(2025, 8, 5, 12))
    left = eod(2025, 8, 15) - sh(2025, 8, 5, 12)
    assert summary["remaining_seconds"] == int(left.total_seconds())
    # Late by Monday 08-18: the working days after the due day 08-15 up to it are just 08-18.
    late = svc.clock_summary(clocks[Stage.REPLY], b.rules, sh(2025, 8, 18, 9))
    assert late["overdue_working_days"] == 1 and late["overdue_days"] == 3


# ---------------------------------------------------------------- side exits


def test_reject_needs_a_reason_and_ends_the_case(bureau: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30))
    with pytest.raises(InvalidInput, match="a reason for rejecting is required"):
        b.act(b.CLERK, sh(2025, 8, 4, 9), svc.reject_case, case_id, reason="  ")
    assert b.case(case_id).status == "received"  # the refused action changed nothing
    with pytest.raises(NotPermitted):
        b.act(b.HANDLER, sh(2025, 8, 4, 9), svc.reject_case, case_id, reason="重复")
    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.reject_case, case_id, reason="无实质内容")
    case = b.case(case_id)
    assert (case.status, case.closed_at, case.next_due_at) == (
        "rejected",
        sh(2025, 8, 4, 9),
        END_OF_TIME,
    )
    last = b.events(case_id)[-1]
    assert (last.action, last.from_status, last.to_status, last.reason) == (
        "reject",
        "received",
        "rejected",
        "无实质内容",
    )
    with pytest.raises(IllegalTransition, match=r"rejected: cannot accept; allowed now: nothing"):
        b.act(b.CLERK, sh(2025, 8, 4, 10), svc.accept_case, case_id)


def test_merge_into_another_case(bureau: Any) -> None:
    b = bureau
    original = b.receive(sh(2025, 8, 2, 15, 30), external_id="A")
    repeat = b.receive(sh(2025, 8, 3, 8), external_id="B")
    with pytest.raises(InvalidInput, match="into itself"):
        b.act(b.CLERK, sh(2025, 8, 4, 9), svc.merge_case, repeat, into=repeat)
    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.merge_case, repeat, into="A", reason="同一诉求")
    case = b.case(repeat)
    assert (case.status, case.merged_into_id, case.repeat_of_id) == ("merged", original, original)
    assert (case.closed_at, case.next_due_at) == (sh(2025, 8, 4, 9), END_OF_TIME)
    (link,) = rows(b, LinkRow, repeat)
    assert (link.target_id, link.kind) == (original, "merged_into")
    assert b.case(original).status == "received"  # the original carries on
    third = b.receive(sh(2025, 8, 3, 9), external_id="C")
    with pytest.raises(IllegalTransition, match="is merged"):
        b.act(b.CLERK, sh(2025, 8, 4, 9), svc.merge_case, third, into="B")


def _assigned(b: Any, received: datetime, assigned: datetime, external_id: str) -> int:
    case_id = b.receive(received, external_id=external_id)
    b.act(b.CLERK, assigned, svc.accept_case, case_id)
    b.act(b.CLERK, assigned, svc.assign_case, case_id, lead="C-HOUSING", co_units=["C-TRANSPORT"])
    return int(case_id)


def test_return_within_five_working_days_across_spring_festival(bureau: Any) -> None:
    b = bureau
    # Assigned Friday 2025-01-24. 5 工作日: Sun 01-26 (调休, 1), 01-27 (2), [01-28..02-04 off],
    # 02-05, 02-06, 02-07 (5): the window ends 2025-02-07 23:59:59. Without the make-up Sunday
    # it would run into the make-up Saturday 02-08, so both make-up days are tested here.
    late = _assigned(b, sh(2025, 1, 23, 9), sh(2025, 1, 24, 10), "LATE")
    with pytest.raises(IllegalTransition, match=r"window to return it ended at 2025-02-07T23:59"):
        b.act(b.HANDLER, sh(2025, 2, 8, 9), svc.return_case, late, reason="不属本单位职责")
    assert b.case(late).status == "assigned"

    on_time = _assigned(b, sh(2025, 1, 23, 9), sh(2025, 1, 24, 10), "ON-TIME")
    with pytest.raises(NotPermitted):
        b.act(b.OTHER_HANDLER, sh(2025, 2, 7, 18), svc.return_case, on_time, reason="x")
    with pytest.raises(InvalidInput):
        b.act(b.HANDLER, sh(2025, 2, 7, 18), svc.return_case, on_time, reason="")
    b.act(b.HANDLER, sh(2025, 2, 7, 18), svc.return_case, on_time, reason="不属本单位职责")
    case = b.case(on_time)
    assert (case.status, case.lead_unit_id, case.assigned_at) == ("accepted", None, None)
    assert [c.released_at for c in rows(b, CoUnit, on_time)] == [sh(2025, 2, 7, 18)]
    # The bureau must reassign within 3 工作日 from the return: Sat 02-08 (调休), 02-10, 02-11.
    assert case.assign_due_at == eod(2025, 2, 11)
    assert case.next_due_at == eod(2025, 2, 11)
    last = b.events(on_time)[-1]
    assert (last.actor, last.action, last.from_status, last.to_status, last.reason) == (
        b.HANDLER,
        "return",
        "assigned",
        "accepted",
        "不属本单位职责",
    )
    # Reassigned to another unit, whose handler now may act and the old one may not.
    b.act(b.CLERK, sh(2025, 2, 10, 9), svc.assign_case, on_time, lead="C-EDU")
    with pytest.raises(NotPermitted):
        b.act(b.HANDLER, sh(2025, 2, 10, 10), svc.acknowledge_case, on_time)
    b.act(b.OTHER_HANDLER, sh(2025, 2, 10, 10), svc.acknowledge_case, on_time)
    assert b.case(on_time).assign_due_at == eod(2025, 2, 11)  # stopped at the reassignment


def test_extension_moves_the_close_deadline_by_exactly_the_days(bureau: Any) -> None:
    b = bureau
    # Received Monday 2025-03-10: 60 日 ends Friday 05-09; 70 日 ends Monday 05-19.
    case_id = _assigned(b, sh(2025, 3, 10, 9), sh(2025, 3, 10, 11), "EXT")
    assert b.case(case_id).close_due_at == eod(2025, 5, 9)
    with pytest.raises(InvalidInput, match="at most 30 days"):
        b.act(b.HANDLER, sh(2025, 4, 1, 9), svc.request_extension, case_id, days=31, reason="复杂")
    ext_id = b.act(
        b.HANDLER, sh(2025, 4, 1, 9), svc.request_extension, case_id, days=10, reason="需现场勘查"
    )
    assert b.case(case_id).close_due_at == eod(2025, 5, 9)  # not before approval
    with pytest.raises(IllegalTransition, match="already has an extension awaiting approval"):
        b.act(b.HANDLER, sh(2025, 4, 1, 10), svc.request_extension, case_id, days=5, reason="再延")
    with pytest.raises(NotPermitted, match="needs: supervisor"):
        b.act(b.CLERK, sh(2025, 4, 2, 9), svc.approve_extension, case_id)
    b.act(b.SUPERVISOR, sh(2025, 4, 2, 9), svc.approve_extension, case_id)
    case = b.case(case_id)
    assert case.close_due_at == eod(2025, 5, 19)
    assert case.close_due_at - eod(2025, 5, 9) == timedelta(days=10)
    (ext,) = rows(b, ExtensionRow, case_id)
    assert (ext.id, ext.state, ext.days, ext.decided_at) == (
        ext_id,
        "approved",
        10,
        sh(2025, 4, 2, 9),
    )
    with pytest.raises(IllegalTransition, match="no extension awaiting approval"):
        b.act(b.SUPERVISOR, sh(2025, 4, 2, 10), svc.approve_extension, case_id)
    # At most 30 days in all on a 60-day case.
    with pytest.raises(InvalidInput, match="already has 10 days of extension"):
        b.act(b.HANDLER, sh(2025, 4, 3, 9), svc.request_extension, case_id, days=21, reason="再延")
    events = b.events(case_id)
    assert [(e.actor, e.action, e.reason) for e in events[-2:]] == [
        (b.HANDLER, "request_extension", "需现场勘查"),
        (b.SUPERVISOR, "approve_extension", None),
    ]


def test_pause_and_resume_move_every_running_deadline_by_the_days_paused(bureau: Any) -> None:
    b = bureau
    # Received Monday 2025-03-10 09:00: assign 03-13, reply 03-24, close 05-09 (all 23:59:59).
    case_id = b.receive(sh(2025, 3, 10, 9), external_id="PAUSE")
    base = (eod(2025, 3, 13), eod(2025, 3, 24), eod(2025, 5, 9))
    assert deadlines(b.case(case_id))[:3] == base
    b.act(b.CLERK, sh(2025, 3, 11, 10), svc.pause_case, case_id, reason="等待群众补充材料")
    assert b.case(case_id).paused_since == sh(2025, 3, 11, 10)
    with b.store.session() as session:
        detail = svc.case_detail(session, b.rules, sh(2025, 3, 12, 10), case_id, clerk=None)
    assert {c.state for c in detail.clocks} == {ClockState.PAUSED}
    with pytest.raises(IllegalTransition, match="already paused"):
        b.act(b.CLERK, sh(2025, 3, 12, 10), svc.pause_case, case_id, reason="again")
    b.act(b.CLERK, sh(2025, 3, 13, 16, 30), svc.resume_case, case_id)
    # Wed 03-12 and Thu 03-13 are given back (the pause day ran): the 工作日 limits move two
    # working days, the 60 日 close two days (Sun 05-11, rolled to Mon 05-12).
    moved = (eod(2025, 3, 17), eod(2025, 3, 26), eod(2025, 5, 12))
    case = b.case(case_id)
    assert case.paused_since is None
    assert deadlines(case) == (*moved, moved[0])
    (pause,) = rows(b, PauseRow, case_id)
    assert (pause.started_at, pause.ended_at) == (sh(2025, 3, 11, 10), sh(2025, 3, 13, 16, 30))
    with pytest.raises(IllegalTransition, match="is not paused"):
        b.act(b.CLERK, sh(2025, 3, 14, 9), svc.resume_case, case_id)
    assert [e.action for e in b.events(case_id)] == ["receive", "pause", "resume"]


def test_a_case_paused_in_handling_can_be_resumed_after_its_final_reply(bureau: Any) -> None:
    b = bureau
    case_id = _assigned(b, sh(2025, 3, 10, 9), sh(2025, 3, 10, 11), "PAUSE-REPLY")
    b.act(b.CLERK, sh(2025, 3, 11, 10), svc.pause_case, case_id, reason="听证")
    b.act(
        b.HANDLER,
        sh(2025, 3, 12, 9),
        svc.draft_reply,
        case_id,
        text="已答复。",
        final=True,
        outcome="支持",
    )
    b.act(b.CLERK, sh(2025, 3, 12, 10), svc.publish_reply, case_id)
    assert b.case(case_id).status == "replied"
    b.act(b.CLERK, sh(2025, 3, 12, 11), svc.resume_case, case_id)
    case = b.case(case_id)
    assert case.paused_since is None
    # Paused from 03-11 to 03-12: the 60 日 close gains one day, Sat 05-10, rolled to Mon.
    assert case.close_due_at == eod(2025, 5, 12)


def test_supervision_instruction_and_repeat_are_records_not_states(bureau: Any) -> None:
    b = bureau
    original = b.receive(sh(2025, 8, 2, 15, 30), external_id="ORIG")
    repeat = b.receive(sh(2025, 8, 5, 9), external_id="REP")
    with pytest.raises(InvalidInput, match="催办 / 挂牌 / 约谈"):
        b.act(b.CLERK, sh(2025, 8, 6, 9), svc.supervise_case, original, level="批评", note="x")
    with pytest.raises(NotPermitted):
        b.act(b.HANDLER, sh(2025, 8, 6, 9), svc.supervise_case, original, level="催办", note="x")
    b.act(
        b.SUPERVISOR,
        sh(2025, 8, 6, 9),
        svc.supervise_case,
        original,
        level="挂牌",
        note="重复投诉，挂牌督办",
    )
    b.act(
        b.CLERK,
        sh(2025, 8, 6, 10),
        svc.instruct_case,
        original,
        leader="张市长",
        text="请尽快解决",
        owner=True,
    )
    b.act(b.CLERK, sh(2025, 8, 6, 11), svc.link_repeat, repeat, original="ORIG")
    with pytest.raises(InvalidInput, match="cannot repeat itself"):
        b.act(b.CLERK, sh(2025, 8, 6, 11), svc.link_repeat, repeat, original=repeat)

    assert b.case(original).status == "received" and b.case(repeat).status == "received"
    (sup,) = rows(b, SupervisionRow, original)
    assert (sup.level, sup.note) == ("flag", "重复投诉，挂牌督办")
    assert sup.created_at == sh(2025, 8, 6, 9)
    (ins,) = rows(b, InstructionRow, original)
    assert (ins.leader, ins.text, ins.owner) == ("张市长", "请尽快解决", True)
    assert b.case(repeat).repeat_of_id == original
    (link,) = rows(b, LinkRow, repeat)
    assert (link.target_id, link.kind) == (original, "repeat_of")
    with b.store.session() as session:
        detail = svc.case_detail(session, b.rules, sh(2025, 8, 7, 9), original, clerk=None)
    assert detail.repeats == 1
    assert [s["label"] for s in detail.supervisions] == ["挂牌督办"]
    assert [e.action for e in b.events(original)] == ["receive", "supervise", "instruct"]
    assert [(e.actor, e.reason) for e in b.events(original)[1:]] == [
        (b.SUPERVISOR, "重复投诉，挂牌督办"),
        (b.CLERK, "请尽快解决"),
    ]


def test_unknown_case_unit_and_clerk_are_refused(bureau: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="KNOWN")
    with pytest.raises(UnknownName, match="unknown case '999'"):
        b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, 999)
    with pytest.raises(UnknownName, match="unknown clerk"):
        b.act("nobody", sh(2025, 8, 4, 9), svc.accept_case, case_id)
    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, "KNOWN")
    with pytest.raises(UnknownName, match="unknown unit 'NOPE'"):
        b.act(b.CLERK, sh(2025, 8, 4, 10), svc.assign_case, case_id, lead="NOPE")
    with pytest.raises(InvalidInput, match="is the lead unit"):
        b.act(
            b.CLERK, sh(2025, 8, 4, 10), svc.assign_case, case_id, lead="C-EDU", co_units=["C-EDU"]
        )
    assert b.case(case_id).status == "accepted"


def test_duplicate_external_id_on_a_channel_is_refused(bureau: Any) -> None:
    b = bureau
    first = b.receive(sh(2025, 8, 2, 15, 30), external_id="DUP")
    clash = f"already has a case with external id DUP \\(case {first}\\)"
    with pytest.raises(InvalidInput, match=clash):
        b.receive(sh(2025, 8, 3, 9), external_id="DUP")
    other_channel = b.receive(sh(2025, 8, 3, 9), external_id="DUP", channel="hotline-12345")
    assert other_channel != first
    with pytest.raises(InvalidInput, match="used by several cases"):
        b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, "DUP")


# ---------------------------------------------------------------- the 2025 rules via the store


def test_hotline_workday_limits_count_make_up_weekend_days(bureau: Any) -> None:
    b = bureau
    # 12345: assign 1 工作日, reply and close 5 工作日.
    # Received Saturday 2025-01-25: 1 工作日 is Sunday 01-26 (调休). 5 工作日: 01-26, 01-27,
    # [01-28..02-04 off], 02-05, 02-06, 02-07.
    spring = b.receive(sh(2025, 1, 25, 10), external_id="H-SPRING", channel="hotline-12345")
    assert deadlines(b.case(spring)) == (
        eod(2025, 1, 26),
        eod(2025, 2, 7),
        eod(2025, 2, 7),
        eod(2025, 1, 26),
    )
    # Received Friday 2025-02-07: 1 工作日 is Saturday 02-08 (调休).
    b.receive(sh(2025, 2, 7, 17), external_id="H-SAT", channel="hotline-12345")
    with b.store.session() as session:
        saturday = svc.find_case(session, "H-SAT")
    assert saturday.assign_due_at == eod(2025, 2, 8)
    # Received Saturday 2025-09-27: 1 工作日 is Sunday 09-28; 5 工作日: 09-28, 09-29, 09-30,
    # [10-01..10-08 off], 10-09, 10-10.
    autumn = b.receive(sh(2025, 9, 27, 10), external_id="H-AUTUMN", channel="hotline-12345")
    assert deadlines(b.case(autumn))[:3] == (eod(2025, 9, 28), eod(2025, 10, 10), eod(2025, 10, 10))
    # Received Friday 2025-10-10: 1 工作日 is Saturday 10-11 (调休).
    late_oct = b.receive(sh(2025, 10, 10, 18), external_id="H-OCT", channel="hotline-12345")
    assert b.case(late_oct).assign_due_at == eod(2025, 10, 11)


def test_urgent_lane_uses_hours_and_natural_days(bureau: Any) -> None:
    b = bureau
    # Urgent: assign 24 hours (holidays ignored), reply 3 工作日, close 15 日.
    # Received 2025-09-30 10:00: 24 h is 10-01 10:00. 3 工作日: 10-09, 10-10, 10-11 (调休).
    # 15 日: 10-15, a Wednesday.
    case_id = b.receive(sh(2025, 9, 30, 10), external_id="URGENT", urgency="urgent")
    assert deadlines(b.case(case_id)) == (
        sh(2025, 10, 1, 10),
        eod(2025, 10, 11),
        eod(2025, 10, 15),
        sh(2025, 10, 1, 10),
    )


# ---------------------------------------------------------------- the calendar file changes

POLICY_FILE = Path(__file__).resolve().parents[2] / "data" / "policy.toml"

# A 2027 notice invented for tests only; the second version drops its make-up Saturday.
NOTICE_2027_V1 = """
[years.2027]
source = "TEST NOTICE v1, not the State Council's"
holidays = ["2027-01-01", "2027-02-05..2027-02-11"]
workdays = ["2027-02-20"]
"""
NOTICE_2027_V2 = NOTICE_2027_V1.replace("v1", "v2").replace('"2027-02-20"', "")


def _with_calendar(bureau: Any, text: str, tmp_path: Path) -> Any:
    """The same bureau and store, working with another calendar file."""
    from caseworker.services.rules import load_rules

    path = tmp_path / f"calendar-{abs(hash(text))}.toml"
    path.write_text(text, encoding="utf-8")
    return replace(bureau, rules=load_rules(POLICY_FILE, path))


def _recompute(b: Any, at: datetime) -> int:
    from caseworker.services.clocks import recompute_if_calendar_changed

    with b.store.session() as session:
        return recompute_if_calendar_changed(session, b.rules, at)


def test_entering_a_year_makes_provisional_deadlines_exact_even_on_first_use(
    bureau: Any, tmp_path: Path
) -> None:
    # Cases received before the store ever recorded which calendar it used (an upgraded
    # database, or cases loaded in batch): the first run with the 2027 notice must fix them.
    b = bureau
    case_id = b.receive(sh(2026, 11, 20, 9), external_id="PROV")
    assert b.case(case_id).provisional is True
    assert b.case(case_id).close_due_at == eod(2027, 1, 19)
    v1 = _with_calendar(b, NOTICE_2027_V1, tmp_path)
    assert _recompute(v1, sh(2026, 11, 21, 9)) == 1
    case = b.case(case_id)
    assert case.provisional is False
    assert case.close_due_at == eod(2027, 1, 19)
    assert _recompute(v1, sh(2026, 11, 21, 10)) == 0  # nothing changed since


def test_correcting_an_entered_year_moves_the_deadlines_that_used_it(
    bureau: Any, tmp_path: Path
) -> None:
    v1 = _with_calendar(bureau, NOTICE_2027_V1, tmp_path)
    _recompute(v1, sh(2027, 2, 15, 8))
    # Received Monday 2027-02-15: 10 工作日 with v1's make-up Saturday 02-20 end Friday 02-26.
    case_id = v1.receive(sh(2027, 2, 15, 9), external_id="CORRECTED")
    untouched = v1.receive(sh(2025, 8, 2, 15, 30), external_id="2025")
    assert v1.case(case_id).reply_due_at == eod(2027, 2, 26)
    assert v1.case(case_id).provisional is False
    before = v1.case(untouched).version
    # The bureau finds v1 wrong and removes the make-up day: the deadline is one day later.
    v2 = _with_calendar(bureau, NOTICE_2027_V2, tmp_path)
    assert _recompute(v2, sh(2027, 2, 16, 9)) == 1
    assert v2.case(case_id).reply_due_at == eod(2027, 3, 1)
    assert v2.case(untouched).version == before  # a case far from 2027 is left alone


def test_closing_a_paused_case_ends_the_pause_so_a_reopening_starts_fresh_clocks(
    bureau: Any,
) -> None:
    b = bureau
    case_id = _assigned(b, sh(2025, 3, 10, 9), sh(2025, 3, 10, 11), "PAUSED-CLOSE")
    b.act(b.CLERK, sh(2025, 3, 11, 10), svc.pause_case, case_id, reason="听证")
    b.act(
        b.HANDLER,
        sh(2025, 3, 12, 9),
        svc.draft_reply,
        case_id,
        text="已答复。",
        final=True,
        outcome="支持",
    )
    b.act(b.CLERK, sh(2025, 3, 12, 10), svc.publish_reply, case_id)
    b.act(b.CLERK, sh(2025, 3, 12, 11), svc.close_case, case_id)  # never resumed
    (pause,) = rows(b, PauseRow, case_id)
    assert pause.ended_at == sh(2025, 3, 12, 11)
    assert b.case(case_id).paused_since is None
    b.act(b.CLERK, sh(2025, 3, 13, 9), svc.rate_case, case_id, value="不满意")
    b.act(b.CLERK, sh(2025, 3, 14, 9), svc.reopen_case, case_id, reason="重办")
    # Fresh clocks from Friday 03-14: 10 工作日 end Friday 03-28; 60 日 end Tuesday 05-13.
    case = b.case(case_id)
    assert (case.reply_due_at, case.close_due_at) == (eod(2025, 3, 28), eod(2025, 5, 13))
    with b.store.session() as session:
        detail = svc.case_detail(session, b.rules, sh(2025, 3, 20, 9), case_id, clerk=None)
    states = {c.stage: c.state for c in detail.clocks}
    assert states == {
        Stage.ASSIGN: ClockState.STOPPED,
        Stage.REPLY: ClockState.RUNNING,
        Stage.CLOSE: ClockState.RUNNING,
    }
