"""The rates supervisors rank units by (docs/domain.md "Measures"), as pure arithmetic on counts.

Every figure keeps its numerator and denominator, and every report names the rule version it
was computed under, so a published ranking can be audited and recomputed later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

from caseworker.domain.policy import Policy

# Bump when a definition below changes meaning; it is part of every report's rule version.
MEASURES_VERSION = "m2"  # m2: 及时受理率 leaves out imported cases without an accept time


class Period(StrEnum):
    """The reporting periods of 周调度、月通报、季考核."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"


def period_bounds(period: Period, day: date) -> tuple[date, date]:
    """The first day of the period holding `day`, and the first day after it (Asia/Shanghai days).

    Weeks start on Monday; quarters are calendar quarters.
    """
    if period is Period.WEEK:
        first = day - timedelta(days=day.weekday())
        return first, first + timedelta(days=7)
    if period is Period.MONTH:
        first = day.replace(day=1)
    else:
        first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    months = 1 if period is Period.MONTH else 3
    month = first.month - 1 + months
    return first, date(first.year + month // 12, month % 12 + 1, 1)


@dataclass(frozen=True)
class Rate:
    """numerator ÷ denominator; no value (shown as —) when nothing was due."""

    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def percent(self) -> str:
        value = self.value
        return "—" if value is None else f"{100 * value:.1f}%"

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.numerator + other.numerator, self.denominator + other.denominator)


@dataclass(frozen=True)
class MeasureDef:
    """One measure: its code, its names, and what it divides by what."""

    code: str
    zh: str
    en: str
    definition: str


MEASURES: tuple[MeasureDef, ...] = (
    MeasureDef(
        "timely_acceptance",
        "及时受理率",
        "timely acceptance",
        "cases whose 受理/交办 (assign) stage ended - assigned, rejected or merged - by its "
        "deadline ÷ cases whose assign deadline fell in the period; imported cases whose source "
        "has no time for that stage are left out of both, and counted apart",
    ),
    MeasureDef(
        "reply_rate",
        "答复率",
        "reply rate",
        "accepted cases received in the period with a published reply ÷ accepted cases received "
        "in the period",
    ),
    MeasureDef(
        "on_time_close",
        "按期办结率",
        "closed on time",
        "cases closed by their close deadline (approved extensions counted) ÷ cases (not rejected "
        "or merged) whose close deadline fell in the period",
    ),
    MeasureDef(
        "satisfaction",
        "满意率",
        "satisfaction",
        "cases closed in the period whose latest rating is satisfied ÷ rated cases closed in the "
        "period",
    ),
    MeasureDef(
        "rating_rate",
        "参评率",
        "rated",
        "cases closed in the period with a rating ÷ cases closed in the period",
    ),
    MeasureDef(
        "repeat_rate",
        "重复率",
        "repeat rate",
        "cases received in the period that repeat an earlier one ÷ cases received in the period",
    ),
)

MEASURE_CODES = tuple(m.code for m in MEASURES)


def satisfied_values(policy: Policy) -> tuple[str, ...]:
    """The ratings 满意率 counts as satisfied under this policy."""
    return ("满意", "基本满意") if policy.satisfied_counts_basic else ("满意",)


def rule_version(policy: Policy) -> str:
    """The rules a figure was computed under: policy version, measure version, 满意率 setting."""
    basic = "满意+基本满意" if policy.satisfied_counts_basic else "满意"
    return f"policy {policy.version}; measures {MEASURES_VERSION}; 满意率 counts {basic}"


@dataclass
class UnitCounts:
    """The additive counts behind one unit's measures, so units can be summed up a tree."""

    received: int = 0
    accepted: int = 0
    replied: int = 0
    assign_due: int = 0
    assign_on_time: int = 0
    # Imported cases whose assign deadline fell in the period but whose source had no accept
    # or assign time: left out of 及时受理率 (never counted late), and reported how many.
    assign_left_out: int = 0
    close_due: int = 0
    close_on_time: int = 0
    closed: int = 0
    rated: int = 0
    satisfied: int = 0
    repeats: int = 0
    handling_workdays: int = 0  # summed over the closed cases
    overdue: int = 0
    overdue_workdays: int = 0

    def add(self, other: UnitCounts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass(frozen=True)
class UnitMeasures:
    """The measures of one unit, each rate with its numerator and denominator."""

    rates: dict[str, Rate] = field(default_factory=dict)
    average_handling_workdays: float | None = None


def measures_of(counts: UnitCounts) -> UnitMeasures:
    """Turn counts into the rates of docs/domain.md "Measures"."""
    rates = {
        "timely_acceptance": Rate(counts.assign_on_time, counts.assign_due),
        "reply_rate": Rate(counts.replied, counts.accepted),
        "on_time_close": Rate(counts.close_on_time, counts.close_due),
        "satisfaction": Rate(counts.satisfied, counts.rated),
        "rating_rate": Rate(counts.rated, counts.closed),
        "repeat_rate": Rate(counts.repeats, counts.received),
    }
    average = counts.handling_workdays / counts.closed if counts.closed else None
    return UnitMeasures(rates=rates, average_handling_workdays=average)


def ranking_key(measures: UnitMeasures, counts: UnitCounts) -> tuple[float, float, float, int]:
    """Best first: 按期办结率, then 满意率, then 及时受理率, then fewer overdue cases.

    Higher rates sort first, so the key negates them; a missing rate (nothing was due) ranks
    below every real figure.
    """

    def score(code: str) -> float:
        value = measures.rates[code].value
        return -value if value is not None else 1.0

    return (
        score("on_time_close"),
        score("satisfaction"),
        score("timely_acceptance"),
        counts.overdue,
    )
