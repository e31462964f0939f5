"""Citizen text made safe to draw: never markup, no terminal control sequences.

Stripping happens for display only; the stored text is untouched.
"""

from __future__ import annotations

import re

from rich.text import Text

# CSI / OSC / other ESC sequences, then any remaining C0 (except tab and newline), DEL and C1.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BIDI = re.compile(r"[\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def clean(text: str | None, *, one_line: bool = False) -> str:
    """The text without escape sequences or control characters (shown as ·/space)."""
    if not text:
        return ""
    out = _ESCAPES.sub("", text)
    out = out.replace("\r\n", "\n").replace("\r", "\n").replace("\t", "    ")
    out = _BIDI.sub("", out)
    out = _CONTROLS.sub("·", out)
    if one_line:
        out = " ".join(out.split())
    return out


def plain(text: str | None, style: str = "", *, one_line: bool = False) -> Text:
    """A rich Text that shows `text` literally, brackets and all."""
    return Text(clean(text, one_line=one_line), style=style)
