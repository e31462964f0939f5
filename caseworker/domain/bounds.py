"""The times and numbers caseworker can hold: anything outside is refused, never half-stored.

A time is kept in UTC and carries deadlines counted forward from it, so a year at the edge of
what Python's datetime holds (0001, 9999) overflows when it is moved to UTC or a deadline is
added. The span below is far wider than any real message (the first message boards are from
the late 1990s) and far inside what every layer (Python, SQLite, PostgreSQL, the holiday
rules) can compute with.
"""

from __future__ import annotations

from datetime import UTC, datetime

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC)
# Row ids and counts are 64-bit integers in SQLite and PostgreSQL alike.
LARGEST_ID = (1 << 63) - 1


def time_in_bounds(value: datetime) -> bool:
    """Whether an aware time lies in the span caseworker can hold (1970-01-01 to 2199-12-31)."""
    try:
        return EARLIEST <= value <= LATEST
    except (OverflowError, ValueError):  # an offset that pushes the time past year 1 or 9999
        return False


def case_id_of(text: str) -> int | None:
    """The case id `text` spells in ASCII digits, or None.

    Other scripts' digits (`١٢٣`, `²`, full-width `１２３`) are not an id: Python's int() would
    read `١٢٣` as 123, and a clerk who pasted them did not mean case 123.
    """
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if 0 < number <= LARGEST_ID else None
