"""Who is acting: the clerk the login running a command (or connecting) may act as.

On SQLite the login is the operating-system user running the process (read from its user id,
caseworker.config.os_login); on PostgreSQL it is the database role of the connection
(`session_user`), which the server authenticated. A clerk is bound to the logins that may act
as them (`clerks bind`); `--clerk` only chooses among the clerks of the login, never beyond.
A demo database, made for training, accepts any of its own clerks.

Every command asks this first, so it reads with a few plain queries over a connection (or a
session) and never imports the ORM: a command that only reads (`report overdue`, the console's
first screen) starts without it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from caseworker.domain.errors import NotPermitted
from caseworker.store.plain import Sql, SqliteReader, all_rows, first_row

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session

    # What the identity is read through: a Core connection, a session of the store, or a
    # SQLite file read through sqlite3 alone (store.plain: a command that only reads).
    Reader = Connection | Session | SqliteReader


@dataclass(frozen=True)
class Identity:
    """The login, the clerk it acts as, and whether the store is a demo."""

    login: str
    clerk: str
    demo: bool


def _dialect(db: Reader) -> str:
    if isinstance(db, SqliteReader):
        return "sqlite"
    from sqlalchemy.engine import Connection

    return db.dialect.name if isinstance(db, Connection) else db.get_bind().dialect.name


_CLERKS_OF_LOGIN = Sql(
    "SELECT clerks.name FROM clerks JOIN clerk_logins ON clerk_logins.clerk_id = clerks.id "
    "WHERE clerk_logins.login = :login AND clerks.active ORDER BY clerks.name"
)
_ACTIVE_CLERKS = Sql("SELECT name FROM clerks WHERE active")
_FIRST_BUREAU_CLERK = Sql(
    "SELECT name FROM clerks WHERE role = 'clerk' AND active ORDER BY id LIMIT 1"
)
_IS_DEMO = Sql("SELECT 1 FROM store_meta WHERE key = :key")
_SESSION_USER = Sql("SELECT session_user")  # PostgreSQL
_OWNS_CASES = Sql(  # PostgreSQL
    "SELECT pg_has_role(session_user, tableowner, 'MEMBER') FROM pg_tables "
    "WHERE schemaname = current_schema() AND tablename = 'cases'"
)


def clerks_of_login(db: Reader, login: str) -> list[str]:
    """The active clerks `login` may act as, by name (as services.people.clerks_of_login)."""
    return [str(r[0]) for r in all_rows(db, _CLERKS_OF_LOGIN, {"login": login})]


def connection_login(db: Reader, os_login: str) -> str:
    """The login that counts: the connection's role on PostgreSQL, the OS login on SQLite."""
    if _dialect(db) == "postgresql":
        return str(first_row(db, _SESSION_USER, {})[0])
    return os_login


def _demo_clerk(db: Reader, login: str, wanted: str) -> str:
    """On a demo: the clerk asked for if the demo has them, else the login's own clerk,
    else the demo's first bureau clerk (a trainee need not know any name)."""
    names = {str(r[0]) for r in all_rows(db, _ACTIVE_CLERKS, {})}
    if wanted:
        if wanted in names:
            return wanted
        raise NotPermitted(
            f"the demo has no clerk {_shown(wanted)}; see `caseworker clerks list`",
            key="refused.demo_no_such_clerk",
            name=_shown(wanted),
        )
    own = clerks_of_login(db, login)
    if own:
        return own[0]
    found = first_row(db, _FIRST_BUREAU_CLERK, {})
    if found is None:
        raise NotPermitted("the demo has no clerk yet", key="refused.demo_no_clerk")
    return str(found[0])


def _shown(name: str) -> str:
    """A name typed on the command line, fit to print: control characters become `?`."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:100]


def acting_clerk(db: Reader, *, login: str, wanted: str, demo: bool) -> Identity:
    """The clerk `login` acts as, `wanted` (from --clerk) choosing among its clerks.

    Refused, with the login and the clerks it may act as, when `wanted` is not one of them or
    when the login is bound to no clerk, or to several and none was chosen.
    """
    if demo:
        return Identity(login, _demo_clerk(db, login, wanted), True)
    allowed = clerks_of_login(db, login)
    if wanted and wanted in allowed:
        return Identity(login, wanted, False)
    if not wanted and len(allowed) == 1:
        return Identity(login, allowed[0], False)
    if not allowed:
        raise NotPermitted(
            f"login {login} is bound to no clerk of this database; a supervisor adds you with "
            f"`caseworker clerks bind CLERK --login {login}`",
            key="refused.login_unbound",
            login=login,
        )
    if not wanted:
        raise NotPermitted(
            f"login {login} may act as {', '.join(allowed)}; choose one with --clerk",
            key="refused.login_choose",
            login=login,
            clerks=allowed,
        )
    raise NotPermitted(
        f"login {login} may not act as {_shown(wanted)}; it may act as {', '.join(allowed)}",
        key="refused.login_not_clerk",
        login=login,
        wanted=_shown(wanted),
        clerks=allowed,
    )


DEMO_KEY = "demo"  # the store_meta key that marks a demo database (services.demo.build)


def is_demo(db: Reader) -> bool:
    return first_row(db, _IS_DEMO, {"key": DEMO_KEY}) is not None


def is_owner(db: Reader) -> bool:
    """Whether the connection is the schema's owner: always on SQLite; on PostgreSQL the role
    that owns the tables (the one that ran the migrations), or a member of it."""
    if _dialect(db) != "postgresql":
        return True
    owns = first_row(db, _OWNS_CASES, {})
    return bool(owns[0]) if owns is not None else False


def upgrade_refusal(target: str, os_login: str) -> NotPermitted | None:
    """Why the login may not upgrade the database at `target` to this program's schema, or
    None when it may (a new or current database, a demo, or a supervisor's login).

    Read before anything is migrated, with plain SQL that works on every older schema (before
    logins were bound, revision 0012, a clerk acted under the login of their own name); a
    SQLite file is opened read-only for it. A database that cannot be read is left for
    opening it to report (store.engine).
    """
    import sqlite3

    from sqlalchemy import text
    from sqlalchemy.exc import DatabaseError, OperationalError

    from caseworker.store.engine import database_url, head_revision, make_engine

    url = database_url(target)
    if url.startswith("sqlite:///"):
        path = Path(url[10:])
        if not path.exists():
            return None
        try:
            connection = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        except sqlite3.Error:
            return None
        try:
            found = _old_schema_supervisor(
                lambda sql, params: connection.execute(sql, params).fetchone(),
                os_login,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name",
                head_revision(),
            )
        except sqlite3.Error:
            return None
        finally:
            connection.close()
    else:
        engine = make_engine(target)
        try:
            with engine.connect() as pg:
                login = str(pg.execute(text("SELECT session_user")).scalar_one())
                found = _old_schema_supervisor(
                    lambda sql, params: pg.execute(text(sql), params).first(),
                    login,
                    "SELECT to_regclass(:name)::text WHERE to_regclass(:name) IS NOT NULL",
                    head_revision(),
                )
        except (DatabaseError, OperationalError):
            return None
        finally:
            engine.dispose()
    if found is None:
        return None
    revision, login = found
    return NotPermitted(
        f"the database is at schema {revision} and needs an upgrade to {head_revision()}; "
        f"login {login} is no supervisor's: a supervisor runs `caseworker init`",
        key="refused.upgrade_needs_supervisor",
        login=login,
        old=revision,
        new=head_revision(),
    )


def _old_schema_supervisor(
    first: Callable[[str, dict[str, Any]], Any], login: str, has_table: str, head: str
) -> tuple[str, str] | None:
    """(the old revision, the login) when an older schema would be upgraded by a login that is
    no supervisor's; None otherwise."""
    if first(has_table, {"name": "alembic_version"}) is None:
        return None
    row = first("SELECT version_num FROM alembic_version", {})
    if row is None or str(row[0]) >= head:
        return None
    if first("SELECT 1 FROM store_meta WHERE key = :key", {"key": DEMO_KEY}) is not None:
        return None
    if first(has_table, {"name": "clerk_logins"}) is not None:
        query = (
            "SELECT 1 FROM clerks c JOIN clerk_logins l ON l.clerk_id = c.id "
            "WHERE l.login = :login AND c.role = 'supervisor' AND c.active"
        )
    else:
        query = "SELECT 1 FROM clerks WHERE name = :login AND role = 'supervisor'"
    if first(query, {"login": login}) is not None:
        return None
    return str(row[0]), login
