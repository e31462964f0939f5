"""XLSX files a supervisor opens and reads like a spreadsheet, not a text dump.

Every XLSX caseworker writes (`export`, `report overdue`, `report rates`) goes through
`SheetBook`: a streamed (write-only) workbook whose cells are typed by their column:

- text as string cells: the type, not a leading `'`, keeps `=1+1` from running, so it shows
  as `=1+1`; characters XML cannot hold are replaced (output_safety.xlsx_text), never fatal;
- ids that must stay text (long or zero-padded) as string cells too;
- times as real date cells in Asia/Shanghai wall-clock time, shown `2025-11-14 23:59`;
- counts as numbers, rates as numbers with a percent format.

The header row is bold, frozen and carries an autofilter; column widths fit the content of
the first rows (capped), and long text columns wrap. A last sheet, `query`, says what the
file holds: as-of, filters, who ran it, the rule version.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from caseworker.output_safety import xlsx_text

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
DECIMAL_FORMAT = "0.00"
MAX_WIDTH = 60  # characters; a longer column wraps (long text) or is cut off on screen
WRAP_WIDTH = 50  # the width of a wrapped long text column
SAMPLE_ROWS = 500  # rows read for the column widths before the sheet starts streaming


@dataclass(frozen=True)
class Column:
    """A column of a sheet and the type of its cells.

    kind: "text", "long_text" (wraps), "id" (text, however numeric it looks), "int",
    "number", "percent" (a fraction shown as a percentage), "datetime", "date", "bool".
    """

    name: str
    kind: str = "text"


def _width(value: Any) -> int:
    """Display width in characters: a CJK character counts two."""
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 16
    text = str(value).split("\n", 1)[0]
    return sum(2 if ord(ch) >= 0x1100 else 1 for ch in text[: MAX_WIDTH * 2])


def _moment(value: Any) -> datetime | date | None:
    """A time or day cell's value (ISO 8601 text is read); None when it is neither."""
    if isinstance(value, datetime | date):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


class _Sheet:
    """One streamed sheet: rows are held until SAMPLE_ROWS are seen (for the widths), then
    written as they come."""

    def __init__(self, book: Any, title: str, columns: Sequence[Column]) -> None:
        self.book, self.columns = book, list(columns)
        self.sheet = book.create_sheet(xlsx_text(title)[:31])
        self.pending: list[list[Any]] | None = []
        self.rows = 0
        self.styled: dict[tuple[int, str, bool, bool], Any] = {}
        self._styles()

    def _styles(self) -> None:
        from openpyxl.styles import Alignment, Font

        self.bold = Font(bold=True)
        self.wrap = Alignment(wrap_text=True, vertical="top")

    def append(self, values: Sequence[Any]) -> None:
        if self.pending is not None:
            self.pending.append(list(values))
            if len(self.pending) >= SAMPLE_ROWS:
                self._start()
            return
        self._write(values)

    def _start(self) -> None:
        """Widths from the rows seen so far, the frozen bold header, then the held rows."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.utils import get_column_letter

        held, self.pending = self.pending or [], None
        for n, column in enumerate(self.columns, start=1):
            widest = max([_width(column.name), *(_width(r[n - 1]) for r in held)])
            if column.kind == "long_text":
                width = min(max(widest, 10), WRAP_WIDTH)
            else:
                width = min(widest, MAX_WIDTH)
            self.sheet.column_dimensions[get_column_letter(n)].width = max(width, 6) + 2
        self.sheet.freeze_panes = "A2"
        # Printed, a sheet is landscape, as wide as the page, its header on every page.
        self.sheet.page_setup.orientation = "landscape"
        self.sheet.page_setup.paperSize = 9  # A4
        self.sheet.page_setup.fitToWidth, self.sheet.page_setup.fitToHeight = 1, 0
        self.sheet.sheet_properties.pageSetUpPr.fitToPage = True
        self.sheet.print_title_rows = "1:1"
        header = []
        for column in self.columns:
            cell = WriteOnlyCell(self.sheet, value=xlsx_text(column.name))
            cell.data_type = "s"
            cell.font = self.bold
            header.append(cell)
        self.sheet.append(header)
        for row in held:
            self._write(row)

    def _write(self, values: Sequence[Any]) -> None:
        self.sheet.append(
            [self._cell(c, v, n) for n, (c, v) in enumerate(zip(self.columns, values, strict=True))]
        )
        self.rows += 1

    def _cell(self, column: Column, value: Any, place: int = -1) -> Any:
        """The cell of `value` in `column`: a typed, formatted cell where the type or format
        matters, the plain value where openpyxl's own reading is right (cheaper)."""
        if value is None or value == "":
            return None
        kind = column.kind
        when = _moment(value) if kind in ("datetime", "date") else None
        if when is not None:
            if isinstance(when, datetime) and when.tzinfo is not None:
                when = when.astimezone(SHANGHAI).replace(tzinfo=None)
            timed = kind == "datetime" and isinstance(when, datetime)
            return self._typed(
                when, number_format=DATETIME_FORMAT if timed else DATE_FORMAT, place=place
            )
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and kind != "id":  # a number in a text column (the query sheet) stays one
            if kind == "percent":
                return self._typed(value, number_format=PERCENT_FORMAT, place=place)
            if kind == "number" and isinstance(value, float):
                return self._typed(value, number_format=DECIMAL_FORMAT, place=place)
            return value
        if isinstance(value, bool):
            return value
        # Everything else is text: a string cell, whatever it starts with. openpyxl would take
        # a plain string starting with = for a formula, so those (and wrapped text) get a cell
        # typed by hand; the others are written as they are.
        text = xlsx_text(str(value))
        if kind != "long_text" and not text.startswith("="):
            return text
        return self._typed(text, text=True, wrap=kind == "long_text", place=place)

    def _typed(
        self,
        value: Any,
        *,
        number_format: str = "",
        text: bool = False,
        wrap: bool = False,
        place: int = -1,
    ) -> Any:
        """A styled cell holding `value`. A streamed row is written as soon as it is appended,
        so the styled cell of a column (`place`) is made once and given each row's value:
        making and styling a cell per value was most of a large sheet's time."""
        from openpyxl.cell import WriteOnlyCell

        key = (place, number_format, text, wrap)
        cell = self.styled.get(key) if place >= 0 else None
        if cell is None:
            cell = WriteOnlyCell(self.sheet, value=value)
            if number_format:
                cell.number_format = number_format
            if wrap:
                cell.alignment = self.wrap
            if place >= 0:
                self.styled[key] = cell
        else:
            cell.value = value
        if text:
            cell.data_type = "s"
        return cell

    def close(self) -> None:
        from openpyxl.utils import get_column_letter

        if self.pending is not None:
            self._start()
        last = get_column_letter(len(self.columns))
        self.sheet.auto_filter.ref = f"A1:{last}{self.rows + 1}"


class SheetBook:
    """A streamed workbook of typed sheets, and the `query` sheet that describes it."""

    def __init__(self, path: Path) -> None:
        from openpyxl import Workbook

        self.path = path
        self.book = Workbook(write_only=True)
        self.sheets: list[_Sheet] = []

    def sheet(self, title: str, columns: Sequence[Column]) -> _Sheet:
        sheet = _Sheet(self.book, title, columns)
        self.sheets.append(sheet)
        return sheet

    def query(self, about: Iterable[tuple[str, Any]]) -> None:
        """The last sheet: one row a fact about the file (as-of, filters, who, rule version)."""
        sheet = self.sheet("query", [Column("about"), Column("value", "long_text")])
        for key, value in about:
            if isinstance(value, datetime):
                value = value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M (Asia/Shanghai)")
            sheet.append([key, value])

    def save(self) -> None:
        for sheet in self.sheets:
            sheet.close()
        self.book.save(self.path)
