"""The rejects file: every row that did not become a case, as the file had it, with the reason.

Table inputs (CSV, XLSX) give a CSV in UTF-8 with BOM (Excel opens it with Chinese intact) with
the original columns first and `source_row`, `reject_reason` after them, so a clerk fixes the
cells in place and imports the file again. JSON inputs give JSON Lines of the original objects
with `_source_row` and `_reject_reason` added.
"""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from caseworker.domain.errors import InvalidInput
from caseworker.services.imports.sources import Source, SourceRow

ROW_COLUMN, REASON_COLUMN = "source_row", "reject_reason"


def default_rejects_path(source: Source) -> Path:
    suffix = ".rejects.jsonl" if source.format in ("jsonl", "open311") else ".rejects.csv"
    return source.path.with_name(source.path.stem + suffix)


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

    def __init__(self, source: Source, path: Path) -> None:
        self.path = path
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
        cells = [_cell(row.values.get(c)) for c in self.columns]
        self._writer.writerow([*cells, row.number, reason])

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
