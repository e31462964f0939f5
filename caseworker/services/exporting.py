"""Getting cases back out: JSON Lines with everything attached, or one row a case in CSV/XLSX.

Cases are read in pages of `PAGE` by id (keyset paging) and written as they are read, so
exporting a million cases never holds them all. The JSON Lines form is the full record: the
case row, its co-units, replies, ratings, extensions, supervisions, instructions, pauses, links
and events, with units named by code, clerks by name and other cases by (channel, external id),
so it can be imported into another database and come back the same.
"""

from __future__ import annotations

import csv
import gc
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy import Boolean, Table, false, func, literal_column
from sqlalchemy import column as sql_column
from sqlmodel import Session, col, select

from caseworker.domain.errors import InvalidInput
from caseworker.domain.lifecycle import OPEN_STATES, Status
from caseworker.output_safety import FORMULA_START, GUARD, csv_cell
from caseworker.services.people import find_unit, subtree_ids
from caseworker.services.redact import redact_text
from caseworker.store.audit import RANKING_FIELDS
from caseworker.store.engine import Store
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    InstructionRow,
    LinkRow,
    PauseRow,
    RankingRecord,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)
from caseworker.store.queries import viewer_scope
from caseworker.store.queue_types import Viewer
from caseworker.store.types import END_OF_TIME, UTCDateTime

PAGE = 1000
# Times are written in the bureau's zone (not imported from the import's modules: they bring
# the word segmenter, 40 MB that an export does not need).
SHANGHAI = ZoneInfo("Asia/Shanghai")
EXPORT_FORMATS = ("jsonl", "csv", "xlsx")
MARK = "caseworker_export"  # every JSON Lines record carries it; the importer knows us by it
VERSION = 1

# The records attached to a case, under the names the JSON Lines form uses.
CHILDREN: dict[str, Any] = {
    "co_units": CoUnit,
    "replies": ReplyRow,
    "ratings": RatingRow,
    "extensions": ExtensionRow,
    "supervisions": SupervisionRow,
    "instructions": InstructionRow,
    "pauses": PauseRow,
    "links": LinkRow,
    "events": EventRow,
}
# Free text that may carry personal data, per table (for --redact).
TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    "cases": ("title", "body", "author", "contact", "extra", "source_text"),
    "replies": ("text", "review_note"),
    "ratings": ("comment",),
    "extensions": ("reason",),
    "supervisions": ("note",),
    "instructions": ("text",),
    "pauses": ("reason",),
    "events": ("reason", "detail"),
}
TABLE_COLUMNS = (
    "id",
    "channel",
    "external_id",
    "status",
    "title",
    "body",
    "received_at",
    "author",
    "contact",
    "addressee",
    "region",
    "category",
    "kind",
    "urgency",
    "lead_unit",
    "assign_due_at",
    "reply_due_at",
    "close_due_at",
    "next_due_at",
    "overdue",
    "provisional",
    "assigned_at",
    "replied_at",
    "closed_at",
    "extra",
)


@dataclass(frozen=True)
class ExportFilter:
    """Which cases to export; every given condition must hold."""

    statuses: Sequence[str] = ()
    unit: str | None = None
    channel: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool = False
    # A unit handler's units (services.queues.handler_units): only the cases they lead or
    # currently help on, as everywhere a handler looks (store.queries.viewer_scope).
    scope: tuple[int, ...] | None = None


@dataclass(frozen=True)
class ExportSummary:
    path: str
    format: str
    cases: int
    redacted: bool


@dataclass
class Names:
    """Ids to the names an export uses, and back."""

    units: dict[int, str]
    clerks: dict[int, str]

    @classmethod
    def load(cls, session: Session) -> Names:
        return cls(
            units={u: c for u, c in session.exec(select(Unit.id, Unit.code)).all() if u},
            clerks={i: n for i, n in session.exec(select(ClerkRow.id, ClerkRow.name)).all() if i},
        )


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _fk_target(column: Any) -> str | None:
    for fk in column.foreign_keys:
        return str(fk.column.table.name)
    return None


def time_text(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value is not None else None


# Asia/Shanghai has kept +08:00 all year since 1992: a stored (naive UTC) time from then on
# is shifted by hand, which is several times cheaper than a zoneinfo conversion per value.
_FIXED_SINCE = datetime(1992, 1, 1)
_EIGHT_HOURS = timedelta(hours=8)


def _naive_utc(raw: Any) -> datetime:
    """A stored time as the driver gives it (SQLite: text; PostgreSQL: a naive datetime)."""
    return raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)


def _local_naive(raw: Any) -> datetime:
    """A stored time as naive Asia/Shanghai wall-clock time."""
    value = _naive_utc(raw)
    if value >= _FIXED_SINCE:
        try:
            return value + _EIGHT_HOURS
        except OverflowError:
            pass
    return value.replace(tzinfo=UTC).astimezone(SHANGHAI).replace(tzinfo=None)


def _local_text(raw: Any) -> str:
    """A stored time in ISO 8601 with the Shanghai offset, exactly as `time_text` gives it."""
    if type(raw) is str and len(raw) == 26 and raw[10] == " ":
        # SQLite's text (YYYY-MM-DD HH:MM:SS.ffffff): only the date and hour move, so the
        # shifted hour is looked up and the minutes, seconds and fraction kept as they are.
        hour = _SHIFTED_HOURS.get(raw[:13])
        if hour is None:
            hour = _shifted_hour(raw[:13])
        if hour:
            return f"{hour}{raw[13:19] if raw.endswith('.000000') else raw[13:]}+08:00"
    value = _naive_utc(raw)
    if value >= _FIXED_SINCE:
        try:
            return (value + _EIGHT_HOURS).isoformat() + "+08:00"
        except OverflowError:
            pass
    return time_text(value.replace(tzinfo=UTC)) or ""


# "YYYY-MM-DD HH" in UTC -> "YYYY-MM-DDTHH" in Shanghai ("" where the offset was not +08:00
# or the shift leaves the calendar): a few tens of thousands of hours for years of cases.
_SHIFTED_HOURS: dict[str, str] = {}


def _shifted_hour(hour: str) -> str:
    try:
        value = datetime.fromisoformat(f"{hour}:00:00")
        shifted = (value + _EIGHT_HOURS).isoformat()[:13] if value >= _FIXED_SINCE else ""
    except (ValueError, OverflowError):
        shifted = ""
    if len(_SHIFTED_HOURS) > 200_000:
        _SHIFTED_HOURS.clear()
    _SHIFTED_HOURS[hour] = shifted
    return shifted


def _bool(raw: Any) -> bool:
    return bool(raw)


@dataclass(frozen=True)
class _Plan:
    """How one table's raw rows become JSON documents: the columns read (the first is the
    row's case, to group by), their names in the document, and a converter per column that
    needs one (times, booleans, units and clerks by name, JSON text); references to other cases
    are resolved per page (`case_refs`)."""

    table: Table
    columns: tuple[Any, ...]
    keys: tuple[str, ...]
    converters: tuple[tuple[str, Callable[[Any], Any]], ...]
    case_refs: tuple[str, ...]
    # Per column, what its value needs: "" (nothing), "unit", "clerk", "case", "time",
    # "bool" or "json"; `converters` and `case_refs` come from these in Python, and SQLite's
    # own JSON form (_SqliteJsonLines) is built from them.
    kinds: tuple[str, ...]


def _stored_json(raw: str) -> Any:
    """A stored JSON text as it goes into the export's record: embedded as it is (exact, even
    for numbers past 64 bits, and several times cheaper than decoding and encoding it again);
    decoded only when it spans lines, which a JSON Lines record cannot, or is empty (which
    fails as it always did, rather than leaving a record without a value)."""
    if not raw or "\n" in raw or "\r" in raw:
        return json.loads(raw)
    return orjson.Fragment(raw)


def _plan(
    model: Any, names: Names, *, skip: Sequence[str], decode: Callable[[str], Any] = json.loads
) -> _Plan:
    table = _table(model)
    columns: list[Any] = []
    keys: list[str] = []
    kinds: list[str] = []
    for column in table.columns:
        name = str(column.name)  # a plain str: orjson takes no subclass (quoted_name) as a key
        if name in skip:
            continue
        target = None if name == "case_id" else _fk_target(column)  # case_id groups
        key = (name[:-3] if name.endswith("_id") else name) if target is not None else name
        columns.append(sql_column(name))
        keys.append(key)
        if target == "units":
            kinds.append("unit")
        elif target == "clerks":
            kinds.append("clerk")
        elif target is not None:
            kinds.append("case")  # resolved per page, to (channel, external id)
        elif isinstance(column.type, UTCDateTime):
            kinds.append("time")
        elif isinstance(column.type, Boolean):
            kinds.append("bool")
        elif name in ("extra", "detail", "source_text"):
            kinds.append("json")
        else:
            kinds.append("")
    convert: dict[str, Callable[[Any], Any]] = {
        "unit": names.units.get,
        "clerk": names.clerks.get,
        "time": _local_text,
        "bool": _bool,
        "json": decode,
    }
    converters = tuple(
        (k, convert[kind]) for k, kind in zip(keys, kinds, strict=True) if kind in convert
    )
    case_refs = tuple(k for k, kind in zip(keys, kinds, strict=True) if kind == "case")
    return _Plan(table, tuple(columns), tuple(keys), converters, case_refs, tuple(kinds))


def _docs(rows: Iterable[Sequence[Any]], plan: _Plan) -> Iterator[dict[str, Any]]:
    keys, converters = plan.keys, plan.converters
    for row in rows:
        doc = dict(zip(keys, row, strict=True))
        for key, convert in converters:
            value = doc[key]
            if value is not None:
                doc[key] = convert(value)
        yield doc


def _conditions(session: Session, flt: ExportFilter, now: datetime) -> list[Any]:
    """The WHERE conditions of `flt` on the cases table."""
    conditions: list[Any] = []
    if flt.statuses:
        known = {s.value for s in Status}
        bad = [s for s in flt.statuses if s not in known]
        if bad:
            raise InvalidInput(
                f"unknown status {bad[0]!r}; known: {', '.join(sorted(known))}",
                key="refused.export.status",
                status=bad[0],
                known=sorted(known),
            )
        conditions.append(col(CaseRow.status).in_(list(flt.statuses)))
    if flt.unit:
        unit = find_unit(session, flt.unit)
        assert unit.id is not None
        conditions.append(col(CaseRow.lead_unit_id).in_(subtree_ids(session, unit.id)))
    if flt.channel:
        conditions.append(CaseRow.channel == flt.channel)
    if flt.since:
        conditions.append(CaseRow.received_at >= flt.since)
    if flt.until:
        conditions.append(CaseRow.received_at < flt.until)
    if flt.overdue:
        conditions.append(col(CaseRow.status).in_([s.value for s in OPEN_STATES]))
        conditions.append(CaseRow.next_due_at < now)
    if flt.scope is not None:
        viewer = Viewer(clerk="", unit_ids=flt.scope)
        dialect = session.get_bind().dialect.name
        conditions.append(viewer_scope(viewer, dialect) if flt.scope else false())
    return conditions


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """The cycle collector paused while pages are written: an export makes a few million
    short-lived dicts and lists with no cycles among them, which reference counting frees,
    but each batch of them triggers a collection that walks every live object (about a fifth
    of the JSON Lines export's time)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def snapshot(store: Store) -> Iterator[Session]:
    """A session whose every read sees the store as it was at its first: one read transaction
    (SQLite: BEGIN, which a WAL reader holds to its first read's snapshot; PostgreSQL:
    REPEATABLE READ, read only), so an export taken while clerks work is one consistent copy."""
    with store.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ")
            connection.exec_driver_sql("SET TRANSACTION READ ONLY")
        elif connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN")
        try:
            with Session(bind=connection) as session:
                yield session
        finally:
            connection.rollback()


def iter_pages(
    session: Session,
    flt: ExportFilter,
    now: datetime,
    *,
    page: int | None = None,
    columns: Sequence[Any] = (),
) -> Iterator[list[Sequence[Any]]]:
    """Pages of the matching cases' raw rows (every column, in table order, unless `columns`
    names what to read; the first must be the id), in id order."""
    page = page or PAGE
    cases = _table(CaseRow)
    conditions = _conditions(session, flt, now)
    connection = session.connection()
    columns = list(columns) or [sql_column(c.name) for c in cases.columns]
    after = 0
    while True:
        query = (
            select(*columns)
            .select_from(cases)
            .where(cases.c.id > after, *conditions)
            .order_by(cases.c.id)
            .limit(page)
        )
        rows: list[Sequence[Any]] = list(connection.execute(query).all())
        if not rows:
            return
        yield rows
        after = rows[-1][0]


def export_cases(
    store: Store,
    path: Path,
    *,
    fmt: str,
    flt: ExportFilter,
    now: datetime,
    redact: bool = False,
    progress: Callable[[int], None] | None = None,
    encoding: str = "utf-8",
    about: Sequence[tuple[str, Any]] = (),
) -> ExportSummary:
    """Write the matching cases to `path` in `fmt`; returns how many were written.

    `encoding` is for CSV: UTF-8 with BOM, or GB18030 for the Excel versions that do not read
    the BOM. `about` adds lines (who ran it, the rule version) to an XLSX file's query sheet.
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(
            f"unknown export format {fmt!r}; use {', '.join(EXPORT_FORMATS)}",
            key="refused.export.format",
            format=fmt,
            formats=list(EXPORT_FORMATS),
        )
    if encoding not in CSV_ENCODINGS:
        raise InvalidInput(
            f"unknown export encoding {encoding!r}; use {', '.join(CSV_ENCODINGS)}",
            key="refused.export.encoding",
            encoding=encoding,
            encodings=list(CSV_ENCODINGS),
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    writer: _Writer
    if fmt == "jsonl" and not redact and store.engine.dialect.name == "sqlite":
        writer = _SqliteJsonLines(path, redact)
    elif fmt == "jsonl":
        writer = _JsonLines(path, redact)
    elif fmt == "csv":
        writer = _Csv(path, redact, encoding)
    else:
        writer = _Xlsx(path, redact)
    count = 0
    try:
        with snapshot(store) as session, _no_cycle_collection():
            names = Names.load(session)
            writer.start(session, names, now)

            def docs() -> Iterator[Any]:
                nonlocal count
                for page in iter_pages(session, flt, now, columns=writer.page_columns()):
                    for doc in writer.page(session, page):
                        yield doc
                        count += 1
                    if progress is not None:
                        progress(count)

            if isinstance(writer, _Xlsx):
                # The workbook pulls the rows as it writes them, inside this snapshot, which
                # also holds the count still (its query sheet says it, the row limit needs it).
                total = count_matching(session, flt, now)
                writer.save(docs(), total, [*query_lines(flt, now, redact, total), *about])
            else:
                for doc in docs():
                    writer.write(doc)
    finally:
        writer.close()
    return ExportSummary(str(path), fmt, count, redact)


def count_matching(session: Session, flt: ExportFilter, now: datetime) -> int:
    """How many cases the filter matches (what `iter_pages` goes through)."""
    cases = _table(CaseRow)
    query = select(func.count()).select_from(cases).where(*_conditions(session, flt, now))
    return int(session.connection().execute(query).scalar_one())


def query_lines(
    flt: ExportFilter, now: datetime, redact: bool, count: int
) -> list[tuple[str, Any]]:
    """What an export holds, as the lines of an XLSX file's query sheet."""
    filters = [
        f"status {', '.join(flt.statuses)}" if flt.statuses else "",
        f"unit {flt.unit} and below" if flt.unit else "",
        f"channel {flt.channel}" if flt.channel else "",
        f"received from {time_text(flt.since)}" if flt.since else "",
        f"received before {time_text(flt.until)}" if flt.until else "",
        "overdue only" if flt.overdue else "",
        "the cases of the handler's units" if flt.scope is not None else "",
    ]
    return [
        ("query", "export"),
        ("as of", now),
        ("filters", "; ".join(f for f in filters if f) or "all cases"),
        ("cases", count),
        ("redacted", "yes" if redact else "no"),
    ]


def _redact_doc(doc: dict[str, Any], fields: Sequence[str]) -> None:
    for name in fields:
        value = doc.get(name)
        if isinstance(value, str):
            doc[name] = redact_text(value)
        elif isinstance(value, dict | list):
            doc[name] = json.loads(redact_text(json.dumps(value, ensure_ascii=False)) or "null")


class _Writer:
    def __init__(self, path: Path, redact: bool) -> None:
        self.path, self.redact = path, redact

    def start(self, session: Session, names: Names, now: datetime) -> None:
        """Ready to write, in the export's snapshot (`session`)."""

    def page_columns(self) -> Sequence[Any]:
        """What to read of each case (the id first); empty: every column, in table order."""
        return ()

    def page(self, session: Session, page: list[Sequence[Any]]) -> Iterator[Any]:
        """The documents of a page of raw case rows (every column, in table order)."""
        raise NotImplementedError

    def write(self, doc: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


# A page's attached rows are read by the range of its case ids when the page is dense
# enough; a sparse page (a narrow filter over many cases) asks for its ids instead.
_DENSE = 4


class _JsonLines(_Writer):
    """One JSON document a line, encoded by orjson (made for fast, strict JSON; UTF-8 with
    the characters as they are, as `json.dumps(ensure_ascii=False)` writes them)."""

    def __init__(self, path: Path, redact: bool) -> None:
        super().__init__(path, redact)
        self.handle: IO[bytes] = path.open("wb")
        self.case_plan: _Plan | None = None
        self.child_plans: dict[str, _Plan] = {}
        self.child_sql: dict[str, tuple[str, str]] = {}
        self.mark = "?"

    def start(self, session: Session, names: Names, now: datetime) -> None:
        # Redacting masks the text inside stored JSON too, so it decodes it; otherwise stored
        # JSON is carried as it is.
        decode: Callable[[str], Any] = json.loads if self.redact else _stored_json
        self.case_plan = _plan(CaseRow, names, skip=(), decode=decode)
        self.child_plans = {
            key: _plan(model, names, skip=("id",), decode=decode) for key, model in CHILDREN.items()
        }
        dialect = session.get_bind().dialect
        self.mark = "?" if dialect.paramstyle == "qmark" else "%s"
        quote = dialect.identifier_preparer.quote
        for key, plan in self.child_plans.items():
            table = quote(plan.table.name)
            columns = ", ".join(quote(c.name) for c in plan.columns)
            head = f"SELECT {columns} FROM {table} WHERE case_id "
            self.child_sql[key] = (head, " ORDER BY case_id, id")
        units = [
            {
                "code": u.code,
                "name": u.name,
                "level": u.level,
                "parent": names.units.get(u.parent_id) if u.parent_id else None,
                "active": u.active,
            }
            for u in session.exec(select(Unit).order_by(col(Unit.id))).all()
        ]
        clerks = [
            {
                "name": c.name,
                "role": c.role,
                "unit": names.units.get(c.unit_id) if c.unit_id else None,
                "active": c.active,
            }
            for c in session.exec(select(ClerkRow).order_by(col(ClerkRow.id))).all()
        ]
        self.write(
            {
                MARK: VERSION,
                "meta": {
                    "exported_at": time_text(now),
                    "redacted": self.redact,
                    "units": units,
                    "clerks": clerks,
                    "rankings": self._rankings(session),
                },
            }
        )

    def _rankings(self, session: Session) -> list[dict[str, Any]]:
        """The recorded rankings, as recorded (a full restore seals them anew, in this order)."""
        docs = []
        for row in session.exec(select(RankingRecord).order_by(col(RankingRecord.id))).all():
            doc = {name: getattr(row, name) for name in RANKING_FIELDS}
            doc["period_start"] = str(doc["period_start"])[:10]
            doc["period_end"] = str(doc["period_end"])[:10]
            doc["as_of"] = time_text(doc["as_of"])
            doc["recorded_at"] = time_text(doc["recorded_at"])
            if self.redact:
                doc["figures"] = redact_text(doc["figures"])
            docs.append(doc)
        return docs

    def _page_cases(self, ids: list[int]) -> tuple[bool, str, list[int]]:
        """How a page's attached rows are asked for: by the range of its case ids when the
        page is dense enough (then rows of cases outside the page come too, and are skipped),
        else by its ids; the condition on case_id and its parameters."""
        if ids[-1] - ids[0] < _DENSE * len(ids):
            return True, f"BETWEEN {self.mark} AND {self.mark}", [ids[0], ids[-1]]
        return False, f"IN ({', '.join([self.mark] * len(ids))})", ids

    def _children(
        self, session: Session, ids: list[int]
    ) -> tuple[dict[str, dict[int, list[dict[str, Any]]]], set[int]]:
        """The page's attached rows, grouped by case, and the other cases they refer to: one
        query a table for the whole page (by the range of its ids, or its ids), read as the
        driver's plain tuples through the export's own connection (so in its snapshot)."""
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        wanted = set(ids)
        dense, where, params = self._page_cases(ids)
        children: dict[str, dict[int, list[dict[str, Any]]]] = {}
        linked: set[int] = set()
        try:
            for key, plan in self.child_plans.items():
                head, tail = self.child_sql[key]
                cursor.execute(head + where + tail, params)
                grouped: dict[int, list[dict[str, Any]]] = {}
                refs = plan.case_refs
                for doc in _docs(cursor.fetchall(), plan):
                    cid = doc.pop("case_id")
                    if dense and cid not in wanted:
                        continue
                    for ref in refs:
                        if doc[ref] is not None:
                            linked.add(doc[ref])
                    if cid in grouped:
                        grouped[cid].append(doc)
                    else:
                        grouped[cid] = [doc]
                children[key] = grouped
        finally:
            cursor.close()
        return children, linked

    def page(self, session: Session, page: list[Sequence[Any]]) -> Iterator[dict[str, Any]]:
        assert self.case_plan is not None
        case_plan = self.case_plan
        cases = list(_docs(page, case_plan))
        ids = [case["id"] for case in cases]
        children, linked = self._children(session, ids)
        for case in cases:
            for ref in case_plan.case_refs:
                if case[ref] is not None:
                    linked.add(case[ref])
        case_keys = {case["id"]: [case["channel"], case["external_id"]] for case in cases}
        missing = linked - set(case_keys)
        if missing:
            table = _table(CaseRow)
            query = select(table.c.id, table.c.channel, table.c.external_id).where(
                table.c.id.in_(sorted(missing))
            )
            for cid, channel, ext in session.connection().execute(query):
                case_keys[cid] = [channel, ext]
        refs = {key: plan.case_refs for key, plan in self.child_plans.items() if plan.case_refs}
        redacted = (
            {key: TEXT_FIELDS.get(plan.table.name, ()) for key, plan in self.child_plans.items()}
            if self.redact
            else {}
        )
        empty: list[dict[str, Any]] = []
        for case in cases:
            cid = case["id"]
            for ref in case_plan.case_refs:
                if case[ref] is not None:
                    case[ref] = case_keys.get(case[ref])
            if self.redact:
                _redact_doc(case, TEXT_FIELDS["cases"])
            doc: dict[str, Any] = {MARK: VERSION, "case": case}
            for key, grouped in children.items():
                docs = grouped.get(cid, empty)
                if docs:
                    for ref in refs.get(key, ()):
                        for child in docs:
                            if child[ref] is not None:
                                child[ref] = case_keys.get(child[ref])
                    if redacted:
                        for child in docs:
                            _redact_doc(child, redacted[key])
                doc[key] = docs
            yield doc

    def write(self, doc: Any) -> None:
        self.handle.write(orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE))

    def close(self) -> None:
        self.handle.close()


class _SqliteJsonLines(_JsonLines):
    """The same records, each built by SQLite itself (json_object over the row, with units
    and clerks named and other cases keyed by subqueries, times shifted to Shanghai text), so
    Python only joins a case's texts into its line: about half the work of turning every
    attached row into a dict and encoding it again. Redacting still goes through Python, and
    so does PostgreSQL. Times the fast expression does not cover (before 1992, when the zone
    had summer time, or at the calendar's end) are given by the same function as elsewhere."""

    def start(self, session: Session, names: Names, now: datetime) -> None:
        super().start(session, names, now)
        assert self.case_plan is not None
        self.lines: list[str] = []
        dbapi = session.connection().connection.dbapi_connection
        assert dbapi is not None
        dbapi.create_function(_LOCAL_TIME, 1, _local_text, deterministic=True)
        quote = session.get_bind().dialect.identifier_preparer.quote
        cases = quote(self.case_plan.table.name)
        self.case_json: Any = literal_column(_json_object_sql(self.case_plan, cases, quote))
        self.json_sql: dict[str, str] = {}
        for key, plan in self.child_plans.items():
            table = quote(plan.table.name)
            head = f"SELECT x.case_id, {_json_object_sql(plan, 'x', quote)} FROM {table} AS x "
            self.json_sql[key] = head + "WHERE x.case_id "

    def page_columns(self) -> Sequence[Any]:
        return (_table(CaseRow).c.id, self.case_json)

    def page(self, session: Session, page: list[Sequence[Any]]) -> Iterator[Any]:
        """Each case's line (text). `write` keeps them, and the page's lines go to the file
        together once the last is written (encoding and writing line by line took a sixth of
        the export's time)."""
        ids = [row[0] for row in page]
        wanted = set(ids)
        dense, where, params = self._page_cases(ids)
        cursor = session.connection().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        children: list[tuple[str, dict[int, list[str]]]] = []
        try:
            for key, sql in self.json_sql.items():
                cursor.execute(sql + where + " ORDER BY x.case_id, x.id", params)
                grouped: dict[int, list[str]] = {}
                for cid, text in cursor.fetchall():
                    if cid in grouped:
                        grouped[cid].append(text)
                    elif not dense or cid in wanted:
                        grouped[cid] = [text]
                children.append((f',"{key}":[', grouped))
        finally:
            cursor.close()
        head = f'{{"{MARK}":{VERSION},"case":'
        for cid, case in page:
            parts = [head, case]
            for opening, grouped in children:
                texts = grouped.get(cid)
                parts += (opening, ",".join(texts), "]") if texts else (opening, "]")
            parts.append("}\n")
            yield "".join(parts)
        # Resumed after the page's last line was written: the page goes to the file.
        self.handle.write("".join(self.lines).encode())
        self.lines.clear()

    def write(self, doc: Any) -> None:
        if type(doc) is str:
            self.lines.append(doc)
        else:
            super().write(doc)


_LOCAL_TIME = "caseworker_local_time"


def _json_object_sql(plan: _Plan, table: str, quote: Callable[[str], str]) -> str:
    """SQLite's json_object for one row of `plan`'s table (named `table` in the query), keys
    and values as `_docs` gives them (its case_id left out: it groups)."""
    units, clerks, cases = quote("units"), quote("clerks"), quote("cases")
    pairs: list[str] = []
    for column, key, kind in zip(plan.columns, plan.keys, plan.kinds, strict=True):
        if key == "case_id":
            continue
        value = f"{table}.{quote(column.name)}"
        if kind == "unit":
            value = f"(SELECT n.code FROM {units} AS n WHERE n.id = {value})"
        elif kind == "clerk":
            value = f"(SELECT n.name FROM {clerks} AS n WHERE n.id = {value})"
        elif kind == "case":
            # A subquery's value loses its JSON type; json() gives it back.
            value = (
                f"json((SELECT json_array(n.channel, n.external_id) FROM {cases} AS n "
                f"WHERE n.id = {value}))"
            )
        elif kind == "time":
            # Stored text "YYYY-MM-DD HH:MM:SS.ffffff" (UTC): the hour shifted by eight (from
            # the whole hour, so a fraction never rounds into the next), the rest kept, a
            # zero fraction dropped; as _local_text does.
            value = (
                f"CASE WHEN {value} IS NULL THEN NULL "
                f"WHEN length({value}) = 26 AND substr({value}, 11, 1) = ' ' "
                f"AND {value} >= '1992-01-01' AND {value} < '9999-12-31 16' "
                f"THEN strftime('%Y-%m-%dT%H', substr({value}, 1, 13) || ':00', '+8 hours') "
                f"|| CASE WHEN substr({value}, 20) = '.000000' THEN substr({value}, 14, 6) "
                f"ELSE substr({value}, 14) END || '+08:00' "
                f"ELSE {_LOCAL_TIME}({value}) END"
            )
        elif kind == "bool":
            value = (
                f"CASE WHEN {value} IS NULL THEN NULL "
                f"WHEN {value} THEN json('true') ELSE json('false') END"
            )
        elif kind == "json":
            value = f"json({value})"
        pairs.append(f"'{key}', {value}")
    return f"json_object({', '.join(pairs)})"


# The table form's columns by cell type, for XLSX (services.sheets).
COLUMN_KINDS = {
    "id": "int",
    "external_id": "id",
    "body": "long_text",
    "extra": "long_text",
    "overdue": "bool",
    "provisional": "bool",
} | {name: "datetime" for name in TABLE_COLUMNS if name.endswith("_at")}
CSV_ENCODINGS = ("utf-8", "gb18030")
_CSV_GUARDED = tuple(not (name == "id" or name.endswith("_at")) for name in TABLE_COLUMNS)
# The first characters of the text cells csv_cell changes: a number a spreadsheet would
# mangle starts with a digit, a formula (or our guard) with one of these.
_CSV_FIRST = frozenset("0123456789" + "".join(FORMULA_START) + GUARD)


class _Table(_Writer):
    """One row a case, in TABLE_COLUMNS order: values as they are, each writer giving them the
    cell type of its format (`when` turns a stored time into the cell's value)."""

    def when(self, raw: Any) -> Any:
        raise NotImplementedError

    def start(self, session: Session, names: Names, now: datetime) -> None:
        cases = _table(CaseRow)
        index = {c.name: n for n, c in enumerate(cases.columns)}
        self.unit_names: dict[int, str] = {
            u: n for u, n in session.exec(select(Unit.id, Unit.name)).all() if u is not None
        }
        self.now = now.astimezone(UTC).replace(tzinfo=None)
        self.open = frozenset(s.value for s in OPEN_STATES)
        self.status, self.due = index["status"], index["next_due_at"]
        self.times = frozenset(n for n in TABLE_COLUMNS if n.endswith("_at"))
        # (name, index of its raw column); overdue is computed, -1
        self.picks = [
            (name, -1 if name == "overdue" else index.get(f"{name}_id", index.get(name, -1)))
            for name in TABLE_COLUMNS
        ]
        self.redacted = frozenset(TEXT_FIELDS["cases"]) if self.redact else frozenset()
        self.end = END_OF_TIME.replace(tzinfo=None)

    def cells(self) -> list[Callable[[Any], Any] | None]:
        """Per column of TABLE_COLUMNS, what turns its (non-empty) raw value into the cell's
        value, or None when the raw value is the cell's; worked out once, not per row."""
        units = self.unit_names
        out: list[Callable[[Any], Any] | None] = []
        for name, _ in self.picks:
            convert: Callable[[Any], Any] | None = None
            if name in self.times:
                convert = self.when
            elif name == "lead_unit":
                convert = units.get
            elif name == "provisional":
                convert = bool
            elif name == "extra":
                convert = _json_text
            if name in self.redacted:
                convert = _then_redact(convert)
            out.append(convert)
        return out

    def page(self, session: Session, page: list[Sequence[Any]]) -> Iterator[list[Any]]:
        plan = [(n, convert) for (_, n), convert in zip(self.picks, self.cells(), strict=True)]
        due_at, status_at, open_states = self.due, self.status, self.open
        now, end = self.now, self.end
        for raw in page:
            due = _naive_utc(raw[due_at])
            row: list[Any] = []
            for n, convert in plan:
                if n < 0:  # overdue, computed
                    row.append(raw[status_at] in open_states and due < now)
                    continue
                value = raw[n]
                if value is None or convert is None:
                    row.append(value)
                elif n == due_at and due >= end:
                    row.append(None)  # no running clock
                else:
                    row.append(convert(value))
            yield row


def _json_text(raw: str) -> str:
    """Stored JSON as a cell shows it: with its characters, not `\\u` escapes (stored JSON
    without an escape is taken as it is, not decoded and encoded again)."""
    if "\\u" not in raw:
        return raw
    return json.dumps(json.loads(raw), ensure_ascii=False)


def _then_redact(convert: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    def redacted(value: Any) -> Any:
        value = convert(value) if convert is not None else value
        return redact_text(value) if isinstance(value, str) else value

    return redacted


class _Csv(_Table):
    """UTF-8 with BOM (or GB18030, for older Excel), every text cell quoted, so Excel opens
    Chinese text and newlines right."""

    def __init__(self, path: Path, redact: bool, encoding: str = "utf-8") -> None:
        super().__init__(path, redact)
        self.handle: IO[str] = path.open(
            "w", encoding="utf-8-sig" if encoding == "utf-8" else encoding, newline=""
        )
        self.writer = csv.writer(self.handle, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
        self.writer.writerow(TABLE_COLUMNS)

    def when(self, raw: Any) -> Any:
        return _local_text(raw)

    def write(self, doc: Any) -> None:
        # Any number-like text a spreadsheet would change (an external id, a contact 0731…)
        # takes the `="…"` form; our import reads it back. The id and the times (ISO text
        # starting with the year) need no guard: only their empty cells are written "".
        # Only text starting with a digit, a formula start or a quote needs csv_cell's look.
        self.writer.writerow(
            [
                (
                    value
                    if type(value) is str and (not value or value[0] not in _CSV_FIRST)
                    else csv_cell(value)
                )
                if guard
                else ""
                if value is None
                else value
                for guard, value in zip(_CSV_GUARDED, doc, strict=True)
            ]
        )

    def close(self) -> None:
        self.handle.close()


class _Xlsx(_Table):
    """A streamed workbook with typed cells and a `query` sheet (services.sheets)."""

    def when(self, raw: Any) -> Any:
        return _local_naive(raw)  # Shanghai wall-clock time, as the sheet's date cells show it

    def save(self, docs: Iterable[Any], count: int, about: Iterable[tuple[str, Any]]) -> None:
        """Writes the `count` documents of `docs`, then the query sheet `about` them."""
        from caseworker.services.sheets import Column, SheetBook

        book = SheetBook(self.path)
        columns = [Column(name, COLUMN_KINDS.get(name, "text")) for name in TABLE_COLUMNS]
        book.sheet("cases", columns, docs, count)
        book.query(about)
        book.save()

    def close(self) -> None:
        """Nothing is held open: `save` wrote the file."""
