"""Which days are working days in mainland China, so deadlines count the days the law counts.

Three sources, best first: a State Council notice the bureau entered in its calendar file, the
`chinese_calendar` library (official notices 2004-2026), and provisional statutory rules for any
other year. Answers from the statutory rules are flagged provisional so the console can say so.
"""

from __future__ import annotations

import bisect
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")

_SATURDAY = 5  # date.weekday(): Monday is 0, so 5 and 6 are the weekend


class CalendarFileError(ValueError):
    """The bureau calendar file cannot be used; the message names the year and entry to fix."""


@dataclass(frozen=True)
class YearNotice:
    """One year's official State Council holiday notice as entered by the bureau.

    It lists the days off and the make-up working days (调休), which nobody can derive from rules.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str


# ---------------------------------------------------------------------------------------------
# The calendar file


def _parse_day(text: str, year: int, entry: str) -> date:
    """Read one ISO date from the file, naming the entry when it is wrong so a clerk can fix it."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise CalendarFileError(
            f"calendar year {year}: {entry!r} is not a date (expected YYYY-MM-DD)"
        ) from None
    if day.year != year:
        raise CalendarFileError(f"calendar year {year}: {entry!r} is outside the year {year}")
    return day


def _parse_days(value: object, year: int, key: str) -> frozenset[date]:
    """Expand a list of single days and inclusive `a..b` ranges, since notices list ranges."""
    if not isinstance(value, list):
        raise CalendarFileError(f"calendar year {year}: {key} must be a list of dates")
    days: set[date] = set()
    for entry in value:
        if not isinstance(entry, str):
            raise CalendarFileError(
                f"calendar year {year}: {key} entry {entry!r} must be a quoted date"
            )
        if ".." in entry:
            first_text, _, last_text = entry.partition("..")
            first = _parse_day(first_text, year, entry)
            last = _parse_day(last_text, year, entry)
            if last < first:
                raise CalendarFileError(
                    f"calendar year {year}: range {entry!r} ends before it starts"
                )
            days.update(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            days.add(_parse_day(entry, year, entry))
    return frozenset(days)


def _parse_year(key: str, table: object) -> YearNotice:
    """Turn one `[years.YYYY]` table into a notice, refusing anything ambiguous."""
    try:
        year = int(key)
    except ValueError:
        raise CalendarFileError(f"calendar: [years.{key}] is not a year") from None
    if not 1 <= year <= 9999:
        raise CalendarFileError(f"calendar: [years.{key}] is not a year")
    if not isinstance(table, dict):
        raise CalendarFileError(f"calendar year {year}: expected a table [years.{year}]")
    unknown = sorted(set(table) - {"source", "holidays", "workdays"})
    if unknown:
        raise CalendarFileError(f"calendar year {year}: unknown key(s) {', '.join(unknown)}")
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarFileError(
            f"calendar year {year}: source must name the official notice it was copied from"
        )
    holidays = _parse_days(table.get("holidays", []), year, "holidays")
    workdays = _parse_days(table.get("workdays", []), year, "workdays")
    both = sorted(holidays & workdays)
    if both:
        listed = ", ".join(d.isoformat() for d in both)
        raise CalendarFileError(
            f"calendar year {year}: {listed} listed both as holiday and as workday"
        )
    return YearNotice(year=year, holidays=holidays, workdays=workdays, source=source.strip())


def parse_calendar_toml(text: str) -> dict[int, YearNotice]:
    """Parse the bureau calendar file (`[years.YYYY]` tables) into notices keyed by year.

    Parsing is strict because a wrong holiday silently moves every deadline that crosses it.
    """
    try:
        document: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarFileError(f"calendar: not valid TOML: {exc}") from None
    unknown = sorted(set(document) - {"years"})
    if unknown:
        raise CalendarFileError(f"calendar: unknown top-level key(s) {', '.join(unknown)}")
    years = document.get("years", {})
    if not isinstance(years, dict):
        raise CalendarFileError("calendar: `years` must be a table of [years.YYYY] tables")
    notices = [_parse_year(key, table) for key, table in years.items()]
    return {notice.year: notice for notice in sorted(notices, key=lambda n: n.year)}


# ---------------------------------------------------------------------------------------------
# Provisional statutory rules


def _weekend(day: date) -> bool:
    return day.weekday() >= _SATURDAY


def _to_date(solar: Any) -> date:
    """Convert a lunar_python `Solar` to a `date`, keeping its untyped API in one place."""
    return date(int(solar.getYear()), int(solar.getMonth()), int(solar.getDay()))


def _solar(lunar: Any) -> date:
    """The Gregorian date of a lunar_python `Lunar` day."""
    return _to_date(lunar.getSolar())


def _statutory_festivals(year: int) -> list[list[date]]:
    """The days off each festival gets under 全国年节及纪念日放假办法 (as amended 2024, from 2025).

    Lunar festivals come from lunar_python; 除夕 is the day before 正月初一 (腊月廿九 or 三十).
    """
    from lunar_python import Lunar  # only years past the official notices need it

    new_year = Lunar.fromYmd(year, 1, 1)
    spring = _solar(new_year)
    # The lunar year's solar-term table runs from the previous 冬至, so its 清明 is in `year`.
    qingming = _to_date(new_year.getJieQiTable()["清明"])
    return [
        [date(year, 1, 1)],  # 元旦
        [spring + timedelta(days=i) for i in range(-1, 3)],  # 春节: 除夕, 初一..初三
        [qingming],  # 清明
        [date(year, 5, 1), date(year, 5, 2)],  # 劳动节
        [_solar(Lunar.fromYmd(year, 5, 5))],  # 端午
        [_solar(Lunar.fromYmd(year, 8, 15))],  # 中秋
        [date(year, 10, 1), date(year, 10, 2), date(year, 10, 3)],  # 国庆
    ]


def statutory_holidays(year: int) -> frozenset[date]:
    """The statutory days off of a year, before any weekend compensation or 调休."""
    return frozenset(day for festival in _statutory_festivals(year) for day in festival)


def provisional_days_off(year: int) -> frozenset[date]:
    """Weekday days off under the statutory rules alone, including 补假 substitutes.

    The law compensates a holiday that falls on a Saturday or Sunday with a working day off; we
    give it on the first weekday after the holiday block that is not already off. A day claimed
    by two festivals at once (e.g. 中秋 on 10-02) is compensated the same way, since each
    festival's days are owed. Make-up working days (调休) cannot be predicted and are not invented.
    """
    off: set[date] = set()
    for festival in sorted(_statutory_festivals(year)):
        owed = 0
        for day in festival:
            if _weekend(day) or day in off:
                owed += 1
            off.add(day)
        candidate = festival[-1]
        while owed:
            candidate += timedelta(days=1)
            if not _weekend(candidate) and candidate not in off:
                off.add(candidate)
                owed -= 1
    return frozenset(day for day in off if not _weekend(day))


# ---------------------------------------------------------------------------------------------
# The working calendar


@dataclass(frozen=True)
class _YearTable:
    """One year's working days, precomputed so counting across it is a lookup, not a loop."""

    first: date
    provisional: bool
    # flags[i] is True when first + i days is a working day.
    flags: tuple[bool, ...]
    # before[i] is the number of working days among the year's first i days (len = days + 1).
    before: tuple[int, ...]
    # ordinals of the year's working days, ascending, for "the k-th working day" lookups.
    ordinals: tuple[int, ...]

    @property
    def total(self) -> int:
        return self.before[-1]

    def index(self, day: date) -> int:
        return day.toordinal() - self.first.toordinal()


def _library_knows(year: int) -> bool:
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def _build_table(year: int, flags_for: Iterable[bool], provisional: bool) -> _YearTable:
    first = date(year, 1, 1)
    flags = tuple(flags_for)
    before = [0]
    ordinals: list[int] = []
    for i, working in enumerate(flags):
        before.append(before[-1] + working)
        if working:
            ordinals.append(first.toordinal() + i)
    return _YearTable(first, provisional, flags, tuple(before), tuple(ordinals))


def _days_of(year: int) -> list[date]:
    first = date(year, 1, 1)
    length = (date(year + 1, 1, 1) - first).days if year < 9999 else 365
    return [first + timedelta(days=i) for i in range(length)]


class WorkCalendar:
    """Answers "is this a working day" and counts working days, for every deadline and report.

    A bureau notice wins over the library, which wins over the provisional statutory rules. Each
    year is computed once and cached, because reports ask this for a million cases at a time.
    """

    def __init__(self, notices: Mapping[int, YearNotice] | None = None) -> None:
        self._notices: dict[int, YearNotice] = dict(notices or {})
        for year, notice in self._notices.items():
            if notice.year != year:
                raise CalendarFileError(f"calendar: notice for {notice.year} filed under {year}")
        self._tables: dict[int, _YearTable] = {}

    @property
    def notices(self) -> Mapping[int, YearNotice]:
        """The bureau-entered notices this calendar uses, keyed by year."""
        return dict(self._notices)

    def source_of(self, year: int) -> str:
        """Name where a year's working days come from, so a screen can show it beside a deadline."""
        if year in self._notices:
            return self._notices[year].source
        if _library_knows(year):
            return "chinese_calendar"
        return "provisional"

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._compute(year)
            self._tables[year] = table
        return table

    def _compute(self, year: int) -> _YearTable:
        days = _days_of(year)
        notice = self._notices.get(year)
        if notice is not None:
            flags = (
                d in notice.workdays or (not _weekend(d) and d not in notice.holidays) for d in days
            )
            return _build_table(year, flags, provisional=False)
        if _library_knows(year):
            return _build_table(
                year, (bool(chinese_calendar.is_workday(d)) for d in days), provisional=False
            )
        off = provisional_days_off(year)
        return _build_table(
            year, (not _weekend(d) and d not in off for d in days), provisional=True
        )

    def is_workday(self, day: date) -> bool:
        """Whether `day` is a working day (weekends off unless 调休, statutory holidays off)."""
        table = self._table(day.year)
        return table.flags[table.index(day)]

    def is_provisional(self, day: date) -> bool:
        """Whether `day`'s year is known only from statutory rules, so answers may still change."""
        return self._table(day.year).provisional

    def known_years(self) -> list[int]:
        """Years entered in the bureau file or known to the library, i.e. not provisional."""
        library = [year for year in range(2004, 2100) if _library_knows(year)]
        return sorted(set(library) | set(self._notices))

    def _any_provisional(self, first: date, last: date) -> bool:
        return any(self._table(y).provisional for y in range(first.year, last.year + 1))

    def _workdays_through(self, day: date) -> tuple[_YearTable, int]:
        """Working days from the start of `day`'s year up to and including `day`."""
        table = self._table(day.year)
        return table, table.before[table.index(day) + 1]

    def workdays_between(self, after: date, upto: date) -> int:
        """Count working days d with after < d <= upto; this is how "working days overdue" reads.

        Lookups in per-year prefix counts keep it O(years spanned), not O(days spanned).
        """
        if upto <= after:
            return 0
        _, upto_count = self._workdays_through(upto)
        _, after_count = self._workdays_through(after)
        if after.year == upto.year:  # the common case in reports: skip the year loop
            return upto_count - after_count
        whole_years = sum(self._table(y).total for y in range(after.year, upto.year))
        return whole_years + upto_count - after_count

    def add_workdays(self, start: date, n: int) -> tuple[date, bool]:
        """The n-th workday strictly after `start`, and whether any examined day was provisional.

        The day of receipt is never counted (民法典 Art. 201), hence "strictly after".
        """
        if n < 1:
            raise ValueError(f"add_workdays needs n >= 1, got {n}")
        table, counted = self._workdays_through(start)
        wanted = counted + n  # the working day we want, counted from start's year
        year = start.year
        provisional = False
        while wanted > table.total:
            wanted -= table.total
            year += 1
            table = self._table(year)
            provisional = provisional or table.provisional
        result = date.fromordinal(table.ordinals[wanted - 1])
        # Days examined run from start + 1 to the result; start's year counts only if one of
        # them falls in it, i.e. unless start is 12-31.
        if (start.month, start.day) != (12, 31):
            provisional = provisional or self._table(start.year).provisional
        return result, provisional

    def roll_to_workday(self, day: date) -> tuple[date, bool]:
        """`day` if a working day, else the next one; plus whether provisional rules decided it.

        This is how a natural-day limit that ends on a holiday moves (民法典 Art. 203).
        """
        table = self._table(day.year)
        if table.flags[table.index(day)]:
            return day, table.provisional
        ordinal = day.toordinal()
        position = bisect.bisect_right(table.ordinals, ordinal)
        if position < len(table.ordinals):
            return date.fromordinal(table.ordinals[position]), table.provisional
        result, provisional = self.add_workdays(day, 1)
        return result, provisional or table.provisional
