"""Training exercises: scenarios under data/training/ whose steps are checks on the database.

The demo seeds each scenario's starting cases and records them (by role) in its store_meta
mark, with the id of its last event, so a check can tell the trainee's actions from the demo's
own history. A scenario file holds its texts in both languages; nothing here is translated.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import Session, col, select

from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import Status
from caseworker.store.models import CaseRow, ClerkRow, EventRow, ExtensionRow, ReplyRow, Unit

LANGUAGES = ("zh", "en")


class ScenarioError(DomainError):
    """A scenario file cannot be used, or the database has no material for it."""


@dataclass(frozen=True)
class Step:
    """One thing the trainee must do, as a check on the database."""

    check: str
    role: str
    text: dict[str, str]
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    key: str
    title: dict[str, str]
    brief: dict[str, str]
    steps: tuple[Step, ...]

    def say(self, what: dict[str, str], lang: str) -> str:
        return what.get(lang) or what.get("en") or next(iter(what.values()), "")


@dataclass(frozen=True)
class StepResult:
    """Whether a step is done, and which of its cases still lack it."""

    number: int
    text: str
    done: bool
    cases: list[int]
    missing: list[int]


@dataclass(frozen=True)
class CaseBrief:
    """A training case as the trainee needs to find it: id, title, unit and who may act."""

    role: str
    id: int
    title: str
    status: str
    lead_unit: str | None
    handlers: list[str]


@dataclass(frozen=True)
class CheckReport:
    scenario: str
    title: str
    brief: str
    cases: list[CaseBrief]
    steps: list[StepResult]

    @property
    def done(self) -> bool:
        return all(step.done for step in self.steps)


def training_dir() -> Path:
    from caseworker.config import DATA_DIR

    return DATA_DIR / "training"


def _texts(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ScenarioError(
            f'{where} needs texts by language, e.g. zh = "…" and en = "…"',
            key="refused.training.scenario_texts",
            where=where,
        )
    missing = [lang for lang in LANGUAGES if lang not in value]
    if missing:
        raise ScenarioError(
            f"{where} lacks the {', '.join(missing)} text",
            key="refused.training.scenario_lacks",
            where=where,
            languages=missing,
        )
    return dict(value)


def parse_scenario(key: str, text: str) -> Scenario:
    """Read one scenario file; every step must name a known check and the texts in zh and en."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(
            f"scenario {key} is not valid TOML: {exc}",
            key="refused.training.scenario_toml",
            scenario=key,
            error=exc,
        ) from None
    steps = []
    for n, entry in enumerate(doc.get("steps", []), start=1):
        where = f"scenario {key} step {n}"
        check = entry.get("check")
        if check not in CHECKS:
            raise ScenarioError(
                f"{where}: unknown check {check!r}; known: {', '.join(CHECKS)}",
                key="refused.training.scenario_check",
                scenario=key,
                step=n,
                check=check,
                known=list(CHECKS),
            )
        role = entry.get("role")
        if not isinstance(role, str) or not role:
            raise ScenarioError(
                f"{where}: needs the role of the cases it checks",
                key="refused.training.scenario_role",
                scenario=key,
                step=n,
            )
        args = {k: v for k, v in entry.items() if k not in ("check", "role", "text")}
        steps.append(Step(check, role, _texts(entry.get("text"), where), args))
    if not steps:
        raise ScenarioError(
            f"scenario {key} has no steps", key="refused.training.scenario_no_steps", scenario=key
        )
    return Scenario(
        key,
        _texts(doc.get("title"), f"scenario {key} title"),
        _texts(doc.get("brief"), f"scenario {key} brief"),
        tuple(steps),
    )


def list_scenarios(folder: Path | None = None) -> list[Scenario]:
    folder = folder or training_dir()
    return [load_scenario(p.stem, folder) for p in sorted(folder.glob("*.toml"))]


def load_scenario(key: str, folder: Path | None = None) -> Scenario:
    folder = folder or training_dir()
    path = folder / f"{key}.toml"
    if not key or "/" in key or not path.is_file():
        known = ", ".join(p.stem for p in sorted(folder.glob("*.toml")))
        raise InvalidInput(
            f"unknown scenario {key!r}; known: {known}",
            key="refused.training.unknown_scenario",
            scenario=key,
            known=[p.stem for p in sorted(folder.glob("*.toml"))],
        )
    return parse_scenario(key, path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class _Material:
    """What a check looks at: the scenario's cases by role, and where the demo's history ends."""

    session: Session
    roles: dict[str, list[int]]
    last_event_id: int

    def cases(self, role: str) -> list[int]:
        if role not in self.roles:
            raise ScenarioError(
                f"the demo has no training case with role {role!r}",
                key="refused.training.role",
                role=role,
            )
        return self.roles[role]


_Check = Callable[[_Material, list[int], dict[str, Any]], set[int]]


def _status_in(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    wanted = {Status(s).value for s in args.get("statuses", [])}
    rows = m.session.exec(select(CaseRow.id, CaseRow.status).where(col(CaseRow.id).in_(ids)))
    return {cid for cid, status in rows if status in wanted and cid is not None}


def _trainee_event(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    """Cases with an event of `action` recorded after the demo was built."""
    query = select(EventRow.case_id, EventRow.reason).where(
        col(EventRow.case_id).in_(ids),
        EventRow.action == str(args["action"]),
        col(EventRow.id) > m.last_event_id,
    )
    words = [str(w) for w in args.get("reason_contains", [])]
    return {
        cid
        for cid, reason in m.session.exec(query)
        if not words or any(w in (reason or "") for w in words)
    }


def _assigned_in_time(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    rows = m.session.exec(
        select(CaseRow.id, CaseRow.assigned_at, CaseRow.assign_due_at, CaseRow.lead_unit_id).where(
            col(CaseRow.id).in_(ids)
        )
    )
    return {
        cid
        for cid, assigned, due, lead in rows
        if cid is not None and assigned is not None and lead is not None and assigned <= due
    }


def _linked_to(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    targets = set(m.cases(str(args["target"])))
    rows = m.session.exec(select(CaseRow.id, CaseRow.repeat_of_id).where(col(CaseRow.id).in_(ids)))
    return {cid for cid, original in rows if cid is not None and original in targets}


def _reply(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    states = [str(s) for s in args.get("states", ["draft", "submitted", "published"])]
    query = select(ReplyRow.case_id).where(
        col(ReplyRow.case_id).in_(ids), col(ReplyRow.state).in_(states)
    )
    if "final" in args:
        query = query.where(ReplyRow.final == bool(args["final"]))
    return set(m.session.exec(query))


def _extension(m: _Material, ids: list[int], args: dict[str, Any]) -> set[int]:
    # By default a request that can still end in an approval: a denied or lapsed one cannot,
    # so the unit's step shows undone until it asks again.
    states = [str(s) for s in args.get("states", ["requested", "approved"])]
    query = select(ExtensionRow.case_id).where(
        col(ExtensionRow.case_id).in_(ids), col(ExtensionRow.state).in_(states)
    )
    return set(m.session.exec(query))


CHECKS: dict[str, _Check] = {
    "status_in": _status_in,
    "trainee_event": _trainee_event,
    "assigned_in_time": _assigned_in_time,
    "linked_to": _linked_to,
    "reply": _reply,
    "extension": _extension,
}


def check_scenario(session: Session, scenario: Scenario, lang: str) -> CheckReport:
    """Which of the scenario's steps the database shows done, case by case."""
    from caseworker.services.demo.build import demo_info

    if lang not in LANGUAGES:
        raise InvalidInput("--lang must be zh or en", key="refused.training.language")
    info = demo_info(session)
    roles = (info or {}).get("training", {}).get(scenario.key)
    if info is None or not roles:
        raise ScenarioError(
            f"this database has no material for scenario {scenario.key}; "
            "build it with `caseworker demo` (or --reset it) first",
            key="refused.training.material",
            scenario=scenario.key,
        )
    material = _Material(
        session,
        {k: [int(i) for i in v] for k, v in roles.items()},
        int(info.get("last_event_id", 0)),
    )
    results = []
    for n, step in enumerate(scenario.steps, start=1):
        ids = material.cases(step.role)
        done = CHECKS[step.check](material, ids, step.args)
        missing = [cid for cid in ids if cid not in done]
        results.append(StepResult(n, scenario.say(step.text, lang), not missing, ids, missing))
    return CheckReport(
        scenario.key,
        scenario.say(scenario.title, lang),
        scenario.say(scenario.brief, lang),
        _briefs(session, material.roles),
        results,
    )


def _briefs(session: Session, roles: dict[str, list[int]]) -> list[CaseBrief]:
    out = []
    for role, ids in roles.items():
        for cid in ids:
            case = session.get(CaseRow, cid)
            if case is None:
                raise ScenarioError(
                    f"training case {cid} is missing; rebuild with --reset",
                    key="refused.training.case_gone",
                    case=cid,
                )
            unit = session.get(Unit, case.lead_unit_id) if case.lead_unit_id else None
            handlers = (
                list(
                    session.exec(select(ClerkRow.name).where(ClerkRow.unit_id == case.lead_unit_id))
                )
                if case.lead_unit_id
                else []
            )
            out.append(
                CaseBrief(role, cid, case.title, case.status, unit.name if unit else None, handlers)
            )
    return out
