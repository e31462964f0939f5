"""Reading a file's rows into cases ready to store, in this process or in a second one.

`Preparer` maps, checks and computes the clocks of each row with no database work, so a large
file can be prepared by a second Python process (`python -m caseworker.services.imports.worker`)
while the importing process writes (services.imports.runner). Rows cross the pipe as the tuples
SQLite stores: plain tuples unpickle about ten times cheaper than objects.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from types import SimpleNamespace
from typing import IO, Any, NamedTuple

from sqlalchemy import Boolean

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import InvalidInput
from caseworker.domain.lifecycle import OPEN_STATES, Action, Status
from caseworker.domain.policy import FUTURE_TOLERANCE, PolicyError, years_before
from caseworker.domain.triage_repeats import Sketch, signature_key, sketches
from caseworker.services.cases import NewCase, validate_new_case
from caseworker.services.imports.fastclocks import NewCaseClocks
from caseworker.services.imports.mapping import Profile, RowMapper, fingerprint
from caseworker.services.imports.normalise import BadValue
from caseworker.services.imports.sources import Source, SourceError, SourceRow, open_source
from caseworker.services.repeats import Incoming
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow
from caseworker.store.types import UTCDateTime


class History(NamedTuple):
    """Where the source's own history of a row stands, beyond its receipt.

    `accepted_at` and `assigned_at` are the source's times when it has them; otherwise the
    import dates those steps itself (at the reply, or the close) and says so: `accept_imported`,
    `assign_imported`. `closed_by` is why the row is imported closed: "source" (its status or
    close time) or "reply" (a published reply ends a 留言板 message: policy
    imports.close_on_reply); None when it stays open.
    """

    status: str
    accepted_at: datetime | None
    assigned_at: datetime | None
    closed_at: datetime | None
    accept_imported: bool
    assign_imported: bool
    closed_by: str | None


@dataclass(slots=True)
class Prepared:
    """A row ready to insert: the case row, and the published reply the file recorded."""

    row: SourceRow
    case: Any  # a CaseRow's column values as attributes (see case_values)
    reply_text: str | None = None
    replied_at: datetime | None = None
    restore: dict[str, Any] | None = None  # a whole exported case (our own JSON Lines)
    history: History | None = None  # accepted, assigned, closed: what the source records
    key: tuple[str, str] = field(init=False)
    # The row as SQLite stores it (`case_tuple`); prepared in the reading process, which then
    # sends this instead of `case` (set to None): plain tuples cross the pipe ten times cheaper.
    db_row: tuple[Any, ...] | None = field(init=False, default=None)
    overdue: bool = field(init=False, default=False)  # already past a deadline on arrival
    old: bool = field(init=False, default=False)  # received before the policy's bound
    # The text key the repeat tests look up (triage_repeats.signature_key), computed here so
    # the writing process only stores it.
    signature: str | None = field(init=False, default=None)
    sketch: Sketch | None = field(init=False, default=None)  # of its pairs, computed here too
    _print: str | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.case is not None:
            self.key = (self.case.channel, self.case.external_id)

    def fingerprint(self) -> str:
        """The content fingerprint, computed only when another row has the same key."""
        if self._print is None:
            c = self.case
            if c is None:
                assert self.db_row is not None
                r = self.db_row
                received = datetime.fromisoformat(r[_RECEIVED_AT]).replace(tzinfo=UTC)
                self._print = fingerprint(r[_TITLE], r[_BODY], received, r[_AUTHOR], r[_CATEGORY])
            else:
                self._print = fingerprint(c.title, c.body, c.received_at, c.author, c.category)
        return self._print

    def is_overdue(self, now: datetime) -> bool:
        if self.case is None:
            return self.overdue
        return bool(self.case.status in _OPEN and self.case.next_due_at < now)

    def incoming(self, case_id: int) -> Incoming:
        """This row, written as case `case_id`, as the repeat tests read it (services.repeats)."""
        r, c = self.db_row, self.case
        if r is not None:
            title, body, author = r[_TITLE], r[_BODY], r[_AUTHOR]
            received: Any = r[_RECEIVED_AT]
            status, linked = r[_STATUS], r[_REPEAT_OF_ID] is not None
        else:
            title, body, author, status = c.title, c.body, c.author, c.status
            received = c.received_at.astimezone(UTC).replace(tzinfo=None)
            linked = getattr(c, "repeat_of_id", None) is not None
        key = self.signature or signature_key(title, body)
        return Incoming(
            case_id, received, author or None, key, status, linked, (title, body), self.sketch
        )

    def received_at_stored(self) -> str | None:
        return self.db_row[_RECEIVED_AT] if self.db_row else db_time(self.case.received_at)

    def wire(self) -> tuple[Any, ...]:
        """What crosses the pipe for this row (see PreparedBatch.__reduce__)."""
        r = self.row
        return (
            r.number,
            r.values,
            self.case,
            self.reply_text,
            self.replied_at,
            self.db_row,
            self.overdue,
            self.history,
            self.old,
            self.signature,
            None if self.sketch is None else tuple(self.sketch),
        )

    @classmethod
    def from_wire(
        cls,
        number: int,
        values: dict[str, Any],
        case: Any,
        reply_text: str | None,
        replied_at: datetime | None,
        db_row: tuple[Any, ...] | None,
        overdue: bool,
        history: History | None,
        old: bool,
        signature: str | None = None,
        sketch: tuple[int, bytes] | None = None,
    ) -> Prepared:
        item = cls.__new__(cls)
        item.history, item.old, item.signature = history, old, signature
        item.sketch = None if sketch is None else Sketch(*sketch)
        item.row, item.case, item.reply_text, item.replied_at = (
            SourceRow(number, values),
            case,
            reply_text,
            replied_at,
        )
        item.restore, item.db_row, item.overdue, item._print = None, db_row, overdue, None
        item.key = (
            (case.channel, case.external_id)
            if db_row is None
            else (db_row[_CHANNEL], db_row[_EXTERNAL_ID])
        )
        return item


@dataclass
class PreparedBatch:
    """One batch of rows read and prepared: the rows to write, the rejected ones with reasons."""

    prepared: list[Prepared] = field(default_factory=list)
    rejected: list[tuple[SourceRow, str]] = field(default_factory=list)
    read: int = 0
    position: tuple[int, int] = (0, 0)  # of the source after this batch, for the progress bar
    unmapped: list[str] = field(default_factory=list)  # columns first kept in extra here

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as plain tuples: the writing process (the slower one in a large import)
        unpickles a batch of objects about three times slower than the same values in tuples.
        """
        rejected = [
            (r.number, r.values, r.problem, r.problem_key, r.problem_params, why)
            for r, why in self.rejected
        ]
        return (
            _batch_from_wire,
            (
                self.read,
                self.position,
                rejected,
                [p.wire() for p in self.prepared],
                self.unmapped,
            ),
        )


def _batch_from_wire(
    read: int,
    position: tuple[int, int],
    rejected: list[tuple[Any, ...]],
    prepared: list[tuple[Any, ...]],
    unmapped: list[str] | None = None,
) -> PreparedBatch:
    return PreparedBatch(
        [Prepared.from_wire(*values) for values in prepared],
        [(SourceRow(*values[:5]), values[5]) for values in rejected],
        read,
        position,
        unmapped or [],
    )


class Preparer:
    """Reads rows into cases: mapping, checks, keys and clocks; no database work.

    Picklable, so a second process can prepare a large file's batches while this one writes.
    """

    def __init__(
        self,
        profile: Profile,
        channel: str | None,
        rules: Rules,
        actor: str,
        now: datetime,
        stamp: datetime,
        *,
        sqlite: bool = False,
        columns: list[str] | None = None,
        lang: str = "en",
        sketched: bool = True,
    ) -> None:
        if columns is not None:
            # A table's rows all have its header's columns (or fewer): fields none of whose
            # columns is there read as missing in every row, so skip looking for them.
            present = set(columns)
            profile = dataclasses.replace(
                profile,
                fields={
                    name: sources
                    for name, sources in profile.fields.items()
                    if any(c in present for c in sources)
                },
            )
        self.profile, self.channel, self.rules, self.actor = profile, channel, rules, actor
        self.now, self.stamp = now, stamp
        # The same instants in the zones rows are compared in: comparing times in one zone is
        # about twenty times cheaper than across zones, and it is done several times a row.
        self.now_in_file = now.astimezone(profile.zone)
        self.now_local = now.astimezone(SHANGHAI)  # deadlines are Shanghai times
        self.sqlite = sqlite  # also prepare each row as SQLite stores it
        self.lang = lang
        # The repeat sketches are stored with the cases; a dry run stores nothing, and skips
        # them (and numpy's memory with them).
        self.sketched = sketched
        self.clocks = NewCaseClocks(rules)
        self.map_row = RowMapper(profile, columns)
        self.reported: set[str] = set()  # unmapped columns already named to the writer
        imports = rules.policy.imports
        self.close_on_reply = profile.name in imports.close_on_reply
        # Times later than this cannot be right (more than a day ahead of now: refused);
        # received times earlier than `old_before` are accepted with a warning.
        self.latest = self.now_in_file + FUTURE_TOLERANCE
        self.old_before = years_before(self.now_in_file, imports.old_received_years)

    def reason(self, exc: Exception) -> str:
        """Why a row is rejected, in the language of the rejects file."""
        return reason_in(self.lang, exc)

    def batch(self, rows: list[SourceRow], position: tuple[int, int]) -> PreparedBatch:
        out = PreparedBatch(position=position)
        for row in rows:
            out.read += 1
            if row.problem is not None:
                out.rejected.append(
                    (
                        row,
                        reason_in(
                            self.lang,
                            InvalidInput(
                                row.problem, key=row.problem_key, **(row.problem_params or {})
                            ),
                        ),
                    )
                )
                continue
            try:
                out.prepared.append(self.prepare(row))
            except (BadValue, InvalidInput, PolicyError, ValueError) as exc:
                out.rejected.append((row, self.reason(exc)))
            except (KeyError, TypeError, AttributeError) as exc:  # not shaped as a record
                out.rejected.append((row, self.reason(malformed(exc))))
            except (OverflowError, RecursionError) as exc:  # a value past what Python computes
                out.rejected.append((row, self.reason(malformed(exc))))
        if self.sketched:
            self._sketch(out.prepared)
        seen = self.map_row.seen_unmapped
        if len(seen) > len(self.reported):
            out.unmapped = [c for c in seen if c not in self.reported]
            self.reported.update(out.unmapped)
        return out

    @staticmethod
    def _sketch(prepared: list[Prepared]) -> None:
        """The repeat sketches of a batch's rows, computed together (domain.triage_repeats)."""
        texts = []
        for item in prepared:
            r = item.db_row
            texts.append(
                (r[_TITLE], r[_BODY]) if r is not None else (item.case.title, item.case.body)
            )
        for item, found in zip(prepared, sketches(texts), strict=True):
            item.sketch = found

    def prepare(self, row: SourceRow) -> Prepared:
        """Map and check one row; raises with the reason it is rejected."""
        mapped = self.map_row(row.values)
        f = mapped.fields
        received = f.get("received_at")
        if received is None:
            raise InvalidInput("no received time", key="import.row.no_received")
        if received > self.latest:
            raise InvalidInput(
                f"received time {received.isoformat()} is more than a day in the future",
                key="import.history.future_received",
                time=received.isoformat(),
            )
        title, body = f.get("title") or "", f.get("body") or ""
        if not title and not body:
            raise InvalidInput("no title and no body", key="import.row.no_text")
        channel = f.get("channel") or self.channel
        if not channel:
            raise InvalidInput(
                "no channel: the file has none; pass --channel", key="import.row.no_channel"
            )
        reply_text, replied_at = f.get("reply_text") or None, f.get("replied_at")
        if (reply_text is None) != (replied_at is None):
            missing, key = (
                ("reply time", "import.row.reply_no_time")
                if replied_at is None
                else ("reply text", "import.row.reply_no_text")
            )
            raise InvalidInput(f"a reply without its {missing}", key=key)
        if replied_at is not None and replied_at < received:
            raise InvalidInput(
                f"reply time {replied_at.isoformat()} is before the received time",
                key="import.row.reply_before",
                time=replied_at.isoformat(),
            )
        if replied_at is not None and replied_at > self.latest:
            raise InvalidInput(
                f"reply time {replied_at.isoformat()} is more than a day in the future",
                key="import.history.future_reply",
                time=replied_at.isoformat(),
            )
        history = self.history(f, received, replied_at, mapped.extra)
        data = NewCase(
            channel=channel,
            title=title,
            body=body,
            received_at=received,
            external_id=f.get("external_id"),
            author=f.get("author"),
            contact=f.get("contact"),
            addressee=f.get("addressee"),
            region=f.get("region"),
            category=f.get("category"),
            kind=f.get("kind"),
            urgency=f.get("urgency") or "normal",
            extra=mapped.extra or None,
        )
        validate_new_case(data, self.rules)
        values = case_columns(data, self.actor, self.stamp, self.clocks, replied_at, history)
        if mapped.source:
            values[_SOURCE_TEXT] = _JSON_TEXT(mapped.source)
        for at, name, limit in _LIMITED:
            value = values[at]
            if value is not None and len(value) > limit:
                raise InvalidInput(
                    f"{name} is longer than {limit} characters",
                    key="import.row.too_long",
                    field=name,
                    limit=limit,
                )
        if self.sqlite:
            # Sent as the tuple SQLite stores, not as an object (see Prepared.db_row).
            prepared = Prepared(row, None, reply_text, replied_at, history=history)
            prepared.key = (values[_CHANNEL], values[_EXTERNAL_ID])
            prepared.overdue = values[_STATUS] in _OPEN and values[_NEXT_DUE_AT] < self.now_local
            prepared.db_row = stored_row(values)
        else:
            prepared = Prepared(row, _namespace(values), reply_text, replied_at, history=history)
            prepared.overdue = prepared.is_overdue(self.now_local)
        prepared.old = received < self.old_before
        prepared.signature = signature_key(values[_TITLE], values[_BODY])
        return prepared

    def history(
        self,
        f: dict[str, Any],
        received: datetime,
        replied_at: datetime | None,
        extra: dict[str, Any],
    ) -> History | None:
        """Where the row's own history stands: open, replied, or closed at the source's time.

        A row is closed when its source says so (a mapped status, or a close time without
        one), or, on a profile the policy names (imports.close_on_reply, the 留言板 by
        default), when it carries a published reply: that ends a message there (已办理).
        """
        status, closed_at = f.get("status"), f.get("closed_at")
        accepted_src, assigned_src = f.get("accepted_at"), f.get("assigned_at")
        closed_by: str | None = None
        if status == "closed" or (status is None and closed_at is not None):
            if closed_at is None:
                raise InvalidInput(
                    "closed in the source without a close time",
                    key="import.history.closed_no_time",
                )
            closed_by = "source"
        elif status is None and replied_at is not None and self.close_on_reply:
            closed_at, closed_by = replied_at, "reply"
        else:
            closed_at = None
        for name, at in (
            (Action.CLOSE, closed_at),
            (Action.ACCEPT, accepted_src),
            (Action.ASSIGN, assigned_src),
        ):
            if at is None:
                continue
            if at < received:
                raise InvalidInput(
                    f"{name.value} time {at.isoformat()} is before the received time",
                    key="import.history.before_received",
                    step=name,
                    time=at.isoformat(),
                )
            if at > self.latest:
                raise InvalidInput(
                    f"{name.value} time {at.isoformat()} is more than a day in the future",
                    key="import.history.future_step",
                    step=name,
                    time=at.isoformat(),
                )
        if closed_at is not None and replied_at is not None and replied_at > closed_at:
            raise InvalidInput(
                f"reply time {replied_at.isoformat()} is after the close time",
                key="import.history.reply_after_close",
                time=replied_at.isoformat(),
            )
        ends = [t for t in (replied_at, closed_at) if t is not None]
        if not ends:
            # Still open in the source: accepted if it says when; an assignment without a
            # unit to hold it stays in extra, as the source had it.
            if assigned_src is not None:
                extra["assigned_at"] = assigned_src.isoformat()
            if accepted_src is None and status is None:
                return None
            status_now = _ACCEPTED if accepted_src is not None else _RECEIVED
            return History(status_now, accepted_src, None, None, False, False, None)
        end = min(ends)
        assigned = assigned_src or end
        accepted = accepted_src or assigned
        if accepted > assigned or assigned > end:
            raise InvalidInput(
                "the source's accept, assign and reply or close times are out of order",
                key="import.history.out_of_order",
            )
        status_now = _CLOSED if closed_by else _REPLIED
        return History(
            status_now,
            accepted,
            assigned,
            closed_at,
            accepted_src is None,
            assigned_src is None,
            closed_by,
        )


def reason_in(lang: str, exc: BaseException) -> str:
    """A reject reason in `lang`: the exception's catalog key rendered, or its own text."""
    if lang == "en":
        return str(exc)
    from caseworker.i18n.catalog import Catalog

    return Catalog(lang).refusal(exc)


def malformed(exc: Exception) -> InvalidInput:
    """A record not shaped as its format says (a list where a table was expected, ...)."""
    return InvalidInput(
        f"malformed record: {type(exc).__name__} {exc}",
        key="import.row.malformed",
        error=f"{type(exc).__name__} {exc}",
    )


def prepare_file(
    out: IO[bytes], path: Path, fmt: str, encoding: str | None, preparer: Preparer, size: int
) -> None:
    """Read a file and write its prepared batches to `out` as pickles, then None (or the error).

    What the second process runs (services.imports.worker); its output is read by
    `batches_from_worker` in the process that writes.
    """
    try:
        source = open_source(path, fmt, encoding, named=False)
        try:
            for chunk in chunks(source.rows, size):
                batch = preparer.batch(chunk, source.position())
                for item in batch.prepared:
                    if item.db_row is not None:
                        item.case = None
                pickle.dump(batch, out, _PICKLE)
                out.flush()
        finally:
            source.close()
        pickle.dump(None, out, _PICKLE)
    except (SourceError, OSError) as exc:
        if isinstance(exc, BrokenPipeError):
            return  # the writer is gone (killed, or done with us): nothing to tell it
        # As plain values: an exception's pickle keeps only its message, not its key.
        params = getattr(exc, "params", None) or {"file": path.name, "why": str(exc)}
        key = getattr(exc, "key", None) or "import.source.os_error"
        pickle.dump(("error", str(exc), key, params), out, _PICKLE)
    out.flush()


_PICKLE = pickle.HIGHEST_PROTOCOL


def batches_from_worker(source: Source, preparer: Preparer, size: int) -> Iterator[PreparedBatch]:
    """Prepared batches from a second Python process reading the same file.

    A plain child process (`python -m caseworker.services.imports.worker`) rather than
    multiprocessing: it inherits no threads or connections and never re-imports the caller's
    main script. The pipe holds at most what one write has not yet taken, so the reader runs at
    most a batch ahead. Ctrl-C reaches both processes; a writer that dies closes the pipe and
    the reader's next write ends it too.
    """
    package_root = str(Path(__file__).resolve().parents[3])
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
    worker = subprocess.Popen(
        [sys.executable, "-m", "caseworker.services.imports.worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
    )
    assert worker.stdin is not None and worker.stdout is not None
    try:
        pickle.dump(
            (source.path, source.format, source.encoding, preparer, size), worker.stdin, _PICKLE
        )
        worker.stdin.close()
        while True:
            try:
                item = pickle.load(worker.stdout)
            except EOFError:
                raise SourceError(
                    f"{source.path.name}: the reading process stopped unexpectedly"
                ) from None
            if item is None:
                return
            if isinstance(item, tuple):
                _, message, key, params = item
                raise SourceError(message, key=key, **params)
            yield item
    finally:
        worker.stdout.close()
        if worker.poll() is None:
            worker.terminate()
        worker.wait()


CASE_COLUMNS: list[str] = [
    c.name
    for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
    if c.name != "id"
]


_CASE_TIMES = frozenset(
    c.name
    for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
    if isinstance(c.type, UTCDateTime)
)
_CASE_FLAGS = frozenset(
    c.name
    for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
    if isinstance(c.type, Boolean)
)
_CASE_GET = itemgetter(*CASE_COLUMNS)
_OPEN = frozenset(s.value for s in OPEN_STATES)
_CHANNEL, _EXTERNAL_ID, _RECEIVED_AT, _TITLE, _BODY, _AUTHOR, _CATEGORY = (
    CASE_COLUMNS.index(name)
    for name in ("channel", "external_id", "received_at", "title", "body", "author", "category")
)
_CASE_TIME_AT = tuple(i for i, name in enumerate(CASE_COLUMNS) if name in _CASE_TIMES)
_CASE_FLAG_AT = tuple(i for i, name in enumerate(CASE_COLUMNS) if name in _CASE_FLAGS)
_STORED: dict[datetime, str] = {}  # deadlines repeat: a day's cases share their due times


def db_time(value: datetime | None) -> str | None:
    """An aware datetime as UTCDateTime stores it on SQLite (naive UTC, microseconds)."""
    if value is None:
        return None
    found = _STORED.get(value)
    if found is not None:
        return found
    if value.tzinfo is None:
        raise ValueError("refusing to store a naive datetime: it is ambiguous")
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    if len(_STORED) > 20_000:  # a year of deadlines fits; each row's own times only churn
        _STORED.clear()
    _STORED[value] = text
    return text


def case_tuple(case: Any) -> tuple[Any, ...]:
    """A case's values (attributes, as case_values makes them) as SQLite stores them."""
    return stored_row(list(_CASE_GET(case.__dict__)))


def stored_row(values: list[Any]) -> tuple[Any, ...]:
    """Column values in CASE_COLUMNS order as SQLite stores them: times as text, flags as 0/1."""
    stored = _STORED.get
    for i in _CASE_TIME_AT:
        value = values[i]
        if value is not None:
            values[i] = stored(value) or db_time(value)
    for i in _CASE_FLAG_AT:
        if values[i] is not None:
            values[i] = int(bool(values[i]))
    return tuple(values)


_JSON_TEXT = json.JSONEncoder(ensure_ascii=False).encode  # one encoder, not one a call
_EXTRA_SEEN: dict[tuple[tuple[str, type, Any], ...], str] = {}


def _extra_json(extra: dict[str, Any]) -> str:
    """A row's extra fields as JSON; the common ones (vote counts) repeat, so remember them."""
    try:
        key = tuple((name, type(value), value) for name, value in extra.items())  # 1 ≠ True
        found = _EXTRA_SEEN.get(key)
    except TypeError:  # a list or a dict among the values: not hashable, encode it
        return _JSON_TEXT(extra)
    if found is None:
        found = _JSON_TEXT(extra)
        if len(_EXTRA_SEEN) < 10_000:
            _EXTRA_SEEN[key] = found
    return found


_RECEIVED, _ACCEPTED, _REPLIED, _CLOSED = (
    Status.RECEIVED.value,
    Status.ACCEPTED.value,
    Status.REPLIED.value,
    Status.CLOSED.value,
)


_DEFAULTS: dict[str, Any] = {
    name: (None if info.is_required() else info.get_default(call_default_factory=True))
    for name, info in CaseRow.model_fields.items()
}


def case_values(
    data: NewCase,
    rules: Rules,
    actor: str,
    stamp: datetime,
    clocks: NewCaseClocks | None = None,
) -> Any:
    """What `build_case` makes, as plain attributes instead of an ORM object.

    The same fields and the same clocks, at a tenth of the cost per row: constructing a
    SQLModel table object validates and instruments every field, which dominated a year's
    import. tests/services/test_import.py checks the two agree.
    """
    return _namespace(case_columns(data, actor, stamp, clocks or NewCaseClocks(rules)))


def case_columns(
    data: NewCase,
    actor: str,
    stamp: datetime,
    clocks: NewCaseClocks,
    replied_at: datetime | None = None,
    history: History | None = None,
) -> list[Any]:
    """A new case's column values in CASE_COLUMNS order; with `replied_at`, a case whose
    published reply the file records (replied, its assign and reply clocks stopped then);
    with `history`, the status and step times the source records (closed: every clock
    stopped)."""
    values = list(_TEMPLATE)
    received = data.received_at
    if history is None:
        status = _RECEIVED if replied_at is None else _REPLIED
        assigned_at = replied_at
        closed_at = None
    else:
        status, assigned_at, closed_at = history.status, history.assigned_at, history.closed_at
        values[_ASSIGN_IMPORTED] = history.assign_imported
    values[_CHANNEL] = channel = data.channel
    values[_EXTERNAL_ID] = (data.external_id or "").strip() or data.content_key()
    values[_ADDRESSEE], values[_AUTHOR], values[_CONTACT] = (
        data.addressee,
        data.author,
        data.contact,
    )
    values[_TITLE] = data.title.strip() or data.body.strip()[:40]
    values[_BODY] = data.body
    values[_RECEIVED_AT] = values[_ASSIGN_STARTED_AT] = values[_CLOCK_STARTED_AT] = received
    values[_REGION], values[_CATEGORY], values[_KIND] = data.region, data.category, data.kind
    values[_URGENCY] = data.urgency
    values[_STATUS] = status
    values[_ASSIGNED_AT], values[_REPLIED_AT], values[_CLOSED_AT] = (
        assigned_at,
        replied_at,
        closed_at,
    )
    values[_EXTRA] = _extra_json(data.extra) if data.extra else None
    values[_CREATED_AT] = values[_UPDATED_AT] = stamp
    values[_UPDATED_BY] = actor
    values[_ASSIGN_DUE_AT : _WARN_AT + 1] = clocks.columns(
        channel,
        data.kind,
        data.urgency,
        status,
        received,
        received,
        assigned_at,
        replied_at,
        closed_at,
    )
    return values


def _namespace(values: list[Any]) -> Any:
    # Duck-typed: the clock functions and the portable insert read the attributes a CaseRow has.
    case = SimpleNamespace(**dict(zip(CASE_COLUMNS, values, strict=True)))
    case.id = None
    return case


_TEMPLATE = [_DEFAULTS[name] for name in CASE_COLUMNS]
_REPEAT_OF_ID = CASE_COLUMNS.index("repeat_of_id")
(
    _ADDRESSEE,
    _CONTACT,
    _REGION,
    _KIND,
    _URGENCY,
    _STATUS,
    _ASSIGN_STARTED_AT,
    _CLOCK_STARTED_AT,
    _ASSIGNED_AT,
    _REPLIED_AT,
    _CLOSED_AT,
    _ASSIGN_IMPORTED,
    _SOURCE_TEXT,
    _ASSIGN_DUE_AT,
    _WARN_AT,
    _NEXT_DUE_AT,
    _EXTRA,
    _CREATED_AT,
    _UPDATED_AT,
    _UPDATED_BY,
) = (
    CASE_COLUMNS.index(name)
    for name in (
        "addressee",
        "contact",
        "region",
        "kind",
        "urgency",
        "status",
        "assign_started_at",
        "clock_started_at",
        "assigned_at",
        "replied_at",
        "closed_at",
        "assign_imported",
        "source_text",
        "assign_due_at",
        "warn_at",
        "next_due_at",
        "extra",
        "created_at",
        "updated_at",
        "updated_by",
    )
)
# The clock columns, in the order NewCaseClocks.columns gives them.
assert CASE_COLUMNS[_ASSIGN_DUE_AT : _WARN_AT + 1] == [
    "assign_due_at",
    "reply_due_at",
    "close_due_at",
    "provisional",
    "next_due_at",
    "warn_at",
]
_LIMITED = tuple(
    (CASE_COLUMNS.index(name), name, limit)
    for name, limit in (
        ("external_id", 100),
        ("author", 200),
        ("contact", 200),
        ("addressee", 100),
        ("region", 100),
        ("category", 100),
    )
)


def chunks(rows: Iterator[SourceRow], size: int) -> Iterator[list[SourceRow]]:
    while chunk := list(islice(rows, size)):
        yield chunk
