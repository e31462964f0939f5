"""A pause stops the clocks: it neither makes a case late nor hides a case that already was."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import accept_case, pause_case
from caseworker.services.reports import overdue_cases


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def test_a_case_paused_after_its_deadline_stays_late_by_what_it_was(bureau: Any) -> None:
    # Received Monday 2025-03-03; assign limit 3 工作日 -> due Thursday 03-06 23:59:59.
    late = bureau.receive(sh(2025, 3, 3, 9), external_id="late")
    bureau.act(bureau.CLERK, sh(2025, 3, 3, 10), accept_case, late)
    # Paused Tuesday 03-11: the due day was 03-06, then 03-07 (Fri), 03-10 (Mon), 03-11 (Tue)
    # are working days after it -> 3 working days, 5 natural days late when paused.
    bureau.act(bureau.CLERK, sh(2025, 3, 11, 9), pause_case, late, reason="等待群众补充材料")
    # Paused before its deadline (received 03-10, assign due 03-13): not late while paused.
    early = bureau.receive(sh(2025, 3, 10, 9), external_id="early")
    bureau.act(bureau.CLERK, sh(2025, 3, 11, 9), pause_case, early, reason="召开听证会")

    with bureau.store.session() as session:
        rows = overdue_cases(session, bureau.rules.calendar, as_of=sh(2025, 3, 31, 9))

    assert [row.external_id for row in rows] == ["late"]
    (row,) = rows
    assert row.stage == "assign"
    # Frozen at the pause: three weeks later it is still 3 working / 5 natural days late.
    assert (row.overdue_working_days, row.overdue_days) == (3, 5)


def test_the_overdue_queue_counts_a_paused_case_as_the_report_does(bureau: Any) -> None:
    from caseworker.store.queries import Filters, QueueKey, Viewer, page_after, where_of

    late = bureau.receive(sh(2025, 3, 3, 9), external_id="late")  # assign due 03-06
    bureau.act(bureau.CLERK, sh(2025, 3, 11, 9), pause_case, late, reason="等待群众补充材料")
    early = bureau.receive(sh(2025, 3, 10, 9), external_id="early")  # assign due 03-13
    bureau.act(bureau.CLERK, sh(2025, 3, 11, 9), pause_case, early, reason="召开听证会")
    running = bureau.receive(sh(2025, 3, 10, 9), external_id="running")  # not paused, late

    with bureau.store.session() as session:
        where = where_of(
            session, QueueKey.OVERDUE, sh(2025, 3, 31, 9), Viewer(bureau.CLERK), Filters()
        )
        ids = {line.id for line in page_after(session, where)}
    assert ids == {late, running}


def _queue(bureau: Any, key: Any, now: datetime) -> set[int]:
    from caseworker.store.queries import Filters, Viewer, count_where, page_after, where_of

    with bureau.store.session() as session:
        where = where_of(session, key, now, Viewer(bureau.CLERK), Filters())
        ids = {line.id for line in page_after(session, where)}
        assert count_where(session, where) == len(ids)  # the sidebar counts the same cases
    return ids


def test_a_pause_keeps_a_case_out_of_due_soon_unless_it_was_warned_when_paused(
    bureau: Any,
) -> None:
    from caseworker.store.queries import QueueKey

    # Received Monday 2025-03-03 09:00; assign due Thursday 03-06 23:59:59, warned at 80% of
    # that (Thursday morning).
    running = bureau.receive(sh(2025, 3, 3, 9), external_id="running")
    early = bureau.receive(sh(2025, 3, 3, 9), external_id="early")
    bureau.act(bureau.CLERK, sh(2025, 3, 3, 12), pause_case, early, reason="等待群众补充材料")
    warned = bureau.receive(sh(2025, 3, 3, 9), external_id="warned")
    bureau.act(bureau.CLERK, sh(2025, 3, 6, 12), pause_case, warned, reason="召开听证会")

    # Thursday evening: the running case is due soon; the one paused on Monday used a fifth of
    # its time and stands still; the one paused on Thursday noon was already warned.
    assert _queue(bureau, QueueKey.DUE_SOON, sh(2025, 3, 6, 20)) == {running, warned}


def test_a_case_at_its_deadline_second_is_due_soon_and_past_it_overdue(bureau: Any) -> None:
    from caseworker.store.queries import QueueKey

    case = bureau.receive(sh(2025, 3, 3, 9), external_id="edge")  # assign due 03-06 23:59:59
    deadline = sh(2025, 3, 6, 23, 59, 59)
    with bureau.store.session() as session:
        at_deadline = overdue_cases(session, bureau.rules.calendar, as_of=deadline)
        past = overdue_cases(session, bureau.rules.calendar, as_of=sh(2025, 3, 7))
    assert (at_deadline, [row.external_id for row in past]) == ([], ["edge"])
    assert _queue(bureau, QueueKey.DUE_SOON, deadline) == {case}
    assert _queue(bureau, QueueKey.OVERDUE, deadline) == set()
    assert _queue(bureau, QueueKey.OVERDUE, sh(2025, 3, 7)) == {case}
    assert _queue(bureau, QueueKey.DUE_SOON, sh(2025, 3, 7)) == set()


def test_a_change_while_paused_does_not_move_the_deadline_the_pause_found(bureau: Any) -> None:
    from caseworker.services.cases import supervise_case
    from caseworker.store.queries import QueueKey

    # Assign due Thursday 03-06; paused Tuesday 03-11, three working days late. Supervised
    # (which recomputes the clocks) on 03-20 while still paused: the stored deadline stays
    # 03-06, so the queue and the report still hold the case, as late as it was.
    late = bureau.receive(sh(2025, 3, 3, 9), external_id="late")
    bureau.act(bureau.CLERK, sh(2025, 3, 11, 9), pause_case, late, reason="等待群众补充材料")
    bureau.act(
        bureau.SUPERVISOR, sh(2025, 3, 20, 9), supervise_case, late, level="催办", note="请尽快"
    )
    assert bureau.case(late).next_due_at == sh(2025, 3, 6, 23, 59, 59)
    assert _queue(bureau, QueueKey.OVERDUE, sh(2025, 3, 31, 9)) == {late}
    with bureau.store.session() as session:
        (row,) = overdue_cases(session, bureau.rules.calendar, as_of=sh(2025, 3, 31, 9))
    assert (row.overdue_working_days, row.overdue_days) == (3, 5)


def test_a_pause_of_two_seconds_on_the_due_day_moves_nothing(bureau: Any) -> None:
    from caseworker.services.cases import resume_case
    from caseworker.store.queries import QueueKey

    # Received Tuesday 2025-03-04: assign due Friday 03-07 23:59:59. Paused and resumed in the
    # last seconds of that Friday: still due then, overdue from Saturday, not Monday.
    case = bureau.receive(sh(2025, 3, 4, 9), external_id="seconds")
    bureau.act(bureau.CLERK, sh(2025, 3, 7, 23, 59, 55), pause_case, case, reason="核实")
    bureau.act(bureau.CLERK, sh(2025, 3, 7, 23, 59, 57), resume_case, case)
    assert bureau.case(case).next_due_at == sh(2025, 3, 7, 23, 59, 59)
    assert _queue(bureau, QueueKey.OVERDUE, sh(2025, 3, 8, 0, 0, 1)) == {case}
