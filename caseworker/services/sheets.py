"""XLSX files a supervisor opens and reads like a spreadsheet, not a text dump.

Every XLSX caseworker writes (`export`, `report overdue`, `report rates`) goes through
`SheetBook`: a streamed workbook (XlsxWriter in constant-memory mode: each row is written out
when the next begins) whose cells are typed by their column:

- text as string cells, written as strings whatever they hold: `=1+1` shows as `=1+1`, never
  runs, and no text is read as a number or a link; characters XML cannot hold are replaced
  (output_safety.xlsx_text), never fatal;
- ids that must stay text (long or zero-padded) as string cells too;
- times as real date cells in Asia/Shanghai wall-clock time, shown `2025-11-14 23:59`;
- counts as numbers, rates as numbers with a percent format.

The header row is bold, frozen and carries an autofilter; column widths fit the content of
the first rows (capped), and long text columns wrap. A sheet that reaches the row limit of
XLSX goes on in a second sheet of the same columns. A last sheet, `query`, says what the file
holds: as-of, filters, who ran it, the rule version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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
MAX_ROWS = 1_048_575  # data rows a sheet holds below its header (XLSX: 1,048,576 rows)


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


# What writes one value into a cell: (row, column, value).
_Put = Callable[[int, int, Any], Any]


class _Sheet:
    """One streamed sheet: rows are held until SAMPLE_ROWS are seen (for the widths), then
    written as they come."""

    def __init__(self, book: SheetBook, title: str, columns: Sequence[Column]) -> None:
        self.book, self.columns = book, list(columns)
        self.title = xlsx_text(title)[:31]
        self.sheet = book.book.add_worksheet(self.title)
        self.pending: list[list[Any]] | None = []
        self.rows = 0  # data rows written to this sheet
        self.parts = 1  # sheets these columns have filled (more than one past MAX_ROWS rows)
        self.widths: list[float] = []
        self.puts = [self._put(column.kind) for column in self.columns]

    def append(self, values: Sequence[Any]) -> None:
        if self.pending is not None:
            self.pending.append(list(values))
            if len(self.pending) >= SAMPLE_ROWS:
                self._start()
            return
        self._write(values)

    def _start(self) -> None:
        """Widths from the rows seen so far, the frozen bold header, then the held rows."""
        held, self.pending = self.pending or [], None
        for n, column in enumerate(self.columns):
            widest = max([_width(column.name), *(_width(r[n]) for r in held)])
            if column.kind == "long_text":
                width = min(max(widest, 10), WRAP_WIDTH)
            else:
                width = min(widest, MAX_WIDTH)
            # XlsxWriter adds the cell's padding (about 0.7 character) to the width it is given.
            self.widths.append(max(width, 6) + 1)
        self._head()
        for row in held:
            self._write(row)

    def _head(self) -> None:
        sheet = self.sheet
        for n, width in enumerate(self.widths):
            sheet.set_column(n, n, width)
        sheet.freeze_panes(1, 0)
        # Printed, a sheet is landscape, as wide as the page, its header on every page.
        sheet.set_landscape()
        sheet.set_paper(9)  # A4
        sheet.fit_to_pages(1, 0)
        sheet.repeat_rows(0)
        for n, column in enumerate(self.columns):
            sheet.write_string(0, n, xlsx_text(column.name), self.book.bold)

    def _write(self, values: Sequence[Any]) -> None:
        if self.rows >= MAX_ROWS:
            self._go_on()
        self.rows += 1
        row = self.rows
        for n, (put, value) in enumerate(zip(self.puts, values, strict=True)):
            if value is not None and value != "":
                put(row, n, value)

    def _go_on(self) -> None:
        """A full sheet is closed and the rows go on in a new one of the same columns."""
        self.close()
        self.parts += 1
        self.sheet = self.book.book.add_worksheet(f"{self.title[:26]} ({self.parts})")
        self.rows = 0
        self._head()

    def _put(self, kind: str) -> _Put:
        """How a column's non-empty values are written: a typed cell, with the column's format
        where the type or format matters. Worked out once per column, not per value."""
        book = self.book

        def text(row: int, n: int, value: Any) -> Any:
            # A string cell whatever the text starts with: written as a string, never a formula.
            return self.sheet.write_string(row, n, xlsx_text(str(value)))

        def long_text(row: int, n: int, value: Any) -> Any:
            return self.sheet.write_string(row, n, xlsx_text(str(value)), book.wrap)

        plain = long_text if kind == "long_text" else text

        def other(row: int, n: int, value: Any) -> Any:
            """A value whose type is not the column's: numbers and booleans stay what they are
            (a count on the query sheet), anything else is text."""
            if isinstance(value, bool):
                return self.sheet.write_boolean(row, n, value)
            if isinstance(value, int | float) and kind != "id":
                if kind == "percent":
                    return self.sheet.write_number(row, n, value, book.percent)
                if kind == "number" and isinstance(value, float):
                    return self.sheet.write_number(row, n, value, book.decimal)
                return self.sheet.write_number(row, n, value)
            return plain(row, n, value)

        if kind in ("datetime", "date"):

            def moment(row: int, n: int, value: Any) -> Any:
                when = _moment(value)
                if when is None:
                    return other(row, n, value)
                if isinstance(when, datetime):
                    if when.tzinfo is not None:
                        when = when.astimezone(SHANGHAI).replace(tzinfo=None)
                    timed = kind == "datetime"
                else:
                    timed = False
                cell = book.datetime if timed else book.date
                return self.sheet.write_datetime(row, n, when, cell)

            return moment
        if kind in ("text", "long_text", "id"):

            def string(row: int, n: int, value: Any) -> Any:
                if type(value) is str:
                    return plain(row, n, value)
                return other(row, n, value)

            return string
        return other

    def close(self) -> None:
        if self.pending is not None:
            self._start()
        self.sheet.autofilter(0, 0, self.rows, len(self.columns) - 1)


class SheetBook:
    """A streamed workbook of typed sheets, and the `query` sheet that describes it."""

    def __init__(self, path: Path) -> None:
        from xlsxwriter import Workbook

        self.path = path
        self.book = Workbook(
            str(path),
            {
                "constant_memory": True,
                # Text is text: never read as a formula, a number or a link.
                "strings_to_formulas": False,
                "strings_to_numbers": False,
                "strings_to_urls": False,
                "nan_inf_to_errors": True,
                # A million cases' sheet can pass the 4 GB a plain zip member may hold.
                "use_zip64": True,
            },
        )
        self.bold = self.book.add_format({"bold": True})
        self.wrap = self.book.add_format({"text_wrap": True, "valign": "top"})
        self.datetime = self.book.add_format({"num_format": DATETIME_FORMAT})
        self.date = self.book.add_format({"num_format": DATE_FORMAT})
        self.percent = self.book.add_format({"num_format": PERCENT_FORMAT})
        self.decimal = self.book.add_format({"num_format": DECIMAL_FORMAT})
        self.sheets: list[_Sheet] = []

    def sheet(self, title: str, columns: Sequence[Column]) -> _Sheet:
        sheet = _Sheet(self, title, columns)
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
        """Writes the file; a failure to write it is the OSError behind it."""
        from xlsxwriter.exceptions import FileCreateError

        for sheet in self.sheets:
            sheet.close()
        try:
            self.book.close()
        except FileCreateError as exc:
            cause = exc.args[0] if exc.args else None
            if isinstance(cause, OSError):
                raise cause from None
            raise
