"""Which source column means which case field: built-in profiles chosen by headers, or TOML.

A profile names, for every case field, the source columns it is read from (the first one that
has a value; `body` joins all of them as paragraphs), which columns are kept as-is in the case's
`extra` JSON, the channel to use when the file has none, and how its times are written.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from caseworker.domain.policy import URGENCY_NAMES, Urgency, kind_code
from caseworker.output_safety import read_own_cell
from caseworker.services.imports.normalise import (
    SHANGHAI,
    BadValue,
    clean_cell,
    clean_text,
    parse_count,
    parse_time,
)

FIELDS = (
    "external_id",
    "channel",
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
    "reply_text",
    "replied_at",
    "status",
    "closed_at",
    "accepted_at",
    "assigned_at",
)
# Fields that say where the source's own history stands (a status and the times of its steps).
HISTORY_FIELDS = ("status", "closed_at", "accepted_at", "assigned_at")
# What a mapping's [status] table may map a source's status values to.
SOURCE_STATES = ("open", "closed")
# What sources write for the urgent lane: the domain's names and the flags files use.
_URGENT = {"urgent", "紧急", "加急", "特急", "绿色通道", "是", "yes", "true", "1"} | {
    name for name, level in URGENCY_NAMES.items() if level is Urgency.URGENT
}


class MappingError(Exception):
    """A mapping file cannot be used, or no profile fits the file's headers (exit code 1).

    Carries a catalog key (`import.mapping.*`) and its parameters, like a refusal.
    """

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


# The two columns a rejects file adds after the row's own (rejects.py): a fixed rejects file
# imported again brings them back, and they are the import's notes, not the citizen's data.
REJECTS_OWN_COLUMNS = frozenset({"source_row", "reject_reason", "_source_row", "_reject_reason"})


@dataclass(frozen=True)
class Profile:
    """How one layout of file maps onto cases."""

    name: str
    signature: tuple[str, ...]  # headers that must all be present for the profile to apply
    fields: MappingABC[str, tuple[str, ...]]
    extra: MappingABC[str, str] = field(default_factory=dict)  # extra key -> source column
    counts: frozenset[str] = frozenset()  # extra keys holding whole numbers (votes)
    channel: str | None = None
    zone: tzinfo = SHANGHAI
    date_formats: tuple[str, ...] = ()
    own_export: bool = False  # our own JSON Lines export: restored with its whole history
    # A CSV file of ours (export, rejects): undo the formula guard and the `="0012"` id form.
    unquote: bool = False
    # The source's status values -> open / closed (a mapping's [status] table).
    statuses: MappingABC[str, str] = field(default_factory=dict)
    # Columns read for no field on purpose (derived columns of our own export): not kept.
    ignored: frozenset[str] = frozenset()
    # Headers of which at least one must be present too (none: the signature alone decides).
    one_of: tuple[str, ...] = ()
    # Only these headers may be present (none: any): a plain layout claims no other file.
    only: frozenset[str] = frozenset()

    def matches(self, columns: list[str]) -> bool:
        present = set(columns) - REJECTS_OWN_COLUMNS
        if self.one_of and not present & set(self.one_of):
            return False
        if self.only and not present <= self.only:
            return False
        return all(name in present for name in self.signature)


@dataclass(frozen=True)
class MappedRow:
    """A row turned into case fields (not yet a case: the runner adds channel and clocks)."""

    fields: dict[str, Any]
    extra: dict[str, Any]
    # The text cells cleaning changed, by column, exactly as the source had them.
    source: dict[str, str] = field(default_factory=dict)


# The 留言板 layout of the Teddy Cup data (and the message-board back office it came from).
MESSAGE_BOARD = Profile(
    name="message-board",
    signature=("留言编号", "留言主题", "留言时间", "留言详情"),
    fields={
        "external_id": ("留言编号",),
        "author": ("留言用户",),
        "title": ("留言主题",),
        "received_at": ("留言时间",),
        "body": ("留言详情",),
        "category": ("一级分类", "一级标签"),
        "reply_text": ("答复意见",),
        "replied_at": ("答复时间",),
        "addressee": ("留言对象",),
        "channel": ("渠道",),
    },
    extra={"likes": "点赞数", "dislikes": "反对数"},
    counts=frozenset({"likes", "dislikes"}),
    channel="leader-board",
)

# Open311 GeoReport v2 service requests.
OPEN311 = Profile(
    name="open311",
    signature=("service_request_id", "requested_datetime"),
    fields={
        "external_id": ("service_request_id",),
        "title": ("service_name",),
        "body": ("description",),
        "received_at": ("requested_datetime",),
        "category": ("service_name",),
        "region": ("zipcode",),
        # GeoReport v2: "for requests with status=closed, [updated_datetime] will be the date
        # the request was closed": a closed request is imported closed then.
        "status": ("status",),
        "closed_at": ("updated_datetime",),
    },
    statuses={"open": "open", "closed": "closed"},
    extra={
        "source_status": "status",
        "status_notes": "status_notes",
        "service_code": "service_code",
        "agency_responsible": "agency_responsible",
        "expected_datetime": "expected_datetime",
        "updated_datetime": "updated_datetime",
        "address": "address",
        "lat": "lat",
        "long": "long",
        "attributes": "attributes",
        "extended_attributes": "extended_attributes",
        "notes": "notes",
        "media_url": "media_url",
    },
    channel="hotline-12345",
)

# Our own CSV / XLSX export (one row a case): re-imported as received cases.
OWN_TABLE = Profile(
    name="caseworker-table",
    signature=("channel", "external_id", "title", "body", "received_at", "status"),
    fields={
        name: (name,)
        for name in FIELDS
        if name not in ("reply_text", "replied_at", *HISTORY_FIELDS)
    },
    unquote=True,
    # Derived from the case's history there: re-imported as a received case, they do not apply.
    ignored=frozenset(
        {
            "id",
            "status",
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
        }
    ),
)

# Our own JSON Lines export: every line a case with its records and history.
OWN_EXPORT = Profile(
    name="caseworker-export",
    signature=("caseworker_export",),
    fields={},
    own_export=True,
)

# The fields `case new` reads, under their own names: a plain file of cases (JSON Lines or a
# table) needs no mapping. Last of the built-ins, and only for files holding nothing else, so it
# never takes a file another profile fits.
CASE_FIELDS = FIELDS[: FIELDS.index("urgency") + 1]
PLAIN_CASES = Profile(
    name="case-fields",
    signature=("received_at",),
    one_of=("title", "body"),
    only=frozenset(CASE_FIELDS),
    fields={name: (name,) for name in CASE_FIELDS},
)

BUILT_IN = (OWN_EXPORT, MESSAGE_BOARD, OPEN311, OWN_TABLE, PLAIN_CASES)


def choose_profile(columns: list[str], first: MappingABC[str, Any] | None = None) -> Profile:
    """The built-in profile whose headers the file has; refuses with the headers it saw."""
    keys = list(columns) + list(first or {})
    for profile in BUILT_IN:
        if profile.matches(keys):
            return profile
    shown = ", ".join(columns[:12]) + (" …" if len(columns) > 12 else "")
    raise MappingError(
        f"no mapping profile fits the columns ({shown}); write one and pass --mapping FILE.toml "
        "(examples in data/mappings/)",
        key="import.mapping.no_profile",
        columns=shown,
    )


def load_mapping(path: Path) -> Profile:
    """A profile from a TOML file (see data/mappings/ for examples)."""
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(
            f"cannot read mapping {path}: {exc.strerror}",
            key="import.mapping.unreadable",
            path=str(path),
            why=exc.strerror,
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MappingError(
            f"mapping {path.name} is not valid TOML: {exc}",
            key="import.mapping.toml",
            mapping=path.name,
            error=str(exc),
        ) from None
    raw_fields = doc.get("fields")
    if not isinstance(raw_fields, dict) or not raw_fields:
        raise MappingError(
            f"mapping {path.name}: needs a [fields] table",
            key="import.mapping.no_fields",
            mapping=path.name,
        )
    fields: dict[str, tuple[str, ...]] = {}
    for name, source in raw_fields.items():
        if name not in FIELDS:
            raise MappingError(
                f"mapping {path.name}: unknown field {name!r}; known: {', '.join(FIELDS)}",
                key="import.mapping.unknown_field",
                mapping=path.name,
                field=name,
                known=list(FIELDS),
            )
        columns = (source,) if isinstance(source, str) else tuple(source)
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise MappingError(
                f"mapping {path.name}: field {name} needs column names",
                key="import.mapping.no_columns",
                mapping=path.name,
                field=name,
            )
        fields[name] = columns
    if "received_at" not in fields or not ({"title", "body"} & set(fields)):
        raise MappingError(
            f"mapping {path.name}: must map received_at and title or body",
            key="import.mapping.required",
            mapping=path.name,
        )
    extra = doc.get("extra", {})
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise MappingError(
            f"mapping {path.name}: [extra] maps names to column names",
            key="import.mapping.extra",
            mapping=path.name,
        )
    zone_name = doc.get("timezone", "Asia/Shanghai")
    try:
        zone: tzinfo = ZoneInfo(str(zone_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise MappingError(
            f"mapping {path.name}: unknown timezone {zone_name!r}",
            key="import.mapping.timezone",
            mapping=path.name,
            zone=zone_name,
        ) from None
    statuses = doc.get("status", {})
    if not isinstance(statuses, dict) or not all(
        isinstance(k, str) and v in SOURCE_STATES for k, v in statuses.items()
    ):
        raise MappingError(
            f"mapping {path.name}: [status] maps the source's status values to "
            f"{' or '.join(SOURCE_STATES)}",
            key="import.mapping.history.status_values",
            mapping=path.name,
        )
    if "status" in fields and not statuses:
        raise MappingError(
            f"mapping {path.name}: field status needs a [status] table of its values",
            key="import.mapping.history.status_table",
            mapping=path.name,
        )
    signature = doc.get("match", [c[0] for c in fields.values()])
    formats = doc.get("date_formats", [])
    if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
        raise MappingError(
            f"mapping {path.name}: date_formats is a list of strptime patterns",
            key="import.mapping.date_formats",
            mapping=path.name,
        )
    return Profile(
        name=str(doc.get("name", path.stem)),
        signature=tuple(signature),
        fields=fields,
        extra=dict(extra),
        counts=frozenset(doc.get("counts", [])),
        channel=doc.get("channel"),
        zone=zone,
        date_formats=tuple(formats),
        statuses=dict(statuses),
    )


class RowMapper:
    """Reads rows' case fields for one profile; BadValue names the column that cannot be read.

    What each field needs (which columns, which reading) is settled once here rather than for
    every row of a year's file.
    """

    def __init__(self, profile: Profile, header: list[str] | None = None) -> None:
        self.profile = profile
        self.zone, self.formats = profile.zone, profile.date_formats
        # One source column: read it as it is (a blank reads as missing either way).
        self.single: list[tuple[str, str, Callable[[Any], Any] | None]] = []
        # Several: the first that has a value.
        self.several: list[tuple[str, tuple[str, ...], Callable[[Any], Any] | None]] = []
        self.body: tuple[str, ...] = ()
        for name, columns in profile.fields.items():
            if name == "body":
                self.body = columns
                continue
            read: Callable[[Any], Any] | None = (
                None if name in _TIMES else clean_text if name in _TEXTS else clean_cell
            )
            if len(columns) == 1:
                self.single.append((name, columns[0], read))
            else:
                self.several.append((name, columns, read))
        self.extra = [(key, column, key in profile.counts) for key, column in profile.extra.items()]
        # Columns no field reads are kept in extra under their header (named in the summary).
        self.used = frozenset(
            {c for cols in profile.fields.values() for c in cols}
            | set(profile.extra.values())
            | profile.ignored
            | REJECTS_OWN_COLUMNS
        )
        self.unmapped: list[str] | None = (
            None if header is None else [c for c in header if c not in self.used]
        )
        self.seen_unmapped: dict[str, None] = {}  # unmapped columns that held a value, in order
        self.texts = tuple(
            dict.fromkeys(
                c for name in ("title", "body", "reply_text") for c in profile.fields.get(name, ())
            )
        )
        # A text column read for one field alone: its cleaned value is that field's, already
        # computed, so keeping the source's copy costs one comparison, not a second cleaning.
        self.cleaned_as = {
            cols[0]: name
            for name in ("title", "body", "reply_text")
            if len(cols := profile.fields.get(name, ())) == 1
        }
        self.statuses = dict(profile.statuses)
        self.statuses_folded = {k.casefold(): v for k, v in profile.statuses.items()}

    def __call__(self, values: MappingABC[str, Any]) -> MappedRow:
        if self.profile.unquote:
            values = {k: _unquote(v) for k, v in values.items()}
        get = values.get
        out: dict[str, Any] = {}
        for name, column, read in self.single:
            out[name] = self._time(get(column), column) if read is None else read(get(column))
        for name, columns, read in self.several:
            raw, column = None, columns[0]
            for candidate in columns:
                value = get(candidate)
                if value is not None and (not isinstance(value, str) or value.strip()):
                    raw, column = value, candidate
                    break
            out[name] = self._time(raw, column) if read is None else read(raw)
        if self.body:
            if len(self.body) == 1:
                out["body"] = clean_text(get(self.body[0]))
            else:
                parts = [clean_text(get(c)) for c in self.body]
                out["body"] = "\n".join(p for p in parts if p)
        if out.get("kind"):
            kind = str(out["kind"])
            out["kind"] = kind_code(kind)
        if out.get("urgency"):
            out["urgency"] = "urgent" if str(out["urgency"]).lower() in _URGENT else "normal"
        extra: dict[str, Any] = {}
        for key, column, count in self.extra:
            raw = get(column)
            if not _present(raw):
                continue
            if count:
                try:
                    extra[key] = parse_count(raw)
                except BadValue as exc:
                    raise BadValue(
                        f"{column}: {exc}", key="import.row.in_column", column=column, reason=exc
                    ) from None
            elif isinstance(raw, str):
                extra[key] = clean_text(raw)
            elif isinstance(raw, datetime):
                extra[key] = raw.isoformat()
            else:
                extra[key] = raw
        others = (
            self.unmapped
            if self.unmapped is not None
            else [k for k in values if k not in self.used]
        )
        for column in others:
            raw = get(column)
            if _present(raw) and column not in extra:
                # As the source had it: a column nobody mapped is kept, not interpreted.
                extra[column] = raw.isoformat() if isinstance(raw, datetime) else raw
                if column not in self.seen_unmapped:
                    self.seen_unmapped[column] = None
        if out.get("status") is not None:
            out["status"] = self._status(str(out["status"]), self.profile.fields["status"])
        source: dict[str, str] = {}
        cleaned_as = self.cleaned_as
        for column in self.texts:
            raw = get(column)
            if type(raw) is str and raw:
                known = cleaned_as.get(column)
                cleaned = out[known] if known is not None else clean_text(raw)
                if cleaned != raw:
                    source[column] = raw
        return MappedRow(out, extra, source)

    def _status(self, value: str, columns: tuple[str, ...]) -> str:
        found = self.statuses.get(value) or self.statuses_folded.get(value.casefold())
        if found is None:
            known = list(self.statuses)
            raise BadValue(
                f"{columns[0]}: status {value!r} is not in the mapping's [status] table "
                f"({', '.join(known)})",
                key="import.row.unknown_status",
                column=columns[0],
                value=value,
                known=known,
            )
        return found

    def _time(self, raw: Any, column: str) -> datetime | None:
        try:
            return parse_time(raw, zone=self.zone, formats=self.formats)
        except BadValue as exc:
            raise BadValue(
                f"{column}: {exc}", key="import.row.in_column", column=column, reason=exc
            ) from None


_TIMES = frozenset({"received_at", "replied_at", "closed_at", "accepted_at", "assigned_at"})
_TEXTS = frozenset({"title", "reply_text"})


def _unquote(value: Any) -> Any:
    """A cell of a CSV file caseworker wrote, as it was meant (output_safety)."""
    return read_own_cell(value) if isinstance(value, str) else value


def _present(value: Any) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def fingerprint(
    title: str, body: str, received_at: datetime, author: str | None, category: str | None
) -> str:
    """What makes two rows with one key "the same message": the text, time, author, category."""
    doc = [title, body, received_at.astimezone(UTC).isoformat(), author or "", category or ""]
    return hashlib.sha256(json.dumps(doc, ensure_ascii=False).encode("utf-8")).hexdigest()
