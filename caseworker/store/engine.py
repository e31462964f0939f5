"""Opening a store: a SQLite file or a PostgreSQL URL, upgraded to the current schema."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DatabaseError, DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

# Found without SQLAlchemy (store.plain), and known here by the same names as before.
from caseworker.store.plain import MIGRATIONS as MIGRATIONS
from caseworker.store.plain import head_revision as head_revision

if TYPE_CHECKING:
    # The ORM (SQLModel, SQLAlchemy's orm, pydantic) is imported by the first session, not
    # by opening the store: the first screen and `report overdue` read through the engine
    # alone and never pay for it.
    from sqlmodel import Session


class StoreError(Exception):
    """The database cannot be opened or used; the message says which and why."""

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


class StoreMoment(Enum):
    """When a database failure struck, as a refusal says it (catalog: refused.storemoment.*)."""

    OPENING = "opening"
    WRITING = "writing"
    STOPPED = "stopped"  # a long run of transactions (an import): the one in flight was lost

    def __str__(self) -> str:
        return _MOMENTS[self]


_MOMENTS = {
    StoreMoment.OPENING: "it could not be opened",
    StoreMoment.WRITING: "nothing was changed",
    StoreMoment.STOPPED: "the batch being written was not kept",
}


def import_stopped(failure: StoreError, kept: int) -> StoreError:
    """An import cut short by the database: what was kept, and that running it again is safe."""
    return StoreError(
        f"{failure}. The import stopped: the {kept} cases imported before it are kept; run it "
        "again once this is fixed (those cases then count as duplicates)",
        key="refused.import_stopped",
        failure=failure,
        kept=kept,
    )


def store_failure(
    exc: BaseException, *, opening: bool = False, moment: StoreMoment | None = None
) -> StoreError | None:
    """What a database error means for the clerk when it is the file or disk, not a rule.

    A read-only database, a full disk, a damaged file or a failing disk each get one plain
    sentence (the same on SQLite and PostgreSQL where the server says the same); None for
    anything else. The transaction was rolled back, so nothing of it was kept.
    """
    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    low = reason.lower()
    when = moment or (StoreMoment.OPENING if opening else StoreMoment.WRITING)
    if "readonly" in low or "read-only" in low or "read only" in low:
        return StoreError(
            f"the database is read-only ({reason}); {when}",
            key="refused.store_readonly",
            reason=reason,
            when=when,
        )
    if "disk is full" in low or "no space left" in low or "disk full" in low:
        return StoreError(
            f"the disk holding the database is full; {when}. Free some space and try again",
            key="refused.store_full",
            when=when,
        )
    damaged = ("malformed", "corrupt", "could not decode")
    # A file that is no database at all (a wrong --db) is said as such where it is opened.
    if any(word in low for word in damaged) or ("not a database" in low and not opening):
        return StoreError(
            f"the database file is damaged ({reason}); {when}. Run `caseworker check`, and "
            "restore the latest backup if it confirms the damage",
            key="refused.store_damaged",
            reason=reason,
            when=when,
        )
    if "disk i/o error" in low or "input/output error" in low:
        return StoreError(
            f"the disk holding the database failed to read or write ({reason}); {when}",
            key="refused.store_io",
            reason=reason,
            when=when,
        )
    return None


def database_url(target: str) -> str:
    """A SQLAlchemy URL for `target`, which is either a URL already or a SQLite file path."""
    if "://" in target:
        return target
    return f"sqlite:///{Path(target).expanduser().resolve()}"


T = TypeVar("T")


def _momentary(exc: DBAPIError) -> bool:
    """A failure that trying the same transaction again may cure: a lock, a deadlock."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    if code in ("40001", "40P01", "55P03"):
        return True
    reason = str(exc.orig or exc).lower()
    return "database is locked" in reason or "database is busy" in reason


# Files up to this size get a quick_check before a process's first write (see Store).
QUICK_CHECK_LIMIT = 128 * 1024 * 1024

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
    # Sanity checks on each b-tree page as it is read: damage is reported, not acted on.
    cursor.execute("PRAGMA cell_size_check=ON")
    cursor.close()


def _read_only(path: Path) -> bool:
    """Whether an existing SQLite file cannot be written here (its mode, or its file system)."""
    if not path.exists():
        return False
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _read_only_engine(path: Path) -> Engine:
    """An engine that only reads: commands that only read still work on a read-only database.

    On a read-only file system nobody can change the file, so SQLite is told it is immutable
    (it then needs no -shm beside a WAL database); a file merely without write permission may
    still be written by its owner, so it is opened read-only but watched for their changes.
    """
    immutable = False
    with suppress(OSError):
        immutable = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    uri = f"file:{quote(str(path))}?mode=ro" + ("&immutable=1" if immutable else "")
    engine = create_engine(f"sqlite:///{uri}&uri=true", connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _sqlite_read_pragmas)
    return engine


def _sqlite_read_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def is_read_only(engine: Engine) -> bool:
    """Whether the engine was opened read-only (see `_read_only_engine`)."""
    return engine.dialect.name == "sqlite" and "mode=ro" in str(engine.url)


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
            if _read_only(Path(database)):
                return _read_only_engine(Path(database))
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
    write_checked: bool = field(default=False, repr=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        from sqlmodel import Session

        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                if not self.write_checked:
                    self._check_before_first_write(session)
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def transact(self, work: Callable[[Session], T], *, attempts: int = 4) -> T:
        """Run `work` as one writing transaction; again, a bounded number of times, when the
        database was momentarily busy; then the clear "busy" refusal, never a raw lock error.

        On SQLite a write waits for the lock up to the busy timeout first; on PostgreSQL a
        deadlock or serialisation failure is retried the same way. A retry is safe: the
        transaction was rolled back, and a case changed meanwhile fails its version check.
        """
        for attempt in range(attempts):
            try:
                with self.session() as session:
                    return work(session)
            except DBAPIError as exc:
                if not _momentary(exc):
                    raise
                if attempt + 1 == attempts:
                    raise StoreError(
                        "the database is busy (another clerk or an import is writing); nothing "
                        "was changed, try again",
                        key="refused.store_busy",
                    ) from None
                time.sleep(random.uniform(0.02, 0.1) * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _check_before_first_write(self, session: Session) -> None:
        """Before this process first commits a write to a SQLite file, its quick_check.

        SQLite notices a damaged page only when it reads that page, so a write elsewhere in a
        damaged file succeeds and buries the damage deeper. quick_check reads every page: about
        0.1 s for a 22 MB store (5,000 cases), so it runs once per process, before its first
        write, and only on files up to QUICK_CHECK_LIMIT; larger stores rely on `caseworker
        check` (run it with the daily backup) and on SQLite's cheaper cell_size_check.
        """
        if self.engine.dialect.name != "sqlite" or not session.in_transaction():
            self.write_checked = True
            return
        raw = session.connection().connection.driver_connection
        if raw is None or not getattr(raw, "in_transaction", False):
            return  # nothing written yet: check before a later commit that writes
        self.write_checked = True
        database = self.engine.url.database or ""
        try:
            size = Path(database).stat().st_size
        except OSError:
            return
        if size > QUICK_CHECK_LIMIT:
            return
        found = " ".join(str(raw.execute("PRAGMA quick_check(1)").fetchone()[0]).split())
        if found != "ok":
            self.write_checked = False
            raise StoreError(
                f"the database file is damaged ({found}); nothing was changed. Run `caseworker "
                "check`, and restore the latest backup if it confirms the damage",
                key="refused.store_damaged",
                reason=found,
                when=StoreMoment.WRITING,
            )

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
            if is_read_only(engine):
                engine.dispose()
                raise StoreError(
                    f"the database {_shown(url)} is read-only and needs an upgrade to this "
                    "release's schema; make it writable and run `caseworker init`",
                    key="refused.store_readonly_old",
                    path=_shown(url),
                )
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
        failure = store_failure(exc, opening=True)
        if failure is not None:
            raise failure from None
        reason = str(exc.orig) if exc.orig is not None else str(exc)
        raise StoreError(f"cannot open database {_shown(url)}: {reason}") from None
    return Store(engine=engine, url=url)


def _shown(url: str) -> str:
    """A URL fit for messages: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url
