"""Running one import: rows in, batches of cases out, every row accounted for.

Rows are mapped and validated in memory, then written a batch at a time (default 5,000) in one
transaction each, with bulk INSERTs rather than one ORM object per row. Existing keys are looked
up once per batch. The import's record is updated inside the same transaction as its batch, so
after an interruption the database and the record agree, and running the same command again
finds the committed rows as known duplicates and finishes the rest.

Reading, mapping and checking a row (services.imports.prepare) costs about as much as writing
it, so a large file is read and prepared in a second process while this one writes: the batches
arrive in file order over a pipe, so counts, rejects and ids are exactly those of preparing
inline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import socket
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, update
from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.domain.errors import DomainError, InvalidInput
from caseworker.domain.lifecycle import Action, Role, Status
from caseworker.domain.policy import PolicyError
from caseworker.services.cases import Desk
from caseworker.services.imports.bulk import insert_cases, insert_ids
from caseworker.services.imports.mapping import (
    MappingError,
    Profile,
    choose_profile,
    fingerprint,
    load_mapping,
)
from caseworker.services.imports.normalise import BadValue
from caseworker.services.imports.prepare import (
    CASE_COLUMNS,
    History,
    Prepared,
    PreparedBatch,
    Preparer,
    batches_from_worker,
    case_tuple,
    chunks,
    db_time,
    malformed,
)
from caseworker.services.imports.rejects import RejectsWriter, default_rejects_path, reading_of
from caseworker.services.imports.sources import (
    Source,
    SourceError,
    SourceRow,
    open_source,
)
from caseworker.services.people import resolve_actor
from caseworker.services.repeats import PairCache, mark_new
from caseworker.services.search_backlog import backlog, defer_indexing
from caseworker.store.audit import Chain
from caseworker.store.engine import Store, StoreMoment, import_stopped, store_failure
from caseworker.store.models import CaseRow, EventRow, ImportRecord, ReplyRow

# A batch at least this large leaves its cases' search indexing to services.search_backlog:
# the trigram index costs more per row than everything else the import writes.
DEFER_SEARCH_AT = 1000
# A file at least this large (bytes) is prepared in a second process when there are two cores.
PARALLEL_AT = 16 << 20

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
    parallel: bool | None = None  # prepare rows in a second process; None: by file size
    lang: str = "en"  # the language of the reasons written to the rejects file


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
    closed: int = 0  # imported closed: closed in the source, or ended by a published reply
    old: int = 0  # imported, received longer ago than the policy's bound (old_received_years)
    old_years: int = 10
    unmapped: list[str] = field(default_factory=list)  # columns kept in extra under their header
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
        if self.closed:
            text += f"; {self.closed} imported closed"
        if self.old:
            text += f"; {self.old} received over {self.old_years} years ago: check their dates"
        if self.unmapped:
            text += f"; columns kept in extra: {', '.join(self.unmapped)}"
        if self.rejects_path:
            text += f"; rejects in {self.rejects_path}"
        return text


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _failed(exc: Exception, path: Path) -> ImportFailed:
    """The file could not be read: the reason, with its catalog key when it has one."""
    key = getattr(exc, "key", None)
    if key is None:  # an OSError: permissions, a folder given as a file, a vanished disk
        why = getattr(exc, "strerror", None) or str(exc)
        return ImportFailed(
            f"{path.name}: {why}", key="import.source.os_error", file=path.name, why=why
        )
    return ImportFailed(str(exc), key=key, **getattr(exc, "params", {}))


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
        raise _failed(exc, path) from None
    try:
        try:
            profile = (
                load_mapping(options.mapping)
                if options.mapping
                else choose_profile(source.columns, source.first)
            )
        except MappingError as exc:
            raise ImportFailed(
                f"{path.name}: {exc}", key=exc.key, file=path.name, **exc.params
            ) from None
        profile = reading_of(profile, source)
        return _Run(store, desk, source, profile, options, progress).run()
    finally:
        source.close()


class _Run:
    """The state of one import while it runs."""

    def __init__(
        self,
        store: Store,
        desk: Desk,
        source: Source,
        profile: Profile,
        options: ImportOptions,
        progress: Progress | None,
    ) -> None:
        self.store, self.desk, self.source, self.profile = store, desk, source, profile
        self.options, self.progress = options, progress
        self.actor = f"import:{source.path.name}"
        self.channel = options.channel or profile.channel
        if self.channel is not None:
            try:
                desk.rules.policy.channel(self.channel)
            except PolicyError as exc:
                raise InvalidInput(
                    str(exc),
                    key="refused.import.channel",
                    channel=self.channel,
                    known=list(desk.rules.policy.channels),
                ) from None
        self.summary = ImportSummary(
            file=source.path.name,
            format=source.format,
            profile=profile.name,
            dry_run=options.dry_run,
            old_years=desk.rules.policy.imports.old_received_years,
        )
        rejects_path = options.rejects or default_rejects_path(source)
        if options.rejects is not None and options.rejects.is_dir():
            rejects_path = options.rejects / default_rejects_path(source).name
        elif options.rejects is None and not os.access(rejects_path.parent, os.W_OK):
            # A read-only folder (a shared drive, a mounted export): use the working folder;
            # the summary line names the file either way.
            rejects_path = Path.cwd() / rejects_path.name
        self.rejects = RejectsWriter(source, rejects_path, guarded=profile.unquote)
        self.seen: dict[tuple[str, str], str] = {}  # dry run only: keys of earlier batches
        self.now = desk.now()
        self.preparer = Preparer(
            profile,
            self.channel,
            desk.rules,
            self.actor,
            self.now,
            recorded_now(),
            sqlite=store.engine.dialect.name == "sqlite",
            columns=source.columns if source.format in ("csv", "xlsx") else None,
            lang=options.lang,
            sketched=not options.dry_run,
        )
        self.search_deferred = False
        self.cache_sized = False
        self.pairs = PairCache()  # the repeat tests' pair sets, kept across this run's batches
        self.restorer: Any = None
        if profile.own_export:
            from caseworker.services.imports.restore import Restorer

            self.restorer = Restorer(self.actor, source.path.name)

    # ------------------------------------------------------------ the loop

    def run(self) -> ImportSummary:
        with self.store.session() as session:
            _, clerk_role = _check_clerk(session, self.desk.clerk)
            if self.restorer is not None:
                self._restore_or_import(session)
        record_id = None if self.options.dry_run else self._start_record()
        self.summary.import_id = record_id
        if not self.options.dry_run and self.rejects.path.exists():
            self.rejects.path.unlink()  # a stale file from an earlier run of the same input
        written = kept = 0
        batches = self._batches()
        try:
            for batch in batches:
                prepared = self._take(batch)
                if self.options.dry_run:
                    self._classify_dry(prepared)
                else:
                    with self.store.session() as session:
                        self._write_batch(session, prepared)
                        self._save_counts(session, record_id, "running")
                    written, kept = written + 1, self.summary.imported
                self.rejects.flush()
                if self.progress is not None:
                    self.progress(self.summary.read, *batch.position)
                stop_after = self.options.interrupt_after
                if stop_after is not None and written >= stop_after:
                    raise SimulatedInterrupt()
            if self.restorer is not None and not self.options.dry_run:
                with self.store.session() as session:
                    self.restorer.finish(session)
        except BaseException as exc:
            batches.close()  # a second process, if any, stops here
            self.rejects.close()
            if record_id is not None:
                # The batch in flight was rolled back. The record's counts were saved with each
                # committed batch, in its transaction, so they are what the database holds
                # (an interrupt just after a commit included): only the outcome is added.
                status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
                # An interrupt inside the driver can leave its connection holding the write
                # lock; close every pooled connection before recording the outcome.
                self.store.engine.dispose()
                try:
                    with self.store.session() as session:
                        self._save_outcome(session, record_id, status)
                except Exception as again:  # a full disk may refuse this too; say the first
                    if store_failure(again) is None:
                        raise
            if isinstance(exc, SourceError):
                raise _failed(exc, self.source.path) from None
            failure = store_failure(exc, moment=StoreMoment.STOPPED)
            if failure is not None:
                raise import_stopped(failure, kept) from None
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
            host=socket.gethostname(),
            pid=os.getpid(),
            heartbeat_at=recorded_now(),
        )
        with self.store.session() as session:
            session.add(record)
            session.flush()
            assert record.id is not None
            return record.id

    def _save_outcome(self, session: Session, record_id: int, status: str) -> None:
        table = ImportRecord.__table__  # type: ignore[attr-defined]
        session.connection().execute(
            update(table)
            .where(table.c.id == record_id)
            .values(status=status, finished_at=self.desk.now())
        )

    def _save_counts(self, session: Session, record_id: int | None, status: str) -> None:
        if record_id is None:
            return
        s = self.summary
        values: dict[str, Any] = dict(
            status=status,
            read=s.read,
            imported=s.imported,
            duplicates=s.duplicates,
            conflicts=s.conflicts,
            rejected=s.rejected,
            rejects_path=str(self.rejects.path) if self.rejects.count else None,
            heartbeat_at=recorded_now(),  # real time, even under a frozen clock
        )
        if status != "running":
            values["finished_at"] = self.desk.now()
        session.connection().execute(
            update(ImportRecord.__table__)  # type: ignore[attr-defined]
            .where(ImportRecord.__table__.c.id == record_id)  # type: ignore[attr-defined]
            .values(**values)
        )

    # ------------------------------------------------------------ one row

    def _reject(self, row: SourceRow, reason: str, *, conflict: bool = False) -> None:
        if conflict:
            self.summary.conflicts += 1
        else:
            self.summary.rejected += 1
        if not self.options.dry_run:
            self.rejects.add(row, reason)

    def _restore_or_import(self, session: Session) -> None:
        """Our own export restores in full into a store with no case yet (a supervisor's
        task), and imports as plain cases anywhere else (services.imports.restore)."""
        from caseworker.services.imports.restore import as_plain_cases, mark_pending, restore_mode

        name = self.source.path.name
        if restore_mode(session, self.desk.clerk, name):
            if not self.options.dry_run:
                from caseworker.services.admin import record

                mark_pending(session, name)
                record(session, self.desk.clerk, "restore", name, None, {"file": name})
            return
        self.restorer = None
        self.preparer, self.source.rows = as_plain_cases(self.preparer, self.source.rows)
        self.options = dataclasses.replace(self.options, parallel=False)

    def _batches(self) -> Generator[PreparedBatch, None, None]:
        """The file's rows, read and prepared a batch at a time, here or in a second process."""
        size = self.options.batch_size
        if self.restorer is not None:
            for chunk in chunks(self.source.rows, size):
                yield self._restore_batch(chunk)
        elif self._in_worker():
            yield from batches_from_worker(self.source, self.preparer, size)
        else:
            for chunk in chunks(self.source.rows, size):
                yield self.preparer.batch(chunk, self.source.position())

    def _in_worker(self) -> bool:
        if self.options.parallel is not None:
            return self.options.parallel
        try:
            size = self.source.path.stat().st_size
        except OSError:
            return False
        return size >= PARALLEL_AT and (os.cpu_count() or 1) > 1

    def _restore_batch(self, rows: list[SourceRow]) -> PreparedBatch:
        """Our own JSON Lines export: whole cases with their history (services.imports.restore)."""
        out = PreparedBatch(position=self.source.position())
        for row in rows:
            if self.restorer.is_meta(row.values):
                self.restorer.remember_meta(row.values)
                continue
            out.read += 1
            if row.problem is not None:
                out.rejected.append(
                    (
                        row,
                        self.preparer.reason(
                            InvalidInput(
                                row.problem, key=row.problem_key, **(row.problem_params or {})
                            )
                        ),
                    )
                )
                continue
            try:
                case, doc = self.restorer.case_of(row.values)
                self.desk.rules.policy.channel(case.channel)
                Status(case.status)
                out.prepared.append(Prepared(row, case, restore=doc))
            except (BadValue, InvalidInput, PolicyError, ValueError) as exc:
                out.rejected.append((row, self.preparer.reason(exc)))
            except (KeyError, TypeError, AttributeError) as exc:  # not shaped as exported
                out.rejected.append((row, self.preparer.reason(malformed(exc))))
        return out

    def _take(self, batch: PreparedBatch) -> list[Prepared]:
        """Count a prepared batch's rows and send its rejected ones to the rejects file."""
        self.summary.read += batch.read
        self.summary.unmapped.extend(batch.unmapped)
        for row, reason in batch.rejected:
            self._reject(row, reason)
        return batch.prepared

    # ------------------------------------------------------------ one batch

    def _classify(
        self, prepared: list[Prepared], known: dict[tuple[str, str], Known]
    ) -> list[Prepared]:
        """Split a batch into new rows, counting duplicates and reporting conflicts."""
        fresh: list[Prepared] = []
        for item in prepared:
            earlier = known.get(item.key)
            if earlier is None:
                known[item.key] = (None, item)
                fresh.append(item)
            elif _print_of(earlier[1]) == item.fingerprint():
                self.summary.duplicates += 1
                if self.restorer is not None:
                    self.restorer.note_existing(item.restore, earlier[0])
            else:
                where = f"case {earlier[0]}" if earlier[0] is not None else "an earlier row"
                clash = InvalidInput(
                    f"conflict: {where} has the key {item.key[0]}/{item.key[1]} with different "
                    "content; not overwritten",
                    key="import.row.conflict_case"
                    if earlier[0] is not None
                    else "import.row.conflict_row",
                    case=earlier[0],
                    channel=item.key[0],
                    external_id=item.key[1],
                )
                self._reject(item.row, self.preparer.reason(clash), conflict=True)
        return fresh

    def _classify_dry(self, prepared: list[Prepared]) -> None:
        known: dict[tuple[str, str], Known] = {k: (None, v) for k, v in self.seen.items()}
        with self.store.session() as session:
            known.update(_existing(session, [p.key for p in prepared if p.key not in known]))
        fresh = self._classify(prepared, known)
        self._count_new(fresh)
        for item in fresh:
            self.seen[item.key] = item.fingerprint()

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
            ids = self._write_sqlite(session, fresh)
            self._mark_repeats(session, ids, fresh)
            return
        ids = insert_cases(session, [p.case for p in fresh])
        stamp = recorded_now()
        replies = [(cid, p) for cid, p in zip(ids, fresh, strict=True) if p.reply_text]
        reply_ids: dict[int, int] = {}
        if replies:
            table = ReplyRow.__table__  # type: ignore[attr-defined]
            session.connection().execute(
                insert(table),
                [
                    dict(
                        case_id=cid,
                        state="published",
                        final=True,
                        outcome=None,
                        text=p.reply_text,
                        author_id=None,
                        unit_id=None,
                        created_at=p.replied_at,
                        updated_at=p.replied_at,
                        published_at=p.replied_at,
                        review_note=None,
                    )
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
        for cid, item in zip(ids, fresh, strict=True):
            events.append(
                _event_row(
                    cid,
                    self.actor,
                    Action.RECEIVE,
                    None,
                    Status.RECEIVED,
                    item.case.received_at,
                    stamp,
                    detail=json.dumps({"import": self.summary.import_id, "row": item.row.number}),
                )
            )
            steps = history_events(item, reply_ids.get(cid), self.summary.import_id)
            for action, before, after, when, reason, detail in steps:
                events.append(
                    _event_row(
                        cid,
                        self.actor,
                        action,
                        before,
                        after,
                        when,
                        stamp,
                        reason=reason,
                        detail=detail,
                    )
                )
        # Every case here is new, so each chain starts afresh (store/audit.py).
        Chain().seal_rows(events)
        session.connection().execute(insert(EventRow.__table__), events)  # type: ignore[attr-defined]
        self._mark_repeats(session, ids, fresh)

    def _mark_repeats(self, session: Session, ids: list[int], fresh: list[Prepared]) -> None:
        """Store the new cases' text keys (computed where they were read) and mark repeats."""
        new = [item.incoming(cid) for cid, item in zip(ids, fresh, strict=True)]
        mark_new(session, new, actor=self.actor, cache=self.pairs)

    def _write_sqlite(self, session: Session, fresh: list[Prepared]) -> list[int]:
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
            cursor,
            "cases",
            CASE_COLUMNS,
            [p.db_row if p.db_row is not None else case_tuple(p.case) for p in fresh],
        )
        if ids is None:
            ids = insert_ids(session, [p.key for p in fresh])
        stamp = db_time(recorded_now())
        replies = [(cid, p) for cid, p in zip(ids, fresh, strict=True) if p.reply_text]
        reply_ids: dict[int, int] = {}
        if replies:
            rows = []
            for cid, p in replies:
                at = db_time(p.replied_at)
                rows.append((cid, "published", 1, None, p.reply_text, None, None, at, at, at, None))
            new_ids = _sqlite_insert(cursor, "replies", _REPLY_COLUMNS, rows)
            if new_ids is None:
                # Imports add exactly one reply to each new case, so the case id finds it.
                case_ids = [cid for cid, _ in replies]
                for start in range(0, len(case_ids), 500):
                    part = case_ids[start : start + 500]
                    reply_ids.update(
                        cursor.execute(
                            f"SELECT case_id, id FROM replies WHERE case_id IN "
                            f"({', '.join('?' * len(part))})",
                            part,
                        ).fetchall()
                    )
            else:
                reply_ids = {cid: rid for (cid, _), rid in zip(replies, new_ids, strict=True)}
        import_id = self.summary.import_id
        actor = self.actor
        receive, received = Action.RECEIVE.value, Status.RECEIVED.value
        events: list[tuple[Any, ...]] = []
        source = f'{{"import": {json.dumps(import_id)}, "row": '  # + the row's number + }
        for cid, item in zip(ids, fresh, strict=True):
            events.append(
                (
                    cid,
                    actor,
                    receive,
                    None,
                    received,
                    None,
                    f"{source}{item.row.number}}}",
                    item.received_at_stored(),
                    stamp,
                )
            )
            if item.replied_at is None and item.history is None:
                continue
            for action, before, after, when, reason, detail in history_events(
                item, reply_ids.get(cid), import_id
            ):
                events.append(
                    (
                        cid,
                        actor,
                        action.value,
                        before.value if before else None,
                        after.value,
                        reason,
                        detail,
                        db_time(when),
                        stamp,
                    )
                )
        cursor.executemany(_EVENT_INSERT, Chain().seal_tuples(events))  # new cases: new chains
        cursor.close()
        return ids

    def _count_new(self, fresh: list[Prepared]) -> None:
        self.summary.imported += len(fresh)
        self.summary.overdue += sum(1 for p in fresh if p.is_overdue(self.now))
        self.summary.closed += sum(
            1 for p in fresh if p.history is not None and p.history.closed_by is not None
        )
        self.summary.old += sum(1 for p in fresh if p.old)


_DATED_BY_IMPORT = "imported: the source has no time for this step; dated at the {when}"
_CLOSED_BY = {
    "reply": "imported: a published reply ends a message-board message (policy "
    "imports.close_on_reply)",
    "source": "imported: the source records the case closed at this time",
}

HistoryEvent = tuple[Action, "Status | None", Status, datetime, "str | None", "str | None"]


def history_events(
    item: Prepared, reply_id: int | None, import_id: int | None
) -> list[HistoryEvent]:
    """The events after receipt of an imported row's history, oldest first.

    Acceptance and assignment are dated from the source where it has their times; where it
    has not, at the reply (or the close) and marked as dated by the import (their detail says
    "dated_by": "import"), which 及时受理率 leaves out. A row closed in its source, or ended by
    its published reply (policy imports.close_on_reply), gets its close event too.
    """
    h = item.history
    if h is None:  # nothing after receipt, or a replied row as earlier imports read it
        if item.replied_at is None:
            return []
        at = item.replied_at
        h = History(Status.REPLIED.value, at, at, None, True, True, None)
    out: list[HistoryEvent] = []
    if h.accepted_at is None:
        return out
    end = "reply" if item.replied_at is not None else "close"
    out.append(
        (
            Action.ACCEPT,
            Status.RECEIVED,
            Status.ACCEPTED,
            h.accepted_at,
            _DATED_BY_IMPORT.format(when=end) if h.accept_imported else None,
            json.dumps(
                {"import": import_id, "dated_by": "import" if h.accept_imported else "source"}
            ),
        )
    )
    if h.assigned_at is None:
        return out
    out.append(
        (
            Action.ASSIGN,
            Status.ACCEPTED,
            Status.ASSIGNED,
            h.assigned_at,
            _DATED_BY_IMPORT.format(when=end) if h.assign_imported else None,
            json.dumps(
                {
                    "lead": None,
                    "co_units": [],
                    "dated_by": "import" if h.assign_imported else "source",
                }
            ),
        )
    )
    last = Status.ASSIGNED
    if item.replied_at is not None:
        out.append(
            (
                Action.PUBLISH,
                Status.ASSIGNED,
                Status.REPLIED,
                item.replied_at,
                None,
                json.dumps({"reply": reply_id, "final": True, "outcome": None}),
            )
        )
        last = Status.REPLIED
    if h.closed_by is not None and h.closed_at is not None:
        out.append(
            (
                Action.CLOSE,
                last,
                Status.CLOSED,
                h.closed_at,
                _CLOSED_BY[h.closed_by],
                json.dumps({"import": import_id, "closed_by": h.closed_by}),
            )
        )
    return out


_REPLY_COLUMNS = [
    "case_id",
    "state",
    "final",
    "outcome",
    "text",
    "author_id",
    "unit_id",
    "created_at",
    "updated_at",
    "published_at",
    "review_note",
]
_EVENT_INSERT = (
    "INSERT INTO events (case_id, actor, action, from_status, to_status, reason, detail, "
    "effective_at, recorded_at, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


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


def _event_row(
    case_id: int,
    actor: str,
    action: Action,
    from_status: Status | None,
    to_status: Status,
    at: datetime,
    stamp: datetime,
    *,
    reason: str | None = None,
    detail: str | None = None,
) -> dict[str, Any]:
    return dict(
        case_id=case_id,
        actor=actor,
        action=action.value,
        from_status=from_status.value if from_status else None,
        to_status=to_status.value,
        reason=reason,
        detail=detail,
        effective_at=at,
        recorded_at=stamp,
    )


# A key already met: the stored case's id (None for an earlier row of this file) and the
# content fingerprint, or the earlier row itself, whose fingerprint is computed on a clash.
Known = tuple[int | None, "str | Prepared"]


def _print_of(earlier: str | Prepared) -> str:
    return earlier if isinstance(earlier, str) else earlier.fingerprint()


def _existing(session: Session, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Known]:
    """Cases already stored under these keys: their id and content fingerprint."""
    by_channel: dict[str, list[str]] = {}
    for channel, external_id in set(keys):
        by_channel.setdefault(channel, []).append(external_id)
    found: dict[tuple[str, str], Known] = {}
    for channel, ids in by_channel.items():
        for start in range(0, len(ids), 500):
            for cid, ext, title, body, received, author, category in _stored(
                session, channel, ids[start : start + 500]
            ):
                found[(channel, ext)] = (cid, fingerprint(title, body, received, author, category))
    return found


def _stored(session: Session, channel: str, ids: list[str]) -> list[tuple[Any, ...]]:
    """id, external id and the fingerprinted fields of the stored cases with these keys."""
    if session.get_bind().dialect.name != "sqlite":
        return list(
            session.connection()
            .execute(
                select(  # type: ignore[call-overload]
                    CaseRow.id,
                    CaseRow.external_id,
                    CaseRow.title,
                    CaseRow.body,
                    CaseRow.received_at,
                    CaseRow.author,
                    CaseRow.category,
                ).where(CaseRow.channel == channel, col(CaseRow.external_id).in_(ids))
            )
            .all()
        )
    # On the driver's cursor, like the inserts (_write_sqlite): building a 500-value IN through
    # SQLAlchemy cost more than SQLite's looking the keys up. Times as UTCDateTime reads them.
    raw = session.connection().connection.driver_connection
    assert raw is not None
    rows = raw.execute(
        "SELECT id, external_id, title, body, received_at, author, category FROM cases"
        f" WHERE channel = ? AND external_id IN ({', '.join('?' * len(ids))})",
        [channel, *ids],
    ).fetchall()
    return [
        (
            cid,
            ext,
            title,
            body,
            datetime.fromisoformat(received).replace(tzinfo=UTC),
            author,
            category,
        )
        for cid, ext, title, body, received, author, category in rows
    ]


def _check_clerk(session: Session, name: str) -> tuple[str, Role]:
    actor, _ = resolve_actor(session, name)
    if actor.role is Role.HANDLER:
        raise InvalidInput(
            f"{name} is a unit handler; importing is bureau work",
            key="refused.import.handler",
            clerk=name,
        )
    return actor.name, actor.role
