"""The rejects file: every row that did not become a case, as the file had it, with the reason.

Table inputs (CSV, XLSX) give a CSV in UTF-8 with BOM (Excel opens it with Chinese intact) with
the original columns first and `source_row`, `reject_reason` after them, so a clerk fixes the
cells in place and imports the file again. JSON inputs give JSON Lines of the original objects
with `_source_row` and `_reject_reason` added.

The CSV is safe to open in a spreadsheet: a cell that could run as a formula gets the leading
`'` of output_safety.guard_formula, and a long or zero-padded number the `="0012345"` form, and
importing the rejects file undoes both exactly, so `=1+1` survives the trip as `=1+1`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from caseworker.domain.errors import InvalidInput
from caseworker.output_safety import (
    guard_formula,
    is_fragile_number,
    read_own_cell,
    text_id_cell,
)
from caseworker.services.imports.mapping import Profile
from caseworker.services.imports.sources import Source, SourceRow

ROW_COLUMN, REASON_COLUMN = "source_row", "reject_reason"


def default_rejects_path(source: Source) -> Path:
    suffix = ".rejects.jsonl" if source.format in ("jsonl", "open311") else ".rejects.csv"
    return source.path.with_name(source.path.stem + suffix)


def is_rejects_file(columns: list[str]) -> bool:
    """Whether a table is a rejects file of ours (its last two columns say so)."""
    return columns[-2:] == [ROW_COLUMN, REASON_COLUMN]


def reading_of(profile: Profile, source: Source) -> Profile:
    """The profile as this source is read: the formula guard and the `="…"` ids undone in a CSV
    file caseworker wrote (an export, or a rejects file), and only there (XLSX cells of ours
    are typed, never guarded)."""
    ours = source.format == "csv" and (profile.unquote or is_rejects_file(list(source.columns)))
    return profile if ours == profile.unquote else dataclasses.replace(profile, unquote=ours)


def _csv_cell(value: Any, guarded: bool) -> str:
    """A rejected cell for the rejects CSV: as the file meant it, then made spreadsheet-safe."""
    text = _cell(value)
    if guarded:
        text = read_own_cell(text)
    return text_id_cell(text) if is_fragile_number(text) else guard_formula(text)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime | date):
        return value.isoformat(sep=" ") if isinstance(value, datetime) else value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class RejectsWriter:
    """Writes rejected rows as they are found; the file is only created for the first one."""

    def __init__(self, source: Source, path: Path, *, guarded: bool = False) -> None:
        self.path = path
        self.guarded = guarded  # the source is a CSV of ours: its cells are guarded already
        self.columns = list(source.columns)
        self.as_json = source.format in ("jsonl", "open311")
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: SourceRow, reason: str) -> None:
        if self._handle is None:
            try:
                self._open()
            except OSError as exc:
                raise InvalidInput(
                    f"cannot write the rejects file {self.path}: {exc.strerror}; "
                    "choose another with --rejects",
                    key="refused.import.rejects_file",
                    path=str(self.path),
                    why=exc.strerror,
                ) from None
        self.count += 1
        assert self._handle is not None
        if self.as_json:
            doc = dict(row.values)
            doc["_source_row"], doc["_reject_reason"] = row.number, reason
            self._handle.write(json.dumps(doc, ensure_ascii=False, default=_cell) + "\n")
            return
        for key in row.values:
            if key not in self.columns:  # cells beyond the header keep their place
                self.columns.append(key)
        cells = [_csv_cell(row.values.get(c), self.guarded) for c in self.columns]
        self._writer.writerow([*cells, row.number, guard_formula(reason)])

    def _open(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.as_json:
            self._handle = self.path.open("w", encoding="utf-8", newline="")
            return
        self._handle = self.path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._handle)
        self._writer.writerow([*self.columns, ROW_COLUMN, REASON_COLUMN])

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.flush()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
