"""Finding repeats as cases arrive: a re-post, or the same citizen writing again within 30 days.

Each new case's text key and author are recorded (table `case_signatures`); a case whose key,
or whose author with nearly the same words, matches an earlier case in the window is marked as
a repeat of the first of them (`repeat_of_id`, a `repeat_of` link, and an event in its
history), as `case link --repeat-of` would mark it. Light on purpose: the import calls it on
every batch.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session

from caseworker.clock import recorded_now
from caseworker.domain.lifecycle import Action
from caseworker.domain.triage_repeats import WINDOW, Seen, earlier, original_of, pairs, text_key
from caseworker.store.audit import seal_events
from caseworker.store.models import CaseRow, EventRow, LinkRow

_CHUNK = 500
_CASES: Any = CaseRow.__table__  # type: ignore[attr-defined]
OPENING = 300  # what the text key reads of the body: a re-post repeats its opening too


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _time(value: Any) -> datetime:
    """A stored time as the driver gives it (SQLite: text), as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC)


def mark_repeats(session: Session, case_ids: Sequence[int], *, actor: str) -> int:
    """Record the new cases' signatures and mark those that repeat an earlier case; how many.

    On the driver's own rows (no type processing): it runs on every batch of an import.
    """
    if not case_ids:
        return 0
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"

    def rows(sql: str, params: Sequence[Any]) -> list[Any]:
        marks = ", ".join([mark] * len(params))
        return list(conn.exec_driver_sql(sql.replace("{in}", marks), tuple(params)).all())

    new: dict[int, Seen] = {}
    linked: set[int] = set()  # already a repeat by its source: kept as it is
    status: dict[int, str] = {}
    stored: list[tuple[Any, ...]] = []
    for part in _chunks(list(case_ids)):
        for cid, title, opening, author, received, state, repeat_of in rows(
            f"SELECT id, title, substr(body, 1, {OPENING}), author, received_at, status, "
            "repeat_of_id FROM cases WHERE id IN ({in})",
            part,
        ):
            key = text_key(title, opening)
            status[cid] = state
            new[cid] = Seen(cid, _time(received), key, author or None)
            stored.append((cid, received, author or None, key))
            if repeat_of is not None:
                linked.add(cid)
    conn.exec_driver_sql(
        f"INSERT INTO case_signatures (case_id, received_at, author, text_key) "
        f"VALUES ({mark}, {mark}, {mark}, {mark})",
        stored,
    )
    by_key: dict[str, list[Seen]] = {}
    by_author: dict[str, list[Seen]] = {}
    keys = sorted({seen.key for seen in new.values()})
    for part in _chunks(keys):
        for cid, received, key, author in rows(
            "SELECT case_id, received_at, text_key, author FROM case_signatures "
            "WHERE text_key IN ({in})",
            part,
        ):
            if cid in new or len(by_key.get(key, ())) < 50:
                by_key.setdefault(key, []).append(
                    new.get(cid) or Seen(cid, _time(received), key, author)
                )
    authors = sorted({seen.author for seen in new.values() if seen.author})
    since = min(seen.received_at for seen in new.values()) - WINDOW
    for part in _chunks(authors):
        for cid, received, key, author in rows(
            "SELECT case_id, received_at, text_key, author FROM case_signatures "
            "WHERE author IN ({in})",
            part,
        ):
            when = new[cid].received_at if cid in new else _time(received)
            if when >= since:
                by_author.setdefault(author, []).append(
                    new.get(cid) or Seen(cid, when, key, author)
                )
    # The same citizen's earlier messages in the window, with other words: their character
    # pairs are compared, so their openings are read, all in a few queries.
    needed: set[int] = set()
    for seen in new.values():
        same_author = by_author.get(seen.author, []) if seen.author else []
        for other in same_author:
            if (
                other.key != seen.key
                and earlier(other, seen)
                and seen.received_at - other.received_at <= WINDOW
                and seen.id not in linked
            ):
                needed.update((seen.id, other.id))
    cache: dict[int, frozenset[str]] = {}
    for part in _chunks(sorted(needed)):
        for cid, title, opening in rows(
            "SELECT id, title, substr(body, 1, 200) FROM cases WHERE id IN ({in})", part
        ):
            cache[cid] = pairs(title, opening)

    def pairs_of(cid: int) -> frozenset[str]:
        return cache.get(cid, frozenset())

    found: dict[int, tuple[int, float, datetime]] = {}
    for seen in new.values():
        if seen.id in linked:
            continue
        same_author = by_author.get(seen.author, []) if seen.author else []
        pool = by_key.get(seen.key, []) + (same_author if len(same_author) > 1 else [])
        if len(pool) < 2:
            continue  # only itself
        hit = original_of(seen, pool, pairs_of)
        if hit is not None:
            found[seen.id] = (hit[0].id, hit[1], seen.received_at)
    if not found:
        return 0
    # Point at the first message of the chain, as a clerk linking by hand would.
    roots: dict[int, int] = {}
    for part in _chunks(sorted({orig for orig, _, _ in found.values()})):
        for cid, repeat_of in rows("SELECT id, repeat_of_id FROM cases WHERE id IN ({in})", part):
            roots[cid] = repeat_of or cid
    stamp = recorded_now()
    links, events = [], []
    for cid, (orig, score, received) in sorted(found.items()):
        root, hops = orig, 0
        while root in found and hops < len(found):  # a repeat of a repeat in this same batch
            root, hops = found[root][0], hops + 1
        root = roots.get(root, root)
        if root == cid:
            continue
        conn.execute(
            update(_CASES)
            .where(_CASES.c.id == cid, _CASES.c.repeat_of_id.is_(None))
            .values(repeat_of_id=root, version=_CASES.c.version + 1)
        )
        links.append(
            {
                "case_id": cid,
                "target_id": root,
                "kind": "repeat_of",
                "created_by_id": None,
                "created_at": received,
            }
        )
        events.append(
            {
                "case_id": cid,
                "actor": actor,
                "action": Action.LINK_REPEAT.value,
                "from_status": status[cid],
                "to_status": status[cid],
                "reason": None,
                "detail": json.dumps({"original": root, "similarity": score, "found": "import"}),
                "effective_at": received,
                "recorded_at": stamp,
            }
        )
    if links:
        conn.execute(insert(LinkRow.__table__), links)  # type: ignore[attr-defined]
        # Each repeat's event goes on its case's chain, after the receive event of this batch.
        conn.execute(insert(EventRow.__table__), seal_events(conn, events))  # type: ignore[attr-defined]
    return len(links)


# ---------------------------------------------------------------- cases without a signature


def signature_key(title: str, body: str | None) -> str:
    """A case's text key as mark_repeats computes it (title and the body's opening)."""
    return text_key(title, (body or "")[:OPENING])


def record_signature(session: Session, case_id: int) -> None:
    """Record one new case's text key and author (`case new`), so a later import finds it as
    the original of a re-post. Marking it a repeat stays the clerk's decision."""
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    row = conn.exec_driver_sql(
        f"SELECT title, substr(body, 1, {OPENING}), author, received_at FROM cases "
        f"WHERE id = {mark}",
        (case_id,),
    ).one()
    conn.exec_driver_sql(
        f"INSERT INTO case_signatures (case_id, received_at, author, text_key) "
        f"VALUES ({mark}, {mark}, {mark}, {mark})",
        [(case_id, row[3], row[2] or None, signature_key(row[0], row[1]))],
    )


BACKFILL_BATCH = 5_000


def backfill_signatures(conn: Any, *, batch: int = BACKFILL_BATCH) -> int:
    """Record the text key and author of every case that has none (cases stored before
    signatures were kept, or entered one by one before they were); how many.

    Reads the cases in id order, `batch` at a time, each batch one SELECT and one INSERT on
    the driver's own rows, so it runs inside a migration as well as on a session's connection.
    """
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    done, after = 0, 0
    while True:
        rows = conn.exec_driver_sql(
            f"SELECT c.id, c.title, substr(c.body, 1, {OPENING}), c.author, c.received_at "
            "FROM cases c LEFT JOIN case_signatures s ON s.case_id = c.id "
            f"WHERE c.id > {mark} AND s.case_id IS NULL ORDER BY c.id LIMIT {int(batch)}",
            (after,),
        ).all()
        if not rows:
            return done
        conn.exec_driver_sql(
            f"INSERT INTO case_signatures (case_id, received_at, author, text_key) "
            f"VALUES ({mark}, {mark}, {mark}, {mark})",
            [
                (cid, received, author or None, signature_key(title, opening))
                for cid, title, opening, author, received in rows
            ],
        )
        done += len(rows)
        after = rows[-1][0]
