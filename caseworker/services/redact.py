"""Masking personal data for export: mobile numbers, ID card numbers, e-mail local parts."""

from __future__ import annotations

import re

# Mainland ID card: 17 digits and a check digit (or X); 15-digit legacy cards (digits only).
_ID_CARD = re.compile(
    r"(?<![0-9A-Za-z])(?:(\d{6})(\d{8})(\d{3}[0-9Xx])|(\d{6})(\d{5})(\d{4}))(?![0-9A-Za-z])"
)
# Mainland mobile: 1[3-9] and nine more digits, optionally after +86 / 86.
_MOBILE = re.compile(r"(?<!\d)((?:\+?86[- ]?)?1[3-9]\d)[- ]?(\d{4})[- ]?(\d{4})(?!\d)")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+)@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")


def _id_card(match: re.Match[str]) -> str:
    parts = [g for g in match.groups() if g is not None]
    head, middle, tail = parts
    return head + "*" * len(middle) + tail


def redact_text(text: str | None) -> str | None:
    """The text with ID cards (first 6 and last 4 kept), mobiles (138****1234) and e-mail
    local parts masked; everything else unchanged."""
    if not text:
        return text
    text = _ID_CARD.sub(_id_card, text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)[:1]}***@{m.group(2)}", text)
