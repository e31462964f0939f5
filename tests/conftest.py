"""Shared fixtures: a real PostgreSQL server, a fresh migrated store per test, the shipped rules,
a frozen clock, and a small bureau (unit tree and clerks) to act in.

Nothing here reads the user's environment or data directory: every test runs with HOME and the
XDG directories in its own tmp_path and without any CASEWORKER_* variable.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import create_engine

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules, load_rules

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
POLICY_FILE = DATA / "policy.toml"
CALENDAR_FILE = DATA / "calendar.toml"
DATASETS = ROOT / "tests" / "data" / "datasets"

BACKENDS = ["sqlite", "postgres"]
_TEMPLATE_DB = "caseworker_template"
_database_numbers = itertools.count(1)


def sh(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A wall-clock time in Shanghai, the bureau's time zone."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI)


# ---------------------------------------------------------------- isolation


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep every test away from the real data directory and the caller's CASEWORKER_* settings."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(home / ".run"))
    for name in list(os.environ):
        if name.startswith("CASEWORKER_"):
            monkeypatch.delenv(name)
    # The default language follows the locale: pin it, so a Chinese-locale machine runs the
    # same suite (tests that want zh ask for it with --lang or Settings.language).
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


# ---------------------------------------------------------------- PostgreSQL


def psycopg_url(uri: str, database: str | None = None) -> str:
    """pgserver's libpq URI as a SQLAlchemy URL for psycopg 3, optionally for another database."""
    url = make_url(uri.replace("postgresql://", "postgresql+psycopg://", 1))
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server the tests started, with a migrated template database."""

    uri: str
    admin: Engine

    def url(self, database: str) -> str:
        return psycopg_url(self.uri, database)

    def create_database(self, *, template: str | None = _TEMPLATE_DB) -> str:
        """A new empty (or template-copied) database; returns its SQLAlchemy URL."""
        name = f"cw_{os.getpid()}_{next(_database_numbers)}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}{clause}"))
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """Start a real PostgreSQL server (pgserver bundles the binaries) for the whole session.

    A template database is migrated once; each test copies it with CREATE DATABASE … TEMPLATE,
    which is much faster than running the migrations again.
    """
    import pgserver

    from caseworker.store.engine import upgrade

    # Not under pytest's numbered temp folders: another pytest run on the same machine prunes
    # those (it keeps the newest three), which would pull the data directory from under us.
    pgdata = Path(tempfile.mkdtemp(prefix="caseworker-test-pg-"))
    # initdb refuses a locale the machine lacks; the bundled server needs none but C.
    saved = {name: os.environ.pop(name, None) for name in ("LC_ALL", "LC_CTYPE", "LANG")}
    os.environ["LANG"] = "C.UTF-8"
    try:
        server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    uri = str(server.get_uri())
    admin = create_engine(psycopg_url(uri), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        # A throw-away server: durability buys nothing and costs seconds on a busy disk.
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            connection.execute(text(f"ALTER SYSTEM SET {setting} = off"))
        connection.execute(text("SELECT pg_reload_conf()"))
        connection.execute(text(f"DROP DATABASE IF EXISTS {_TEMPLATE_DB}"))
        connection.execute(text(f"CREATE DATABASE {_TEMPLATE_DB}"))
    template = create_engine(psycopg_url(uri, _TEMPLATE_DB))
    upgrade(template)
    template.dispose()
    try:
        yield PostgresServer(uri=uri, admin=admin)
    finally:
        admin.dispose()
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


# ---------------------------------------------------------------- the store


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """Where a fresh store lives: a SQLite file in tmp_path or a new PostgreSQL database."""
    if backend == "sqlite":
        yield str(tmp_path / "caseworker.sqlite")
        return
    # Databases are not dropped one by one (each DROP forces a checkpoint); the whole server
    # directory goes at the end of the session.
    server: PostgresServer = request.getfixturevalue("postgres")
    yield server.create_database()


@pytest.fixture
def store(database: str) -> Iterator[Any]:
    """A fresh store at the newest schema, on SQLite or PostgreSQL."""
    from caseworker.store.engine import open_store

    opened = open_store(database)
    try:
        yield opened
    finally:
        opened.close()


# ---------------------------------------------------------------- rules and time


@pytest.fixture(scope="session")
def rules() -> Rules:
    """The shipped policy and calendar files, as a bureau gets them."""
    return load_rules(POLICY_FILE, CALENDAR_FILE)


@pytest.fixture
def clock() -> FrozenClock:
    """A frozen clock at a weekday morning in 2025."""
    return FrozenClock(sh(2025, 3, 3, 9))


# ---------------------------------------------------------------- a small bureau

# The small bureau every console, CLI and service test uses (tests/data/small_bureau_units.csv).
UNITS_CSV = (Path(__file__).resolve().parent / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)

CLERK = "李受理"
SUPERVISOR = "王督查"
HANDLER = "赵住建"  # handler of the lead unit (C-HOUSING)
CO_HANDLER = "孙交通"  # handler of the co-unit (C-TRANSPORT)
OTHER_HANDLER = "钱教育"  # handler of a unit the case is not assigned to (C-EDU)


@dataclass(frozen=True)
class Bureau:
    """A store with units and clerks, and a way to act as any clerk at any (frozen) time."""

    store: Any
    rules: Rules
    CLERK: ClassVar[str] = CLERK
    SUPERVISOR: ClassVar[str] = SUPERVISOR
    HANDLER: ClassVar[str] = HANDLER
    CO_HANDLER: ClassVar[str] = CO_HANDLER
    OTHER_HANDLER: ClassVar[str] = OTHER_HANDLER

    def desk(self, clerk: str, at: datetime) -> Any:
        from caseworker.services.cases import Desk

        return Desk(rules=self.rules, clock=FrozenClock(at), clerk=clerk)

    def act(self, clerk: str, at: datetime, action: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one service action as `clerk` at `at`, in its own transaction."""
        with self.store.session() as session:
            return action(session, self.desk(clerk, at), *args, **kwargs)

    def receive(self, received_at: datetime, **fields: Any) -> int:
        """A new case on the leader board (unless told otherwise), received by the clerk."""
        from caseworker.services.cases import NewCase, create_case

        values: dict[str, Any] = {
            "channel": "leader-board",
            "title": "小区门口道路积水",
            "body": "每逢下雨，小区门口道路积水严重，请尽快处理。",
            "received_at": received_at,
        }
        values.update(fields)
        return int(self.act(CLERK, received_at, create_case, NewCase(**values)))

    def assigned(self, received_at: datetime, lead: str = "C-HOUSING", **fields: Any) -> int:
        """A case received, accepted 10 minutes later and assigned to `lead` 10 more later."""
        from caseworker.services.cases import accept_case, assign_case

        case = self.receive(received_at, **fields)
        self.act(CLERK, received_at + timedelta(minutes=10), accept_case, case)
        self.act(CLERK, received_at + timedelta(minutes=20), assign_case, case, lead=lead)
        return case

    def ask_extension(self, case: int, at: datetime, days: int = 10) -> int:
        """The lead unit's handler asks for `days` more (a site visit is needed)."""
        from caseworker.services.cases import request_extension

        return int(self.act(HANDLER, at, request_extension, case, days=days, reason="需现场勘查"))

    def case(self, case_id: int) -> Any:
        """The stored case row, read fresh in its own session."""
        from caseworker.store.models import CaseRow

        with self.store.session() as session:
            return session.get(CaseRow, case_id)

    def events(self, case_id: int) -> list[Any]:
        from sqlmodel import col, select

        from caseworker.store.models import EventRow

        with self.store.session() as session:
            query = select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.id))
            return list(session.exec(query).all())

    def unit_id(self, code: str) -> int:
        from caseworker.services.people import find_unit

        with self.store.session() as session:
            unit_id = find_unit(session, code).id
        assert unit_id is not None
        return unit_id


def populate_bureau(store: Any) -> None:
    """Load the unit tree (parents after children) and one clerk of each kind."""
    from caseworker.services.people import add_clerk, import_units

    with store.session() as session:
        import_units(session, UNITS_CSV)
        add_clerk(session, CLERK, "clerk")
        add_clerk(session, SUPERVISOR, "supervisor")
        add_clerk(session, HANDLER, "handler", "C-HOUSING")
        add_clerk(session, CO_HANDLER, "handler", "C-TRANSPORT")
        add_clerk(session, OTHER_HANDLER, "handler", "C-EDU")


@pytest.fixture
def bureau(store: Any, rules: Rules) -> Bureau:
    populate_bureau(store)
    return Bureau(store=store, rules=rules)


# ---------------------------------------------------------------- identity


def bind_clerks_to_login(database: str | Path, login: str | None = None) -> str:
    """Bind every clerk of `database` to `login` (default: the OS login); returns the login."""
    from caseworker.config import os_login
    from caseworker.services.people import bind_login, list_clerks
    from caseworker.store.engine import open_store

    login = login or os_login()
    store = open_store(str(database))
    try:
        with store.session() as session:
            for clerk in list_clerks(session):
                bind_login(session, clerk.name, login)
    finally:
        store.close()
    return login


@pytest.fixture(scope="session")
def bind_clerks() -> Callable[..., str]:
    """A bureau built through the services (which binds no login) made usable from the command
    line: each of its clerks bound to the login the tests run as, so `--clerk` chooses among
    them as at a bureau's shared desk. Not a weaker rule: the binding is what a supervisor's
    `clerks bind` records. (A fixture, since test modules cannot import this file.)"""
    return bind_clerks_to_login
