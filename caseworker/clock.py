"""The one source of "now": real by default, frozen for training, tests and snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that can say what time it is (always timezone-aware)."""

    def now(self) -> datetime: ...


class SystemClock:
    """The machine's clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass(frozen=True)
class FrozenClock:
    """A clock stopped at one instant, so every countdown reads the same on every screen."""

    at: datetime

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("a frozen clock needs a timezone-aware time")

    def now(self) -> datetime:
        return self.at


def recorded_now() -> datetime:
    """Real wall-clock time, for the "recorded at" of events even when the clock is frozen."""
    return datetime.now(UTC)
