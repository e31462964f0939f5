"""Deadline counting (民法典 Art. 201/203) and stage clocks, pinned to hand-checked real dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import chinese_calendar
import pytest

from caseworker.domain.calendar import SHANGHAI, WorkCalendar, YearNotice
from caseworker.domain.deadlines import (
    WARNING_FRACTION,
    Clock,
    ClockState,
    Deadline,
    Limit,
    LimitError,
    LimitUnit,
    NaiveTimeError,
    Pause,
    Stage,
    compute_clock,
    deadline_for,
)

CALENDAR = WorkCalendar()


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in Shanghai."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


def end_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=SHANGHAI)


# --- limits -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [
        ("3 workdays", 3, LimitUnit.WORKDAYS),
        ("1 workday", 1, LimitUnit.WORKDAYS),
        ("5 working days", 5, LimitUnit.WORKDAYS),
        ("60 days", 60, LimitUnit.DAYS),
        ("60 Days", 60, LimitUnit.DAYS),
        ("24 hours", 24, LimitUnit.HOURS),
        ("3工作日", 3, LimitUnit.WORKDAYS),
        ("3个工作日", 3, LimitUnit.WORKDAYS),
        ("60日", 60, LimitUnit.DAYS),
        ("60天", 60, LimitUnit.DAYS),
        ("24小时", 24, LimitUnit.HOURS),
        ("  15 日 ", 15, LimitUnit.DAYS),
    ],
)
def test_limit_parse(text: str, amount: int, unit: LimitUnit) -> None:
    assert Limit.parse(text) == Limit(amount, unit)


@pytest.mark.parametrize("text", ["", "days", "3 weeks", "0 days", "-1 days", "3.5 days", "日3"])
def test_limit_parse_refuses(text: str) -> None:
    with pytest.raises(LimitError):
        Limit.parse(text)


def test_limit_text_round_trips() -> None:
    assert str(Limit(3, LimitUnit.WORKDAYS)) == "3 workdays"
    assert str(Limit(60, LimitUnit.DAYS)) == "60 days"
    assert str(Limit(24, LimitUnit.HOURS)) == "24 hours"
    assert str(Limit(1, LimitUnit.DAYS)) == "1 day"
    assert Limit(60, LimitUnit.DAYS).zh() == "60日"
    for limit in (
        Limit(1, LimitUnit.WORKDAYS),
        Limit(60, LimitUnit.DAYS),
        Limit(8, LimitUnit.HOURS),
    ):
        assert Limit.parse(str(limit)) == limit
        assert Limit.parse(limit.zh()) == limit


def test_limit_must_be_positive() -> None:
    with pytest.raises(LimitError):
        Limit(0, LimitUnit.DAYS)


# --- deadline_for ------------------------------------------------------------------------------


def test_60_days_ending_on_national_day_rolls_to_the_next_working_day() -> None:
    # Receipt 2025-08-02 (not counted): 08-03 is day 1, 08-31 day 29, 09-30 day 59, 10-01 day 60.
    # 10-01..10-08 are off (National Day + 中秋), so it ends 10-09 23:59:59.
    assert not chinese_calendar.is_workday(date(2025, 10, 1))
    assert chinese_calendar.is_workday(date(2025, 10, 9))
    deadline = deadline_for(sh(2025, 8, 2, 15, 30), Limit(60, LimitUnit.DAYS), CALENDAR)
    assert deadline == Deadline(sh(2025, 10, 9, 23, 59, 59), provisional=False)
    assert deadline.due_at.isoformat() == "2025-10-09T23:59:59+08:00"


def test_days_ending_on_a_working_day_do_not_move() -> None:
    # 03-01 + 30 days = 03-31, + 30 more = 04-30 (Wednesday, a working day).
    assert chinese_calendar.is_workday(date(2025, 4, 30))
    deadline = deadline_for(sh(2025, 3, 1, 9), Limit(60, LimitUnit.DAYS), CALENDAR)
    assert deadline.due_at == end_of(date(2025, 4, 30))


def test_days_ending_on_a_make_up_sunday_stay_there() -> None:
    # 2024-11-27 + 3 = 11-30, + 31 = 12-31 (day 34), + 26 = 2025-01-26 (day 60): a Sunday, but a
    # 调休 working day in the 2025 notice, so the limit ends that Sunday.
    assert chinese_calendar.is_workday(date(2025, 1, 26))
    deadline = deadline_for(sh(2024, 11, 27, 10), Limit(60, LimitUnit.DAYS), CALENDAR)
    assert deadline.due_at == end_of(date(2025, 1, 26))


def test_workdays_across_national_day_2025() -> None:
    # After Tue 09-30: 10-01..10-08 off; Thu 10-09 (1), Fri 10-10 (2), Sat 10-11 make-up (3).
    assert [chinese_calendar.is_workday(date(2025, 10, d)) for d in (9, 10, 11)] == [True] * 3
    deadline = deadline_for(sh(2025, 9, 30, 10), Limit(3, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline == Deadline(end_of(date(2025, 10, 11)), provisional=False)


def test_receipt_day_is_not_counted() -> None:
    # Received Monday 2025-03-03 at 23:59: Monday is not counted, so 1 工作日 is Tuesday.
    assert date(2025, 3, 3).weekday() == 0
    deadline = deadline_for(sh(2025, 3, 3, 23, 59), Limit(1, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline.due_at == sh(2025, 3, 4, 23, 59, 59)
    # Received on Saturday: 1 工作日 is Monday.
    deadline = deadline_for(sh(2025, 3, 8, 9), Limit(1, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline.due_at == end_of(date(2025, 3, 10))


def test_hours_limit_is_exact_and_ignores_holidays() -> None:
    deadline = deadline_for(sh(2025, 3, 3, 10, 15), Limit(24, LimitUnit.HOURS), CALENDAR)
    assert deadline == Deadline(sh(2025, 3, 4, 10, 15), provisional=False)
    deadline = deadline_for(sh(2025, 10, 1, 10), Limit(4, LimitUnit.HOURS), CALENDAR)
    assert deadline.due_at == sh(2025, 10, 1, 14)
    assert deadline.due_at.tzinfo is SHANGHAI


def test_utc_start_is_converted_to_shanghai_first() -> None:
    # 2025-01-01T20:00Z is 2025-01-02 04:00 in Shanghai, so the receipt day is Thu 01-02 and
    # 1 工作日 ends Fri 01-03 (not 01-02, which it would be if counted from the UTC date).
    start = datetime(2025, 1, 1, 20, tzinfo=UTC)
    deadline = deadline_for(start, Limit(1, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline.due_at == end_of(date(2025, 1, 3))
    assert deadline.due_at.utcoffset() == timedelta(hours=8)


def test_naive_start_is_refused() -> None:
    with pytest.raises(NaiveTimeError):
        deadline_for(datetime(2025, 3, 3, 10), Limit(1, LimitUnit.DAYS), CALENDAR)


# A hypothetical 2027 notice, invented for tests only: the real one is not published yet.
NOTICE_2027 = YearNotice(
    2027,
    frozenset(
        [date(2027, 1, 1)]
        + [date(2027, 2, 5) + timedelta(days=i) for i in range(7)]  # 02-05..02-11
    ),
    frozenset([date(2027, 2, 20)]),
    "test notice (not official)",
)


def test_deadline_in_2027_is_provisional_until_the_notice_is_entered() -> None:
    # 2026-11-20 + 10 = 11-30, + 31 = 12-31 (day 41), + 19 = 2027-01-19 (day 60), a Tuesday.
    start = sh(2026, 11, 20, 9)
    limit = Limit(60, LimitUnit.DAYS)
    assert deadline_for(start, limit, CALENDAR) == Deadline(end_of(date(2027, 1, 19)), True)
    exact = deadline_for(start, limit, WorkCalendar({2027: NOTICE_2027}))
    assert exact == Deadline(end_of(date(2027, 1, 19)), False)


def test_workdays_across_new_year_2027_are_provisional() -> None:
    # After Mon 2026-12-28: Tue 29 (1), Wed 30 (2), Thu 31 (3), Fri 2027-01-01 元旦 off, weekend,
    # Mon 01-04 (4), Tue 01-05 (5).
    assert all(chinese_calendar.is_workday(date(2026, 12, d)) for d in (29, 30, 31))
    deadline = deadline_for(sh(2026, 12, 28, 9), Limit(5, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline == Deadline(end_of(date(2027, 1, 5)), provisional=True)
    # 3 工作日 from 12-25 ends 12-30 and never looks at 2027: exact.
    deadline = deadline_for(sh(2026, 12, 25, 9), Limit(3, LimitUnit.WORKDAYS), CALENDAR)
    assert deadline == Deadline(end_of(date(2026, 12, 30)), provisional=False)


def test_workdays_across_spring_festival_2027() -> None:
    start = sh(2027, 2, 1, 9)  # Monday
    limit = Limit(10, LimitUnit.WORKDAYS)
    # Provisional rules: 除夕 Fri 02-05 .. 初三 Mon 02-08 off, plus Tue 02-09 and Wed 02-10 for
    # 初一 and 初二 falling on the weekend. Counting: 02-02 (1), 02-03 (2), 02-04 (3), 02-11 (4),
    # 02-12 (5), 02-15 (6), 02-16 (7), 02-17 (8), 02-18 (9), 02-19 (10).
    assert deadline_for(start, limit, CALENDAR) == Deadline(end_of(date(2027, 2, 19)), True)
    # With the (test) notice: 02-05..02-11 off, Sat 02-20 a make-up day. 02-02, 02-03, 02-04,
    # 02-12 (4), 02-15 .. 02-19 (5-9), Sat 02-20 (10).
    exact = deadline_for(start, limit, WorkCalendar({2027: NOTICE_2027}))
    assert exact == Deadline(end_of(date(2027, 2, 20)), False)


# --- clocks -------------------------------------------------------------------------------------


def test_running_clock() -> None:
    clock = compute_clock(
        Stage.REPLY,
        sh(2025, 3, 3, 10),
        Limit(3, LimitUnit.WORKDAYS),
        CALENDAR,
        now=sh(2025, 3, 5, 12),
    )
    assert clock.state is ClockState.RUNNING
    assert clock.due_at == end_of(date(2025, 3, 6))  # Tue 1, Wed 2, Thu 3
    assert clock.remaining(sh(2025, 3, 5, 12)) == clock.due_at - sh(2025, 3, 5, 12)
    assert not clock.is_overdue(sh(2025, 3, 5, 12))
    assert clock.is_overdue(sh(2025, 3, 7, 0))
    assert clock.remaining(sh(2025, 3, 7, 0, 0, 59)) == timedelta(seconds=-60)
    assert not clock.provisional


def test_warning_at_80_percent_of_the_limit() -> None:
    start = sh(2025, 3, 3, 0)
    clock = compute_clock(Stage.ASSIGN, start, Limit(10, LimitUnit.HOURS), CALENDAR, now=start)
    assert clock.used_fraction(sh(2025, 3, 3, 7, 59)) < WARNING_FRACTION
    assert not clock.needs_warning(sh(2025, 3, 3, 7, 59))
    assert clock.used_fraction(sh(2025, 3, 3, 8)) == pytest.approx(0.8)
    assert clock.needs_warning(sh(2025, 3, 3, 8))
    assert clock.used_fraction(sh(2025, 3, 3, 10)) == pytest.approx(1.0)
    assert clock.used_fraction(sh(2025, 3, 3, 15)) == pytest.approx(1.5)
    assert not clock.needs_warning(sh(2025, 3, 3, 15))  # overdue, not a warning any more
    assert clock.used_fraction(sh(2025, 3, 2, 15)) == 0.0


def test_closed_pause_moves_the_deadline_by_working_days() -> None:
    # 3 工作日 from Mon 2025-03-03: due Thu 03-06. A hearing from Tue 03-04 to Fri 03-07 moves
    # it by the working days after the pause day up to the resuming day (Wed, Thu, Fri): Tue
    # 03-11. The moved span is neither limit nor use: at the new deadline the limit is used up.
    start = sh(2025, 3, 3, 10)
    pause = Pause(sh(2025, 3, 4, 9), sh(2025, 3, 7, 9))
    clock = compute_clock(
        Stage.CLOSE,
        start,
        Limit(3, LimitUnit.WORKDAYS),
        CALENDAR,
        pauses=[pause],
        now=sh(2025, 3, 8, 10),
    )
    assert clock.state is ClockState.RUNNING
    assert clock.due_at == end_of(date(2025, 3, 11))
    assert clock.paused_for == end_of(date(2025, 3, 11)) - end_of(date(2025, 3, 6))
    assert clock.used_fraction(clock.due_at) == pytest.approx(1.0)


def test_a_pause_begun_and_ended_on_one_day_moves_nothing() -> None:
    # The reported case: paused at 23:59:55 on the due day, resumed two seconds later. The
    # deadline stays 23:59:59 that day; it used to become 00:00:01 the next (a Saturday, so the
    # countdown gained a working day).
    start = sh(2025, 3, 3, 10)
    for unit in (LimitUnit.WORKDAYS, LimitUnit.DAYS):
        clock = compute_clock(
            Stage.REPLY,
            start,
            Limit(4, unit),
            CALENDAR,
            pauses=[Pause(sh(2025, 3, 7, 23, 59, 55), sh(2025, 3, 7, 23, 59, 57))],
            now=sh(2025, 3, 7, 23, 59, 58),
        )
        assert clock.due_at == end_of(date(2025, 3, 7)), unit
        assert clock.paused_for == timedelta(0)
        assert not clock.is_overdue(sh(2025, 3, 7, 23, 59, 58))


def test_a_pause_across_a_weekend() -> None:
    # 5 工作日 from Mon 2025-03-03: due Mon 03-10. Paused Friday 16:00, resumed Monday 09:00:
    # the Monday is the one working day given back (the Friday ran), so due Tue 03-11.
    # 10 日 from the same start: day 10 is Thu 03-13; Friday to Monday gives back three days
    # (Sat, Sun, Mon), so day 13 is Sun 03-16, rolled to Mon 03-17.
    # Paused Saturday, resumed Sunday: no working day lost, a 工作日 limit does not move.
    start = sh(2025, 3, 3, 10)
    friday_to_monday = [Pause(sh(2025, 3, 7, 16), sh(2025, 3, 10, 9))]
    saturday_to_sunday = [Pause(sh(2025, 3, 8, 10), sh(2025, 3, 9, 18))]
    now = sh(2025, 3, 10, 10)

    def due(limit: Limit, pauses: list[Pause]) -> datetime:
        return compute_clock(Stage.CLOSE, start, limit, CALENDAR, pauses=pauses, now=now).due_at

    assert due(Limit(5, LimitUnit.WORKDAYS), friday_to_monday) == end_of(date(2025, 3, 11))
    assert due(Limit(10, LimitUnit.DAYS), []) == end_of(date(2025, 3, 13))
    assert due(Limit(10, LimitUnit.DAYS), friday_to_monday) == end_of(date(2025, 3, 17))
    assert due(Limit(5, LimitUnit.WORKDAYS), saturday_to_sunday) == end_of(date(2025, 3, 10))
    assert due(Limit(10, LimitUnit.DAYS), saturday_to_sunday) == end_of(date(2025, 3, 14))


def test_a_pause_across_national_day_2025() -> None:
    # 10 工作日 from Mon 2025-09-22 (Sunday 09-28 and Saturday 10-11 are make-up working days,
    # 10-01..10-08 off): due Sat 10-11. Paused Tue 09-30, resumed Thu 10-09: one working day
    # (10-09) given back, due Mon 10-13. 15 日 from the same start: day 15 is 10-07, a holiday,
    # rolled to 10-09; nine days given back make day 24, Thu 10-16.
    start = sh(2025, 9, 22, 10)
    pauses = [Pause(sh(2025, 9, 30, 15), sh(2025, 10, 9, 9))]
    now = sh(2025, 10, 9, 10)

    def due(limit: Limit, pauses: list[Pause]) -> datetime:
        return compute_clock(Stage.CLOSE, start, limit, CALENDAR, pauses=pauses, now=now).due_at

    assert due(Limit(10, LimitUnit.WORKDAYS), []) == end_of(date(2025, 10, 11))
    assert due(Limit(10, LimitUnit.WORKDAYS), pauses) == end_of(date(2025, 10, 13))
    assert due(Limit(15, LimitUnit.DAYS), []) == end_of(date(2025, 10, 9))
    assert due(Limit(15, LimitUnit.DAYS), pauses) == end_of(date(2025, 10, 16))


def test_an_hours_limit_moves_by_the_exact_paused_time() -> None:
    start = sh(2025, 3, 7, 20)
    clock = compute_clock(
        Stage.ASSIGN,
        start,
        Limit(24, LimitUnit.HOURS),
        CALENDAR,
        pauses=[Pause(sh(2025, 3, 7, 23, 59, 55), sh(2025, 3, 7, 23, 59, 57))],
        now=sh(2025, 3, 8),
    )
    assert clock.due_at == sh(2025, 3, 8, 20, 0, 2)
    assert clock.paused_for == timedelta(seconds=2)


def test_pause_days_are_counted_once_and_only_inside_the_running_time() -> None:
    # 10 工作日 from Mon 2025-03-03, replied Thu 03-20: due Mon 03-17 before pauses.
    start = sh(2025, 3, 3, 10)
    stop = sh(2025, 3, 20, 10)
    pauses = [
        Pause(sh(2025, 3, 1, 0), sh(2025, 3, 3, 10)),  # entirely before the start
        Pause(sh(2025, 3, 21, 0), sh(2025, 3, 25, 0)),  # after the stop
        Pause(sh(2025, 3, 4, 9), sh(2025, 3, 5, 9)),  # gives back Wed 03-05 ...
        Pause(sh(2025, 3, 4, 12), sh(2025, 3, 6, 12)),  # ... overlapping: Thu 03-06 more
        Pause(sh(2025, 3, 10, 9), sh(2025, 3, 10, 17)),  # within one day: nothing
    ]
    clock = compute_clock(
        Stage.CLOSE,
        start,
        Limit(10, LimitUnit.WORKDAYS),
        CALENDAR,
        pauses=pauses,
        stopped_at=stop,
        now=sh(2025, 3, 30),
    )
    assert clock.due_at == end_of(date(2025, 3, 19))
    assert clock.finished_late()  # replied on 03-20


def test_open_pause_freezes_the_clock() -> None:
    # 3 工作日 from Mon 2025-03-03: due Thu 03-06. Paused Wed 12:00 and still open: the deadline
    # stays where the pause found it (the pause moves it once it ends), and every reading is
    # taken at the pause.
    start = sh(2025, 3, 3, 10)
    base_due = end_of(date(2025, 3, 6))
    now = sh(2025, 3, 6, 12)
    clock = compute_clock(
        Stage.CLOSE,
        start,
        Limit(3, LimitUnit.WORKDAYS),
        CALENDAR,
        pauses=[Pause(sh(2025, 3, 5, 12), None)],
        now=now,
    )
    assert clock.state is ClockState.PAUSED
    assert clock.due_at == base_due
    frozen = clock.remaining(now)
    assert frozen == base_due - sh(2025, 3, 5, 12)
    # A week later the pause is still open: nothing more has been used, and it is not overdue.
    later = now + timedelta(days=7)
    assert clock.remaining(later) == frozen
    assert not clock.is_overdue(later)
    assert clock.used_fraction(later) == pytest.approx(clock.used_fraction(now))
    assert clock.overdue_days(later) == 0
    # Resumed on Mon 03-10: Thu, Fri and Mon are given back, due Tue 03-11.
    resumed = compute_clock(
        Stage.CLOSE,
        start,
        Limit(3, LimitUnit.WORKDAYS),
        CALENDAR,
        pauses=[Pause(sh(2025, 3, 5, 12), sh(2025, 3, 10, 9))],
        now=sh(2025, 3, 10, 9),
    )
    assert resumed.due_at == end_of(date(2025, 3, 11))
    assert resumed.remaining(sh(2025, 3, 10, 9)) > frozen


def test_a_clock_paused_after_its_deadline_stays_late_by_what_it_was() -> None:
    # 10 工作日 from Friday 2025-10-31: due Friday 11-14. Paused Monday 11-17 10:00, one working
    # day (and three natural days) late; read on Monday, Thursday and the next Monday.
    start = sh(2025, 10, 31, 9)
    pauses = [Pause(sh(2025, 11, 17, 10), None)]
    for now in (sh(2025, 11, 17, 11), sh(2025, 11, 20, 10), sh(2025, 11, 24, 10)):
        clock = compute_clock(
            Stage.REPLY, start, Limit(10, LimitUnit.WORKDAYS), CALENDAR, pauses=pauses, now=now
        )
        assert clock.state is ClockState.PAUSED
        assert clock.due_at == end_of(date(2025, 11, 14)), now
        assert clock.is_overdue(now)
        late = (clock.overdue_working_days(now, CALENDAR), clock.overdue_days(now))
        assert late == (1, 3), now


def test_same_unit_extension_lengthens_the_close_limit() -> None:
    # 60 日 + approved 30 日 = 90 日 from 2025-08-02: 08-31 is day 29, 09-30 day 59, 10-31 day
    # 90, a Friday working day. Without the extension it is 10-09 (see the 60-day test).
    start = sh(2025, 8, 2, 15)
    now = sh(2025, 10, 20)
    base = compute_clock(Stage.CLOSE, start, Limit(60, LimitUnit.DAYS), CALENDAR, now=now)
    extended = compute_clock(
        Stage.CLOSE,
        start,
        Limit(60, LimitUnit.DAYS),
        CALENDAR,
        extension=Limit(30, LimitUnit.DAYS),
        now=now,
    )
    assert base.due_at == end_of(date(2025, 10, 9))
    assert base.is_overdue(now)
    assert extended.due_at == end_of(date(2025, 10, 31))
    assert not extended.is_overdue(now)
    assert extended.limit == Limit(60, LimitUnit.DAYS)
    assert extended.extension == Limit(30, LimitUnit.DAYS)


def test_extension_in_another_unit_counts_from_the_base_deadline() -> None:
    # 5 工作日 from Mon 2025-03-03 ends Mon 03-10; + 5 日 from that day is Sat 03-15, rolled to
    # Mon 03-17.
    clock = compute_clock(
        Stage.CLOSE,
        sh(2025, 3, 3, 10),
        Limit(5, LimitUnit.WORKDAYS),
        CALENDAR,
        extension=Limit(5, LimitUnit.DAYS),
        now=sh(2025, 3, 5),
    )
    assert clock.due_at == end_of(date(2025, 3, 17))
    hours = compute_clock(
        Stage.CLOSE,
        sh(2025, 3, 3, 10),
        Limit(5, LimitUnit.WORKDAYS),
        CALENDAR,
        extension=Limit(24, LimitUnit.HOURS),
        now=sh(2025, 3, 5),
    )
    assert hours.due_at == end_of(date(2025, 3, 11))


def test_extension_reaching_a_provisional_year_makes_the_clock_provisional() -> None:
    # 60 日 from 2026-11-01 ends Thu 2026-12-31 (11-30 is day 29, 12-31 day 60): exact.
    # + 30 日 = 90 日: 2027-01-30 (day 90) is a Saturday, rolled to Mon 02-01: provisional.
    start, now = sh(2026, 11, 1, 10), sh(2026, 11, 2)
    base = compute_clock(Stage.CLOSE, start, Limit(60, LimitUnit.DAYS), CALENDAR, now=now)
    assert (base.due_at, base.provisional) == (end_of(date(2026, 12, 31)), False)
    clock = compute_clock(
        Stage.CLOSE,
        start,
        Limit(60, LimitUnit.DAYS),
        CALENDAR,
        extension=Limit(30, LimitUnit.DAYS),
        now=now,
    )
    assert (clock.due_at, clock.provisional) == (end_of(date(2027, 2, 1)), True)


def test_stopped_clocks() -> None:
    start = sh(2025, 3, 3, 10)
    limit = Limit(3, LimitUnit.WORKDAYS)  # due Thu 03-06 23:59:59
    on_time = compute_clock(
        Stage.REPLY, start, limit, CALENDAR, stopped_at=sh(2025, 3, 5, 16), now=sh(2025, 4, 1)
    )
    assert on_time.state is ClockState.STOPPED
    assert not on_time.finished_late()
    assert not on_time.is_overdue(sh(2025, 4, 1))  # done, so never overdue afterwards
    assert on_time.remaining(sh(2025, 4, 1)) == end_of(date(2025, 3, 6)) - sh(2025, 3, 5, 16)
    assert on_time.overdue_days(sh(2025, 4, 1)) == 0

    late = compute_clock(
        Stage.REPLY, start, limit, CALENDAR, stopped_at=sh(2025, 3, 10, 9), now=sh(2025, 4, 1)
    )
    assert late.finished_late()
    assert late.is_late(sh(2025, 4, 1))
    assert not late.is_overdue(sh(2025, 4, 1))
    # Late by Fri 03-07, Sat, Sun, Mon 03-10: 4 natural days, 2 working days (Fri, Mon).
    assert late.overdue_days(sh(2025, 4, 1)) == 4
    assert late.overdue_working_days(sh(2025, 4, 1), CALENDAR) == 2
    # An open pause does not matter once the stage is done.
    paused_then_stopped = compute_clock(
        Stage.REPLY,
        start,
        limit,
        CALENDAR,
        pauses=[Pause(sh(2025, 3, 4, 10), None)],
        stopped_at=sh(2025, 3, 5, 10),
        now=sh(2025, 4, 1),
    )
    assert paused_then_stopped.state is ClockState.STOPPED
    assert paused_then_stopped.due_at == end_of(date(2025, 3, 6)) + timedelta(days=1)


def test_overdue_working_days_across_national_day_2025() -> None:
    # 1 工作日 from Mon 09-29 ends Tue 09-30 23:59:59.
    clock = compute_clock(
        Stage.CLOSE,
        sh(2025, 9, 29, 10),
        Limit(1, LimitUnit.WORKDAYS),
        CALENDAR,
        now=sh(2025, 9, 29, 10),
    )
    assert clock.due_at == end_of(date(2025, 9, 30))
    # 10-01..10-08 are off: late in natural days, not yet in working days.
    assert clock.is_overdue(sh(2025, 10, 1, 0, 0))
    assert clock.overdue_days(sh(2025, 10, 1, 8)) == 1
    assert clock.overdue_working_days(sh(2025, 10, 8, 8), CALENDAR) == 0
    # As of 10-09: 1 working day overdue (10-09 itself).
    assert clock.overdue_working_days(sh(2025, 10, 9, 9), CALENDAR) == 1
    assert clock.overdue_days(sh(2025, 10, 9, 9)) == 9
    # As of Sat 10-11 (make-up day): 10-09, 10-10, 10-11.
    assert clock.overdue_working_days(sh(2025, 10, 11, 18), CALENDAR) == 3
    # Not late: zero.
    assert clock.overdue_working_days(sh(2025, 9, 30, 23, 59, 59), CALENDAR) == 0
    assert clock.overdue_days(sh(2025, 9, 30, 23, 59, 59)) == 0


def test_overdue_counts_use_shanghai_dates_for_utc_now() -> None:
    clock = compute_clock(
        Stage.CLOSE,
        sh(2025, 9, 29, 10),
        Limit(1, LimitUnit.WORKDAYS),
        CALENDAR,
        now=sh(2025, 9, 29, 10),
    )
    # 2025-10-08T17:00Z is 10-09 01:00 in Shanghai.
    now = datetime(2025, 10, 8, 17, tzinfo=UTC)
    assert clock.overdue_working_days(now, CALENDAR) == 1


def test_hours_clock_late_on_the_same_day_has_zero_overdue_days() -> None:
    clock = compute_clock(
        Stage.ASSIGN, sh(2025, 3, 3, 9), Limit(2, LimitUnit.HOURS), CALENDAR, now=sh(2025, 3, 3, 9)
    )
    now = sh(2025, 3, 3, 15)
    assert clock.is_overdue(now)
    assert clock.remaining(now) == timedelta(hours=-4)
    assert clock.overdue_days(now) == 0
    assert clock.overdue_working_days(now, CALENDAR) == 0


def test_clock_is_a_plain_frozen_value() -> None:
    clock = compute_clock(
        Stage.ASSIGN, sh(2025, 3, 3, 9), Limit(2, LimitUnit.HOURS), CALENDAR, now=sh(2025, 3, 3, 9)
    )
    assert isinstance(clock, Clock)
    with pytest.raises(AttributeError):
        clock.state = ClockState.STOPPED  # type: ignore[misc]
