"""Getting cases back out: JSON Lines with everything attached, or one row a case in CSV/XLSX.

Cases are read in pages of `PAGE` by id (keyset paging) and written as they are read, so
exporting a million cases never holds them all. The JSON Lines form is the full record: the
case row, its co-units, replies, ratings, extensions, supervisions, instructions, pauses, links
and events, with units named by code, clerks by name and other cases by (channel, external id),
so it can be imported into another database and come back the same.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Table, false
from sqlmodel import Session, col, select

from caseworker.domain.errors import InvalidInput
from caseworker.domain.lifecycle import OPEN_STATES, Status
from caseworker.output_safety import csv_cell
from caseworker.services.people import find_unit, subtree_ids
from caseworker.services.redact import redact_text
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
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)
from caseworker.store.queries import viewer_scope
from caseworker.store.queue_types import Viewer
from caseworker.store.types import UTCDateTime

PAGE = 1000
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
    from caseworker.services.imports.normalise import SHANGHAI

    return value.astimezone(SHANGHAI).isoformat() if value is not None else None


def row_doc(
    row: Any,
    model: Any,
    names: Names,
    case_keys: dict[int, list[str]],
    *,
    skip: Sequence[str] = ("id", "case_id"),
) -> dict[str, Any]:
    """A stored row as JSON: times in ISO 8601, units by code, clerks by name, cases by key."""
    doc: dict[str, Any] = {}
    for column in _table(model).columns:
        name = column.name
        if name in skip:
            continue
        value = getattr(row, name)
        target = _fk_target(column)
        if target is not None:
            short = name[:-3] if name.endswith("_id") else name
            if value is None:
                doc[short] = None
            elif target == "units":
                doc[short] = names.units.get(value)
            elif target == "clerks":
                doc[short] = names.clerks.get(value)
            else:
                doc[short] = case_keys.get(value)
        elif isinstance(column.type, UTCDateTime):
            doc[name] = time_text(value)
        elif name in ("extra", "detail", "source_text") and isinstance(value, str):
            doc[name] = json.loads(value)
        else:
            doc[name] = value
    return doc


def _query(session: Session, flt: ExportFilter, now: datetime) -> Any:
    query = select(CaseRow)
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
        query = query.where(col(CaseRow.status).in_(list(flt.statuses)))
    if flt.unit:
        unit = find_unit(session, flt.unit)
        assert unit.id is not None
        query = query.where(col(CaseRow.lead_unit_id).in_(subtree_ids(session, unit.id)))
    if flt.channel:
        query = query.where(CaseRow.channel == flt.channel)
    if flt.since:
        query = query.where(CaseRow.received_at >= flt.since)
    if flt.until:
        query = query.where(CaseRow.received_at < flt.until)
    if flt.overdue:
        query = query.where(
            col(CaseRow.status).in_([s.value for s in OPEN_STATES]), CaseRow.next_due_at < now
        )
    if flt.scope is not None:
        viewer = Viewer(clerk="", unit_ids=flt.scope)
        dialect = session.get_bind().dialect.name
        query = query.where(viewer_scope(viewer, dialect) if flt.scope else false())
    return query


def iter_pages(
    store: Store, flt: ExportFilter, now: datetime
) -> Iterator[tuple[Session, list[CaseRow]]]:
    """Pages of matching cases in id order, each read in its own short session."""
    after = 0
    while True:
        with store.session() as session:
            query = _query(session, flt, now).where(col(CaseRow.id) > after)
            page = list(session.exec(query.order_by(col(CaseRow.id)).limit(PAGE)).all())
            if not page:
                return
            yield session, page
        after = page[-1].id or after


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
    if fmt == "jsonl":
        writer = _JsonLines(path, redact)
    elif fmt == "csv":
        writer = _Csv(path, redact, encoding)
    else:
        writer = _Xlsx(path, redact)
    count = 0
    try:
        with store.session() as session:
            names = Names.load(session)
            if fmt == "jsonl":
                writer.meta(session, names, now)
        for session, page in iter_pages(store, flt, now):
            for doc in writer.page(session, page, names, now):
                writer.write(doc)
                count += 1
            if progress is not None:
                progress(count)
        if isinstance(writer, _Xlsx):
            writer.about = [*query_lines(flt, now, redact, count), *about]
    finally:
        writer.close()
    return ExportSummary(str(path), fmt, count, redact)


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

    def meta(self, session: Session, names: Names, now: datetime) -> None:
        pass

    def page(
        self, session: Session, page: list[CaseRow], names: Names, now: datetime
    ) -> Iterator[Any]:
        raise NotImplementedError

    def write(self, doc: Any) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class _JsonLines(_Writer):
    def __init__(self, path: Path, redact: bool) -> None:
        super().__init__(path, redact)
        self.handle: IO[str] = path.open("w", encoding="utf-8", newline="\n")

    def meta(self, session: Session, names: Names, now: datetime) -> None:
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
                },
            }
        )

    def page(
        self, session: Session, page: list[CaseRow], names: Names, now: datetime
    ) -> Iterator[dict[str, Any]]:
        ids = [c.id for c in page]
        children: dict[str, dict[int, list[Any]]] = {}
        linked: set[int] = {c.repeat_of_id for c in page if c.repeat_of_id}
        linked |= {c.merged_into_id for c in page if c.merged_into_id}
        for key, model in CHILDREN.items():
            rows = session.exec(
                select(model).where(col(model.case_id).in_(ids)).order_by(col(model.id))
            ).all()
            grouped: dict[int, list[Any]] = {}
            for row in rows:
                grouped.setdefault(row.case_id, []).append(row)
                if key == "links":
                    linked.add(row.target_id)
            children[key] = grouped
        case_keys = {c.id: [c.channel, c.external_id] for c in page if c.id is not None}
        missing = linked - set(case_keys)
        if missing:
            for cid, channel, ext in session.exec(
                select(CaseRow.id, CaseRow.channel, CaseRow.external_id).where(
                    col(CaseRow.id).in_(missing)
                )
            ).all():
                case_keys[cid or 0] = [channel, ext]
        for case in page:
            assert case.id is not None
            doc: dict[str, Any] = {MARK: VERSION}
            doc["case"] = row_doc(case, CaseRow, names, case_keys, skip=())
            if self.redact:
                _redact_doc(doc["case"], TEXT_FIELDS["cases"])
            for key, model in CHILDREN.items():
                docs = [row_doc(r, model, names, case_keys) for r in children[key].get(case.id, [])]
                if self.redact:
                    for child in docs:
                        _redact_doc(child, TEXT_FIELDS.get(_table(model).name, ()))
                doc[key] = docs
            yield doc

    def write(self, doc: Any) -> None:
        self.handle.write(json.dumps(doc, ensure_ascii=False) + "\n")

    def close(self) -> None:
        self.handle.close()


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


class _Table(_Writer):
    """One row a case, in TABLE_COLUMNS order: values as they are (times in ISO 8601), each
    writer giving them the cell type of its format."""

    def page(
        self, session: Session, page: list[CaseRow], names: Names, now: datetime
    ) -> Iterator[list[Any]]:
        from caseworker.store.types import END_OF_TIME

        unit_names = dict(session.exec(select(Unit.id, Unit.name)).all())
        for case in page:
            doc = row_doc(case, CaseRow, names, {}, skip=())
            if self.redact:
                _redact_doc(doc, TEXT_FIELDS["cases"])
            doc["lead_unit"] = unit_names.get(case.lead_unit_id) if case.lead_unit_id else None
            doc["overdue"] = Status(case.status) in OPEN_STATES and case.next_due_at < now
            if case.next_due_at >= END_OF_TIME:
                doc["next_due_at"] = None
            if doc.get("extra") is not None:
                doc["extra"] = json.dumps(doc["extra"], ensure_ascii=False)
            yield [doc.get(name) for name in TABLE_COLUMNS]


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

    def write(self, doc: Any) -> None:
        # Any number-like text a spreadsheet would change (an external id, a contact 0731…)
        # takes the `="…"` form; our import reads it back.
        self.writer.writerow([csv_cell(value) for value in doc])

    def close(self) -> None:
        self.handle.close()


class _Xlsx(_Table):
    """A streamed (write-only) workbook with typed cells and a `query` sheet (services.sheets)."""

    def __init__(self, path: Path, redact: bool) -> None:
        from caseworker.services.sheets import Column, SheetBook

        super().__init__(path, redact)
        self.book = SheetBook(path)
        self.sheet = self.book.sheet(
            "cases", [Column(name, COLUMN_KINDS.get(name, "text")) for name in TABLE_COLUMNS]
        )
        self.about: list[tuple[str, Any]] = []

    def write(self, doc: Any) -> None:
        self.sheet.append(doc)

    def close(self) -> None:
        self.book.query(self.about)
        self.book.save()
