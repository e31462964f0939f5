"""Deadlines and countdown clocks for each stage of a case (DOMAIN.md "Clocks").

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

WARNING_FRACTION = 0.8  # DOMAIN.md: warn once 80% of the limit is used

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
    """When `limit` counted from `start` runs out, under DOMAIN.md's counting rules.

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

    It is a snapshot; while PAUSED, asking with a later `now` treats the open pause as still
    running, so the remaining time stays frozen instead of silently draining.
    """

    stage: Stage
    limit: Limit
    started_at: datetime
    due_at: datetime
    provisional: bool
    state: ClockState
    stopped_at: datetime | None
    extension: Limit | None = None
    paused_for: timedelta = timedelta(0)  # pause time already added to due_at
    as_of: datetime | None = None  # the `now` the clock was computed at
    paused_at: datetime | None = None  # while PAUSED: when the open pause began

    def _due_at(self, now: datetime) -> datetime:
        """The deadline as seen at `now`: an open pause keeps pushing it while it lasts."""
        if self.state is ClockState.PAUSED and self.as_of is not None and now > self.as_of:
            return self.due_at + (now - self.as_of)
        return self.due_at

    def _end(self, now: datetime) -> datetime:
        """The instant the clock is read at: when it stopped, else `now`."""
        if self.state is ClockState.STOPPED and self.stopped_at is not None:
            return self.stopped_at
        return now

    def remaining(self, now: datetime) -> timedelta:
        """Time left to the deadline, negative when late; a stopped clock keeps its final value."""
        end = self._end(now)
        return self._due_at(end) - end

    def is_overdue(self, now: datetime) -> bool:
        """Whether a clock still counting is past its deadline (stopped ones: `finished_late`)."""
        return self.state is not ClockState.STOPPED and now > self._due_at(now)

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
        """Share of the limit used, paused time excluded; 1.0 at the deadline, above when late."""
        span = self.due_at - self.started_at - self.paused_for
        end = self._end(now)
        if self.state is ClockState.PAUSED and self.as_of is not None and end > self.as_of:
            end = self.as_of  # nothing is used while the pause is open
        elapsed = end - self.started_at - self.paused_for
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

    def _lateness_span(self, now: datetime) -> tuple[datetime, datetime]:
        """The deadline and the instant lateness is counted up to.

        A paused clock is read as it stood when the pause began (the deadline before the open
        pause pushed it, and the pause's start), so a case paused after its deadline stays late
        by what it was, in working and natural days alike, as the overdue report counts it.
        """
        if self.state is ClockState.PAUSED and self.paused_at and self.as_of is not None:
            return self.due_at - (self.as_of - self.paused_at), self.paused_at
        end = self._end(now)
        return self._due_at(end), end

    def overdue_working_days(self, now: datetime, calendar: WorkCalendar) -> int:
        """Working days after the due day up to the as-of day (or stop day); 0 when not late."""
        due, end = self._lateness_span(now)
        if end <= due:
            return 0
        return calendar.workdays_between(
            _shanghai(due, "due_at").date(), _shanghai(end, "now").date()
        )

    def overdue_days(self, now: datetime) -> int:
        """Natural days after the due day up to the as-of day (or stop day); 0 when not late."""
        due, end = self._lateness_span(now)
        if end <= due:
            return 0
        return (_shanghai(end, "now").date() - _shanghai(due, "due_at").date()).days


def _paused_time(
    pauses: Sequence[Pause], running_from: datetime, running_until: datetime
) -> tuple[timedelta, datetime | None]:
    """Total paused time inside the running window (overlaps merged), and when the open pause
    began (None when none is open).

    Overlapping pauses are merged so two records for the same hearing do not count twice.
    """
    spans: list[tuple[datetime, datetime]] = []
    open_since: datetime | None = None
    for pause in pauses:
        begin = _shanghai(pause.started_at, "pause start")
        if pause.ended_at is None:
            end = running_until
            if begin <= running_until:
                open_since = max(begin, running_from)
        else:
            end = _shanghai(pause.ended_at, "pause end")
        begin, end = max(begin, running_from), min(end, running_until)
        if end > begin:
            spans.append((begin, end))
    total = timedelta(0)
    reach: datetime | None = None  # the latest instant already counted
    for begin, end in sorted(spans):
        if reach is not None:
            begin = max(begin, reach)
        if end > begin:
            total += end - begin
        reach = end if reach is None else max(reach, end)
    return total, open_since


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
    Every pause overlapping the running time [started_at, stopped_at or now] then pushes the
    deadline later by exactly the paused duration. STOPPED if `stopped_at`, else PAUSED while
    a pause is open, else RUNNING.
    """
    start = _shanghai(started_at, "started_at")
    as_of = _shanghai(now, "now")
    stop = _shanghai(stopped_at, "stopped_at") if stopped_at is not None else None

    if extension is not None and extension.unit is limit.unit:
        deadline = deadline_for(start, Limit(limit.amount + extension.amount, limit.unit), calendar)
    else:
        deadline = deadline_for(start, limit, calendar)
        if extension is not None:
            extended = deadline_for(deadline.due_at, extension, calendar)
            deadline = Deadline(extended.due_at, deadline.provisional or extended.provisional)

    running_until = stop if stop is not None else as_of
    paused_for, open_since = _paused_time(pauses, start, running_until)

    if stop is not None:
        state = ClockState.STOPPED
    elif open_since is not None:
        state = ClockState.PAUSED
    else:
        state = ClockState.RUNNING
    return Clock(
        stage=stage,
        limit=limit,
        started_at=start,
        due_at=deadline.due_at + paused_for,
        provisional=deadline.provisional,
        state=state,
        stopped_at=stop,
        extension=extension,
        paused_for=paused_for,
        as_of=as_of,
        paused_at=open_since if state is ClockState.PAUSED else None,
    )
