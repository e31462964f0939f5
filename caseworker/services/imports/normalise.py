"""Cleaning what real files contain: padded text, dates in several styles, Excel serials."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from caseworker.domain.bounds import time_in_bounds

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Whitespace that pads cells in exported spreadsheets: ASCII blanks, full-width spaces, NBSP.
_PAD = " \t\r\n\u3000\u00a0\ufeff\u200b"
_INLINE_RUN = re.compile(r"[ \t\u00a0]{2,}")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[ T]+(\d{1,2})(?:[:时](\d{1,2}))?(?:[:分](\d{1,2}))?(?:[.,](\d{1,6}))?\s*秒?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)


class BadValue(ValueError):
    """A cell that cannot be read as what its column means; the message is the reject reason.

    Carries a catalog key (`import.row.*`) and parameters, so the rejects file can give the
    reason in the clerk's language.
    """

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


def _scalar(value: Any) -> Any:
    """`value` unless it is a list or an object, which no cell of a case may silently become."""
    if isinstance(value, list | dict):
        kind = "a list" if isinstance(value, list) else "an object"
        raise BadValue(f"{kind} is not a value for this field", key="import.row.not_scalar")
    return value


def clean_text(value: Any) -> str:
    """Text with padding removed around it and around each line, paragraph breaks kept.

    Message boards export bodies as `\\n\\t\\t\\t…` + text + `\\n\\t\\t…`; the full-width
    spaces that indent a Chinese paragraph are padding too. Blank lines between paragraphs
    collapse to one line break, so a paragraph break survives but the padding does not.
    """
    if value is None:
        return ""
    text = value if isinstance(value, str) else str(_scalar(value))
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" not in text:  # one line (most titles and cells): no splitting to do
        return _squeeze(text.strip(_PAD))
    lines = [_squeeze(line.strip(_PAD)) for line in text.split("\n")]
    return "\n".join(line for line in lines if line)


def _squeeze(line: str) -> str:
    """Runs of blanks inside a line made one space (most lines have none: skip the regex)."""
    if "  " in line or "\t" in line or "\u00a0" in line:
        return _INLINE_RUN.sub(" ", line)
    return line


def clean_cell(value: Any) -> str | None:
    """A short field (name, id, category): one line, padding removed; empty means missing."""
    if value is None:
        return None
    _scalar(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an id typed into Excel comes back as 37042.0
    text = " ".join(clean_text(value).split())
    return text or None


def parse_time(
    value: Any, *, zone: tzinfo = SHANGHAI, formats: tuple[str, ...] = ()
) -> datetime | None:
    """An aware time from a cell: text in the common styles, a datetime, or an Excel serial.

    Naive times are taken in `zone` (Asia/Shanghai unless a mapping says otherwise). Returns
    None for an empty cell; raises BadValue with a reason for anything else it cannot read.
    """
    if value is None:
        return None
    if (
        # The commonest shape, 2019-04-25 09:32:09 or 2019/04/25 09:32:09, read by the C
        # parser (a third of the cost); anything it refuses takes the long way for its reason.
        type(value) is str
        and len(value) == 19
        and not formats
        and value[4] in "-/"
        and value[7] == value[4]
        and value[10] in " T"
        and value[13] == value[16] == ":"
        and "1971" <= value[:4] <= "2198"  # well inside domain.bounds: no need to check
    ):
        try:
            return datetime.fromisoformat(value.replace("/", "-")).replace(tzinfo=zone)
        except ValueError:
            pass
    if isinstance(value, datetime):
        return _held(value if value.tzinfo is not None else value.replace(tzinfo=zone), value)
    if isinstance(value, bool):
        raise BadValue(f"{value!r} is not a time", key="import.row.not_time", value=repr(value))
    if isinstance(value, int | float):
        if 1 <= value < 2958466:  # Excel's serial day numbers, 1900-01-01 .. 9999-12-31
            naive = _EXCEL_EPOCH + timedelta(days=float(value))
            return _held(naive.replace(microsecond=0, tzinfo=zone), value)
        raise BadValue(f"{value!r} is not a time", key="import.row.not_time", value=repr(value))
    text = clean_cell(value)
    if text is None:
        return None
    for fmt in formats:
        try:
            parsed = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return _held(parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone), text)
    match = _DATE.match(text)
    if match is None:
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return parse_time(float(text), zone=zone)
        raise BadValue(
            f"cannot read {text!r} as a time", key="import.row.not_time", value=repr(text)
        )
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        naive = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise BadValue(
            f"{text!r} is not a real date", key="import.row.no_such_date", value=repr(text)
        ) from None
    if offset is None:
        return _held(naive.replace(tzinfo=zone), text)
    if offset == "Z":
        return _held(naive.replace(tzinfo=UTC), text)
    try:
        aware = datetime.fromisoformat(naive.isoformat() + offset[:3] + ":" + offset[-2:])
    except ValueError:
        raise BadValue(
            f"{text!r} is not a real date", key="import.row.no_such_date", value=repr(text)
        ) from None
    return _held(aware, text)


def _held(value: datetime, raw: Any) -> datetime:
    """`value` when caseworker can hold it (1970-2199, domain.bounds); else the row's reason.

    Refused here rather than failing the file later: 0001-01-01 overflows on its way to UTC,
    and a JSON number such as 12345 would otherwise read as a day in 1933.
    """
    if time_in_bounds(value):
        return value
    raise BadValue(
        f"{str(raw)[:40]!r} is outside the times caseworker holds (1970-01-01 to 2199-12-31)",
        key="import.row.time_out_of_bounds",
        value=repr(str(raw)[:40]),
    )


def parse_count(value: Any) -> int | None:
    """A whole number such as a vote count; empty is None."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(str(value).strip())
    except ValueError:
        raise BadValue(
            f"{value!r} is not a number", key="import.row.not_number", value=repr(value)
        ) from None
    if not number.is_integer():
        raise BadValue(
            f"{value!r} is not a whole number", key="import.row.not_whole", value=repr(value)
        )
    return int(number)
