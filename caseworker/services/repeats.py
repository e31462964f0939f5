"""Finding repeats as cases arrive: a re-post, or the same citizen writing again within 30 days.

Each new case's text key and author are recorded (table `case_signatures`); a case whose key,
or whose author with nearly the same words, matches an earlier case in the window is marked as
a repeat of the first of them (`repeat_of_id`, a `repeat_of` link, and an event in its
history), as `case link --repeat-of` would mark it. Light on purpose: the import calls it on
every batch, with the keys its reading process computed (`signature`), so the writer only
looks the batch's keys and authors up, in the window, by index, a few queries a batch.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlmodel import Session

from caseworker.clock import recorded_now
from caseworker.domain.lifecycle import Action
from caseworker.domain.triage_repeats import WINDOW, Seen, earlier, original_of, pairs, text_key
from caseworker.store.audit import seal_events
from caseworker.store.models import EventRow, LinkRow

_CHUNK = 500
OPENING = 300  # what the text key reads of the body: a re-post repeats its opening too
_PER_KEY = 50  # earlier cases of one key kept as candidates (the earliest in the window)


def signature(title: str, body: str) -> str:
    """The text key of a case as stored (its title and the opening of its body)."""
    return text_key(title, body[:OPENING])


class Incoming(NamedTuple):
    """A just-written case as the repeat tests need it: computed where the row was read."""

    id: int
    received_at: Any  # as the driver stores it (SQLite: text)
    author: str | None
    key: str
    status: str
    linked: bool = False  # already a repeat by its source: kept as it is
    text: tuple[str, str] | None = None  # title and body, when at hand (saves reading them)


class PairCache:
    """The character pairs of cases already built in one import run, by case id, the most
    recently used kept (a case's title and body do not change while it is imported), so an
    author's earlier messages are built once a run, not once a batch that compares them."""

    def __init__(self, size: int = 1_024) -> None:  # a pair set holds ~200 pairs: ~25 kB
        self.size = size
        self._sets: OrderedDict[int, frozenset[str]] = OrderedDict()

    def get(self, case_id: int) -> frozenset[str] | None:
        found = self._sets.get(case_id)
        if found is not None:
            self._sets.move_to_end(case_id)
        return found

    def put(self, case_id: int, found: frozenset[str]) -> None:
        self._sets[case_id] = found
        self._sets.move_to_end(case_id)
        while len(self._sets) > self.size:
            self._sets.popitem(last=False)


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + _CHUNK] for i in range(0, len(items), _CHUNK)]


def _time(value: Any) -> datetime:
    """A stored time as the driver gives it (SQLite: text), as an aware UTC datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def mark_repeats(session: Session, case_ids: Sequence[int], *, actor: str) -> int:
    """Record the stored new cases' signatures and mark those that repeat; how many.

    Reads the cases back to compute their keys; the import passes them ready (`mark_new`).
    """
    if not case_ids:
        return 0
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    new: list[Incoming] = []
    for part in _chunks(list(case_ids)):
        marks = ", ".join([mark] * len(part))
        for cid, title, opening, author, received, state, repeat_of in conn.exec_driver_sql(
            f"SELECT id, title, substr(body, 1, {OPENING}), author, received_at, status, "
            f"repeat_of_id FROM cases WHERE id IN ({marks})",
            tuple(part),
        ):
            new.append(
                Incoming(
                    cid,
                    received,
                    author or None,
                    text_key(title, opening),
                    state,
                    repeat_of is not None,
                )
            )
    return mark_new(session, new, actor=actor)


def mark_new(
    session: Session,
    new_cases: Sequence[Incoming],
    *,
    actor: str,
    cache: PairCache | None = None,
) -> int:
    """Record these new cases' signatures and mark those that repeat an earlier case; how many.

    On the driver's own rows (no type processing). Earlier cases are looked up before this
    batch's signatures are stored, only in the window before the batch's receipt times, by
    the key index and the (author, received time) index. `cache`, kept by the caller across
    the batches of one run, saves rebuilding the pairs of cases an earlier batch built.
    """
    if not new_cases:
        return 0
    conn = session.connection()
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if sqlite else "%s"

    def rows(sql: str, params: Sequence[Any], extra: Sequence[Any] = ()) -> list[Any]:
        marks = ", ".join([mark] * len(params))
        query = sql.replace("{in}", marks).replace("{at}", mark)
        return list(conn.exec_driver_sql(query, (*params, *extra)).all())

    new: dict[int, Seen] = {}
    by_key: dict[str, list[Seen]] = {}
    by_author: dict[str, list[Seen]] = {}
    for c in new_cases:
        seen = Seen(c.id, _time(c.received_at), c.key, c.author)
        new[c.id] = seen
    firsts = min(seen.received_at for seen in new.values())
    lasts = max(seen.received_at for seen in new.values())
    since, until = firsts - WINDOW, lasts
    bounds = (_stored(since, sqlite), _stored(until, sqlite))
    old: list[Seen] = []
    keys = sorted({seen.key for seen in new.values()})
    for part in _chunks(keys):
        for cid, received, key, author in rows(
            "SELECT case_id, received_at, text_key, author FROM case_signatures "
            "WHERE text_key IN ({in}) AND received_at >= {at} AND received_at <= {at} "
            "ORDER BY received_at, case_id",
            part,
            bounds,
        ):
            if len(by_key.get(key, ())) < _PER_KEY:
                seen = Seen(cid, _time(received), key, author)
                by_key.setdefault(key, []).append(seen)
                old.append(seen)
    authors = sorted({seen.author for seen in new.values() if seen.author})
    for part in _chunks(authors):
        for cid, received, key, author in rows(
            "SELECT case_id, received_at, text_key, author FROM case_signatures "
            "WHERE author IN ({in}) AND received_at >= {at} AND received_at <= {at}",
            part,
            bounds,
        ):
            by_author.setdefault(author, []).append(Seen(cid, _time(received), key, author))
    for seen in sorted(new.values(), key=lambda s: (s.received_at, s.id)):
        by_key.setdefault(seen.key, []).append(seen)
        if seen.author:
            by_author.setdefault(seen.author, []).append(seen)
    conn.exec_driver_sql(
        f"INSERT INTO case_signatures (case_id, received_at, author, text_key) "
        f"VALUES ({mark}, {mark}, {mark}, {mark})",
        [(c.id, c.received_at, c.author, c.key) for c in new_cases],
    )
    linked = {c.id for c in new_cases if c.linked}
    status = {c.id: c.status for c in new_cases}
    texts = {c.id: c.text for c in new_cases if c.text is not None}
    pairs_of = _pairs_reader(rows, new, by_author, linked, texts, cache or PairCache())
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
    return _link(conn, rows, found, status, actor)


def _stored(value: datetime, sqlite: bool) -> Any:
    """An aware time as UTCDateTime stores it: naive UTC (on SQLite as text, microseconds)."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def _pairs_reader(
    rows: Callable[..., list[Any]],
    new: dict[int, Seen],
    by_author: dict[str, list[Seen]],
    linked: set[int],
    texts: dict[int, tuple[str, str]],
    kept: PairCache,
) -> Callable[[int], frozenset[str]]:
    """The character pairs of the messages the same-citizen test will compare, built when
    first asked for from the batch's own texts or the older messages' (read in a few queries),
    and kept in the run's bounded cache."""
    needed: set[int] = set()
    for seen in new.values():
        if not seen.author or seen.id in linked:
            continue
        for other in by_author.get(seen.author, ()):
            if (
                other.key != seen.key
                and earlier(other, seen)
                and seen.received_at - other.received_at <= WINDOW
            ):
                needed.update((seen.id, other.id))
    # Older messages' titles and openings are read in a few queries (short strings); their
    # pairs, which take some 25 kB a message, are built only when a comparison asks for them
    # and kept in the run's bounded cache, so a batch never holds all of its sets at once.
    sources: dict[int, tuple[str, str]] = {}
    for part in _chunks(sorted(needed - texts.keys())):
        for cid, title, opening in rows(
            "SELECT id, title, substr(body, 1, 200) FROM cases WHERE id IN ({in})", part
        ):
            sources[cid] = (title, opening)

    def pairs_of(cid: int) -> frozenset[str]:
        if cid not in needed:
            return frozenset()  # compared by its text key alone
        found = kept.get(cid)
        if found is None:
            text = texts.get(cid) or sources.get(cid)
            if text is None:
                return frozenset()
            found = pairs(*text)
            kept.put(cid, found)
        return found

    return pairs_of


def _link(
    conn: Any,
    rows: Callable[..., list[Any]],
    found: dict[int, tuple[int, float, datetime]],
    status: dict[int, str],
    actor: str,
) -> int:
    """Mark the found repeats: their original (the first of the chain), link and event."""
    roots: dict[int, int] = {}
    for part in _chunks(sorted({orig for orig, _, _ in found.values()})):
        for cid, repeat_of in rows("SELECT id, repeat_of_id FROM cases WHERE id IN ({in})", part):
            roots[cid] = repeat_of or cid
    stamp = recorded_now()
    updates, links, events = [], [], []
    for cid, (orig, score, received) in sorted(found.items()):
        root, hops = orig, 0
        while root in found and hops < len(found):  # a repeat of a repeat in this same batch
            root, hops = found[root][0], hops + 1
        root = roots.get(root, root)
        if root == cid:
            continue
        updates.append((root, cid))
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
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(
            f"UPDATE cases SET repeat_of_id = {mark}, version = version + 1 "
            f"WHERE id = {mark} AND repeat_of_id IS NULL",
            updates,
        )
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
