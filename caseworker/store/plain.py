"""Plain SQL that runs through SQLAlchemy or, on a SQLite file, on the standard sqlite3 alone.

The reads a command makes on opening a store (who is acting, whether the calendar changed) and
`report overdue` are plain queries. Over a SQLAlchemy connection or session they run as text()
clauses; on a SQLite file at this release's schema they can also run on sqlite3 directly
(`open_plain`), so the morning report in cron never imports SQLAlchemy, a fifth of a second,
about as much as the rest of its run together. Either way the rows are the same: times come
back as aware UTC datetimes (store.types.UTCDateTime), lists expand for `IN :name`.
"""

from __future__ import annotations

import os
import re
import sqlite3
from collections import namedtuple
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.orm import Session
    from sqlalchemy.sql.elements import TextClause

MIGRATIONS = Path(__file__).parent / "migrations"
_STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy writes a naive-UTC time into SQLite


def head_revision() -> str:
    """The newest schema revision this program knows: the highest-numbered migration file.

    Revisions are a single line numbered NNNN_name.py (a test checks this agrees with Alembic's
    own view), so the head is found from file names without loading Alembic.
    """
    numbers = [p.name[:4] for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py")]
    return max(numbers)


class Sql:
    """A plain query: its text with `:name` parameters, the result columns and parameters that
    are times (naive UTC in the store, aware datetimes here) and the parameters that are lists
    (`IN :name`)."""

    def __init__(
        self,
        text: str,
        *,
        times: Iterable[str] = (),
        time_params: Iterable[str] = (),
        lists: Iterable[str] = (),
    ) -> None:
        self.text = text
        self.times = frozenset(times)
        self.time_params = frozenset(time_params)
        self.lists = frozenset(lists)
        self._clause: TextClause | None = None

    def clause(self) -> TextClause:
        """The query as SQLAlchemy's text(), typed the same way (built once)."""
        if self._clause is None:
            from sqlalchemy import bindparam, text

            from caseworker.store.types import UTCDateTime

            clause = text(self.text)
            for name in sorted(self.time_params):
                clause = clause.bindparams(bindparam(name, type_=UTCDateTime))
            for name in sorted(self.lists):
                clause = clause.bindparams(bindparam(name, expanding=True))
            if self.times:
                clause = clause.columns(**{name: UTCDateTime for name in sorted(self.times)})  # type: ignore[assignment]
            self._clause = clause
        return self._clause


class SqliteReader:
    """A SQLite file read through sqlite3 alone, for plain queries (see `rows`)."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def rows(self, query: Sql, params: Mapping[str, Any]) -> list[Any]:
        sql, values = query.text, dict(params)
        for name in query.lists:
            items = list(values.pop(name))
            names = [f"{name}_{n}" for n in range(len(items))]
            values.update(zip(names, items, strict=True))
            # SQLite takes an empty list, `IN ()`, as matching nothing (as SQLAlchemy renders it).
            listed = "(" + ", ".join(f":{n}" for n in names) + ")"
            sql = re.sub(rf":{name}\b", listed, sql)
        for name, value in values.items():
            if isinstance(value, datetime):
                values[name] = _stored(value)
        cursor = self.connection.execute(sql, values)
        columns = tuple(d[0] for d in cursor.description)
        row = _row_type(columns)
        times = [n for n, column in enumerate(columns) if column in query.times]
        if not times:
            return [row._make(r) for r in cursor]
        found = []
        for r in cursor:
            cells = list(r)
            for n in times:
                if cells[n] is not None:
                    cells[n] = datetime.fromisoformat(cells[n]).replace(tzinfo=UTC)
            found.append(row._make(cells))
        return found

    def close(self) -> None:
        self.connection.close()


def all_rows(
    db: Connection | Session | SqliteReader, query: Sql, params: Mapping[str, Any]
) -> list[Any]:
    """The rows of `query`, each readable by position and by column name."""
    if isinstance(db, SqliteReader):
        return db.rows(query, params)
    return list(db.execute(query.clause(), dict(params)).all())


def first_row(
    db: Connection | Session | SqliteReader, query: Sql, params: Mapping[str, Any]
) -> Any:
    """The first row of `query`, or None."""
    found = all_rows(db, query, params)
    return found[0] if found else None


_ROW_TYPES: dict[tuple[str, ...], Any] = {}


def _row_type(columns: tuple[str, ...]) -> Any:
    if columns not in _ROW_TYPES:
        _ROW_TYPES[columns] = namedtuple("Row", columns, rename=True)
    return _ROW_TYPES[columns]


def _stored(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime: it is ambiguous")
    return value.astimezone(UTC).replace(tzinfo=None).strftime(_STORED)


def sqlite_file(target: str) -> Path | None:
    """The file of a SQLite `target` (a path or a sqlite:/// URL); None for anything else."""
    if "://" not in target:
        return Path(target).expanduser().resolve()
    if target.startswith("sqlite:///") and "?" not in target:
        name = target[10:]
        return Path(name).resolve() if name and name != ":memory:" else None
    return None


def open_plain(target: str) -> SqliteReader | None:
    """`target` to read with plain queries through sqlite3, when it is a SQLite file this
    process may write, at this release's schema; None otherwise (a PostgreSQL URL, no file,
    an older schema to upgrade, a read-only or unreadable file): the store is then opened the
    usual way (store.engine.open_store), which upgrades, or says what is wrong.

    Opened as the store opens its own connections for reading (busy timeout, page checks); the
    file is never created here.
    """
    path = sqlite_file(target)
    if path is None or not path.is_file():
        return None
    if not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        return None
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True)
    except sqlite3.Error:
        return None
    try:
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute("PRAGMA cell_size_check=ON")
        found = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.Error:
        connection.close()
        return None
    if [str(r[0]) for r in found] != [head_revision()]:
        connection.close()
        return None
    return SqliteReader(connection)
