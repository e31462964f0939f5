"""Units and clerks: loading the unit tree, registering clerks, and naming the acting clerk."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlmodel import Session, col, select

from caseworker.domain.bounds import case_id_of
from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import Actor, Role
from caseworker.store.models import ClerkRow, Unit

UNIT_LEVELS = ("province", "city", "county", "township", "department")


class UnknownName(DomainError):
    """A unit, clerk or case that the store does not know."""


@dataclass(frozen=True)
class UnitInfo:
    """A unit as lists and dialogs show it."""

    id: int
    code: str
    name: str
    level: str
    parent_id: int | None
    active: bool


@dataclass(frozen=True)
class ClerkInfo:
    """A clerk as lists show it."""

    id: int
    name: str
    role: str
    unit: str | None


def _unit_info(unit: Unit) -> UnitInfo:
    assert unit.id is not None
    return UnitInfo(unit.id, unit.code, unit.name, unit.level, unit.parent_id, unit.active)


def find_unit(session: Session, ref: str) -> Unit:
    """A unit by code, exact name, or numeric id; an ambiguous name is refused."""
    unit = session.exec(select(Unit).where(Unit.code == ref)).first()
    if unit is not None:
        return unit
    named = session.exec(select(Unit).where(Unit.name == ref)).all()
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        codes = [u.code for u in named]
        raise InvalidInput(
            f"unit name {ref!r} is ambiguous; use a code: {', '.join(codes)}",
            key="refused.unit_ambiguous",
            ref=ref,
            codes=codes,
        )
    number = case_id_of(ref)  # ids of units are spelled like those of cases
    if number is not None:
        by_id = session.get(Unit, number)
        if by_id is not None:
            return by_id
    raise UnknownName(
        f"unknown unit {ref!r}; see `caseworker units list`", key="refused.unknown_unit", ref=ref
    )


def import_units(session: Session, text: str) -> int:
    """Load units from CSV text (name, parent, level, code); parents may follow their children.

    Existing codes are updated in place (name, level, parent), so a bureau can re-import its
    edited unit file. Returns how many rows were read.
    """
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    need = {"name", "parent", "level", "code"}
    if reader.fieldnames is None or not need <= {f.strip() for f in reader.fieldnames}:
        columns = sorted(need)
        raise InvalidInput(
            f"units file needs the columns {', '.join(columns)}",
            key="refused.units_columns",
            columns=columns,
        )
    rows = [{k.strip(): (v or "").strip() for k, v in row.items() if k} for row in reader]
    codes: set[str] = set()
    for n, row in enumerate(rows, start=2):
        if not row["name"] or not row["code"]:
            raise InvalidInput(
                f"units file line {n}: name and code are required",
                key="refused.units_name_code",
                line=n,
            )
        if row["level"] not in UNIT_LEVELS:
            levels = ", ".join(UNIT_LEVELS)
            raise InvalidInput(
                f"units file line {n}: level {row['level']!r} not in {levels}",
                key="refused.units_level",
                line=n,
                level=row["level"],
                levels=list(UNIT_LEVELS),
            )
        if row["code"] in codes:
            raise InvalidInput(
                f"units file line {n}: code {row['code']} appears twice",
                key="refused.units_code_twice",
                line=n,
                code=row["code"],
            )
        codes.add(row["code"])
    by_code = {u.code: u for u in session.exec(select(Unit)).all()}
    for row in rows:  # first pass: every unit exists
        unit = by_code.get(row["code"]) or Unit(code=row["code"], name=row["name"], level="")
        unit.name, unit.level = row["name"], row["level"]
        session.add(unit)
        by_code[row["code"]] = unit
    session.flush()
    names: dict[str, list[Unit]] = {}
    for unit in by_code.values():
        names.setdefault(unit.name, []).append(unit)
    for n, row in enumerate(rows, start=2):  # second pass: parents, by code or unique name
        parent_ref = row["parent"]
        if not parent_ref:
            by_code[row["code"]].parent_id = None
            continue
        parent = by_code.get(parent_ref)
        if parent is None:
            candidates = names.get(parent_ref, [])
            if len(candidates) != 1:
                raise InvalidInput(
                    f"units file line {n}: unknown or ambiguous parent {parent_ref!r}",
                    key="refused.units_parent",
                    line=n,
                    parent=parent_ref,
                )
            parent = candidates[0]
        if parent.code == row["code"]:
            raise InvalidInput(
                f"units file line {n}: a unit cannot be its own parent",
                key="refused.units_own_parent",
                line=n,
            )
        by_code[row["code"]].parent_id = parent.id
    session.flush()
    _refuse_cycles(by_code.values())
    return len(rows)


def _refuse_cycles(units: object) -> None:
    parent_of = {u.id: u.parent_id for u in units}  # type: ignore[attr-defined]
    for start in parent_of:
        seen = {start}
        node = parent_of.get(start)
        while node is not None:
            if node in seen:
                raise InvalidInput(
                    "units file: the parent links form a cycle", key="refused.units_cycle"
                )
            seen.add(node)
            node = parent_of.get(node)


def list_units(session: Session) -> list[UnitInfo]:
    """All units, parents before children, siblings by code."""
    units = session.exec(select(Unit).order_by(col(Unit.code))).all()
    children: dict[int | None, list[Unit]] = {}
    for unit in units:
        children.setdefault(unit.parent_id, []).append(unit)
    known = {u.id for u in units}
    ordered: list[UnitInfo] = []

    def walk(parent: int | None) -> None:
        for unit in children.get(parent, []):
            ordered.append(_unit_info(unit))
            walk(unit.id)

    walk(None)
    for parent in children:  # orphans (parent missing) still listed
        if parent is not None and parent not in known:
            walk(parent)
    return ordered


def unit_depths(units: list[UnitInfo]) -> dict[int, int]:
    """How deep each unit sits in the tree (roots are 0), for indented lists."""
    parent = {u.id: u.parent_id for u in units}
    depth: dict[int, int] = {}
    for unit in units:
        d, node = 0, unit.parent_id
        while node is not None and d < 32:
            d, node = d + 1, parent.get(node)
        depth[unit.id] = d
    return depth


def subtree_ids(session: Session, unit_id: int) -> list[int]:
    """A unit and every unit below it."""
    pairs = session.exec(select(Unit.id, Unit.parent_id)).all()
    children: dict[int | None, list[int]] = {}
    for uid, parent in pairs:
        assert uid is not None
        children.setdefault(parent, []).append(uid)
    found, stack = [], [unit_id]
    while stack:
        node = stack.pop()
        found.append(node)
        stack.extend(children.get(node, []))
    return found


def add_clerk(session: Session, name: str, role: str, unit: str | None = None) -> ClerkInfo:
    """Register a clerk; a unit handler must belong to a unit."""
    name = name.strip()
    if not name:
        raise InvalidInput("a clerk needs a name", key="refused.clerk_name")
    try:
        role_value = Role(role)
    except ValueError:
        roles = [r.value for r in Role]  # what to type, so not translated
        raise InvalidInput(
            f"role must be one of {', '.join(roles)}", key="refused.role_choice", roles=roles
        ) from None
    if role_value is Role.HANDLER and not unit:
        raise InvalidInput("a unit handler needs --unit", key="refused.handler_unit")
    if session.exec(select(ClerkRow).where(ClerkRow.name == name)).first() is not None:
        raise InvalidInput(f"clerk {name!r} already exists", key="refused.clerk_exists", name=name)
    unit_row = find_unit(session, unit) if unit else None
    clerk = ClerkRow(name=name, role=role_value.value, unit_id=unit_row.id if unit_row else None)
    session.add(clerk)
    session.flush()
    assert clerk.id is not None
    return ClerkInfo(clerk.id, clerk.name, clerk.role, unit_row.name if unit_row else None)


def ensure_first_supervisor(session: Session, name: str) -> bool:
    """Register `name` as a supervisor when the store has no clerk yet; True if it did."""
    if session.exec(select(ClerkRow.id).limit(1)).first() is not None:
        return False
    session.add(ClerkRow(name=name, role=Role.SUPERVISOR.value))
    session.flush()
    return True


def list_clerks(session: Session) -> list[ClerkInfo]:
    rows = session.exec(
        select(ClerkRow, Unit.name).join(Unit, isouter=True).order_by(col(ClerkRow.name))
    ).all()
    return [ClerkInfo(c.id or 0, c.name, c.role, u) for c, u in rows]


def resolve_actor(session: Session, name: str) -> tuple[Actor, int]:
    """The acting clerk and their row id; an unknown name is refused with a hint."""
    clerk = session.exec(select(ClerkRow).where(ClerkRow.name == name)).first()
    if clerk is None or not clerk.active:
        raise UnknownName(
            f"unknown clerk {name!r}; add them with `caseworker clerks add` or pass --clerk",
            key="refused.unknown_clerk",
            name=name,
        )
    assert clerk.id is not None
    return Actor(name=clerk.name, role=Role(clerk.role), unit_id=clerk.unit_id), clerk.id
