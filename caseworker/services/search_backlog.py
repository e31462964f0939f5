"""The search index's backlog: cases a bulk import left for the index to catch up on.

Indexing a case for trigram search costs more than everything else an import writes, so a
bulk import on SQLite marks the first id it leaves unindexed (store_meta
"search_pending_from", see migration 0004): the index triggers skip cases at or above the
mark, and `catch_up` indexes them afterwards in chunks, each chunk one transaction that also
moves the mark, so an interrupted catch-up loses nothing and two never index a row twice.
Until the mark is gone, the console's search matches the pending range with LIKE
(store.queries.search_condition), so results are complete all along, only slower.

While a mark is set the insert trigger would skip every new case anyway (new ids are above
the mark), yet SQLite still runs its WHEN clause for each row, which halved the speed of a
bulk insert. So `defer_indexing` sets the trigger aside (its SQL kept in store_meta
"search_insert_trigger") in the same transaction that sets the mark, and the chunk that
clears the mark puts it back: the trigger is missing exactly while the mark says new cases
wait for the catch-up, and every state in between is one committed transaction.

Run in the background after an import: `python -m caseworker.services.search_backlog DB_URL`.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

from caseworker.store.queries import SEARCH_PENDING_KEY as PENDING_KEY

CHUNK = 10_000
TRIGGER_KEY = "search_insert_trigger"  # store_meta: the insert trigger set aside meanwhile
_INSERT_TRIGGER = "cases_fts_insert"


def _has_index(cursor: Any) -> bool:
    found = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cases_fts'"
    ).fetchone()
    return found is not None


def defer_indexing(cursor: Any) -> bool:
    """Inside a write transaction on SQLite: cases inserted from now on wait for `catch_up`.

    Keeps an earlier mark (its range is still pending); returns False when the store has no
    search index (nothing to defer).
    """
    if not _has_index(cursor):
        return False
    cursor.execute(
        "INSERT OR IGNORE INTO store_meta (key, value) "
        "SELECT ?, CAST(coalesce(max(id), 0) + 1 AS TEXT) FROM cases",
        (PENDING_KEY,),
    )
    trigger = cursor.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_INSERT_TRIGGER,)
    ).fetchone()
    if trigger is not None:
        cursor.execute(
            "INSERT OR REPLACE INTO store_meta (key, value) VALUES (?, ?)",
            (TRIGGER_KEY, trigger[0]),
        )
        cursor.execute(f"DROP TRIGGER {_INSERT_TRIGGER}")
    return True


def _restore_trigger(cursor: Any) -> None:
    """Put the insert trigger back (inside the transaction that clears the mark)."""
    row = cursor.execute("SELECT value FROM store_meta WHERE key = ?", (TRIGGER_KEY,)).fetchone()
    if row is None:
        return
    present = cursor.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'trigger' AND name = ?", (_INSERT_TRIGGER,)
    ).fetchone()
    if present is None:
        cursor.execute(row[0])
    cursor.execute("DELETE FROM store_meta WHERE key = ?", (TRIGGER_KEY,))


def pending_from(cursor: Any) -> int | None:
    """The first case id not yet in the search index, or None when the index is complete."""
    row = cursor.execute("SELECT value FROM store_meta WHERE key = ?", (PENDING_KEY,)).fetchone()
    return int(row[0]) if row is not None else None


def backlog(cursor: Any) -> int:
    """How many cases wait for the search index (0 when it is complete)."""
    start = pending_from(cursor)
    if start is None:
        return 0
    return int(cursor.execute("SELECT count(*) FROM cases WHERE id >= ?", (start,)).fetchone()[0])


def catch_up_chunk(connection: sqlite3.Connection, chunk: int = CHUNK) -> int | None:
    """Index the next `chunk` ids of the backlog in one transaction; None when none is left.

    Returns how many cases it indexed. The mark is read inside the write transaction
    (BEGIN IMMEDIATE), so a concurrent import or a second catch-up cannot race it.
    """
    cursor = connection.cursor()
    cursor.execute("BEGIN IMMEDIATE")
    try:
        start = pending_from(cursor)
        if start is None:
            _restore_trigger(cursor)  # a store left between the two by an older version
            cursor.execute("COMMIT")
            return None
        end = start + chunk
        cursor.execute(
            "INSERT INTO cases_fts(rowid, title, body) "
            "SELECT id, title, body FROM cases WHERE id >= ? AND id < ?",
            (start, end),
        )
        done = cursor.rowcount
        top = cursor.execute("SELECT coalesce(max(id), 0) FROM cases").fetchone()[0]
        if end > top:
            cursor.execute("DELETE FROM store_meta WHERE key = ?", (PENDING_KEY,))
            _restore_trigger(cursor)
        else:
            cursor.execute("UPDATE store_meta SET value = ? WHERE key = ?", (str(end), PENDING_KEY))
        cursor.execute("COMMIT")
        return int(done)
    except BaseException:
        cursor.execute("ROLLBACK")
        raise


def catch_up(path: str, *, chunk: int = CHUNK, seconds: float | None = None) -> int:
    """Index the whole backlog of the SQLite file at `path` (or for at most `seconds`)."""
    connection = sqlite3.connect(path, isolation_level=None, timeout=30)
    connection.execute("PRAGMA busy_timeout=30000")
    connection.execute("PRAGMA synchronous=NORMAL")
    total = 0
    began = time.monotonic()
    try:
        while True:
            done = catch_up_chunk(connection, chunk)
            if done is None:
                return total
            total += done
            if seconds is not None and time.monotonic() - began >= seconds:
                return total
    finally:
        connection.close()


def sqlite_path(url: str) -> str | None:
    """The file behind a SQLite URL (sqlite:///path), or None for other databases."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return path or None


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m caseworker.services.search_backlog DB_URL_OR_PATH", file=sys.stderr)
        return 2
    path = sqlite_path(argv[0]) or argv[0]
    catch_up(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
