"""Deadlines and countdown clocks for each stage of a case (docs/domain.md "Clocks").

Counting follows 民法典 Art. 201/203: the day of receipt is not counted, a natural-day limit that
ends on a day off moves to the next working day, and every day-based limit ends at 23:59:59 in
Asia/Shanghai, whatever timezone the instant arrived in.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from caseworker.domain.calendar import SHANGHAI, WorkCalendar

WARNING_FRACTION = 0.8  # docs/domain.md "Clocks": warn once 80% of the limit is used

_END_OF_DAY = time(23, 59, 59)


class LimitError(ValueError):
    """A time limit that cannot be used (unknown unit, not a positive whole number)."""


class NaiveTimeError(ValueError):
    """A datetime without a timezone, which would make "which day" ambiguous."""


class LimitUnit(StrEnum):
    """How a time limit is counted."""

    DAYS = "days"  # 日 (natural days)
    WORKDAYS = "workdays"  # 工作日
    HOURS = "hours"  # 小时 (urgent lane)


_UNIT_WORDS: dict[str, LimitUnit] = {
    "day": LimitUnit.DAYS,
    "days": LimitUnit.DAYS,
    "d": LimitUnit.DAYS,
    "日": LimitUnit.DAYS,
    "天": LimitUnit.DAYS,
    "自然日": LimitUnit.DAYS,
    "workday": LimitUnit.WORKDAYS,
    "workdays": LimitUnit.WORKDAYS,
    "working day": LimitUnit.WORKDAYS,
    "working days": LimitUnit.WORKDAYS,
    "工作日": LimitUnit.WORKDAYS,
    "个工作日": LimitUnit.WORKDAYS,
    "hour": LimitUnit.HOURS,
    "hours": LimitUnit.HOURS,
    "h": LimitUnit.HOURS,
    "小时": LimitUnit.HOURS,
    "个小时": LimitUnit.HOURS,
}

_ZH_UNIT = {LimitUnit.DAYS: "日", LimitUnit.WORKDAYS: "工作日", LimitUnit.HOURS: "小时"}
_EN_SINGULAR = {LimitUnit.DAYS: "day", LimitUnit.WORKDAYS: "workday", LimitUnit.HOURS: "hour"}

_LIMIT_PATTERN = re.compile(r"^\s*(\d+)\s*(\D.*?)\s*$")


@dataclass(frozen=True)
class Limit:
    """A time limit such as 60 日 or 5 工作日, as written in policy files and regulations."""

    amount: int
    unit: LimitUnit

    def __post_init__(self) -> None:
        # bool is an int subclass; a limit of True days is a bug, not a policy.
        if isinstance(self.amount, bool) or not isinstance(self.amount, int) or self.amount < 1:
            raise LimitError(f"a time limit needs a whole number >= 1, got {self.amount!r}")

    @classmethod
    def parse(cls, text: str) -> Limit:
        """Read "3 workdays", "60 days", "24 hours" or "3工作日", "60日", "24小时".

        Both languages are accepted because policy files are written by Chinese-speaking staff.
        """
        match = _LIMIT_PATTERN.match(text)
        unit = _UNIT_WORDS.get(" ".join(match.group(2).lower().split())) if match else None
        if match is None or unit is None:
            raise LimitError(
                f"cannot read time limit {text!r}: use e.g. '60 days', '5 workdays', '24 hours'"
                " or '60日', '5工作日', '24小时'"
            )
        return cls(int(match.group(1)), unit)

    def __str__(self) -> str:
        word = _EN_SINGULAR[self.unit] if self.amount == 1 else self.unit.value
        return f"{self.amount} {word}"

    def zh(self) -> str:
        """The Chinese form, e.g. "60日", which `parse` reads back."""
        return f"{self.amount}{_ZH_UNIT[self.unit]}"


class Stage(StrEnum):
    """The stage a clock times; a case has one clock per stage."""

    ASSIGN = "assign"  # 受理/交办
    REPLY = "reply"  # first reply (首次答复)
    CLOSE = "close"  # 办结


@dataclass(frozen=True)
class Deadline:
    """When a limit runs out, and whether a provisional (not yet official) year decided it."""

    due_at: datetime
    provisional: bool


def _shanghai(instant: datetime, name: str) -> datetime:
    """Convert an aware instant to Shanghai time; naive ones are refused rather than guessed."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise NaiveTimeError(f"{name} must be timezone-aware, got {instant.isoformat()}")
    return instant.astimezone(SHANGHAI)


def _end_of(day: date) -> datetime:
    return datetime.combine(day, _END_OF_DAY, tzinfo=SHANGHAI)


def deadline_for(start: datetime, limit: Limit, calendar: WorkCalendar) -> Deadline:
    """When `limit` counted from `start` runs out, under docs/domain.md's counting rules.

    N 日 ends 23:59:59 on the N-th day after the (Shanghai) start day, rolled to the next working
    day if that is a day off; N 工作日 ends 23:59:59 on the N-th working day after the start day;
    N hours ends exactly N hours later. Provisional when any day consulted was provisional.
    """
    local = _shanghai(start, "start")
    if limit.unit is LimitUnit.HOURS:
        return Deadline(due_at=local + timedelta(hours=limit.amount), provisional=False)
    if limit.unit is LimitUnit.WORKDAYS:
        day, provisional = calendar.add_workdays(local.date(), limit.amount)
    else:
        day, provisional = calendar.roll_to_workday(local.date() + timedelta(days=limit.amount))
    return Deadline(due_at=_end_of(day), provisional=provisional)


class ClockState(StrEnum):
    """Whether a stage's clock is still counting."""

    RUNNING = "running"
    STOPPED = "stopped"  # the stage is done (assigned, replied, closed)
    PAUSED = "paused"  # e.g. a hearing, or waiting for the citizen's materials


@dataclass(frozen=True)
class Pause:
    """A stretch of time that does not count against a clock; `ended_at` is None while open."""

    started_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class Clock:
    """One stage's countdown as of `as_of`: its deadline after pauses and extension, and state.

    It is a snapshot. While PAUSED it stands still: `due_at` is the deadline as the open pause
    found it (the pause moves it only once it ends), and every reading (time left, lateness,
    share used) is taken at the instant the pause began, whatever later `now` asks.
    """

    stage: Stage
    limit: Limit
    started_at: datetime
    due_at: datetime
    provisional: bool
    state: ClockState
    stopped_at: datetime | None
    extension: Limit | None = None
    paused_for: timedelta = timedelta(0)  # how far ended pauses moved due_at
    as_of: datetime | None = None  # the `now` the clock was computed at
    paused_at: datetime | None = None  # while PAUSED: when the open pause began

    def _read_at(self, now: datetime) -> datetime:
        """The instant the clock is read at: when it stopped, when its open pause began, or now."""
        if self.state is ClockState.STOPPED and self.stopped_at is not None:
            return self.stopped_at
        if self.state is ClockState.PAUSED and self.paused_at is not None:
            return self.paused_at
        return now

    def remaining(self, now: datetime) -> timedelta:
        """Time left to the deadline, negative when late; stopped or paused clocks stand still."""
        return self.due_at - self._read_at(now)

    def is_overdue(self, now: datetime) -> bool:
        """Whether a clock not yet stopped is past its deadline (a paused one: when it paused)."""
        return self.state is not ClockState.STOPPED and self._read_at(now) > self.due_at

    def finished_late(self) -> bool:
        """Whether the stage was completed after its deadline, i.e. not counted as 按期."""
        return (
            self.state is ClockState.STOPPED
            and self.stopped_at is not None
            and self.stopped_at > self.due_at
        )

    def is_late(self, now: datetime) -> bool:
        """Overdue now if still counting, or finished late if stopped; reports want both."""
        return self.finished_late() if self.state is ClockState.STOPPED else self.is_overdue(now)

    def used_fraction(self, now: datetime) -> float:
        """Share of the limit used; 1.0 at the deadline, above when late.

        The span a pause moved the deadline by counts as neither limit nor use, so the warning
        point moves with the deadline.
        """
        span = self.due_at - self.started_at - self.paused_for
        elapsed = self._read_at(now) - self.started_at - self.paused_for
        if span <= timedelta(0):
            return 1.0
        return max(0.0, elapsed / span)

    def needs_warning(self, now: datetime) -> bool:
        """Still counting, not yet late, and at least WARNING_FRACTION of the limit used."""
        return (
            self.state is not ClockState.STOPPED
            and not self.is_overdue(now)
            and self.used_fraction(now) >= WARNING_FRACTION
        )

    def overdue_working_days(self, now: datetime, calendar: WorkCalendar) -> int:
        """Working days after the due day up to the day read (stop or pause day); 0 when on time.

        A case paused after its deadline thus stays late by what it was, as the overdue report
        counts it.
        """
        end = self._read_at(now)
        if end <= self.due_at:
            return 0
        return calendar.workdays_between(
            _shanghai(self.due_at, "due_at").date(), _shanghai(end, "now").date()
        )

    def overdue_days(self, now: datetime) -> int:
        """Natural days after the due day up to the day read (stop or pause day); 0 when on time."""
        end = self._read_at(now)
        if end <= self.due_at:
            return 0
        return (_shanghai(end, "now").date() - _shanghai(self.due_at, "due_at").date()).days


@dataclass(frozen=True)
class _PauseSpans:
    """The ended pause time inside a clock's running window, and the open pause's start."""

    spans: list[tuple[datetime, datetime]]  # clipped to the window, sorted, may overlap
    open_since: datetime | None

    def exact_time(self) -> timedelta:
        """Total paused time, overlapping records counted once (what moves an hours limit)."""
        total = timedelta(0)
        reach: datetime | None = None  # the latest instant already counted
        for begin, end in self.spans:
            if reach is not None:
                begin = max(begin, reach)
            if end > begin:
                total += end - begin
            reach = end if reach is None else max(reach, end)
        return total

    def counting_days(self, unit: LimitUnit, calendar: WorkCalendar) -> int:
        """Counting days d with pause day < d <= resume day, each day counted once.

        The day a pause begins counts as the clock's (it ran that day); the day it ends is given
        back, as the day of receipt is never counted (民法典 Art. 201). So a pause begun and ended
        on one day moves nothing, Friday to Monday moves a 工作日 limit one working day (the
        Monday) and a 日 limit three days, and Saturday to Sunday moves a 工作日 limit nothing.
        """
        days: list[tuple[date, date]] = []
        for begin, end in self.spans:
            first, last = begin.date(), end.date()
            if days and first <= days[-1][1]:
                days[-1] = (days[-1][0], max(days[-1][1], last))
            else:
                days.append((first, last))
        if unit is LimitUnit.WORKDAYS:
            return sum(calendar.workdays_between(first, last) for first, last in days)
        return sum((last - first).days for first, last in days)


def _pause_spans(
    pauses: Sequence[Pause], running_from: datetime, running_until: datetime, *, stopped: bool
) -> _PauseSpans:
    """The pauses inside the running window, in Shanghai time; an open one ends at the window's
    end when the clock has stopped, and is reported as `open_since` otherwise."""
    spans: list[tuple[datetime, datetime]] = []
    open_since: datetime | None = None
    for pause in pauses:
        begin = _shanghai(pause.started_at, "pause start")
        if pause.ended_at is None:
            end = running_until
            if not stopped:
                if begin <= running_until:
                    open_since = max(begin, running_from)
                continue
        else:
            end = _shanghai(pause.ended_at, "pause end")
        begin, end = max(begin, running_from), min(end, running_until)
        if end > begin:
            spans.append((begin, end))
    return _PauseSpans(sorted(spans), open_since)


def compute_clock(
    stage: Stage,
    started_at: datetime,
    limit: Limit,
    calendar: WorkCalendar,
    *,
    pauses: Sequence[Pause] = (),
    extension: Limit | None = None,
    stopped_at: datetime | None = None,
    now: datetime,
) -> Clock:
    """Build one stage's clock from its start, limit, pauses, approved extension and stop.

    An extension in the same unit as the limit is added to it (60 日 + 30 日 = 90 日 from the
    start, so the weekend roll happens once, at the real end). An extension in another unit is
    counted as its own limit from the base deadline (e.g. 5 工作日 + 24 hours ends 24 hours after
    the 5th working day's 23:59:59), since there is no honest way to add hours to working days.

    Pauses (docs/domain.md "Pauses"): a limit in 日 or 工作日 is lengthened by the counting days of
    that unit from each pause's day to its resuming day (see `_PauseSpans.counting_days`), so
    the deadline still ends at 23:59:59 and a 日 limit ending on a day off still rolls once, at
    the real end; an hours limit moves by the exact paused time. Only ended pauses move it: an
    open pause freezes the clock (PAUSED) and moves the deadline when it ends. A pause still
    open when the stage stops counts as ended at the stop. STOPPED if `stopped_at`, else
    PAUSED while a pause is open, else RUNNING.
    """
    start = _shanghai(started_at, "started_at")
    as_of = _shanghai(now, "now")
    stop = _shanghai(stopped_at, "stopped_at") if stopped_at is not None else None
    paused = _pause_spans(
        pauses, start, stop if stop is not None else as_of, stopped=stop is not None
    )
    deadline = _deadline(start, limit, extension, calendar, paused)
    unpaused = _deadline(start, limit, extension, calendar, None) if paused.spans else deadline

    if stop is not None:
        state = ClockState.STOPPED
    elif paused.open_since is not None:
        state = ClockState.PAUSED
    else:
        state = ClockState.RUNNING
    return Clock(
        stage=stage,
        limit=limit,
        started_at=start,
        due_at=deadline.due_at,
        provisional=deadline.provisional,
        state=state,
        stopped_at=stop,
        extension=extension,
        paused_for=deadline.due_at - unpaused.due_at,
        as_of=as_of,
        paused_at=paused.open_since if state is ClockState.PAUSED else None,
    )


def _deadline(
    start: datetime,
    limit: Limit,
    extension: Limit | None,
    calendar: WorkCalendar,
    paused: _PauseSpans | None,
) -> Deadline:
    """The deadline of `limit` plus `extension` from `start`, moved by the ended pauses."""

    def counted(base: Limit) -> Deadline:
        if paused is None or base.unit is LimitUnit.HOURS:
            return deadline_for(start, base, calendar)
        shift = paused.counting_days(base.unit, calendar)
        return deadline_for(start, Limit(base.amount + shift, base.unit), calendar)

    if extension is not None and extension.unit is limit.unit:
        deadline = counted(Limit(limit.amount + extension.amount, limit.unit))
    else:
        deadline = counted(limit)
        if extension is not None:
            extended = deadline_for(deadline.due_at, extension, calendar)
            deadline = Deadline(extended.due_at, deadline.provisional or extended.provisional)
    if paused is not None and limit.unit is LimitUnit.HOURS:
        return Deadline(deadline.due_at + paused.exact_time(), deadline.provisional)
    return deadline
