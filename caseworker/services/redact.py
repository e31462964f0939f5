"""Masking personal data for export: ID card numbers, mobile and landline numbers, e-mail.

Citizens write numbers every way a keyboard allows: full-width digits (１３８１２３４５６７８, as
Chinese input methods type them), mobiles split by dots or spaces (138.1234.5678), an ID number
glued to letters (sfz110101199003071234). The patterns run on a copy of the text in which
full-width digits and separators read as their ASCII twins (one character for one, so
positions agree), and the masks are cut into the original text: what is kept reads as the
citizen wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Full-width digits, X, plus, hyphen, dot, space and brackets read as ASCII (same positions).
_ASCII = str.maketrans("０１２３４５６７８９Ｘｘ＋－．　（）", "0123456789Xx+-. ()")
_BIRTH = r"(?:19|20)\d\d(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
# Mainland ID card: 6 digits of region, the birth date, 3 digits and a check digit (or X);
# 15-digit legacy cards (6 + YYMMDD + 3). Letters around it do not matter (sfz…), digits do:
# a longer number (an order number) is not a card. The birth date must be a date.
_ID_CARD = re.compile(
    rf"(?<![0-9])(?:([0-9]{{6}})({_BIRTH}[0-9]{{3}})([0-9Xx])"
    r"|([0-9]{6})([0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9]{3}))(?![0-9])",
    re.ASCII,
)
# Mainland mobile: 1[3-9] and nine more digits, optionally after +86 / 86, in groups of 3-4-4
# split by nothing, a hyphen, a dot or a space.
_MOBILE = re.compile(
    r"(?<![0-9])((?:\+?86[- ]?)?1[3-9][0-9])[-. ]?([0-9]{4})[-. ]?([0-9]{4})(?![0-9])", re.ASCII
)
# Landline: an area code (0 and 2-3 digits, maybe in brackets) set off from a 7- or 8-digit
# number by a hyphen, a space or the bracket (a run of digits alone is not taken for one).
_LANDLINE = re.compile(
    r"(?<![0-9])(\(0[1-9][0-9]{1,2}\)[- ]?|0[1-9][0-9]{1,2}[- ])"
    r"([0-9]{3,4}[- ]?[0-9]{0,4}?)([0-9]{4})(?![0-9])",
    re.ASCII,
)
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")

# A mask from a match (on the ASCII reading) and the original text.
Masker = Callable[[re.Match[str], str], str]


def _digits_masked(text: str) -> str:
    """Every digit of `text` (ASCII or full-width) as *, separators kept."""
    return "".join("*" if ch.translate(_ASCII).isdigit() else ch for ch in text)


def _id_card(match: re.Match[str], text: str) -> str:
    """First 6 and last 4 kept."""
    start, end = match.span()
    return text[start : start + 6] + "*" * (end - start - 10) + text[end - 4 : end]


def _mobile(match: re.Match[str], text: str) -> str:
    return text[match.start(1) : match.end(1)] + "****" + text[match.start(3) : match.end(3)]


def _landline(match: re.Match[str], text: str) -> str:
    return (
        text[match.start(1) : match.end(1)]
        + _digits_masked(text[match.start(2) : match.end(2)])
        + text[match.start(3) : match.end(3)]
    )


def _mask(text: str, pattern: re.Pattern[str], masker: Masker) -> str:
    """`text` with every match of `pattern` on its ASCII reading replaced by `masker`'s mask."""
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text.translate(_ASCII)):
        out.append(text[last : match.start()])
        out.append(masker(match, text))
        last = match.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def redact_text(text: str | None) -> str | None:
    """The text with ID cards (first 6 and last 4 kept), mobiles (138****1234), landlines (area
    code and last 4 kept: 0731-****8888) and e-mail local parts masked; all else unchanged."""
    if not text:
        return text
    text = _mask(text, _ID_CARD, _id_card)
    text = _mask(text, _MOBILE, _mobile)
    text = _mask(text, _LANDLINE, _landline)
    return _EMAIL.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)
