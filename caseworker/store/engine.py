"""Opening a store: a SQLite file or a PostgreSQL URL, upgraded to the current schema."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, OperationalError
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreError(Exception):
    """The database cannot be opened or used; the message says which and why."""


def database_url(target: str) -> str:
    """A SQLAlchemy URL for `target`, which is either a URL already or a SQLite file path."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


# Pages of 16 KiB rather than SQLite's 4 KiB: a case row with its message is 1-2 KiB, and bigger
# pages take a year's import about a fifth faster (bench/bench_import.py). It only takes effect
# in a file not yet written; an existing database keeps its page size.
PAGE_SIZE = 16384


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(target: str) -> Engine:
    """An engine for a file path or URL; SQLite gets WAL and foreign keys on every connection."""
    url_text = database_url(target)
    try:
        url = make_url(url_text)
    except ArgumentError:
        raise StoreError(f"not a database URL or file path: {target}") from None
    if url.get_backend_name() == "sqlite":
        database = url.database or ""
        if database and database != ":memory:":
            folder = Path(database).parent
            if not folder.exists():
                folder.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(url, pool_pre_ping=True, poolclass=NullPool)
    except ArgumentError:  # includes NoSuchModuleError: a dialect SQLAlchemy does not know
        raise StoreError(
            f"unknown kind of database {url.get_backend_name()!r}: "
            "use a SQLite file path or a postgresql+psycopg:// URL"
        ) from None
    except ModuleNotFoundError as exc:
        raise StoreError(
            f"the driver for {url.get_backend_name()} is not installed ({exc.name}); "
            "install caseworker[postgres]"
        ) from None


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def schema_revision(engine: Engine) -> str | None:
    """The schema revision a database is at, or None for an empty one.

    Read with one plain query rather than through Alembic, whose import alone costs a few
    hundred milliseconds that every command would pay at start-up.
    """
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    """The newest schema revision this program knows: the highest-numbered migration file.

    Revisions are a single line numbered NNNN_name.py (a test checks this agrees with Alembic's
    own view), so the head is found from file names without loading Alembic.
    """
    numbers = [p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return max(numbers)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` in place; rows are kept (see migrations/versions)."""
    from alembic import command

    command.upgrade(_alembic_config(engine), revision)


# PostgreSQL advisory lock key of schema upgrades ("cw-schema" as a number).
_UPGRADE_LOCK_KEY = 0x63772D736368656D


@contextmanager
def upgrade_lock(engine: Engine) -> Iterator[None]:
    """One schema upgrade at a time: other commands opening the store wait, then proceed.

    On SQLite a lock file beside the database (`FILE.upgrade-lock`, never removed, so no
    process can lock a file another has just unlinked); on PostgreSQL a session advisory lock.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _UPGRADE_LOCK_KEY})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": _UPGRADE_LOCK_KEY}
                )
                connection.commit()
        return
    database = engine.url.database or ""
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    import fcntl

    try:
        descriptor = os.open(f"{database}.upgrade-lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreError(f"cannot upgrade the database at {database}: {exc.strerror}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


@dataclass
class Store:
    """An open database: hands out sessions; one per process, shared by CLI and console."""

    engine: Engine
    url: str

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def close(self) -> None:
        self.engine.dispose()


def open_store(target: str, *, create: bool = True) -> Store:
    """Open (and create or upgrade) the database at `target`.

    Opening an older database upgrades it in place, so a bureau never runs a new program on an
    old schema. With `create=False` a missing SQLite file is an error instead of a new database.
    """
    url = database_url(target)
    if not create and url.startswith("sqlite:///") and not Path(url[10:]).exists():
        raise StoreError(f"no database at {url[10:]}; run `caseworker init` first")
    engine = make_engine(target)
    try:
        if schema_revision(engine) != head_revision():
            with upgrade_lock(engine):
                # Another process may have upgraded it while this one waited for the lock.
                current = schema_revision(engine)
                if current != head_revision():
                    if current is None and inspect(engine).get_table_names():
                        tables = inspect(engine).get_table_names()
                        if "cases" in tables:
                            raise StoreError(
                                f"{_shown(url)} holds cases but no schema version; refusing"
                            )
                    upgrade(engine)
    except (DatabaseError, OperationalError) as exc:
        engine.dispose()
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        raise StoreError(f"cannot open database {_shown(url)}: {reason}") from None
    return Store(engine=engine, url=url)


def _shown(url: str) -> str:
    """A URL fit for messages: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
