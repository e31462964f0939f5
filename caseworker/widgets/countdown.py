"""The countdown text of a deadline: "剩2工作日" / "剩5时12分" / "超期3工作日", with its mood.

Pure and cheap, so the queue can re-render every visible row each second from rows already in
memory. Marks that read without colour: "!" overdue, "*" warning, "‖" paused, "⚡" urgent
lane, "≈" provisional deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from caseworker.domain.calendar import WorkCalendar
from caseworker.domain.queues import END_OF_TIME
from caseworker.i18n.catalog import Catalog

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = timedelta(days=1)


class Mood(StrEnum):
    """How a countdown should look: the theme gives each one a style."""

    NORMAL = "normal"
    WARNING = "warning"
    OVERDUE = "overdue"
    PAUSED = "paused"
    NONE = "none"  # no running clock


@dataclass(frozen=True)
class Countdown:
    text: str
    mood: Mood


def _hours_minutes(span: timedelta) -> tuple[int, int]:
    minutes = int(span.total_seconds()) // 60
    return minutes // 60, minutes % 60


def countdown(
    *,
    due_at: datetime,
    warn_at: datetime | None,
    now: datetime,
    calendar: WorkCalendar,
    catalog: Catalog,
    paused: bool = False,
    urgent: bool = False,
    provisional: bool = False,
    natural_days: bool = False,
) -> Countdown:
    """The remaining time (or lateness) of a deadline as `now` sees it.

    Days are working days, unless `natural_days`: a limit set in 日 (the 60-day close) counts
    down in natural days, as the limit itself is counted.
    """
    marks = ("⚡" if urgent else "") + ("≈" if provisional else "")
    suffix = f" {marks}" if marks else ""
    if due_at >= END_OF_TIME:
        return Countdown(catalog.t("countdown.none"), Mood.NONE)
    if paused:
        return Countdown("‖" + catalog.t("countdown.paused") + suffix, Mood.PAUSED)
    today = now.astimezone(SHANGHAI).date()
    due_day = due_at.astimezone(SHANGHAI).date()
    unit = "natural_days" if natural_days else "days"
    if now > due_at:
        days = (today - due_day).days if natural_days else calendar.workdays_between(due_day, today)
        if days >= 1:
            text = catalog.t(f"countdown.overdue_{unit}", n=days)
        else:
            h, m = _hours_minutes(now - due_at)
            text = catalog.t("countdown.overdue_hours", h=h, m=m)
        return Countdown("!" + text + suffix, Mood.OVERDUE)
    left = due_at - now
    if left < DAY:
        days = 0
    else:
        days = (due_day - today).days if natural_days else calendar.workdays_between(today, due_day)
    if days >= 1:
        text = catalog.t(f"countdown.left_{unit}", n=days)
    else:
        h, m = _hours_minutes(left)
        text = catalog.t("countdown.left_hours", h=h, m=m)
    if warn_at is not None and now >= warn_at:
        return Countdown("*" + text + suffix, Mood.WARNING)
    return Countdown(text + suffix, Mood.NORMAL)
