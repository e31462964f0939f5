"""One message catalog per language, read from the TOML files beside this module.

Keys are dotted paths into the TOML tables (`queue.new`, `dialog.assign.title`); parameters
are filled with str.format. A key missing in one language falls back to the other, then to the
key itself, so a gap shows up as a visible key instead of a crash.
"""

from __future__ import annotations

import tomllib
from enum import Enum
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
    """The language's catalog: `zh.toml`, then each `zh.<area>.toml` beside it.

    An area of the program (documents, triage, …) may keep its texts in a file of its own, so
    the main catalog does not grow without end; a key given twice is refused.
    """
    out: dict[str, str] = {}
    for path in [HERE / f"{lang}.toml", *sorted(HERE.glob(f"{lang}.*.toml"))]:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        part: dict[str, str] = {}
        _flatten(data, "", part)
        twice = sorted(set(part) & set(out))
        if twice:
            raise ValueError(f"{path.name} repeats catalog keys: {', '.join(twice[:5])}")
        out.update(part)
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

    def refusal(self, exc: BaseException) -> str:
        """What to tell the clerk about a refused action, in this catalog's language.

        A refusal with a message key (see caseworker/domain/errors.py) is rendered from the
        catalog, its statuses, actions and roles by their names here; one without a key, or
        with a key this catalog lacks, says its own (English) text.
        """
        key = getattr(exc, "key", None)
        if not isinstance(key, str) or key not in self._own:
            return str(exc)
        params: dict[str, object] = getattr(exc, "params", None) or {}
        return self.t(key, **{name: self._term(value) for name, value in params.items()})

    def _term(self, value: object) -> str:
        """A refusal's parameter as words of this language.

        Enum members (Status, Action, Role, ...) are looked up as `refused.<kind>.<value>`, then
        `<kind>.<value>` (the console's own status and action names), else shown as they are;
        a list is joined (`refused.nothing` when empty); a time limit uses its Chinese form in zh;
        an exception (a reason inside another) is rendered as a refusal itself.
        """
        if isinstance(value, Enum):
            kind, name = type(value).__name__.lower(), str(value.value)
            for key in (f"refused.{kind}.{name}", f"{kind}.{name}"):
                if key in self._own:
                    return self._own[key]
            return name
        if isinstance(value, BaseException):  # a reason given inside another (a cell's column)
            return self.refusal(value)
        if isinstance(value, list | tuple | set | frozenset):
            parts = [self._term(item) for item in value]
            return self.t("refused.separator").join(parts) if parts else self.t("refused.nothing")
        to_zh = getattr(value, "zh", None)
        if self.lang == "zh" and callable(to_zh):
            return str(to_zh())
        return str(value)
