"""Administration: changes to units, clerks and their logins, made by a supervisor and kept.

Every change goes through here, so each is checked (only an active supervisor administers) and
recorded in `admin_history`: who, when, the rows before and after. The records form a SHA-256
chain (each hash covers the record and the previous hash), so a record edited or removed with
raw SQL afterwards shows in `verify_admin_history`. The session-taking functions never commit:
the command that opened the store owns the transaction.

On PostgreSQL a clerk connects as their own database role; `grant_role` creates or updates it
with the rights a clerk needs (row security does the rest: see migration 0012) and `revoke_role`
takes them away. Role names are quoted identifiers; a password is never handled here: a bureau
sets authentication (peer, certificate, or a password it sets itself) in pg_hba.conf.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.domain.errors import InvalidInput, NotPermitted
from caseworker.domain.lifecycle import Role
from caseworker.services import people
from caseworker.store.models import AdminRecord, ClerkRow, Unit

GENESIS = "0" * 64


def require_supervisor(session: Session, actor: str, what: str) -> None:
    """Refuse `what` unless `actor` is an active supervisor."""
    clerk = session.exec(select(ClerkRow).where(ClerkRow.name == actor)).first()
    if clerk is None or not clerk.active or clerk.role != Role.SUPERVISOR.value:
        raise NotPermitted(
            f"{what} needs a supervisor; {actor or 'nobody'} is not one",
            key="refused.admin_needs_supervisor",
            what=what,
            clerk=actor or "—",
        )


def _digest(prev: str, fields: dict[str, Any]) -> str:
    body = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((prev + "\n" + body).encode("utf-8")).hexdigest()


def _fields(row: AdminRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "actor": row.actor,
        "action": row.action,
        "subject": row.subject,
        "before": row.before,
        "after": row.after,
        "recorded_at": row.recorded_at.isoformat(),
    }


def record(
    session: Session,
    actor: str,
    action: str,
    subject: str,
    before: object | None,
    after: object | None,
) -> None:
    """Append one administration record, chained to the one before it."""
    last = session.exec(select(AdminRecord).order_by(col(AdminRecord.id).desc()).limit(1)).first()
    prev = last.hash if last is not None else GENESIS
    row = AdminRecord(
        id=(last.id or 0) + 1 if last is not None else 1,
        actor=actor,
        action=action,
        subject=subject[:200],
        before=None if before is None else json.dumps(before, ensure_ascii=False, sort_keys=True),
        after=None if after is None else json.dumps(after, ensure_ascii=False, sort_keys=True),
        # Stored as whole microseconds in UTC, so the hash reads back the same.
        recorded_at=recorded_now().replace(microsecond=0),
        prev_hash=prev,
        hash="",
    )
    row.hash = _digest(prev, _fields(row))
    session.add(row)
    session.flush()


@dataclass(frozen=True)
class AdminEntry:
    id: int
    actor: str
    action: str
    subject: str
    before: str | None
    after: str | None
    recorded_at: Any


def admin_history(session: Session) -> list[AdminEntry]:
    rows = session.exec(select(AdminRecord).order_by(col(AdminRecord.id))).all()
    return [
        AdminEntry(r.id or 0, r.actor, r.action, r.subject, r.before, r.after, r.recorded_at)
        for r in rows
    ]


def verify_admin_history(session: Session) -> tuple[int, int | None]:
    """(records verified, the id of the first record that does not match, or None)."""
    prev, count = GENESIS, 0
    for row in session.exec(select(AdminRecord).order_by(col(AdminRecord.id))).all():
        if row.prev_hash != prev or row.hash != _digest(prev, _fields(row)):
            return count, row.id
        prev, count = row.hash, count + 1
    return count, None


# ------------------------------------------------------------------ clerks and logins


def _clerk_state(session: Session, name: str) -> dict[str, Any] | None:
    clerk = session.exec(select(ClerkRow).where(ClerkRow.name == name)).first()
    if clerk is None:
        return None
    assert clerk.id is not None
    unit = session.get(Unit, clerk.unit_id) if clerk.unit_id else None
    return {
        "name": clerk.name,
        "role": clerk.role,
        "unit": unit.code if unit else None,
        "active": clerk.active,
        "logins": list(people.logins_of(session, clerk.id)),
    }


def add_clerk(
    session: Session,
    actor: str,
    name: str,
    role: str,
    unit: str | None = None,
    logins: tuple[str, ...] = (),
) -> people.ClerkInfo:
    require_supervisor(session, actor, "clerks add")
    info = people.add_clerk(session, name, role, unit, logins=logins)
    record(session, actor, "clerk.add", info.name, None, _clerk_state(session, info.name))
    return info


def bind(session: Session, actor: str, name: str, login: str) -> bool:
    require_supervisor(session, actor, "clerks bind")
    before = _clerk_state(session, name)
    changed = people.bind_login(session, name, login)
    if changed:
        record(session, actor, "clerk.bind", name, before, _clerk_state(session, name))
    return changed


def unbind(session: Session, actor: str, name: str, login: str) -> bool:
    require_supervisor(session, actor, "clerks unbind")
    before = _clerk_state(session, name)
    changed = people.unbind_login(session, name, login)
    if changed:
        record(session, actor, "clerk.unbind", name, before, _clerk_state(session, name))
    return changed


def bind_first_supervisor(session: Session, name: str, login: str) -> bool:
    """`init` on a store with no clerk: `name` becomes its first supervisor, bound to `login`."""
    added = people.ensure_first_supervisor(session, name, login)
    if added:
        record(session, name, "clerk.add", name, None, _clerk_state(session, name))
    return added


# ------------------------------------------------------------------ units


def _units_state(session: Session) -> dict[str, dict[str, Any]]:
    units = session.exec(select(Unit)).all()
    code = {u.id: u.code for u in units}
    return {
        u.code: {
            "name": u.name,
            "level": u.level,
            "parent": code.get(u.parent_id) if u.parent_id else None,
            "active": u.active,
        }
        for u in units
    }


def import_units(session: Session, actor: str, text_: str) -> int:
    """Load units from CSV as `actor`; each unit added or changed is recorded."""
    require_supervisor(session, actor, "units import")
    before = _units_state(session)
    count = people.import_units(session, text_)
    after = _units_state(session)
    for code in sorted(set(before) | set(after)):
        if before.get(code) != after.get(code):
            record(session, actor, "unit.import", code, before.get(code), after.get(code))
    return count


# ------------------------------------------------------------------ PostgreSQL roles

# What a clerk role may do on each table besides reading it. Events: append only. Units,
# clerks, logins, the administration history, store facts and the schema: read only; the owner
# role alone changes them.
_WRITABLE = {
    "cases": "INSERT, UPDATE",
    "case_co_units": "INSERT, UPDATE, DELETE",
    "replies": "INSERT, UPDATE, DELETE",
    "ratings": "INSERT, UPDATE, DELETE",
    "extensions": "INSERT, UPDATE, DELETE",
    "supervisions": "INSERT, UPDATE, DELETE",
    "instructions": "INSERT, UPDATE, DELETE",
    "pauses": "INSERT, UPDATE, DELETE",
    "case_links": "INSERT, UPDATE, DELETE",
    "case_claims": "INSERT, UPDATE, DELETE",
    "events": "INSERT",
    "imports": "INSERT, UPDATE",
    "rankings": "INSERT",
    "case_signatures": "INSERT",  # each new case's text key (case new, import)
    "common_issues": "INSERT",
    "common_issue_cases": "INSERT",
    "document_numbers": "INSERT",  # a letter's 发文字号, taken when it is first printed
    "triage_models": "INSERT",  # `triage train` stores the model it learnt
}
_READ_ONLY = ("units", "clerks", "clerk_logins", "admin_history", "store_meta", "alembic_version")


def _postgres(session: Session) -> None:
    if session.get_bind().dialect.name != "postgresql":
        raise InvalidInput(
            "database roles exist on PostgreSQL only; on SQLite a clerk is bound to an "
            "operating-system login with `clerks bind`",
            key="refused.roles_postgres_only",
        )


def _quoted(session: Session, role: str) -> str:
    value = session.execute(text("SELECT quote_ident(:r)"), {"r": role}).scalar_one()
    return str(value)


def role_of(session: Session, clerk: str) -> str:
    """The database role a clerk connects as: their one login."""
    row = people.find_clerk(session, clerk)
    assert row.id is not None
    logins = people.logins_of(session, row.id)
    if len(logins) != 1:
        raise InvalidInput(
            f"clerk {clerk} has {len(logins)} logins; name the role with --login",
            key="refused.role_which_login",
            clerk=clerk,
            count=len(logins),
        )
    return logins[0]


def grant_role(session: Session, actor: str, clerk: str, login: str | None = None) -> str:
    """Create or update the database role clerk `clerk` connects as; returns its name.

    The role is bound to the clerk (if it was not), may log in, and gets the rights above on
    this database. Row security (migration 0012) limits a handler's role to their units' cases.
    """
    _postgres(session)
    require_supervisor(session, actor, "admin grant")
    row = people.find_clerk(session, clerk)
    if not row.active:
        raise InvalidInput(f"clerk {clerk} is inactive", key="refused.clerk_inactive", name=clerk)
    role = login.strip() if login else role_of(session, clerk)
    bind(session, actor, clerk, role)
    quoted = _quoted(session, role)
    exists = session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        session.execute(text(f"CREATE ROLE {quoted} LOGIN"))
    else:
        superuser = session.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = :r"), {"r": role}
        ).scalar_one()
        if superuser or role == session.execute(text("SELECT session_user")).scalar_one():
            raise InvalidInput(
                f"role {role} owns or administers the database; a clerk needs a role of their own",
                key="refused.role_is_owner",
                role=role,
            )
    database = session.execute(text("SELECT quote_ident(current_database())")).scalar_one()
    session.execute(text(f"GRANT CONNECT ON DATABASE {database} TO {quoted}"))
    session.execute(text(f"GRANT USAGE ON SCHEMA public TO {quoted}"))
    session.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}"))
    for table in (*_WRITABLE, *_READ_ONLY):
        rights = ", ".join(("SELECT", _WRITABLE[table])) if table in _WRITABLE else "SELECT"
        session.execute(text(f"GRANT {rights} ON TABLE {table} TO {quoted}"))
    session.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {quoted}"))
    record(session, actor, "role.grant", role, None, {"clerk": clerk, "role": role})
    return role


def revoke_role(session: Session, actor: str, clerk: str, login: str | None = None) -> str:
    """Take a clerk's database role's rights away and unbind it; the role itself is kept
    (it may own nothing here, but PostgreSQL roles are the whole cluster's)."""
    _postgres(session)
    require_supervisor(session, actor, "admin revoke")
    role = login.strip() if login else role_of(session, clerk)
    quoted = _quoted(session, role)
    exists = session.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is not None:
        database = session.execute(text("SELECT quote_ident(current_database())")).scalar_one()
        session.execute(text(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {quoted}"))
        session.execute(text(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {quoted}"))
        session.execute(text(f"REVOKE USAGE ON SCHEMA public FROM {quoted}"))
        session.execute(text(f"REVOKE CONNECT ON DATABASE {database} FROM {quoted}"))
    unbind(session, actor, clerk, role)
    record(session, actor, "role.revoke", role, {"clerk": clerk, "role": role}, None)
    return role
