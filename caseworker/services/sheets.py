"""XLSX files a supervisor opens and reads like a spreadsheet, not a text dump.

Every XLSX caseworker writes (`export`, `report overdue`, `report rates`) goes through
`SheetBook`: a streamed workbook written by rustpy-xlsxwriter (the Rust rust_xlsxwriter
underneath, in constant-memory mode: rows are pulled from their iterator as the file is
written, none held) whose cells are typed by their column:

- text as string cells, written as strings whatever they hold: `=1+1` shows as `=1+1`, never
  runs, and no text is read as a number or a link; characters XML cannot hold are replaced
  (output_safety.xlsx_text), and text past a cell's 32,767 characters is cut, never fatal;
- ids that must stay text (long or zero-padded) as string cells too;
- times as real date cells in Asia/Shanghai wall-clock time, shown `2025-11-14 23:59`;
- counts as numbers, rates as numbers with a percent format.

The header row is bold, frozen and carries an autofilter; column widths fit the content of
the first rows (capped), and long text columns wrap. A sheet that reaches the row limit of
XLSX goes on in a second sheet of the same columns. A last sheet, `query`, says what the file
holds: as-of, filters, who ran it, the rule version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import chain, islice
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from caseworker.output_safety import xlsx_text

if TYPE_CHECKING:
    from rustpy_xlsxwriter import FastExcel

SHANGHAI = ZoneInfo("Asia/Shanghai")
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
DECIMAL_FORMAT = "0.00"
MAX_WIDTH = 60  # characters; a longer column wraps (long text) or is cut off on screen
WRAP_WIDTH = 50  # the width of a wrapped long text column
SAMPLE_ROWS = 500  # rows read for the column widths before the sheet starts streaming
MAX_ROWS = 1_048_575  # data rows a sheet holds below its header (XLSX: 1,048,576 rows)
MAX_TEXT = 32_767  # characters a cell holds
# Printed, a sheet is landscape, A4, as wide as the page, its header on every page.
PAGE_SETUP: dict[str, Any] = {
    "landscape": True,
    "paper_size": 9,
    "fit_to_pages": (1, 0),
    "repeat_rows": (0, 0),
}


@dataclass(frozen=True)
class Column:
    """A column of a sheet and the type of its cells.

    kind: "text", "long_text" (wraps), "id" (text, however numeric it looks), "int",
    "number", "percent" (a fraction shown as a percentage), "datetime", "date", "bool".
    """

    name: str
    kind: str = "text"


# The number format a column's cells are shown with, by kind.
_NUMBER_FORMATS = {
    "datetime": DATETIME_FORMAT,
    "date": DATE_FORMAT,
    "percent": PERCENT_FORMAT,
    "number": DECIMAL_FORMAT,
}


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


def _text(value: str) -> str | None:
    """A string cell's text: empty is no cell; what XLSX cannot hold is replaced or cut."""
    if not value:
        return None
    value = xlsx_text(value)
    return value if len(value) <= MAX_TEXT else value[:MAX_TEXT]


def _cell(kind: str) -> Callable[[Any], Any]:
    """What a column's values become in the file: a typed value the writer stores as its cell
    (str a string cell, int/float a number, bool a boolean, datetime a date cell), worked out
    once per column, not per value."""

    def other(value: Any) -> Any:
        """A value whose type is not the column's: numbers and booleans stay what they are
        (a count on the query sheet), anything else is text."""
        if isinstance(value, bool) or (isinstance(value, int | float) and kind != "id"):
            return value
        return _text(str(value))

    if kind in ("datetime", "date"):

        def moment(value: Any) -> Any:
            if value is None or value == "":
                return None
            when = _moment(value)
            if when is None:
                return other(value)
            if isinstance(when, datetime) and when.tzinfo is not None:
                when = when.astimezone(SHANGHAI).replace(tzinfo=None)
            return when

        return moment
    if kind in ("text", "long_text", "id"):

        def string(value: Any) -> Any:
            if type(value) is str:
                return _text(value)
            return None if value is None else other(value)

        return string

    def plain(value: Any) -> Any:
        if value is None or value == "":
            return None
        return other(value)

    return plain


@dataclass(frozen=True)
class _Sheet:
    """A sheet to be written: its columns, where its rows come from and how many there are."""

    title: str
    columns: list[Column]
    rows: Iterator[Sequence[Any]]
    count: int


class SheetBook:
    """A streamed workbook of typed sheets, and the `query` sheet that describes it.

    Sheets are declared first and written by `save()`, which pulls their rows then: a caller
    streaming from a database keeps its transaction open across `save()`.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sheets: list[_Sheet] = []

    def sheet(
        self, title: str, columns: Sequence[Column], rows: Iterable[Sequence[Any]], count: int
    ) -> None:
        """A sheet of `count` rows (values in the order of `columns`), read at `save()`;
        past the row limit of XLSX they go on in further sheets of the same columns."""
        self.sheets.append(_Sheet(xlsx_text(title)[:31], list(columns), iter(rows), count))

    def query(self, about: Iterable[tuple[str, Any]]) -> None:
        """The last sheet: one row a fact about the file (as-of, filters, who, rule version)."""
        lines: list[list[Any]] = []
        for key, value in about:
            if isinstance(value, datetime):
                value = value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M (Asia/Shanghai)")
            lines.append([key, value])
        columns = [Column("about"), Column("value", "long_text")]
        self.sheets.append(_Sheet("query", columns, iter(lines), len(lines)))

    def save(self) -> None:
        """Writes the file, pulling every sheet's rows; a failure to write it is the OSError
        behind it."""
        from rustpy_xlsxwriter import FastExcel

        # Opened here first, so a path that cannot be written fails with its own OSError
        # (no such folder, no permission) before any row is read.
        self.path.open("wb").close()
        book = (
            FastExcel(str(self.path))
            .format(datetime_format=DATETIME_FORMAT, bold_headers=True)
            .freeze(row=1)
        )
        for sheet in self.sheets:
            self._add(book, sheet)
        book.save()

    def _add(self, book: FastExcel, sheet: _Sheet) -> None:
        """The sheet's parts (more than one past MAX_ROWS rows), each headed, typed, sized."""
        from rustpy_xlsxwriter import Format

        held = list(islice(sheet.rows, SAMPLE_ROWS))
        widths = _widths(sheet.columns, held)
        rows = chain(held, sheet.rows)
        names = [xlsx_text(column.name) for column in sheet.columns]
        formats: dict[str, Format] = {}
        for name, column in zip(names, sheet.columns, strict=True):
            if column.kind == "long_text":
                formats[name] = Format().set_text_wrap().set_align("top")
            elif column.kind in _NUMBER_FORMATS:
                formats[name] = Format().set_num_format(_NUMBER_FORMATS[column.kind])
        cells = [_cell(column.kind) for column in sheet.columns]
        parts = max(1, -(-sheet.count // MAX_ROWS))
        for part in range(parts):
            last = part == parts - 1
            chunk = rows if last else islice(rows, MAX_ROWS)
            title = sheet.title if part == 0 else f"{sheet.title[:26]} ({part + 1})"
            book.sheet(
                title,
                _records(names, cells, chunk),
                column_widths=widths,
                column_formats=formats,
                autofilter=True,
                page_setup=PAGE_SETUP,
            )


def _widths(columns: Sequence[Column], held: Sequence[Sequence[Any]]) -> list[float]:
    """Column widths from the first rows: the widest value, capped; long text wraps."""
    widths: list[float] = []
    for n, column in enumerate(columns):
        widest = max([_width(column.name), *(_width(row[n]) for row in held)])
        if column.kind == "long_text":
            width = min(max(widest, 10), WRAP_WIDTH)
        else:
            width = min(widest, MAX_WIDTH)
        # The writer adds the cell's padding (about 0.7 character) to the width it is given.
        widths.append(max(width, 6) + 1)
    return widths


def _records(
    names: list[str], cells: list[Callable[[Any], Any]], rows: Iterable[Sequence[Any]]
) -> Iterator[dict[str, Any]]:
    """Each row as the writer takes it: a mapping of header to typed value. A sheet without
    rows still gets its header, from one row of empty cells (which writes nothing)."""
    plan = list(zip(names, cells, strict=True))
    empty = True
    for row in rows:
        empty = False
        yield {name: cell(value) for (name, cell), value in zip(plan, row, strict=True)}
    if empty:
        yield dict.fromkeys(names)
