"""Signatures for stored cases that have none: what the repeat tests look up.

A case's signature (table `case_signatures`) is its text key, author and receipt time, and the
sketch of its character pairs (domain.triage_repeats). The import and `case new` record one
as they write a case; these fill in the cases stored before they did, in batches on the
driver's own rows, so they run inside a migration as well as on a session's connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from caseworker.domain.triage_repeats import SIGNATURE_OPENING, signature_key, sketches

BATCH = 5_000


def _mark(conn: Any) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _pages(conn: Any, sql: str, batch: int) -> Iterator[list[Any]]:
    """The rows of `sql` (the key first, `{mark}` its lower bound, `{limit}` the page), a
    page at a time by key: each page read after the one before was written."""
    mark, after = _mark(conn), 0
    while True:
        rows = conn.exec_driver_sql(sql.format(mark=mark, limit=int(batch)), (after,)).all()
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def backfill_signatures(conn: Any, *, batch: int = BATCH, sketched: bool = True) -> int:
    """Record the signature of every case that has none (cases stored before signatures were
    kept, or entered one by one before they were); how many.

    `sketched=False` leaves the sketch out, for a schema without its columns (migration 0016,
    before 0017 adds them; `backfill_sketches` fills them in later).
    """
    mark, done = _mark(conn), 0
    for rows in _pages(
        conn,
        f"SELECT c.id, c.title, substr(c.body, 1, {SIGNATURE_OPENING}), c.author, "
        "c.received_at FROM cases c LEFT JOIN case_signatures s ON s.case_id = c.id "
        "WHERE c.id > {mark} AND s.case_id IS NULL ORDER BY c.id LIMIT {limit}",
        batch,
    ):
        keyed = [
            (cid, received, author or None, signature_key(title, opening))
            for cid, title, opening, author, received in rows
        ]
        if sketched:
            found = sketches([(title, opening or "") for _, title, opening, _, _ in rows])
            conn.exec_driver_sql(
                "INSERT INTO case_signatures (case_id, received_at, author, text_key, "
                f"pair_count, pair_bits) VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})",
                [(*row, s.pairs, s.bits) for row, s in zip(keyed, found, strict=True)],
            )
        else:
            conn.exec_driver_sql(
                "INSERT INTO case_signatures (case_id, received_at, author, text_key) "
                f"VALUES ({mark}, {mark}, {mark}, {mark})",
                keyed,
            )
        done += len(rows)
    return done


def backfill_sketches(conn: Any, *, batch: int = BATCH) -> int:
    """Give every stored signature without a sketch its sketch (those a backfill made before
    the sketch columns existed); how many. Without one, a case is compared the exact way."""
    mark, done = _mark(conn), 0
    for rows in _pages(
        conn,
        f"SELECT s.case_id, c.title, substr(c.body, 1, {SIGNATURE_OPENING}) "
        "FROM case_signatures s JOIN cases c ON c.id = s.case_id "
        "WHERE s.case_id > {mark} AND s.pair_count IS NULL ORDER BY s.case_id LIMIT {limit}",
        batch,
    ):
        found = sketches([(title, opening or "") for _, title, opening in rows])
        conn.exec_driver_sql(
            f"UPDATE case_signatures SET pair_count = {mark}, pair_bits = {mark} "
            f"WHERE case_id = {mark}",
            [(s.pairs, s.bits, cid) for (cid, _, _), s in zip(rows, found, strict=True)],
        )
        done += len(rows)
    return done
