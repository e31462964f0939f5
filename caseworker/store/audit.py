"""The tamper-evident history: every event and every recorded ranking carries a SHA-256 seal.

Each case's events form a chain of their own: an event's seal is the SHA-256 of the seal of
the case's previous event and of the event's own content (case, actor, action, statuses, reason,
detail, both times). Recorded rankings form one more chain. A chain per case, not one for the
whole store, because a seal must be computed before the row is written and its previous seal
must be certain: the case's row already serialises the clerks who act on one case (its version
check; on PostgreSQL also a row lock taken here), while a single store-wide chain would make
every clerk wait on every other and number the events in commit order, which PostgreSQL's
sequences do not give. The store-wide head is computed instead of stored: `head_digest` over
the seals of events 1..N, which never change once written, so a head noted down outside the
database (a backup log, a bulletin) is checked again later by `audit verify --head N:DIGEST`;
that is what shows a history rewritten wholesale by someone able to recompute every seal.

Every writer seals through this module: `seal_new_event` for the services' ORM path, `Chain`
for the bulk writers (import, demo, restore), `seal_ranking` for rankings.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Connection

# The content of an event, in the order it is sealed (also the column order bulk writers use).
EVENT_FIELDS = (
    "case_id",
    "actor",
    "action",
    "from_status",
    "to_status",
    "reason",
    "detail",
    "effective_at",
    "recorded_at",
)
RANKING_FIELDS = (
    "period",
    "period_start",
    "period_end",
    "level",
    "as_of",
    "rule_version",
    "figures",
    "clerk",
    "recorded_at",
)
GENESIS = "caseworker-audit-v1"  # the "previous seal" of a chain's first link


def _part(value: Any) -> str:
    """One field as sealed: length-prefixed text (no separator can be forged), None as '-'.

    A time is its naive UTC text with microseconds, the very text SQLite stores, so a bulk
    writer that hands over times already in that form seals what the ORM would.
    """
    kind = type(value)
    if kind is str:
        return f"{len(value)}:{value}"
    if value is None:
        return "-"
    if isinstance(value, datetime):
        if value.tzinfo is not None and value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        value = value.isoformat(" ", "microseconds")[:26]  # the "+00:00" of an aware time cut
    elif isinstance(value, bool):
        value = int(value)
    text_value = str(value)
    return f"{len(text_value)}:{text_value}"


def seal(previous: str, values: Sequence[Any]) -> str:
    """The seal of content `values` following the seal `previous`."""
    body = "|".join([previous, *(_part(v) for v in values)])
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


class Chain:
    """The heads of the case chains one writer appends to, in the order it writes.

    A bulk writer creates one for its transaction and seals each event, in id order, before
    inserting it. `known_new=True` says every case it will seal is new (no earlier events);
    otherwise the heads of the cases are read from the store first (`load_heads`).
    """

    def __init__(self, heads: dict[int, str] | None = None) -> None:
        self.heads: dict[int, str] = heads or {}

    def load_heads(self, connection: Connection, case_ids: Sequence[int]) -> None:
        """Read the current head of each case in `case_ids` not already known."""
        wanted = sorted({int(c) for c in case_ids} - self.heads.keys())
        for start in range(0, len(wanted), 500):
            part = wanted[start : start + 500]
            marks = ", ".join(str(c) for c in part)
            rows = connection.execute(
                text(
                    "SELECT e.case_id, e.hash FROM events e WHERE e.id IN ("
                    f"SELECT max(id) FROM events WHERE case_id IN ({marks}) GROUP BY case_id)"
                )
            ).all()
            for case_id, head in rows:
                self.heads[int(case_id)] = head or ""

    def seal(self, values: Sequence[Any]) -> str:
        """Seal one event given as its EVENT_FIELDS values; it becomes its case's head."""
        case_id = int(values[0])
        digest = seal(self.heads.get(case_id, GENESIS), values)
        self.heads[case_id] = digest
        return digest

    def seal_rows(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Give each event row (a dict of its columns, in id order) its `hash`."""
        for row in rows:
            row["hash"] = self.seal([row.get(name) for name in EVENT_FIELDS])
        return rows

    def seal_tuples(self, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        """Tuples in EVENT_FIELDS order, each with its seal appended."""
        return [(*row, self.seal(row)) for row in rows]


def seal_events(connection: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Seal event rows about to be inserted (in id order), reading their cases' heads first."""
    chain = Chain()
    chain.load_heads(connection, [row["case_id"] for row in rows])
    return chain.seal_rows(rows)


def seal_new_event(connection: Connection, row: Any) -> None:
    """Seal one event of the services (an EventRow not yet written) on its case's chain.

    On PostgreSQL the case's row is locked first, so two clerks acting on one case at once
    append one after the other instead of both linking to the same head. Call it after any
    earlier event of the same transaction was flushed.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT id FROM cases WHERE id = :id FOR UPDATE"), {"id": row.case_id}
        )
    head = connection.execute(
        text("SELECT hash FROM events WHERE case_id = :id ORDER BY id DESC LIMIT 1"),
        {"id": row.case_id},
    ).scalar()
    chain = Chain({row.case_id: head} if head else {})
    row.hash = chain.seal([getattr(row, name) for name in EVENT_FIELDS])


def seal_ranking(connection: Connection, values: Mapping[str, Any]) -> str:
    """The seal of a ranking about to be recorded, chained to the last recorded one."""
    if connection.dialect.name == "postgresql":
        # One ranking at a time, so two supervisors recording at once do not fork the chain.
        connection.execute(text("SELECT pg_advisory_xact_lock(72057594037927937)"))
    head = connection.execute(text("SELECT hash FROM rankings ORDER BY id DESC LIMIT 1")).scalar()
    return seal(head or GENESIS, [values[name] for name in RANKING_FIELDS])


@dataclass(frozen=True)
class Mismatch:
    """A sealed row whose content or place in its chain no longer matches its seal."""

    table: str  # events / rankings
    id: int
    case_id: int | None


@dataclass
class AuditReport:
    """What `audit verify` found."""

    events: int = 0
    cases: int = 0
    rankings: int = 0
    mismatches: int = 0
    first: Mismatch | None = None
    head_id: int = 0
    head: str = ""

    @property
    def ok(self) -> bool:
        return self.mismatches == 0

    def _bad(self, table: str, row_id: int, case_id: int | None) -> None:
        self.mismatches += 1
        if self.first is None or (table, row_id) < (self.first.table, self.first.id):
            self.first = Mismatch(table, row_id, case_id)


def _rows(connection: Connection, sql: str) -> Iterator[Sequence[Any]]:
    """Rows of `sql`, streamed in blocks so a million events never sit in memory at once."""
    result = connection.execution_options(stream_results=True, yield_per=5000).execute(text(sql))
    yield from result


def verify(connection: Connection, *, head_upto: int | None = None) -> AuditReport:
    """Walk every case's chain and the rankings' chain; count and locate what does not match.

    Each link is checked against the seal stored before it, so one edited event is named
    alone (the event after it still links to the seal that was stored). The store-wide head
    (`head_digest`) is computed over events 1..`head_upto` (default: the newest).
    """
    report = AuditReport()
    columns = ", ".join(EVENT_FIELDS)
    previous_case: int | None = None
    previous = GENESIS
    from caseworker.store.types import UTCDateTime

    as_time = UTCDateTime().process_result_value
    for row in _rows(connection, f"SELECT id, {columns}, hash FROM events ORDER BY case_id, id"):
        event_id, values, stored = row[0], list(row[1:-1]), row[-1]
        for n in (7, 8):  # times as the ORM reads them, whatever the driver returned
            values[n] = as_time(values[n], connection.dialect)
        if values[0] != previous_case:
            previous_case, previous = values[0], GENESIS
            report.cases += 1
        report.events += 1
        if stored is None or seal(previous, values) != stored:
            report._bad("events", event_id, values[0])
        previous = stored or ""
    previous = GENESIS
    ranking_columns = ", ".join(RANKING_FIELDS)
    for row in _rows(connection, f"SELECT id, {ranking_columns}, hash FROM rankings ORDER BY id"):
        ranking_id, values, stored = row[0], list(row[1:-1]), row[-1]
        for n in (4, 8):
            values[n] = as_time(values[n], connection.dialect)
        for n in (1, 2):
            values[n] = str(values[n])[:10]
        report.rankings += 1
        if stored is None or seal(previous, values) != stored:
            report._bad("rankings", ranking_id, None)
        previous = stored or ""
    report.head_id, report.head = head_digest(connection, head_upto)
    return report


def head_digest(connection: Connection, upto: int | None = None) -> tuple[int, str]:
    """The store-wide head: SHA-256 over the seals of events 1..`upto` in id order.

    Events are never changed or removed, so the head of events up to N stays the same as
    the history grows; one noted down elsewhere shows later whether the first N were rewritten.
    """
    if upto is None:
        upto = int(connection.execute(text("SELECT coalesce(max(id), 0) FROM events")).scalar_one())
    digest = hashlib.sha256(GENESIS.encode())
    query = f"SELECT hash FROM events WHERE id <= {int(upto)} ORDER BY id"
    for (stored,) in _rows(connection, query):
        digest.update((stored or "-").encode())
    return upto, digest.hexdigest()
