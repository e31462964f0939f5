"""Units and clerks: loading the unit tree, registering clerks, and naming the acting clerk."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlmodel import Session, col, select

from caseworker.domain.bounds import case_id_of
from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import Actor, Role
from caseworker.store.models import ClerkLogin, ClerkRow, Unit

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
    population: int | None = None  # residents of its area, when the units file gives it


@dataclass(frozen=True)
class ClerkInfo:
    """A clerk as lists show it."""

    id: int
    name: str
    role: str
    unit: str | None
    logins: tuple[str, ...] = ()
    active: bool = True


def _unit_info(unit: Unit) -> UnitInfo:
    assert unit.id is not None
    return UnitInfo(
        unit.id, unit.code, unit.name, unit.level, unit.parent_id, unit.active, unit.population
    )


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
    """Load units from CSV text (name, parent, level, code, and optionally population);
    parents may follow their children.

    Existing codes are updated in place (name, level, parent, population), so a bureau can
    re-import its edited unit file. Returns how many rows were read.
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
    has_population = "population" in {f.strip() for f in reader.fieldnames}
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
        row["population"] = _population(row.get("population", ""), n)
    by_code = {u.code: u for u in session.exec(select(Unit)).all()}
    for row in rows:  # first pass: every unit exists
        unit = by_code.get(row["code"]) or Unit(code=row["code"], name=row["name"], level="")
        unit.name, unit.level = row["name"], row["level"]
        if has_population:
            unit.population = int(row["population"]) if row["population"] else None
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


def _population(text: str | None, line: int) -> str:
    """The population cell as digits (thousands separators allowed), or "" when blank."""
    value = (text or "").replace(",", "").replace("，", "").strip()
    if value and not (value.isascii() and value.isdigit()):
        raise InvalidInput(
            f"units file line {line}: population {text!r} is not a whole number of residents",
            key="refused.units_population",
            line=line,
            value=text,
        )
    return value


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


def add_clerk(
    session: Session,
    name: str,
    role: str,
    unit: str | None = None,
    *,
    logins: tuple[str, ...] = (),
) -> ClerkInfo:
    """Register a clerk, bound to `logins`; a unit handler must belong to a unit.

    Who may call this is the caller's business: the commands go through services.admin, which
    asks for a supervisor and records the change.
    """
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
    for login in dict.fromkeys(logins):
        session.add(ClerkLogin(clerk_id=clerk.id, login=_login_name(login)))
    session.flush()
    return ClerkInfo(
        clerk.id, clerk.name, clerk.role, unit_row.name if unit_row else None, tuple(logins)
    )


def _login_name(login: str) -> str:
    login = login.strip()
    if not login or len(login) > 100 or any(ch.isspace() or ord(ch) < 32 for ch in login):
        raise InvalidInput(f"{login!r} is not a login name", key="refused.login_name", login=login)
    return login


def find_clerk(session: Session, name: str) -> ClerkRow:
    clerk = session.exec(select(ClerkRow).where(ClerkRow.name == name)).first()
    if clerk is None:
        raise UnknownName(
            f"unknown clerk {name!r}; see `caseworker clerks list`",
            key="refused.no_such_clerk",
            name=name,
        )
    return clerk


def bind_login(session: Session, name: str, login: str) -> bool:
    """Let `login` act as clerk `name`; False when it already could."""
    clerk = find_clerk(session, name)
    login = _login_name(login)
    assert clerk.id is not None
    if session.get(ClerkLogin, (clerk.id, login)) is not None:
        return False
    session.add(ClerkLogin(clerk_id=clerk.id, login=login))
    session.flush()
    return True


def unbind_login(session: Session, name: str, login: str) -> bool:
    """Stop `login` acting as clerk `name`; False when it could not anyway."""
    clerk = find_clerk(session, name)
    assert clerk.id is not None
    row = session.get(ClerkLogin, (clerk.id, login.strip()))
    if row is None:
        return False
    session.delete(row)
    session.flush()
    return True


def logins_of(session: Session, clerk_id: int) -> tuple[str, ...]:
    rows = session.exec(
        select(ClerkLogin.login).where(ClerkLogin.clerk_id == clerk_id).order_by(ClerkLogin.login)
    ).all()
    return tuple(rows)


def clerks_of_login(session: Session, login: str) -> list[str]:
    """The active clerks `login` may act as, by name."""
    rows = session.exec(
        select(ClerkRow.name)
        .join(ClerkLogin, col(ClerkLogin.clerk_id) == col(ClerkRow.id))
        .where(ClerkLogin.login == login, col(ClerkRow.active).is_(True))
        .order_by(col(ClerkRow.name))
    ).all()
    return list(rows)


def has_clerks(session: Session) -> bool:
    return session.exec(select(ClerkRow.id).limit(1)).first() is not None


def ensure_first_supervisor(session: Session, name: str, login: str | None = None) -> bool:
    """Register `name` as a supervisor, bound to `login`, when the store has no clerk yet;
    True if it did."""
    if has_clerks(session):
        return False
    logins = (login,) if login else ()
    add_clerk(session, name, Role.SUPERVISOR.value, logins=logins)
    return True


def list_clerks(session: Session) -> list[ClerkInfo]:
    rows = session.exec(
        select(ClerkRow, Unit.name).join(Unit, isouter=True).order_by(col(ClerkRow.name))
    ).all()
    bound: dict[int, list[str]] = {}
    for clerk_id, login in session.exec(
        select(ClerkLogin.clerk_id, ClerkLogin.login).order_by(col(ClerkLogin.login))
    ).all():
        bound.setdefault(clerk_id, []).append(login)
    return [
        ClerkInfo(c.id or 0, c.name, c.role, u, tuple(bound.get(c.id or 0, ())), c.active)
        for c, u in rows
    ]


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
