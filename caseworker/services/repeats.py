"""Finding repeats as cases arrive: a re-post, or the same citizen writing again within 30 days.

Each new case's text key and author are recorded (table `case_signatures`); a case whose key,
or whose author with nearly the same words, matches an earlier case in the window is marked as
a repeat of the first of them (`repeat_of_id`, a `repeat_of` link, and an event in its
history), as `case link --repeat-of` would mark it. Light on purpose: the import calls it on
every batch, with the keys its reading process computed (triage_repeats.signature_key), so
the writer only looks the batch's keys and authors up, in the window, by index, a few
queries a batch.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import insert
from sqlmodel import Session

from caseworker.clock import recorded_now
from caseworker.domain.lifecycle import Action
from caseworker.domain.triage_repeats import (
    SIGNATURE_OPENING,
    WINDOW,
    Seen,
    Sketch,
    near_pairs,
    original_of,
    pairs,
    signature_key,
    sketch,
    sketches,
    text_key,
)
from caseworker.store.audit import seal_events
from caseworker.store.models import EventRow, LinkRow

_CHUNK = 500
_PER_KEY = 50  # earlier cases of one key kept as candidates (the earliest in the window)


class Incoming(NamedTuple):
    """A just-written case as the repeat tests need it: computed where the row was read."""

    id: int
    received_at: Any  # as the driver stores it (SQLite: text)
    author: str | None
    key: str
    status: str
    linked: bool = False  # already a repeat by its source: kept as it is
    text: tuple[str, str] | None = None  # title and body, when at hand (saves reading them)
    sketch: Sketch | None = None  # of its pairs; computed from `text` when not given


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
            f"SELECT id, title, substr(body, 1, {SIGNATURE_OPENING}), author, received_at, status, "
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
                    (title, opening),
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

    raw = conn.connection.driver_connection if sqlite else None

    def rows(sql: str, params: Sequence[Any], extra: Sequence[Any] = ()) -> list[Any]:
        marks = ", ".join([mark] * len(params))
        query = sql.replace("{in}", marks).replace("{at}", mark)
        if raw is not None:  # the driver's own rows: a batch reads some 100,000
            return raw.execute(query, (*params, *extra)).fetchall()  # type: ignore[no-any-return]
        return list(conn.exec_driver_sql(query, (*params, *extra)).all())

    new_cases = _sketched(new_cases)
    new: dict[int, Seen] = {}
    by_key: dict[str, list[Seen]] = {}
    for c in new_cases:
        seen = Seen(c.id, _time(c.received_at), c.key, c.author)
        new[c.id] = seen
    firsts = min(seen.received_at for seen in new.values())
    lasts = max(seen.received_at for seen in new.values())
    since, until = firsts - WINDOW, lasts
    bounds = (_stored(since, sqlite), _stored(until, sqlite))
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
                by_key.setdefault(key, []).append(Seen(cid, _time(received), key, author))
    linked = {c.id for c in new_cases if c.linked}
    status = {c.id: c.status for c in new_cases}
    texts = {c.id: c.text for c in new_cases if c.text is not None}
    # The same authors' earlier messages in the window, as stored, a few hundred authors at a
    # time (a batch's authors wrote some 100,000 of them): most are ruled out by their
    # sketches (near_pairs) and never become a Seen.
    by_author: dict[str, list[Incoming]] = {}
    for c in new_cases:
        if c.author:
            by_author.setdefault(c.author, []).append(c)
    candidates: dict[int, list[Seen]] = {}
    for part in _chunks(sorted(by_author)):
        written = rows(
            "SELECT case_id, received_at, text_key, author, pair_count, pair_bits "
            "FROM case_signatures "
            "WHERE author IN ({in}) AND received_at >= {at} AND received_at <= {at}",
            part,
            bounds,
        )
        mine = [c for author in part for c in by_author[author]]
        candidates.update(_same_author(mine, new, linked, written))
        del written
    for seen in sorted(new.values(), key=lambda s: (s.received_at, s.id)):
        by_key.setdefault(seen.key, []).append(seen)
    conn.exec_driver_sql(
        "INSERT INTO case_signatures (case_id, received_at, author, text_key, pair_count, "
        f"pair_bits) VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})",
        [(c.id, c.received_at, c.author, c.key, *_columns(c.sketch)) for c in new_cases],
    )
    needed = {
        cid for seen_id, others in candidates.items() for o in others for cid in (seen_id, o.id)
    }
    pairs_of = _pairs_reader(rows, needed, texts, cache or PairCache())
    found: dict[int, tuple[int, float, datetime]] = {}
    for seen in new.values():
        if seen.id in linked:
            continue
        pool = by_key.get(seen.key, []) + candidates.get(seen.id, [])
        if len(pool) < 2:
            continue  # only itself
        hit = original_of(seen, pool, pairs_of)
        if hit is not None:
            found[seen.id] = (hit[0].id, hit[1], seen.received_at)
    if not found:
        return 0
    return _link(conn, rows, found, status, actor)


def _sketched(new_cases: Sequence[Incoming]) -> Sequence[Incoming]:
    """The new cases with the sketches of those whose text is at hand, computed together."""
    todo = [i for i, c in enumerate(new_cases) if c.sketch is None and c.text is not None]
    if not todo:
        return new_cases
    out = list(new_cases)
    texts = [new_cases[i].text for i in todo]
    for i, found in zip(todo, sketches(texts), strict=True):  # type: ignore[arg-type]
        out[i] = out[i]._replace(sketch=found)
    return out


def _columns(found: Sketch | None) -> tuple[int | None, bytes | None]:
    """A sketch as case_signatures stores it (pair_count, pair_bits)."""
    return (None, None) if found is None else (found.pairs, found.bits)


def _stored(value: datetime, sqlite: bool) -> Any:
    """An aware time as UTCDateTime stores it: naive UTC (on SQLite as text, microseconds)."""
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds") if sqlite else naive


def _same_author(
    new_cases: Sequence[Incoming],
    new: dict[int, Seen],
    linked: set[int],
    written: list[tuple[Any, ...]],
) -> dict[int, list[Seen]]:
    """For each new case, the same author's earlier messages in the window that its sketch
    does not rule out as a near repeat (domain.triage_repeats.near_pairs): the candidates of
    the same-citizen test, the batch's own included."""
    columns = [list(c) for c in zip(*written, strict=True)]
    ids, times, keys, authors, counts, blobs = columns or [[], [], [], [], [], []]
    tested = [False] * len(ids)
    for c in new_cases:
        if c.author:
            ids.append(c.id)
            times.append(c.received_at)
            authors.append(c.author)
            keys.append(c.key)
            counts.append(None if c.sketch is None else c.sketch.pairs)
            blobs.append(None if c.sketch is None else c.sketch.bits)
            tested.append(c.id not in linked)
    if not any(tested):
        return {}
    numbers: dict[str, int] = {}
    pairs_at = near_pairs(
        [numbers.setdefault(a, len(numbers)) for a in authors],
        _micros(times),
        ids,
        tested,
        [numbers.setdefault(k, len(numbers)) for k in keys],
        counts,
        blobs,
    )
    found: dict[int, list[Seen]] = {}
    older: dict[int, Seen] = {}
    for i, j in pairs_at:
        other = new.get(ids[j]) or older.get(ids[j])
        if other is None:
            other = older[ids[j]] = Seen(ids[j], _time(times[j]), keys[j], authors[j])
        found.setdefault(ids[i], []).append(other)
    return found


_EPOCH = datetime(1970, 1, 1)


def _micros(times: list[Any]) -> list[int]:
    """Stored times (SQLite text, or datetimes) as microseconds since 1970, UTC."""
    import numpy as np

    if times and all(isinstance(t, str) for t in times):
        try:  # SQLite's text, parsed as one array
            return np.array(times, dtype="datetime64[us]").astype(np.int64).tolist()  # type: ignore[no-any-return]
        except ValueError:
            pass
    step = timedelta(microseconds=1)
    return [(_time(t).replace(tzinfo=None) - _EPOCH) // step for t in times]


def _pairs_reader(
    rows: Callable[..., list[Any]],
    needed: set[int],
    texts: dict[int, tuple[str, str]],
    kept: PairCache,
) -> Callable[[int], frozenset[str]]:
    """The character pairs of the messages the same-citizen test will compare (`needed`: the
    few its sketches do not rule out), built when first asked for from the batch's own texts
    or the older messages' (read in a few queries), and kept in the run's bounded cache."""
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


def record_signature(session: Session, case_id: int) -> None:
    """Record one new case's text key and author (`case new`), so a later import finds it as
    the original of a re-post. Marking it a repeat stays the clerk's decision."""
    conn = session.connection()
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    row = conn.exec_driver_sql(
        f"SELECT title, substr(body, 1, {SIGNATURE_OPENING}), author, received_at FROM cases "
        f"WHERE id = {mark}",
        (case_id,),
    ).one()
    conn.exec_driver_sql(
        "INSERT INTO case_signatures (case_id, received_at, author, text_key, pair_count, "
        f"pair_bits) VALUES ({mark}, {mark}, {mark}, {mark}, {mark}, {mark})",
        [
            (
                case_id,
                row[3],
                row[2] or None,
                signature_key(row[0], row[1]),
                *_columns(sketch(row[0], row[1] or "")),
            )
        ],
    )
