"""Running one import: rows in, batches of cases out, every row accounted for.

Rows are mapped and validated in memory, then written a batch at a time (default 1,000) in one
transaction each, with bulk INSERTs rather than one ORM object per row. Existing keys are looked
up once per batch. The import's record is updated inside the same transaction as its batch, so
after an interruption the database and the record agree, and running the same command again
finds the committed rows as known duplicates and finishes the rest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from operator import attrgetter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Boolean, insert, update
from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import OPEN_STATES, Action, Role, Status
from caseworker.domain.policy import PolicyError
from caseworker.services.cases import Desk, NewCase, validate_new_case
from caseworker.services.clocks import CaseRecords, apply_clocks, case_clocks
from caseworker.services.imports.fastclocks import NewCaseClocks
from caseworker.services.imports.mapping import (
    MappingError,
    Profile,
    choose_profile,
    fingerprint,
    load_mapping,
    map_row,
)
from caseworker.services.imports.normalise import BadValue
from caseworker.services.imports.rejects import RejectsWriter, default_rejects_path
from caseworker.services.imports.sources import Source, SourceError, SourceRow, open_source
from caseworker.services.people import resolve_actor
from caseworker.services.search_backlog import backlog, defer_indexing
from caseworker.store.engine import Store
from caseworker.store.models import CaseRow, EventRow, ImportRecord, ReplyRow
from caseworker.store.types import UTCDateTime

# A batch at least this large leaves its cases' search indexing to services.search_backlog:
# the trigram index costs more per row than everything else the import writes.
DEFER_SEARCH_AT = 1000

Progress = Callable[[int, int, int], None]  # rows read, position, total (bytes or rows)


class ImportFailed(DomainError):
    """The file could not be read at all (not a table, unknown layout); exit code 1."""


class SimulatedInterrupt(KeyboardInterrupt):
    """Raised by the `interrupt_after` test hook, exactly where Ctrl-C between batches lands."""


@dataclass(frozen=True)
class ImportOptions:
    """What the clerk chose on the command line."""

    format: str | None = None
    encoding: str | None = None
    mapping: Path | None = None
    channel: str | None = None
    rejects: Path | None = None
    dry_run: bool = False
    batch_size: int = 5000
    interrupt_after: int | None = None  # test hook: interrupt after this many committed batches


@dataclass
class ImportSummary:
    """What one file's import did; `exit_code` follows the command's contract (0 / 3)."""

    file: str
    format: str
    profile: str
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    overdue: int = 0  # imported cases already past a deadline when they arrived
    rejects_path: str | None = None
    import_id: int | None = None
    dry_run: bool = False
    search_backlog: int = 0  # cases left for the search index to catch up on (SQLite)

    @property
    def exit_code(self) -> int:
        return 3 if self.conflicts or self.rejected else 0

    def line(self) -> str:
        verb = "would import" if self.dry_run else "imported"
        text = (
            f"{self.file}: read {self.read} / {verb} {self.imported} / duplicates "
            f"{self.duplicates} / conflicts {self.conflicts} / rejected {self.rejected}"
        )
        if self.overdue:
            text += f"; {self.overdue} already overdue"
        if self.rejects_path:
            text += f"; rejects in {self.rejects_path}"
        return text


@dataclass
class Prepared:
    """A row ready to insert: the case row, and the published reply the file recorded."""

    row: SourceRow
    case: Any  # a CaseRow's column values as attributes (see case_values)
    reply_text: str | None = None
    replied_at: datetime | None = None
    restore: dict[str, Any] | None = None  # a whole exported case (our own JSON Lines)
    key: tuple[str, str] = field(init=False)
    print: str = field(init=False)

    def __post_init__(self) -> None:
        c = self.case
        self.key = (c.channel, c.external_id)
        self.print = fingerprint(c.title, c.body, c.received_at, c.author, c.category)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def run_import(
    store: Store,
    desk: Desk,
    path: Path,
    options: ImportOptions = ImportOptions(),
    progress: Progress | None = None,
) -> ImportSummary:
    """Import one file; raises ImportFailed when nothing could be read."""
    try:
        source = open_source(path, options.format, options.encoding)
    except (SourceError, OSError) as exc:
        raise ImportFailed(str(exc)) from None
    try:
        try:
            profile = (
                load_mapping(options.mapping) if options.mapping
                else choose_profile(source.columns, source.first)
            )
        except MappingError as exc:
            raise ImportFailed(f"{path.name}: {exc}") from None
        return _Run(store, desk, source, profile, options, progress).run()
    finally:
        source.close()


class _Run:
    """The state of one import while it runs."""

    def __init__(
        self, store: Store, desk: Desk, source: Source, profile: Profile,
        options: ImportOptions, progress: Progress | None,
    ) -> None:
        self.store, self.desk, self.source, self.profile = store, desk, source, profile
        self.options, self.progress = options, progress
        self.actor = f"import:{source.path.name}"
        self.channel = options.channel or profile.channel
        if self.channel is not None:
            try:
                desk.rules.policy.channel(self.channel)
            except PolicyError as exc:
                raise InvalidInput(str(exc)) from None
        self.summary = ImportSummary(
            file=source.path.name, format=source.format, profile=profile.name,
            dry_run=options.dry_run,
        )
        rejects_path = options.rejects or default_rejects_path(source)
        if options.rejects is not None and options.rejects.is_dir():
            rejects_path = options.rejects / default_rejects_path(source).name
        elif options.rejects is None and not os.access(rejects_path.parent, os.W_OK):
            # A read-only folder (a shared drive, a mounted export): use the working folder;
            # the summary line names the file either way.
            rejects_path = Path.cwd() / rejects_path.name
        self.rejects = RejectsWriter(source, rejects_path)
        self.seen: dict[tuple[str, str], str] = {}  # dry run only: keys of earlier batches
        self.now = desk.now()
        self.stamp = recorded_now()
        self.clocks = NewCaseClocks(desk.rules)
        self.search_deferred = False
        self.cache_sized = False
        self.restorer: Any = None
        if profile.own_export:
            from caseworker.services.imports.restore import Restorer

            self.restorer = Restorer(self.actor)

    # ------------------------------------------------------------ the loop

    def run(self) -> ImportSummary:
        with self.store.session() as session:
            _, clerk_role = _check_clerk(session, self.desk.clerk)
        record_id = None if self.options.dry_run else self._start_record()
        self.summary.import_id = record_id
        if not self.options.dry_run and self.rejects.path.exists():
            self.rejects.path.unlink()  # a stale file from an earlier run of the same input
        batches = 0
        committed = dataclasses.replace(self.summary)  # counts as of the last committed batch
        try:
            for chunk in _chunks(self.source.rows, self.options.batch_size):
                prepared = [p for p in map(self._prepare, chunk) if p is not None]
                if self.options.dry_run:
                    self._classify_dry(prepared)
                else:
                    with self.store.session() as session:
                        self._write_batch(session, prepared)
                        self._save_counts(session, record_id, "running")
                    batches += 1
                    committed = dataclasses.replace(self.summary)
                self.rejects.flush()
                if self.progress is not None:
                    position, total = self._position()
                    self.progress(self.summary.read, position, total)
                stop_after = self.options.interrupt_after
                if stop_after is not None and batches >= stop_after:
                    raise SimulatedInterrupt()
            if self.restorer is not None and not self.options.dry_run:
                with self.store.session() as session:
                    self.restorer.finish(session)
        except BaseException as exc:
            self.rejects.close()
            if record_id is not None:
                # The batch in flight was rolled back: record what the database holds.
                self.summary = committed
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                # An interrupt inside the driver can leave its connection holding the write
                # lock; close every pooled connection before recording the outcome.
                self.store.engine.dispose()
                with self.store.session() as session:
                    self._save_counts(session, record_id, status)
            if isinstance(exc, SourceError):
                raise ImportFailed(str(exc)) from None
            raise
        self.rejects.close()
        if self.rejects.count:
            self.summary.rejects_path = str(self.rejects.path)
        if record_id is not None:
            with self.store.session() as session:
                self._save_counts(session, record_id, "done")
        if record_id is not None and self.store.engine.dialect.name == "sqlite":
            with self.store.session() as session:
                raw = session.connection().connection.driver_connection
                assert raw is not None
                self.summary.search_backlog = backlog(raw.cursor())
        del clerk_role
        return self.summary

    def _position(self) -> tuple[int, int]:
        return self.source.position()

    def _start_record(self) -> int:
        record = ImportRecord(
            file_name=str(self.source.path.name),
            sha256=file_sha256(self.source.path),
            format=self.source.format,
            channel=self.channel,
            status="running",
            rejects_path=None,
            clerk=self.desk.clerk,
            started_at=self.now,
        )
        with self.store.session() as session:
            session.add(record)
            session.flush()
            assert record.id is not None
            return record.id

    def _save_counts(self, session: Session, record_id: int | None, status: str) -> None:
        if record_id is None:
            return
        s = self.summary
        values: dict[str, Any] = dict(
            status=status, read=s.read, imported=s.imported, duplicates=s.duplicates,
            conflicts=s.conflicts, rejected=s.rejected,
            rejects_path=str(self.rejects.path) if self.rejects.count else None,
        )
        if status != "running":
            values["finished_at"] = self.desk.now()
        session.connection().execute(
            update(ImportRecord.__table__).where(  # type: ignore[attr-defined]
                ImportRecord.__table__.c.id == record_id  # type: ignore[attr-defined]
            ).values(**values)
        )

    # ------------------------------------------------------------ one row

    def _reject(self, row: SourceRow, reason: str, *, conflict: bool = False) -> None:
        if conflict:
            self.summary.conflicts += 1
        else:
            self.summary.rejected += 1
        if not self.options.dry_run:
            self.rejects.add(row, reason)

    def _prepare(self, row: SourceRow) -> Prepared | None:
        """Map and validate one row, or reject it with the reason; no database work."""
        if self.restorer is not None and self.restorer.is_meta(row.values):
            self.restorer.remember_meta(row.values)
            return None
        self.summary.read += 1
        if row.problem is not None:
            self._reject(row, row.problem)
            return None
        try:
            if self.restorer is not None:
                case, doc = self.restorer.case_of(row.values)
                self.desk.rules.policy.channel(case.channel)
                Status(case.status)
                return Prepared(row, case, restore=doc)
            return self._prepare_mapped(row)
        except (BadValue, InvalidInput, PolicyError, ValueError) as exc:
            self._reject(row, str(exc))
            return None
        except (KeyError, TypeError, AttributeError) as exc:  # a record not shaped as exported
            self._reject(row, f"malformed record: {type(exc).__name__} {exc}")
            return None

    def _prepare_mapped(self, row: SourceRow) -> Prepared:
        mapped = map_row(self.profile, row.values)
        f = mapped.fields
        received = f.get("received_at")
        if received is None:
            raise InvalidInput("no received time")
        if received > self.now:
            raise InvalidInput(f"received time {received.isoformat()} is in the future")
        title, body = f.get("title") or "", f.get("body") or ""
        if not title and not body:
            raise InvalidInput("no title and no body")
        channel = f.get("channel") or self.channel
        if not channel:
            raise InvalidInput("no channel: the file has none; pass --channel")
        reply_text, replied_at = f.get("reply_text") or None, f.get("replied_at")
        if (reply_text is None) != (replied_at is None):
            missing = "reply time" if replied_at is None else "reply text"
            raise InvalidInput(f"a reply without its {missing}")
        if replied_at is not None and replied_at < received:
            raise InvalidInput(
                f"reply time {replied_at.isoformat()} is before the received time"
            )
        if replied_at is not None and replied_at > self.now:
            raise InvalidInput(f"reply time {replied_at.isoformat()} is in the future")
        data = NewCase(
            channel=channel, title=title, body=body, received_at=received,
            external_id=f.get("external_id"), author=f.get("author"), contact=f.get("contact"),
            addressee=f.get("addressee"), region=f.get("region"), category=f.get("category"),
            kind=f.get("kind"), urgency=f.get("urgency") or "normal",
            extra=mapped.extra or None,
        )
        validate_new_case(data, self.desk.rules)
        case = case_values(data, self.desk, self.actor, self.now, self.stamp, self.clocks)
        for name, limit in (("external_id", 100), ("author", 200), ("contact", 200),
                            ("addressee", 100), ("region", 100), ("category", 100)):
            value = getattr(case, name)
            if value is not None and len(value) > limit:
                raise InvalidInput(f"{name} is longer than {limit} characters")
        if replied_at is not None:
            case.status = Status.REPLIED.value
            case.assigned_at = replied_at
            case.replied_at = replied_at
            self.clocks.apply(case)
        return Prepared(row, case, reply_text, replied_at)

    # ------------------------------------------------------------ one batch

    def _classify(
        self, prepared: list[Prepared], known: dict[tuple[str, str], tuple[int | None, str]]
    ) -> list[Prepared]:
        """Split a batch into new rows, counting duplicates and reporting conflicts."""
        fresh: list[Prepared] = []
        for item in prepared:
            earlier = known.get(item.key)
            if earlier is None:
                known[item.key] = (None, item.print)
                fresh.append(item)
            elif earlier[1] == item.print:
                self.summary.duplicates += 1
                if self.restorer is not None:
                    self.restorer.note_existing(item.restore, earlier[0])
            else:
                where = f"case {earlier[0]}" if earlier[0] is not None else "an earlier row"
                self._reject(
                    item.row,
                    f"conflict: {where} has the key {item.key[0]}/{item.key[1]} with different "
                    "content; not overwritten",
                    conflict=True,
                )
        return fresh

    def _classify_dry(self, prepared: list[Prepared]) -> None:
        known: dict[tuple[str, str], tuple[int | None, str]] = {
            k: (None, v) for k, v in self.seen.items()
        }
        with self.store.session() as session:
            known.update(_existing(session, [p.key for p in prepared if p.key not in known]))
        fresh = self._classify(prepared, known)
        self._count_new(fresh)
        for item in fresh:
            self.seen[item.key] = item.print

    def _write_batch(self, session: Session, prepared: list[Prepared]) -> None:
        known = _existing(session, [p.key for p in prepared])
        fresh = self._classify(prepared, known)
        if not fresh:
            return
        self._count_new(fresh)
        if self.restorer is not None:
            self.restorer.insert(session, fresh)
            return
        if session.get_bind().dialect.name == "sqlite":
            self._write_sqlite(session, fresh)
            return
        ids = _insert_cases(session, [p.case for p in fresh])
        stamp = recorded_now()
        replies = [(cid, p) for cid, p in zip(ids, fresh, strict=True) if p.reply_text]
        reply_ids: dict[int, int] = {}
        if replies:
            table = ReplyRow.__table__  # type: ignore[attr-defined]
            session.connection().execute(
                insert(table),
                [
                    dict(case_id=cid, state="published", final=True, outcome=None,
                         text=p.reply_text, author_id=None, unit_id=None,
                         created_at=p.replied_at, updated_at=p.replied_at,
                         published_at=p.replied_at, review_note=None)
                    for cid, p in replies
                ],
            )
            # Imports add exactly one reply to each new case, so the case id finds it.
            for rid, cid in session.connection().execute(
                select(table.c.id, table.c.case_id).where(
                    table.c.case_id.in_([cid for cid, _ in replies])
                )
            ):
                reply_ids[cid] = rid
        events: list[dict[str, Any]] = []
        note = json.dumps({"import": self.summary.import_id}, ensure_ascii=False)
        for cid, item in zip(ids, fresh, strict=True):
            events.append(_event_row(cid, self.actor, Action.RECEIVE, None, Status.RECEIVED,
                                     item.case.received_at, stamp, detail=json.dumps(
                                         {"import": self.summary.import_id,
                                          "row": item.row.number})))
            if item.replied_at is None:
                continue
            why = "imported: the source file records the published reply only"
            at = item.replied_at
            events.append(_event_row(cid, self.actor, Action.ACCEPT, Status.RECEIVED,
                                     Status.ACCEPTED, at, stamp, reason=why, detail=note))
            events.append(_event_row(cid, self.actor, Action.ASSIGN, Status.ACCEPTED,
                                     Status.ASSIGNED, at, stamp, reason=why, detail=json.dumps(
                                         {"lead": None, "co_units": []})))
            events.append(_event_row(cid, self.actor, Action.PUBLISH, Status.ASSIGNED,
                                     Status.REPLIED, at, stamp, detail=json.dumps(
                                         {"reply": reply_ids[cid], "final": True,
                                          "outcome": None})))
        session.connection().execute(insert(EventRow.__table__), events)  # type: ignore[attr-defined]

    def _write_sqlite(self, session: Session, fresh: list[Prepared]) -> None:
        """The same rows as the portable path, as tuples on the driver's own connection.

        SQLAlchemy's per-value bind processing cost more than SQLite's inserting; here each
        datetime is converted once, the way the UTCDateTime column stores it, and the new ids
        are the consecutive rowids SQLite gives one executemany inside one write transaction
        (checked; the portable lookup by key is the fallback).
        """
        raw = session.connection().connection.driver_connection
        assert raw is not None
        cursor = raw.cursor()
        if not self.cache_sized:
            # A year's import updates a dozen indexes of a growing table: keep their upper
            # levels in memory (64 MB; SQLite's default is 2 MB) on this pooled connection.
            cursor.execute("PRAGMA cache_size = -65536")
            self.cache_sized = True
        if len(fresh) >= DEFER_SEARCH_AT and not self.search_deferred:
            self.search_deferred = defer_indexing(cursor)
        ids = _sqlite_insert(
            cursor, "cases", _CASE_COLUMNS, [_case_tuple(p.case) for p in fresh]
        )
        if ids is None:
            ids = _insert_ids(session, [p.case for p in fresh])
        stamp = _db_time(recorded_now())
        replies = [(cid, p) for cid, p in zip(ids, fresh, strict=True) if p.reply_text]
        reply_ids: dict[int, int] = {}
        if replies:
            rows = []
            for cid, p in replies:
                at = _db_time(p.replied_at)
                rows.append((cid, "published", 1, None, p.reply_text, None, None, at, at, at,
                             None))
            new_ids = _sqlite_insert(cursor, "replies", _REPLY_COLUMNS, rows)
            if new_ids is None:
                # Imports add exactly one reply to each new case, so the case id finds it.
                case_ids = [cid for cid, _ in replies]
                for start in range(0, len(case_ids), 500):
                    part = case_ids[start : start + 500]
                    reply_ids.update(cursor.execute(
                        f"SELECT case_id, id FROM replies WHERE case_id IN "
                        f"({', '.join('?' * len(part))})", part,
                    ).fetchall())
            else:
                reply_ids = {cid: rid for (cid, _), rid in zip(replies, new_ids, strict=True)}
        import_id = self.summary.import_id
        note = json.dumps({"import": import_id}, ensure_ascii=False)
        why = "imported: the source file records the published reply only"
        assign_detail = json.dumps({"lead": None, "co_units": []})
        actor = self.actor
        receive, accept, assign, publish = (
            Action.RECEIVE.value, Action.ACCEPT.value, Action.ASSIGN.value, Action.PUBLISH.value
        )
        received, accepted, assigned, replied = (
            Status.RECEIVED.value, Status.ACCEPTED.value, Status.ASSIGNED.value,
            Status.REPLIED.value,
        )
        events: list[tuple[Any, ...]] = []
        for cid, item in zip(ids, fresh, strict=True):
            events.append((cid, actor, receive, None, received, None,
                           f'{{"import": {json.dumps(import_id)}, "row": {item.row.number}}}',
                           _db_time(item.case.received_at), stamp))
            if item.replied_at is None:
                continue
            at = _db_time(item.replied_at)
            events.append((cid, actor, accept, received, accepted, why, note, at, stamp))
            events.append((cid, actor, assign, accepted, assigned, why, assign_detail, at, stamp))
            events.append((cid, actor, publish, assigned, replied, None, json.dumps(
                {"reply": reply_ids[cid], "final": True, "outcome": None}), at, stamp))
        cursor.executemany(_EVENT_INSERT, events)
        cursor.close()

    def _count_new(self, fresh: list[Prepared]) -> None:
        self.summary.imported += len(fresh)
        open_states = {s.value for s in OPEN_STATES}
        self.summary.overdue += sum(
            1 for p in fresh if p.case.status in open_states and p.case.next_due_at < self.now
        )


_CASE_COLUMNS: list[str] = [
    c.name for c in CaseRow.__table__.columns if c.name != "id"  # type: ignore[attr-defined]
]


_CASE_TIMES = frozenset(
    c.name for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
    if isinstance(c.type, UTCDateTime)
)
_CASE_FLAGS = frozenset(
    c.name for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
    if isinstance(c.type, Boolean)
)
_CASE_GET = attrgetter(*_CASE_COLUMNS)
_CASE_TIME_AT = tuple(i for i, name in enumerate(_CASE_COLUMNS) if name in _CASE_TIMES)
_CASE_FLAG_AT = tuple(i for i, name in enumerate(_CASE_COLUMNS) if name in _CASE_FLAGS)
_REPLY_COLUMNS = ["case_id", "state", "final", "outcome", "text", "author_id", "unit_id",
                  "created_at", "updated_at", "published_at", "review_note"]
_EVENT_INSERT = (
    "INSERT INTO events (case_id, actor, action, from_status, to_status, reason, detail, "
    "effective_at, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


_STORED: dict[datetime, str] = {}  # deadlines repeat: a day's cases share their due times


def _db_time(value: datetime | None) -> str | None:
    """An aware datetime as UTCDateTime stores it on SQLite (naive UTC, microseconds)."""
    if value is None:
        return None
    found = _STORED.get(value)
    if found is not None:
        return found
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime: it is ambiguous")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if len(_STORED) > 100_000:
        _STORED.clear()
    _STORED[value] = text
    return text


def _case_tuple(case: Any) -> tuple[Any, ...]:
    values = list(_CASE_GET(case))
    for i in _CASE_TIME_AT:
        values[i] = _db_time(values[i])
    for i in _CASE_FLAG_AT:
        if values[i] is not None:
            values[i] = int(bool(values[i]))
    return tuple(values)


def _sqlite_insert(
    cursor: Any, table: str, columns: list[str], rows: list[tuple[Any, ...]]
) -> list[int] | None:
    """executemany into `table`; the new ids if they are provably consecutive, else None."""
    before = cursor.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    marks = ", ".join("?" * len(columns))
    cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
    top, count = cursor.execute(
        f"SELECT max(id), count(*) FROM {table} WHERE id > ?", (before,)
    ).fetchone()
    if count == len(rows) and top == before + len(rows):
        return list(range(before + 1, top + 1))
    return None


def _insert_cases(session: Session, cases: list[Any]) -> list[int]:
    """Bulk INSERT (one executemany), then the new ids by key, in the order given.

    INSERT … RETURNING with guaranteed order makes SQLAlchemy send SQLite one statement a row;
    a plain executemany plus one indexed lookup of the batch's keys is several times faster.
    """
    table = CaseRow.__table__  # type: ignore[attr-defined]
    rows = [{name: getattr(case, name) for name in _CASE_COLUMNS} for case in cases]
    session.connection().execute(insert(table), rows)
    return _insert_ids(session, cases)


def _insert_ids(session: Session, cases: list[Any]) -> list[int]:
    """The ids of just-inserted cases, looked up by key, in the order given."""
    table = CaseRow.__table__  # type: ignore[attr-defined]
    connection = session.connection()
    ids: dict[tuple[str, str], int] = {}
    by_channel: dict[str, list[str]] = {}
    for case in cases:
        by_channel.setdefault(case.channel, []).append(case.external_id)
    for channel, external_ids in by_channel.items():
        for start in range(0, len(external_ids), 500):
            for cid, ext in connection.execute(
                select(table.c.id, table.c.external_id).where(
                    table.c.channel == channel,
                    table.c.external_id.in_(external_ids[start : start + 500]),
                )
            ):
                ids[(channel, ext)] = cid
    return [ids[(case.channel, case.external_id)] for case in cases]


_DEFAULTS: dict[str, Any] = {
    name: (None if info.is_required() else info.get_default(call_default_factory=True))
    for name, info in CaseRow.model_fields.items()
}


def case_values(
    data: NewCase, desk: Desk, actor: str, now: datetime, stamp: datetime,
    clocks: NewCaseClocks | None = None,
) -> Any:
    """What `build_case` makes, as plain attributes instead of an ORM object.

    The same fields and the same clocks (services.clocks computes both), at a tenth of the
    cost per row: constructing a SQLModel table object validates and instruments every field,
    which dominated a year's import. tests/services/test_import.py checks the two agree.
    """
    # Duck-typed: the clock functions read and set the same attributes a CaseRow has.
    case: Any = SimpleNamespace(**_DEFAULTS)
    case.id = None
    case.channel = data.channel
    case.external_id = (data.external_id or "").strip() or data.content_key()
    case.addressee, case.author, case.contact = data.addressee, data.author, data.contact
    case.title = data.title.strip() or data.body.strip()[:40]
    case.body = data.body
    case.received_at = data.received_at
    case.region, case.category, case.kind = data.region, data.category, data.kind
    case.urgency = data.urgency
    case.status = Status.RECEIVED.value
    case.assign_started_at = case.clock_started_at = data.received_at
    case.extra = json.dumps(data.extra, ensure_ascii=False) if data.extra else None
    case.version = 1
    case.created_at = case.updated_at = stamp
    case.updated_by = actor
    if clocks is None:
        apply_clocks(case, case_clocks(case, CaseRecords((), 0), desk.rules, now))
    else:
        clocks.apply(case)
    return case


def _event_row(
    case_id: int, actor: str, action: Action, from_status: Status | None, to_status: Status,
    at: datetime, stamp: datetime, *, reason: str | None = None, detail: str | None = None,
) -> dict[str, Any]:
    return dict(
        case_id=case_id, actor=actor, action=action.value,
        from_status=from_status.value if from_status else None, to_status=to_status.value,
        reason=reason, detail=detail, effective_at=at, recorded_at=stamp,
    )


def _existing(
    session: Session, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int | None, str]]:
    """Cases already stored under these keys: their id and content fingerprint."""
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in set(keys):
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], tuple[int | None, str]] = {}
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), 500):
            rows = session.connection().execute(
                select(  # type: ignore[call-overload]
                    CaseRow.id, CaseRow.external_id, CaseRow.title, CaseRow.body,
                    CaseRow.received_at, CaseRow.author, CaseRow.category,
                ).where(
                    CaseRow.channel == channel,
                    col(CaseRow.external_id).in_(ids[start : start + 500]),
                )
            ).all()
            for cid, ext, title, body, received, author, category in rows:
                found[(channel, ext)] = (cid, fingerprint(title, body, received, author, category))
    return found


def _chunks(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def _check_clerk(session: Session, name: str) -> tuple[str, Role]:
    actor, _ = resolve_actor(session, name)
    if actor.role is Role.HANDLER:
        raise InvalidInput(f"{name} is a unit handler; importing is bureau work")
    return actor.name, actor.role
