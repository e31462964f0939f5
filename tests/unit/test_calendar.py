"""Working-day rules pinned to real State Council notices and to the statutory fallback rules."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from lunar_python import Lunar

from caseworker.domain.calendar import (
    CalendarFileError,
    WorkCalendar,
    YearNotice,
    parse_calendar_toml,
    provisional_days_off,
    statutory_holidays,
)

DATA_CALENDAR = Path(__file__).resolve().parents[2] / "data" / "calendar.toml"


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def naive_between(calendar: WorkCalendar, after: date, upto: date) -> int:
    """The obvious day-by-day count the fast version must agree with."""
    return sum(calendar.is_workday(d) for d in days(after + timedelta(days=1), upto))


# A hypothetical 2027 notice, invented for tests only: the real one is not published yet.
NOTICE_2027 = YearNotice(
    year=2027,
    holidays=frozenset(
        [date(2027, 1, 1), *days(date(2027, 2, 5), date(2027, 2, 11))]  # 元旦, 春节
    ),
    workdays=frozenset([date(2027, 2, 20)]),  # a Saturday make-up day
    source="test notice (not official)",
)


# --- official years (chinese_calendar) ------------------------------------------------------


def test_spring_festival_2025_follows_the_notice() -> None:
    calendar = WorkCalendar()
    for day in days(date(2025, 1, 28), date(2025, 2, 4)):
        assert not calendar.is_workday(day), day
    # 调休: Sunday 01-26 and Saturday 02-08 are working days.
    assert date(2025, 1, 26).weekday() == 6 and calendar.is_workday(date(2025, 1, 26))
    assert date(2025, 2, 8).weekday() == 5 and calendar.is_workday(date(2025, 2, 8))
    assert calendar.is_workday(date(2025, 1, 27)) and calendar.is_workday(date(2025, 2, 5))
    assert not calendar.is_provisional(date(2025, 2, 1))


def test_national_day_2025_follows_the_notice() -> None:
    calendar = WorkCalendar()
    for day in days(date(2025, 10, 1), date(2025, 10, 8)):
        assert not calendar.is_workday(day), day
    assert calendar.is_workday(date(2025, 9, 28))  # Sunday make-up day
    assert calendar.is_workday(date(2025, 10, 11))  # Saturday make-up day
    assert calendar.is_workday(date(2025, 10, 9))
    assert not calendar.is_workday(date(2025, 10, 12))  # an ordinary Sunday


def test_agrees_with_chinese_calendar_for_every_day_of_2024_to_2026() -> None:
    calendar = WorkCalendar()
    for day in days(date(2024, 1, 1), date(2026, 12, 31)):
        assert calendar.is_workday(day) == chinese_calendar.is_workday(day), day


# --- provisional years ------------------------------------------------------------------------


def test_years_the_library_does_not_know_are_provisional() -> None:
    calendar = WorkCalendar()
    assert calendar.is_provisional(date(2027, 3, 1))
    assert calendar.is_provisional(date(2003, 3, 1))
    assert not calendar.is_provisional(date(2026, 12, 31))
    assert calendar.source_of(2027) == "provisional"
    assert calendar.source_of(2025) == "chinese_calendar"
    assert 2027 not in calendar.known_years() and 2025 in calendar.known_years()


def test_a_bureau_notice_makes_a_year_exact_and_wins_over_the_library() -> None:
    override_2025 = YearNotice(
        2025, frozenset([date(2025, 3, 3)]), frozenset([date(2025, 3, 8)]), "test override"
    )
    calendar = WorkCalendar({2027: NOTICE_2027, 2025: override_2025})
    assert not calendar.is_provisional(date(2027, 3, 1))
    assert calendar.source_of(2027) == "test notice (not official)"
    assert not calendar.is_workday(date(2027, 2, 11))  # listed holiday (a Thursday)
    assert calendar.is_workday(date(2027, 2, 20))  # listed make-up Saturday
    assert not calendar.is_workday(date(2027, 2, 13))  # unlisted Saturday: weekend
    assert calendar.is_workday(date(2027, 2, 12))  # unlisted Friday: working
    # The bureau's entry for 2025 replaces the library's answer for that year.
    assert not calendar.is_workday(date(2025, 3, 3))
    assert calendar.is_workday(date(2025, 3, 8))
    assert 2027 in calendar.known_years()


def test_notice_filed_under_the_wrong_year_is_refused() -> None:
    with pytest.raises(CalendarFileError, match="2027"):
        WorkCalendar({2028: NOTICE_2027})


def test_lunar_dates_of_2027_spring_festival() -> None:
    # lunar_python: 正月初一 of lunar 2027 is 2027-02-06; 腊月 has 29 days, so 除夕 is 廿九, 02-05.
    new_year = Lunar.fromYmd(2027, 1, 1)
    assert new_year.getSolar().toYmd() == "2027-02-06"
    assert new_year.next(-1).getSolar().toYmd() == "2027-02-05"


def test_provisional_2027_spring_festival_with_substitute_days() -> None:
    # 除夕 Fri 02-05, 初一 Sat 02-06, 初二 Sun 02-07, 初三 Mon 02-08. Two of the four fall on a
    # weekend, so the first two weekdays after the block, Tue 02-09 and Wed 02-10, are given off.
    calendar = WorkCalendar()
    for day in days(date(2027, 2, 5), date(2027, 2, 10)):
        assert not calendar.is_workday(day), day
    assert calendar.is_workday(date(2027, 2, 4))
    assert calendar.is_workday(date(2027, 2, 11))
    # No make-up working days are invented: the Sundays around the festival stay off.
    assert not calendar.is_workday(date(2027, 1, 31))
    assert not calendar.is_workday(date(2027, 2, 14))


def test_provisional_2027_days_off() -> None:
    # 元旦 Fri 01-01; 清明 Mon 04-05; 劳动节 Sat 05-01 + Sun 05-02 -> Mon 05-03, Tue 05-04 off;
    # 端午 Wed 06-09; 中秋 Wed 09-15; 国庆 Fri 10-01, Sat 10-02, Sun 10-03 -> Mon 10-04, Tue 10-05.
    assert provisional_days_off(2027) == frozenset(
        [
            date(2027, 1, 1),
            *days(date(2027, 2, 5), date(2027, 2, 5)),
            *days(date(2027, 2, 8), date(2027, 2, 10)),
            date(2027, 4, 5),
            date(2027, 5, 3),
            date(2027, 5, 4),
            date(2027, 6, 9),
            date(2027, 9, 15),
            date(2027, 10, 1),
            date(2027, 10, 4),
            date(2027, 10, 5),
        ]
    )


def test_festivals_on_the_same_day_are_each_compensated() -> None:
    # 2031: 中秋 falls on Wed 10-01, inside 国庆 10-01..10-03 (Wed-Fri): one day is owed, given on
    # the first weekday after the block, Mon 10-06.
    assert Lunar.fromYmd(2031, 8, 15).getSolar().toYmd() == "2031-10-01"
    october_2031 = {d for d in provisional_days_off(2031) if d.month == 10}
    assert october_2031 == {date(2031, 10, d) for d in (1, 2, 3, 6)}
    # 2028: 国庆 Sun 10-01, Mon 10-02, Tue 10-03 and 中秋 Tue 10-03: Sunday's and the shared day's
    # substitutes are Wed 10-04 and Thu 10-05.
    assert Lunar.fromYmd(2028, 8, 15).getSolar().toYmd() == "2028-10-03"
    october_2028 = {d for d in provisional_days_off(2028) if d.month == 10}
    assert october_2028 == {date(2028, 10, d) for d in (2, 3, 4, 5)}


@pytest.mark.parametrize("year", [2025, 2026])
def test_provisional_rules_reproduce_the_official_years(year: int) -> None:
    # The amended rules are in force from 2025, so for 2025 and 2026 every statutory day must be
    # off in the provisional calendar, and every weekday the rules give off (substitutes
    # included) must be an official holiday too; only the 调休 swaps are beyond the rules.
    off = provisional_days_off(year)
    for day in statutory_holidays(year):
        assert day.weekday() >= 5 or day in off, day
        assert chinese_calendar.is_holiday(day), day
    for day in off:
        assert chinese_calendar.is_holiday(day), day


def test_statutory_holidays_2025() -> None:
    # 除夕 01-28 .. 初三 01-31, 清明 04-04, 端午 05-31, 中秋 10-06 (lunar_python).
    assert statutory_holidays(2025) == frozenset(
        [
            date(2025, 1, 1),
            *days(date(2025, 1, 28), date(2025, 1, 31)),
            date(2025, 4, 4),
            date(2025, 5, 1),
            date(2025, 5, 2),
            date(2025, 5, 31),
            date(2025, 10, 6),
            *days(date(2025, 10, 1), date(2025, 10, 3)),
        ]
    )
    # 端午 on Saturday 05-31 is compensated on Monday 06-02, as the official notice did.
    assert date(2025, 6, 2) in provisional_days_off(2025)


# --- counting -----------------------------------------------------------------------------------


def test_add_workdays_across_national_day_2025() -> None:
    # After Tue 09-30: 10-01..10-08 off; Thu 10-09 is 1st, Fri 10-10 2nd, Sat 10-11 (调休) 3rd.
    calendar = WorkCalendar()
    assert calendar.add_workdays(date(2025, 9, 30), 1) == (date(2025, 10, 9), False)
    assert calendar.add_workdays(date(2025, 9, 30), 3) == (date(2025, 10, 11), False)
    assert calendar.add_workdays(date(2025, 9, 30), 4) == (date(2025, 10, 13), False)
    with pytest.raises(ValueError):
        calendar.add_workdays(date(2025, 9, 30), 0)


def test_add_workdays_is_provisional_only_when_it_reaches_a_provisional_year() -> None:
    calendar = WorkCalendar()
    # 12-31-2026 is a Thursday working day (library); nothing from 2027 is examined.
    assert calendar.add_workdays(date(2026, 12, 30), 1) == (date(2026, 12, 31), False)
    # From 12-31: Fri 2027-01-01 元旦, then the weekend, so Mon 01-04 (provisional).
    assert calendar.add_workdays(date(2026, 12, 31), 1) == (date(2027, 1, 4), True)
    # Starting on 12-31 examines no day of the start's own year: from provisional 2027-12-31
    # into an entered 2028 the answer is exact.
    notice_2028 = YearNotice(2028, frozenset([date(2028, 1, 3)]), frozenset(), "test")
    assert WorkCalendar({2028: notice_2028}).add_workdays(date(2027, 12, 31), 1) == (
        date(2028, 1, 4),
        False,
    )
    assert calendar.add_workdays(date(2027, 12, 30), 1) == (date(2027, 12, 31), True)
    assert WorkCalendar({2027: NOTICE_2027}).add_workdays(date(2026, 12, 31), 1) == (
        date(2027, 1, 4),
        False,
    )


def test_add_workdays_spanning_several_years() -> None:
    calendar = WorkCalendar()
    start = date(2024, 6, 1)
    n = 700
    result, provisional = calendar.add_workdays(start, n)
    assert calendar.workdays_between(start, result) == n
    assert calendar.is_workday(result)
    assert provisional is (result.year >= 2027)


def test_roll_to_workday() -> None:
    calendar = WorkCalendar()
    assert calendar.roll_to_workday(date(2025, 10, 9)) == (date(2025, 10, 9), False)
    assert calendar.roll_to_workday(date(2025, 10, 1)) == (date(2025, 10, 9), False)
    assert calendar.roll_to_workday(date(2025, 1, 26)) == (date(2025, 1, 26), False)  # 调休
    assert calendar.roll_to_workday(date(2027, 2, 6)) == (date(2027, 2, 11), True)
    # Rolling past the year's end: with 2027-12-31 made a holiday by a notice, the next working
    # day is in provisional 2028, where Sat 01-01 元旦 is compensated on Mon 01-03: Tue 01-04.
    notice = YearNotice(2027, frozenset([date(2027, 12, 31)]), frozenset(), "test")
    assert WorkCalendar({2027: notice}).roll_to_workday(date(2027, 12, 31)) == (
        date(2028, 1, 4),
        True,
    )


def test_workdays_between_edge_cases() -> None:
    calendar = WorkCalendar()
    monday = date(2025, 3, 3)
    assert calendar.workdays_between(monday, monday) == 0
    assert calendar.workdays_between(monday, monday - timedelta(days=5)) == 0
    assert calendar.workdays_between(monday, monday + timedelta(days=1)) == 1  # Tue only
    assert calendar.workdays_between(date(2025, 3, 7), date(2025, 3, 9)) == 0  # weekend
    # Counted: 10-09, 10-10, 10-11 (调休 Saturday).
    assert calendar.workdays_between(date(2025, 9, 30), date(2025, 10, 11)) == 3
    assert calendar.workdays_between(date(2025, 9, 30), date(2025, 10, 8)) == 0
    # A whole year equals the library's own count.
    assert calendar.workdays_between(date(2024, 12, 31), date(2025, 12, 31)) == len(
        chinese_calendar.get_workdays(date(2025, 1, 1), date(2025, 12, 31))
    )


def test_fast_counting_agrees_with_a_day_by_day_loop() -> None:
    calendar = WorkCalendar()
    rng = random.Random(20251001)
    origin = date(2023, 1, 1)
    for _ in range(1500):
        after = origin + timedelta(days=rng.randrange(0, 365 * 5))
        upto = after + timedelta(days=rng.randrange(-5, 500))
        assert calendar.workdays_between(after, upto) == naive_between(calendar, after, upto)
        n = rng.randrange(1, 40)
        result, _ = calendar.add_workdays(after, n)
        assert calendar.is_workday(result)
        assert naive_between(calendar, after, result) == n


# --- the calendar file ------------------------------------------------------------------------

GOOD = """
[years.2027]
source = "国务院办公厅关于2027年部分节假日安排的通知"
holidays = ["2027-01-01", "2027-02-05..2027-02-11"]
workdays = ["2027-02-14"]

[years.2028]
source = "another notice"
holidays = ["2028-01-01"]
"""


def test_parse_calendar_toml_reads_days_and_ranges() -> None:
    notices = parse_calendar_toml(GOOD)
    assert sorted(notices) == [2027, 2028]
    notice = notices[2027]
    assert notice.source == "国务院办公厅关于2027年部分节假日安排的通知"
    assert notice.holidays == frozenset(
        [date(2027, 1, 1), *days(date(2027, 2, 5), date(2027, 2, 11))]
    )
    assert notice.workdays == frozenset([date(2027, 2, 14)])
    assert notices[2028].workdays == frozenset()
    calendar = WorkCalendar(notices)
    assert calendar.is_workday(date(2027, 2, 14))
    assert not calendar.is_provisional(date(2028, 6, 1))


def test_parse_calendar_toml_empty_file() -> None:
    assert parse_calendar_toml("") == {}
    assert parse_calendar_toml("# only comments\n") == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[years.2027]\nsource = "n"\nholidays = ["2027-02-30"]', r"2027.*'2027-02-30'"),
        ('[years.2027]\nsource = "n"\nholidays = ["tomorrow"]', r"2027.*'tomorrow'"),
        ('[years.2027]\nsource = "n"\nholidays = ["2026-12-31"]', r"2027.*'2026-12-31'.*outside"),
        (
            '[years.2027]\nsource = "n"\nholidays = ["2027-12-30..2028-01-02"]',
            r"2027.*'2027-12-30\.\.2028-01-02'.*outside",
        ),
        (
            '[years.2027]\nsource = "n"\nholidays = ["2027-02-11..2027-02-05"]',
            r"2027.*ends before",
        ),
        (
            '[years.2027]\nsource = "n"\nholidays = ["2027-02-05..2027-02-11"]\n'
            'workdays = ["2027-02-07"]',
            r"2027.*2027-02-07.*both",
        ),
        ('[years.2027]\nholidays = ["2027-01-01"]', r"2027.*source"),
        ('[years.2027]\nsource = "n"\nholiday = ["2027-01-01"]', r"2027.*unknown.*holiday"),
        ('[years.2027]\nsource = "n"\nholidays = "2027-01-01"', r"2027.*list"),
        ('[years.2027]\nsource = "n"\nholidays = [20270101]', r"2027.*quoted"),
        ('[years.next]\nsource = "n"', r"years\.next.*not a year"),
        ("[years.2027\n", r"not valid TOML"),
        ('[year.2027]\nsource = "n"', r"unknown top-level.*year"),
    ],
)
def test_parse_calendar_toml_refuses_bad_input(text: str, expected: str) -> None:
    with pytest.raises(CalendarFileError, match=expected):
        parse_calendar_toml(text)


def test_shipped_calendar_file_parses() -> None:
    notices = parse_calendar_toml(DATA_CALENDAR.read_text(encoding="utf-8"))
    # No official 2027 notice is known to us, so none may be shipped.
    assert 2027 not in notices
