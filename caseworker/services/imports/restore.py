"""Restoring our own JSON Lines export: each case with its records and its whole history.

Cases come back with the states, times and deadlines they were exported with (nothing is
recomputed, so the round trip is exact); units and clerks named in the export's first line are
created when the target database lacks them; links between cases are resolved by (channel,
external id) once every case is in, and again on a re-run after an interruption.

A file can say anything, so a full restore is only for rebuilding a bureau: into a store with
no case yet, by a supervisor (`restore_mode`). Each restored event says which file it came from
(detail "restored_from"), the units and clerks it brings are recorded in the administration
history, and its clerks are bound to no login: nobody acts as them until a supervisor binds
one. Into a store that already holds cases an export imports as plain cases, received now by
the importing clerk, with none of the file's history (`as_plain_cases`).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, insert, update
from sqlmodel import Session, col, select

from caseworker.domain.errors import InvalidInput
from caseworker.domain.lifecycle import ENDED_STATES, ExtensionState
from caseworker.services.exporting import CHILDREN, MARK, VERSION
from caseworker.services.imports.bulk import insert_cases
from caseworker.services.imports.mapping import FIELDS, HISTORY_FIELDS, Profile
from caseworker.services.imports.sources import SourceRow
from caseworker.store.audit import Chain, seal_ranking
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    EventRow,
    ExtensionRow,
    LinkRow,
    MetaRow,
    RankingRecord,
    Unit,
)
from caseworker.store.types import UTCDateTime

if TYPE_CHECKING:
    from collections.abc import Iterator

    from caseworker.services.imports.prepare import Prepared, Preparer

Key = tuple[str, str]


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _fk_target(column: Any) -> str | None:
    for fk in column.foreign_keys:
        return str(fk.column.table.name)
    return None


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{name}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise InvalidInput(f"{name}: {value!r} has no UTC offset")
    return parsed


PENDING_KEY = "restore_pending"  # store_meta: the file a full restore is under way from


def restore_mode(session: Session, actor: str, file: str) -> bool:
    """True for a full restore (a store with no case yet, or one an interrupted restore of
    this same file left, and `actor` a supervisor: refused otherwise); False when the store
    already holds other cases and the file imports as plain cases."""
    from caseworker.services.admin import require_supervisor

    pending = session.get(MetaRow, PENDING_KEY)
    resuming = pending is not None and pending.value == file
    if not resuming and session.exec(select(CaseRow.id).limit(1)).first() is not None:
        return False
    require_supervisor(session, actor, "a full restore")
    return True


def mark_pending(session: Session, file: str) -> None:
    row = session.get(MetaRow, PENDING_KEY) or MetaRow(key=PENDING_KEY, value=file)
    row.value = file
    session.add(row)


# The export's case records read as plain messages: the case's own fields, nothing of its
# state, records or history.
PLAIN_CASES = Profile(
    name="caseworker-export-as-cases",
    signature=(),
    fields={
        name: (name,)
        for name in FIELDS
        if name not in ("reply_text", "replied_at", *HISTORY_FIELDS)
    },
)


def as_plain_cases(preparer: Preparer, rows: Iterator[SourceRow]) -> tuple[Preparer, Any]:
    """A preparer that reads an export's case records as new messages, and those records."""
    from caseworker.services.imports.prepare import Preparer

    plain = Preparer(
        PLAIN_CASES,
        preparer.channel,
        preparer.rules,
        preparer.actor,
        preparer.now,
        preparer.stamp,
        sqlite=preparer.sqlite,
        lang=preparer.lang,
    )

    def cases() -> Iterator[SourceRow]:
        for row in rows:
            if Restorer.is_meta(row.values):
                continue
            case = row.values.get("case")
            values = dict(case) if isinstance(case, dict) else {}
            yield SourceRow(row.number, values, row.problem, row.problem_key, row.problem_params)

    return plain, cases()


class Restorer:
    """Turns exported records back into rows; holds the names it has resolved so far."""

    def __init__(self, actor: str, source: str = "") -> None:
        self.actor = actor
        self.source = source  # the file's name, on every event restored from it
        self.meta: dict[str, Any] = {}
        self.meta_done = False
        self.units: dict[str, int] = {}
        self.clerks: dict[str, int] = {}
        self.pending: list[tuple[Key, dict[str, Any]]] = []  # (case key, its exported doc)

    # ------------------------------------------------------------ reading

    @staticmethod
    def is_meta(values: dict[str, Any]) -> bool:
        return "meta" in values and MARK in values

    def remember_meta(self, values: dict[str, Any]) -> None:
        self.meta = dict(values.get("meta") or {})

    def case_of(self, values: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """The case row (without references, resolved at insert) and the whole record."""
        if values.get(MARK) != VERSION:
            raise InvalidInput(f"not a version {VERSION} export record")
        doc = values.get("case")
        if not isinstance(doc, dict):
            raise InvalidInput("an export record without its case")
        fields = self._values(doc, CaseRow, {}, {})
        for name in ("channel", "external_id", "title", "body", "status", "received_at"):
            if fields.get(name) in (None, ""):
                raise InvalidInput(f"case field {name} is missing")
        fields.pop("id", None)
        from caseworker.services.imports.prepare import _DEFAULTS

        return SimpleNamespace(**{**_DEFAULTS, **fields}), values

    def _values(
        self,
        doc: dict[str, Any],
        model: Any,
        units: dict[str, int],
        clerks: dict[str, int],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for column in _table(model).columns:
            name = column.name
            target = _fk_target(column)
            if target is not None:
                short = name[:-3] if name.endswith("_id") else name
                ref = doc.get(short)
                if target == "units":
                    out[name] = units.get(str(ref)) if ref is not None else None
                elif target == "clerks":
                    out[name] = clerks.get(str(ref)) if ref is not None else None
                else:
                    out[name] = None  # cases: resolved by key later (case_id: set by caller)
                continue
            if name not in doc:
                continue
            value = doc[name]
            if isinstance(column.type, UTCDateTime):
                out[name] = _time(value, name)
            elif name in ("extra", "detail", "source_text"):
                out[name] = json.dumps(value, ensure_ascii=False) if value is not None else None
            else:
                out[name] = value
        return out

    # ------------------------------------------------------------ writing

    def _ensure_names(self, session: Session) -> None:
        """Units and clerks of the export that this database lacks, created once."""
        if self.meta_done:
            return
        from caseworker.services.admin import record

        by_code = {u.code: u for u in session.exec(select(Unit)).all()}
        for entry in self.meta.get("units", []):
            if entry["code"] not in by_code:
                unit = Unit(
                    code=entry["code"],
                    name=entry["name"],
                    level=entry["level"],
                    active=bool(entry.get("active", True)),
                )
                session.add(unit)
                by_code[unit.code] = unit
                record(session, self.actor, "unit.restore", unit.code, None, dict(entry))
        session.flush()
        for entry in self.meta.get("units", []):
            unit = by_code[entry["code"]]
            if unit.parent_id is None and entry.get("parent") in by_code:
                unit.parent_id = by_code[entry["parent"]].id
        clerks = {c.name for c in session.exec(select(ClerkRow)).all()}
        for entry in self.meta.get("clerks", []):
            if entry["name"] not in clerks:
                # Bound to no login: restored names act only once a supervisor binds them.
                record(session, self.actor, "clerk.restore", entry["name"], None, dict(entry))
                unit_ref = entry.get("unit")
                session.add(
                    ClerkRow(
                        name=entry["name"],
                        role=entry["role"],
                        unit_id=by_code[unit_ref].id if unit_ref in by_code else None,
                        active=bool(entry.get("active", True)),
                    )
                )
        session.flush()
        self._restore_rankings(session)
        self.units = {c: i for i, c in session.exec(select(Unit.id, Unit.code)).all() if i}
        self.clerks = {n: i for i, n in session.exec(select(ClerkRow.id, ClerkRow.name)).all() if i}
        self.meta_done = True

    def _restore_rankings(self, session: Session) -> None:
        """The export's recorded rankings, in their order, each sealed anew on this store's
        ranking chain; only into a store that has recorded none (so a resumed restore does
        not add them twice). The figures are kept as recorded: that is what they attest."""
        from caseworker.services.admin import record

        rankings = self.meta.get("rankings") or []
        if not rankings or session.exec(select(RankingRecord.id).limit(1)).first() is not None:
            return
        for entry in rankings:
            if not isinstance(entry, dict):
                raise InvalidInput("a recorded ranking of the export is not a record")
            as_of = _time(entry.get("as_of"), "as_of")
            recorded_at = _time(entry.get("recorded_at"), "recorded_at")
            if as_of is None or recorded_at is None:
                raise InvalidInput("a recorded ranking of the export is incomplete")
            try:
                row = RankingRecord(
                    period=str(entry["period"]),
                    period_start=date.fromisoformat(str(entry["period_start"])),
                    period_end=date.fromisoformat(str(entry["period_end"])),
                    level=entry.get("level"),
                    as_of=as_of,
                    rule_version=str(entry["rule_version"]),
                    figures=str(entry["figures"]),
                    clerk=str(entry["clerk"]),
                    recorded_at=recorded_at,
                )
            except (KeyError, ValueError):
                raise InvalidInput("a recorded ranking of the export is incomplete") from None
            row.hash = seal_ranking(session.connection(), row.model_dump())
            session.add(row)
            session.flush()  # the next ranking's seal chains to this one
            # Like a restored unit or clerk, in the administration history: who brought it in.
            subject = f"{row.period} {row.period_start.isoformat()}"
            about = {
                "period": row.period,
                "period_start": row.period_start.isoformat(),
                "period_end": row.period_end.isoformat(),
                "level": row.level,
                "rule_version": row.rule_version,
                "recorded_by": row.clerk,
                "recorded_at": entry.get("recorded_at"),
            }
            record(session, self.actor, "ranking.restore", subject, None, about)

    def note_existing(self, doc: dict[str, Any] | None, case_id: int | None) -> None:
        """A case already here (a re-run): its links may still be missing."""
        if doc is not None and _has_links(doc):
            case = doc["case"]
            self.pending.append(((case["channel"], case["external_id"]), doc))

    def insert(self, session: Session, fresh: list[Prepared]) -> None:
        self._ensure_names(session)
        for item in fresh:
            doc = item.restore or {}
            lead = doc["case"].get("lead_unit")
            item.case.lead_unit_id = self.units.get(str(lead)) if lead else None
            item.case.repeat_of_id = item.case.merged_into_id = None
        ids = insert_cases(session, [p.case for p in fresh])
        for key, model in CHILDREN.items():
            if key == "links":
                continue
            rows = []
            for cid, item in zip(ids, fresh, strict=True):
                for child in (item.restore or {}).get(key, []):
                    values = self._values(child, model, self.units, self.clerks)
                    values.pop("id", None)
                    values["case_id"] = cid
                    if model is EventRow:
                        values["detail"] = self._marked(values.get("detail"))
                    elif model is ExtensionRow:
                        _settle(values, item.case)
                    rows.append(values)
            if rows and model is EventRow:
                # Sealed afresh on the new cases' chains: the seals attest this store's copy.
                Chain().seal_rows(rows)
            if rows:
                session.connection().execute(insert(_table(model)), rows)
        for item in fresh:
            if item.restore is not None and _has_links(item.restore):
                self.pending.append((item.key, item.restore))

    def _marked(self, detail: str | None) -> str:
        """An event's detail with the file it was restored from."""
        doc = json.loads(detail) if detail else {}
        if not isinstance(doc, dict):
            doc = {"detail": doc}
        doc["restored_from"] = self.source
        return json.dumps(doc, ensure_ascii=False)

    def finish(self, session: Session) -> None:
        """Resolve repeat / merge references and link records, adding only what is missing;
        the restore is then complete."""
        done = session.get(MetaRow, PENDING_KEY)
        if done is not None:
            session.delete(done)
        if not self.pending:
            return
        self._ensure_names(session)
        wanted: set[Key] = set()
        for key, doc in self.pending:
            wanted.add(key)
            case = doc["case"]
            for ref in (case.get("repeat_of"), case.get("merged_into")):
                if ref:
                    wanted.add((ref[0], ref[1]))
            for link in doc.get("links", []):
                if link.get("target"):
                    wanted.add((link["target"][0], link["target"][1]))
        ids: dict[Key, int] = {}
        for channel in {k[0] for k in wanted}:
            exts = [k[1] for k in wanted if k[0] == channel]
            for cid, ext in session.exec(
                select(CaseRow.id, CaseRow.external_id).where(
                    CaseRow.channel == channel, col(CaseRow.external_id).in_(exts)
                )
            ).all():
                ids[(channel, ext)] = cid or 0
        cases = _table(CaseRow)
        for key, doc in self.pending:
            cid = ids.get(key)
            if cid is None:
                continue
            case = doc["case"]
            refs = {
                name: ids.get((ref[0], ref[1])) if ref else None
                for name, ref in (
                    ("repeat_of_id", case.get("repeat_of")),
                    ("merged_into_id", case.get("merged_into")),
                )
            }
            session.connection().execute(update(cases).where(cases.c.id == cid).values(**refs))
            have = {
                (t, k)
                for t, k in session.exec(
                    select(LinkRow.target_id, LinkRow.kind).where(LinkRow.case_id == cid)
                ).all()
            }
            for link in doc.get("links", []):
                ref = link.get("target")
                target = ids.get((ref[0], ref[1])) if ref else None
                if target is None or (target, link["kind"]) in have:
                    continue
                values = self._values(link, LinkRow, self.units, self.clerks)
                values.pop("id", None)
                values.update(case_id=cid, target_id=target)
                session.connection().execute(insert(_table(LinkRow)), [values])
        self.pending.clear()


def _settle(extension: dict[str, Any], case: Any) -> None:
    """An extension request an older release left waiting on a case that has ended lapses
    as migration 0018 settles the stored ones: decided at the case's close time (else its last
    change), by nobody. Today's services lapse it when they end the case."""
    if extension.get("state") != ExtensionState.REQUESTED.value:
        return
    if case.status not in {s.value for s in ENDED_STATES}:
        return
    extension["state"] = ExtensionState.LAPSED.value
    extension["decided_by_id"] = None
    extension["decided_at"] = case.closed_at or case.updated_at


def _has_links(doc: dict[str, Any]) -> bool:
    case = doc.get("case") or {}
    return bool(doc.get("links") or case.get("repeat_of") or case.get("merged_into"))
