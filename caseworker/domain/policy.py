"""The bureau's policy: its channels and the time limit of each stage by channel, kind, urgency."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from caseworker.domain.deadlines import Limit, Stage


class Urgency(StrEnum):
    """Ordinary, or the urgent lane (绿色通道)."""

    NORMAL = "normal"
    URGENT = "urgent"


class Kind(StrEnum):
    """What the citizen wants (诉求类型)."""

    COMPLAINT = "complaint"  # 投诉
    HELP = "help"  # 求助
    INQUIRY = "inquiry"  # 咨询
    SUGGESTION = "suggestion"  # 建议
    PRAISE = "praise"  # 表扬


# The names a bureau writes in Chinese, read as the codes (`case new`, imports).
KIND_NAMES: Mapping[str, Kind] = {
    "投诉": Kind.COMPLAINT,
    "求助": Kind.HELP,
    "咨询": Kind.INQUIRY,
    "建议": Kind.SUGGESTION,
    "表扬": Kind.PRAISE,
}
URGENCY_NAMES: Mapping[str, Urgency] = {"普通": Urgency.NORMAL, "紧急": Urgency.URGENT}


def kind_code(value: str) -> str:
    """The code of a kind written as its code or its Chinese name; anything else as given,
    for validation to refuse with the choices."""
    name = value.strip()
    return KIND_NAMES[name].value if name in KIND_NAMES else value


def urgency_code(value: str) -> str:
    """The code of an urgency written as its code or its Chinese name; anything else as given."""
    name = value.strip()
    return URGENCY_NAMES[name].value if name in URGENCY_NAMES else value


class PolicyError(ValueError):
    """The policy file cannot be used; the message names the entry."""


@dataclass(frozen=True)
class Channel:
    """A way messages reach the bureau, with its labels in both languages."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class LimitRule:
    """Limits that apply when every given match key equals the case's value."""

    limits: Mapping[Stage, Limit]
    channel: str | None = None
    kind: str | None = None
    urgency: str | None = None

    def matches(self, *, channel: str, kind: str | None, urgency: str) -> bool:
        return (
            (self.channel is None or self.channel == channel)
            and (self.kind is None or self.kind == kind)
            and (self.urgency is None or self.urgency == urgency)
        )


@dataclass(frozen=True)
class SupervisionThresholds:
    """Working days overdue from which `supervise --overdue` records each level (督办).

    A level applies once a case is at least that many working days past its deadline, so a
    case late only across a holiday (0 working days) is not chased yet.
    """

    remind: int = 1  # 催办
    flag: int = 5  # 挂牌督办
    summon: int = 10  # 约谈

    def level_for(self, overdue_working_days: int) -> str | None:
        """The highest level earned by this lateness (remind / flag / summon), or None."""
        for code, start in (("summon", self.summon), ("flag", self.flag), ("remind", self.remind)):
            if overdue_working_days >= start:
                return code
        return None


# A received time more than this far ahead of now cannot be right (clocks drift and zones get
# mixed up, but not by a day): `case new` and `import` refuse it.
FUTURE_TOLERANCE = timedelta(days=1)


def years_before(now: datetime, years: int) -> datetime:
    """The same instant `years` years earlier (29 February falls back to the 28th)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


@dataclass(frozen=True)
class ImportRules:
    """How an imported history is read (the [imports] table of the policy file).

    `close_on_reply` names the import profiles (built-in, or a mapping file's `name`) on whose
    files a published reply ends the message (已办理, as on the 领导留言板): such a row is imported
    replied and closed at its reply time. `old_received_years`: a received time older than
    this many years is accepted with a warning (a mistyped year, or a very old backlog).
    """

    close_on_reply: frozenset[str] = frozenset({"message-board"})
    old_received_years: int = 10

    def is_future(self, received: datetime, now: datetime) -> bool:
        """More than a day ahead of now: refused."""
        return received > now + FUTURE_TOLERANCE

    def is_old(self, received: datetime, now: datetime) -> bool:
        """Older than the bound: accepted, with a warning."""
        return received < years_before(now, self.old_received_years)


DOCUMENT_KINDS = ("assign", "supervise", "approval", "brief", "bulletin")


@dataclass(frozen=True)
class Bureau:
    """Who signs the bureau's documents, and how their 发文字号 are written.

    A number reads prefix + the kind's mark + 〔year〕 + n + 号, e.g. 江信交〔2025〕12号.
    """

    name: str = "信访局"
    short_name: str = "信访局"
    number_prefix: str = "信"
    address: str = ""
    contact: str = ""
    marks: Mapping[str, str] = field(
        default_factory=lambda: {
            "assign": "交",
            "supervise": "督",
            "approval": "呈",
            "brief": "专",
            "bulletin": "通",
        }
    )

    def number(self, kind: str, year: int, n: int) -> str:
        """The 发文字号 of the n-th document of `kind` in `year`."""
        return f"{self.number_prefix}{self.marks[kind]}〔{year}〕{n}号"


@dataclass(frozen=True)
class Policy:
    """Channels and limit rules; later rules override earlier ones for the stages they set."""

    version: str
    channels: Mapping[str, Channel]
    rules: tuple[LimitRule, ...]
    satisfied_counts_basic: bool = True
    return_window: Limit = field(default_factory=lambda: Limit.parse("5 workdays"))
    max_extension: Limit = field(default_factory=lambda: Limit.parse("30 days"))
    supervision: SupervisionThresholds = field(default_factory=SupervisionThresholds)
    imports: ImportRules = field(default_factory=ImportRules)
    bureau: Bureau = field(default_factory=Bureau)

    def limit_for(self, stage: Stage, *, channel: str, kind: str | None, urgency: str) -> Limit:
        """The limit of one stage for a case; every stage must be set by some rule."""
        found: Limit | None = None
        for rule in self.rules:
            if stage in rule.limits and rule.matches(channel=channel, kind=kind, urgency=urgency):
                found = rule.limits[stage]
        if found is None:
            raise PolicyError(f"no {stage.value} limit applies to channel {channel}")
        return found

    def channel(self, code: str) -> Channel:
        try:
            return self.channels[code]
        except KeyError:
            known = ", ".join(self.channels)
            raise PolicyError(f"unknown channel {code!r}; known: {known}") from None


def _limit(value: Any, where: str) -> Limit:
    if not isinstance(value, str):
        raise PolicyError(f"{where}: a limit is text such as '3 workdays', got {value!r}")
    try:
        return Limit.parse(value)
    except ValueError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _supervision(table: Any) -> SupervisionThresholds:
    """The [supervision] table; missing keys (or a missing table) keep the defaults."""
    if not isinstance(table, dict):
        raise PolicyError("[supervision] must be a table")
    unknown = set(table) - {"remind", "flag", "summon"}
    if unknown:
        raise PolicyError(f"[supervision]: unknown keys {sorted(unknown)}")
    values: dict[str, int] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise PolicyError(f"[supervision].{key}: a whole number of working days >= 1")
        values[key] = value
    thresholds = SupervisionThresholds(**values)
    if not thresholds.remind <= thresholds.flag <= thresholds.summon:
        raise PolicyError("[supervision]: thresholds must rise: remind <= flag <= summon")
    return thresholds


def _imports(table: Any) -> ImportRules:
    """The [imports] table; missing keys (or a missing table) keep the defaults."""
    if not isinstance(table, dict):
        raise PolicyError("[imports] must be a table")
    unknown = set(table) - {"close_on_reply", "old_received_years"}
    if unknown:
        raise PolicyError(f"[imports]: unknown keys {sorted(unknown)}")
    rules = ImportRules()
    profiles = table.get("close_on_reply", sorted(rules.close_on_reply))
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        raise PolicyError("[imports].close_on_reply: a list of import profile names")
    years = table.get("old_received_years", rules.old_received_years)
    if isinstance(years, bool) or not isinstance(years, int) or years < 1:
        raise PolicyError("[imports].old_received_years: a whole number of years >= 1")
    return ImportRules(close_on_reply=frozenset(profiles), old_received_years=years)


def _bureau(table: Any) -> Bureau:
    """The [bureau] table; a missing table or key keeps the defaults."""
    if not isinstance(table, dict):
        raise PolicyError("[bureau] must be a table")
    text_keys = {"name", "short_name", "number_prefix", "address", "contact"}
    unknown = set(table) - text_keys - {"marks"}
    if unknown:
        raise PolicyError(f"[bureau]: unknown keys {sorted(unknown)}")
    values: dict[str, Any] = {}
    for key in text_keys & set(table):
        if not isinstance(table[key], str):
            raise PolicyError(f"[bureau].{key}: text expected")
        values[key] = table[key].strip()
    marks = dict(Bureau().marks)
    given = table.get("marks", {})
    if not isinstance(given, dict) or set(given) - set(DOCUMENT_KINDS):
        kinds = ", ".join(DOCUMENT_KINDS)
        raise PolicyError(f"[bureau.marks]: a table with the document kinds {kinds}")
    for kind, mark in given.items():
        if not isinstance(mark, str) or not mark.strip():
            raise PolicyError(f"[bureau.marks].{kind}: text expected")
        marks[kind] = mark.strip()
    return Bureau(**values, marks=marks)


def parse_policy(text: str) -> Policy:
    """Read a policy file (TOML); see data/policy.toml for the format."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"policy file is not valid TOML: {exc}") from None
    channels: dict[str, Channel] = {}
    for code, entry in dict(doc.get("channels", {})).items():
        if not isinstance(entry, dict) or "zh" not in entry or "en" not in entry:
            raise PolicyError(f"channel {code}: needs zh and en labels")
        channels[code] = Channel(code=code, zh=str(entry["zh"]), en=str(entry["en"]))
    if not channels:
        raise PolicyError("policy file defines no channels")
    rules: list[LimitRule] = []
    for n, entry in enumerate(doc.get("limits", []), start=1):
        where = f"limits #{n}"
        # A misspelt stage ("asign") would otherwise leave that stage on the default quietly.
        typos = set(entry) - {"match"} - {stage.value for stage in Stage}
        if typos:
            known = ", ".join(stage.value for stage in Stage)
            raise PolicyError(f"{where}: unknown keys {sorted(typos)}; stages are {known}")
        match = dict(entry.get("match", {}))
        unknown = set(match) - {"channel", "kind", "urgency"}
        if unknown:
            raise PolicyError(f"{where}: unknown match keys {sorted(unknown)}")
        if "channel" in match and match["channel"] not in channels:
            raise PolicyError(f"{where}: unknown channel {match['channel']!r}")
        limits = {
            stage: _limit(entry[stage.value], f"{where}.{stage.value}")
            for stage in Stage
            if stage.value in entry
        }
        rules.append(LimitRule(limits=limits, **{k: str(v) for k, v in match.items()}))
    policy = Policy(
        version=str(doc.get("version", "unversioned")),
        channels=channels,
        rules=tuple(rules),
        satisfied_counts_basic=bool(doc.get("measures", {}).get("satisfied_counts_basic", True)),
        return_window=_limit(doc.get("return_window", "5 workdays"), "return_window"),
        max_extension=_limit(doc.get("max_extension", "30 days"), "max_extension"),
        supervision=_supervision(doc.get("supervision", {})),
        imports=_imports(doc.get("imports", {})),
        bureau=_bureau(doc.get("bureau", {})),
    )
    for stage in Stage:  # every case must get every clock
        if not any(stage in r.limits and r.channel is r.kind is r.urgency is None for r in rules):
            raise PolicyError(f"policy has no default {stage.value} limit (a rule without match)")
    return policy
