"""One message catalog per language, read from the TOML files beside this module.

Keys are dotted paths into the TOML tables (`queue.new`, `dialog.assign.title`); parameters
are filled with str.format. A key missing in one language falls back to the other, then to the
key itself, so a gap shows up as a visible key instead of a crash.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LANGUAGES = ("zh", "en")


def _flatten(table: dict[str, Any], prefix: str, out: dict[str, str]) -> None:
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            _flatten(value, key + ".", out)
        else:
            out[key] = str(value)


@cache
def _messages(lang: str) -> dict[str, str]:
    with (HERE / f"{lang}.toml").open("rb") as handle:
        data = tomllib.load(handle)
    out: dict[str, str] = {}
    _flatten(data, "", out)
    return out


class Catalog:
    """The messages of one language; `t(key, **params)` gives the text to show."""

    def __init__(self, lang: str) -> None:
        if lang not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
        self.lang = lang
        self._own = _messages(lang)
        self._other = _messages("en" if lang == "zh" else "zh")

    def t(self, key: str, **params: object) -> str:
        template = self._own.get(key) or self._other.get(key) or key
        if not params:
            return template
        try:
            return template.format(**params)
        except (KeyError, IndexError, ValueError):
            return template

    def has(self, key: str) -> bool:
        return key in self._own

    def names(self) -> set[str]:
        return set(self._own)
