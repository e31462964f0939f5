"""Reading rows out of a file, whatever it is: CSV, JSON Lines, XLSX or Open311 JSON.

Every reader yields `SourceRow`s that keep the original values under the original column names,
so a rejected row can be written back exactly as the clerk's file had it. Text files are read
as a stream and spreadsheets with openpyxl's read-only mode, so a year's file is never held in
memory whole. Encoding detection tries UTF-8 (with or without BOM) and then GB18030: strict
UTF-8 decoding almost never succeeds on GBK bytes, and GB18030 is the superset of GBK/GB2312
that Chinese Excel writes, so the two attempts decide reliably without a statistical guesser.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FORMATS = ("csv", "jsonl", "xlsx", "open311")
_SAMPLE = 1 << 20  # bytes sampled for encoding detection
# No message is 16 million characters long; a field that is (an unclosed quote in a large file)
# is rejected with its row, and the CSV reader's buffer (4 bytes a character) stays at 64 MB.
csv.field_size_limit(1 << 24)


class SourceError(Exception):
    """The file cannot be read as a table at all; the message says why (exit code 1).

    Like a refusal (domain.errors), it carries a catalog key (`import.source.*`) and its
    parameters, so the command says it in the run's language.
    """

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


@dataclass(slots=True)
class SourceRow:
    """One row as the file has it: its number as the clerk sees it, and the raw values."""

    number: int
    values: dict[str, Any]
    problem: str | None = None  # set when the row itself is unreadable (e.g. broken JSON line)
    problem_key: str | None = None  # the problem's catalog key (`import.row.*`) and parameters
    problem_params: dict[str, Any] | None = None


@dataclass
class Source:
    """An opened file: its format, encoding, column names, and a one-pass stream of rows."""

    path: Path
    format: str
    encoding: str | None
    columns: list[str]
    rows: Iterator[SourceRow]
    first: dict[str, Any] = field(default_factory=dict)  # the first record (JSON formats)
    _closers: list[Any] = field(default_factory=list)
    # How far the stream has got and of how much (bytes, or rows for workbooks and arrays).
    position: Callable[[], tuple[int, int]] = lambda: (0, 0)

    def close(self) -> None:
        for closer in self._closers:
            closer()


def detect_encoding(path: Path) -> str:
    """utf-8-sig for UTF-8 (a BOM is skipped when present), else gb18030; or refuse."""
    with path.open("rb") as handle:
        sample = handle.read(_SAMPLE)
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    for encoding in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            decoder.decode(sample, final=len(sample) < _SAMPLE)
        except UnicodeDecodeError:
            continue
        return "utf-8-sig" if encoding == "utf-8" else encoding
    raise SourceError(
        f"{path.name} is neither UTF-8 nor GB18030 text; name it with --encoding",
        key="import.source.not_text",
        file=path.name,
    )


def _check_forced(path: Path, encoding: str) -> None:
    """Refuse a file that is not in the encoding the clerk named, saying where it breaks.

    Named with --encoding, an encoding is the clerk's word for the whole file, so the whole
    file is decoded once (a stream, a second or two a gigabyte) before a row is read: one
    byte outside it means the file is something else, and nothing is imported as mojibake.
    """
    decoder = codecs.getincrementaldecoder(encoding)()
    offset, lines = 0, 1
    with path.open("rb") as handle:
        while chunk := handle.read(_SAMPLE):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                # The decoder may hold the end of the previous chunk: count from its start.
                at = max(0, exc.start - len(exc.object) + len(chunk))
                lines += chunk.count(b"\n", 0, at)
                byte = f"0x{chunk[at] if at < len(chunk) else exc.object[exc.start]:02X}"
                raise SourceError(
                    f"{path.name} is not {_named(encoding)} (byte {byte} at row {lines})",
                    key="import.source.not_encoding",
                    file=path.name,
                    encoding=_named(encoding),
                    byte=byte,
                    row=lines,
                ) from None
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceError(
                f"{path.name} is not {_named(encoding)} (it ends inside a character, row {lines})",
                key="import.source.not_encoding_end",
                file=path.name,
                encoding=_named(encoding),
                row=lines,
            ) from None


def detect_format(path: Path) -> str:
    """The format from the file's first bytes, with its extension as a tie-breaker."""
    with path.open("rb") as handle:
        head = handle.read(4096)
    if not head.strip():
        raise SourceError(f"{path.name} is empty", key="import.source.empty", file=path.name)
    if head.startswith(b"PK\x03\x04"):
        return "xlsx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise SourceError(
            f"{path.name} is an old binary .xls workbook; save it as .xlsx or CSV",
            key="import.source.xls",
            file=path.name,
        )
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError(
            f"{path.name} is not a table: it holds binary data",
            key="import.source.binary",
            file=path.name,
        )
    text = head.lstrip(codecs.BOM_UTF8).lstrip()
    if text.startswith(b"["):
        return "open311"
    if text.startswith(b"{"):
        return "jsonl"
    return "csv"


def open_source(
    path: Path, fmt: str | None = None, encoding: str | None = None, *, named: bool = True
) -> Source:
    """Open `path` for reading rows; raises SourceError when it is no table at all.

    An `encoding` the clerk `named` is checked over the whole file first (the second process
    of a large import is handed the one already detected or checked, and skips that).
    """
    if not path.is_file():
        raise SourceError(f"no such file: {path}", key="import.source.missing", path=str(path))
    fmt = fmt or detect_format(path)
    if fmt not in FORMATS:
        raise SourceError(
            f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}",
            key="import.source.format",
            format=fmt,
            known=list(FORMATS),
        )
    if fmt == "xlsx":
        return _open_xlsx(path)
    if encoding is None:
        encoding = detect_encoding(path)
    else:
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise SourceError(
                f"unknown encoding {encoding!r}", key="import.source.encoding", encoding=encoding
            ) from None
        if named:
            _check_forced(path, encoding)
    if fmt == "csv":
        return _open_csv(path, encoding)
    if fmt == "jsonl":
        return _open_jsonl(path, encoding)
    return _open_open311(path, encoding)


def _text(path: Path, encoding: str, errors: str = "strict") -> IO[str]:
    return io.TextIOWrapper(path.open("rb"), encoding=encoding, errors=errors, newline="")


def _bytes_read(path: Path, handle: IO[str]) -> Callable[[], tuple[int, int]]:
    raw = handle.buffer  # type: ignore[attr-defined]
    size = path.stat().st_size

    def position() -> tuple[int, int]:
        return (size if raw.closed else raw.tell()), size

    return position


def _decode_guard(path: Path, encoding: str, rows: Iterator[SourceRow]) -> Iterator[SourceRow]:
    """Turn a decoding error deep in a file into a SourceError naming the encoding."""
    last = 0
    try:
        for row in rows:
            last = row.number
            yield row
    except UnicodeDecodeError:
        raise SourceError(
            f"{path.name} is not valid {encoding} after row {last}; name the encoding with "
            "--encoding",
            key="import.source.decode_after",
            file=path.name,
            encoding=encoding,
            row=last,
        ) from None


def _open_csv(path: Path, encoding: str) -> Source:
    # Bytes that are not `encoding` (a GBK row deep in a UTF-8 file, past the sample that
    # chose the encoding) are kept as lone surrogates, so their row is rejected, not the file.
    handle = _text(path, encoding, errors="surrogateescape")
    first_line = handle.readline()
    handle.seek(0)
    if _NOT_DECODED.search(first_line):
        handle.close()
        raise _undecodable(path, encoding)
    delimiter = max((",", "\t", ";"), key=first_line.count)
    # The physical lines of the record being read, for the checks below; `end` is set once the
    # reader has asked past the last line (a record ending there may be an unclosed quote).
    current: list[str] = []
    end = [False]

    def lines() -> Iterator[str]:
        for line in handle:
            current.append(line)
            yield line
        end[0] = True

    reader = csv.reader(lines(), delimiter=delimiter)
    header: list[str] | None = None
    number = 0
    try:
        for cells in reader:
            number += 1
            if any(c.strip() for c in cells):
                raw_header = [c.strip().lstrip("\ufeff") for c in cells]
                header = _unique(raw_header)
                break
    except csv.Error as exc:
        handle.close()
        raise SourceError(
            f"{path.name} cannot be read as CSV: {exc}",
            key="import.source.csv",
            file=path.name,
            error=str(exc),
        ) from None
    if header is None:
        handle.close()
        raise SourceError(
            f"{path.name} has no header row", key="import.source.no_header", file=path.name
        )
    columns = header
    twins = _twins(raw_header)
    current.clear()

    def row_of(
        n: int, cells: list[str], problem: tuple[str, str, dict[str, Any]] | None
    ) -> SourceRow:
        values: dict[str, Any] = dict(zip(columns, cells, strict=False))
        if len(cells) > len(columns):
            for extra, cell in enumerate(cells[len(columns) :], start=len(columns) + 1):
                values[f"column {extra}"] = cell
        if problem is None:
            return SourceRow(n, values)
        return SourceRow(n, values, problem[0], problem[1], problem[2])

    width, search = len(columns), _NOT_DECODED.search

    def rows() -> Iterator[SourceRow]:
        n = number
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:  # a field past csv.field_size_limit: this record only
                n += 1
                text, spanned = "".join(current), len(current)
                current.clear()
                if spanned > 1 and '"' in text.partition("\n")[0]:
                    # Millions of characters over many lines: a quote opened and never closed
                    # in a large file. The reader goes on after them; they are rejected here.
                    swallowed = list(_swallowed(n, text, delimiter, row_of))
                    n = swallowed[-1].number
                    yield from swallowed
                    continue
                yield SourceRow(
                    n,
                    {columns[0]: _clip(text)},
                    f"broken CSV: {exc}",
                    "import.row.broken_csv",
                    {"error": str(exc)},
                )
                continue
            n += 1
            spanned = len(current)
            if spanned == 1:
                bad = search(current[0])
            else:
                bad = next(filter(None, map(search, current)), None)
            text = "".join(current) if end[0] and spanned > 1 else ""  # only checked at the end
            current.clear()
            if not any(map(str.strip, cells)):
                continue  # blank, or blanks only
            if bad is not None:
                byte = f"0x{ord(bad.group()) - 0xDC00:02X}"
                yield row_of(
                    n,
                    [_redecode(c, encoding) for c in cells],
                    (
                        f"not valid {_named(encoding)} (byte {byte} in this row); the file mixes "
                        "encodings: save it in one",
                        "import.row.not_utf8",
                        {"encoding": _named(encoding), "byte": byte},
                    ),
                )
                continue
            if text and _unclosed(text, delimiter):
                yield from _swallowed(n, text, delimiter, row_of)
                return
            if len(cells) <= width and not twins:  # the common case, without a call
                yield SourceRow(n, dict(zip(columns, cells, strict=False)))
                continue
            yield row_of(n, cells, _misfit(columns, twins, cells))

    return Source(
        path,
        "csv",
        encoding,
        columns,
        rows(),
        _closers=[handle.close],
        position=_bytes_read(path, handle),
    )


# Bytes a strict decoder refused, kept by the `surrogateescape` handler as U+DC80..U+DCFF.
_NOT_DECODED = re.compile("[\udc80-\udcff]")


def _named(encoding: str) -> str:
    """An encoding as a clerk knows it: UTF-8 (with or without BOM), GB18030, GBK …"""
    return "UTF-8" if encoding.startswith("utf-8") else encoding.upper()


def _redecode(cell: str, encoding: str) -> str:
    """A cell with undecodable bytes, read in the other encoding a Chinese file may mix in."""
    if not _NOT_DECODED.search(cell):
        return cell
    raw = cell.encode(encoding.replace("-sig", ""), "surrogateescape")
    other = "gb18030" if encoding.startswith("utf-8") else "utf-8"
    return raw.decode(other, errors="replace")


def _unclosed(text: str, delimiter: str) -> bool:
    """Whether a record that ran to the end of the file did so inside an unclosed quote."""
    try:
        list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        return "unexpected end of data" in str(exc)
    return False


def _swallowed(
    number: int, text: str, delimiter: str, row_of: Callable[..., SourceRow]
) -> Iterator[SourceRow]:
    """The rows an unclosed quote swallowed into one cell, each rejected with the reason.

    The row that opens the quote is read on its own line; the lines after it are read again
    as rows (they are most likely good, but only the clerk can say where the quote closes).
    """
    head, _, rest = text.partition("\n")
    following = list(csv.reader(io.StringIO(rest), delimiter=delimiter))
    cells = next(csv.reader(io.StringIO(head), delimiter=delimiter), [])
    lines = len(following)
    yield row_of(
        number,
        cells,
        (
            f'an unterminated quote (") in this row swallowed {lines} lines after it; close the '
            "quote and import again",
            "import.row.unterminated_quote",
            {"lines": lines},
        ),
    )
    for offset, cells in enumerate(following, start=1):
        if any(map(str.strip, cells)):
            yield row_of(
                number + offset,
                cells,
                (
                    f'follows the unterminated quote (") of row {number}; close that quote and '
                    "import again",
                    "import.row.after_unterminated",
                    {"row": number},
                ),
            )


def _twins(names: list[str]) -> list[tuple[int, int, str]]:
    """(first position, later position, name) of each header named twice."""
    first: dict[str, int] = {}
    twins = []
    for i, name in enumerate(names):
        if not name:
            continue
        if name in first:
            twins.append((first[name], i, name))
        else:
            first[name] = i
    return twins


def _misfit(
    columns: list[str], twins: list[tuple[int, int, str]], cells: Sequence[Any]
) -> tuple[str, str, dict[str, Any]] | None:
    """Why a row does not fit its header, so that reading it would drop a value silently:
    filled cells past the last column (a row shifted by a stray delimiter), or two columns of
    one name holding different values. None when it fits."""
    width = len(columns)
    if len(cells) > width:
        extra = [c for c in cells[width:] if _filled(c)]
        if extra:
            value = repr(_clip(str(extra[0]))[:40])
            return (
                f"filled cells past the header's {width} columns: {value} has no column",
                "import.row.extra_cells",
                {"width": width, "value": value},
            )
    for a, b, name in twins:
        one = cells[a] if a < len(cells) else None
        two = cells[b] if b < len(cells) else None
        if _filled(two) and (not _filled(one) or str(one).strip() != str(two).strip()):
            return (
                f"column {name} appears twice with different values",
                "import.row.twin_columns",
                {"column": name},
            )
    return None


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (a blank or repeated header gets its position appended)."""
    seen: set[str] = set()
    out = []
    for i, name in enumerate(names, start=1):
        name = name or f"column {i}"
        if name in seen:
            name = f"{name} ({i})"
        seen.add(name)
        out.append(name)
    return out


def _open_jsonl(path: Path, encoding: str) -> Source:
    handle = _text(path, encoding, errors="surrogateescape")  # see _open_csv

    def records() -> Iterator[SourceRow]:
        for number, line in enumerate(handle, start=1):
            text = line.strip().lstrip("\ufeff")
            if not text:
                continue
            bad = _NOT_DECODED.search(text)
            if bad is not None:
                byte = f"0x{ord(bad.group()) - 0xDC00:02X}"
                yield SourceRow(
                    number,
                    {"line": _redecode(line.rstrip("\r\n"), encoding)},
                    f"not valid {_named(encoding)} (byte {byte} in this row); the file mixes "
                    "encodings: save it in one",
                    "import.row.not_utf8",
                    {"encoding": _named(encoding), "byte": byte},
                )
                continue
            try:
                value = json.loads(text)
            except json.JSONDecodeError as exc:
                yield SourceRow(
                    number,
                    {"line": line.rstrip("\r\n")},
                    f"not valid JSON: {exc.msg}",
                    "import.row.bad_json",
                    {"error": exc.msg},
                )
                continue
            except (ValueError, RecursionError) as exc:  # 5,000 digits; 100,000 levels deep
                why = f"{type(exc).__name__}: {str(exc)[:80]}"
                yield SourceRow(
                    number,
                    {"line": _clip(line.rstrip("\r\n"))},
                    f"not JSON caseworker can read: {why}",
                    "import.row.too_deep",
                    {"error": why},
                )
                continue
            if "\\u" in text and _has_surrogate(value):
                yield SourceRow(
                    number,
                    {"line": line.rstrip("\r\n")},
                    "holds a lone surrogate (\\ud800-\\udfff), which is not text",
                    "import.row.surrogate",
                )
                continue
            if not isinstance(value, dict):
                yield SourceRow(
                    number,
                    {"line": line.rstrip("\r\n")},
                    "not a JSON object",
                    "import.row.not_object",
                )
                continue
            yield SourceRow(number, value)

    stream = _decode_guard(path, encoding, records())
    try:
        first = next(stream)
    except StopIteration:
        handle.close()
        raise SourceError(
            f"{path.name} holds no records", key="import.source.no_records", file=path.name
        ) from None
    ahead: list[SourceRow] = [first]
    if first.problem is not None:
        # A broken first line, or a whole-file JSON document (a pretty-printed object)? JSON
        # Lines when the next line is a record of its own: then only the first is rejected.
        second = next(stream, None)
        if second is None or second.problem is not None:
            handle.close()
            return _open_open311(path, encoding)
        ahead.append(second)
    record = next(r for r in ahead if r.problem is None)

    def chained() -> Iterator[SourceRow]:
        yield from ahead
        yield from stream

    return Source(
        path,
        "jsonl",
        encoding,
        list(record.values),
        chained(),
        first=record.values,
        _closers=[handle.close],
        position=_bytes_read(path, handle),
    )


def _open_open311(path: Path, encoding: str) -> Source:
    """GeoReport v2 JSON: an array of requests, or an object holding one (API pages are small).

    An array is read as a stream, twice: once to check it and learn its columns, once for its
    rows, so a large file is never held in memory (json.load needs several times its size).
    """
    if _starts_array(path, encoding):
        return _open_array(path, encoding)
    try:
        with path.open("r", encoding=encoding) as handle:
            doc = json.load(handle)
    except UnicodeDecodeError:
        raise _undecodable(path, encoding) from None
    except json.JSONDecodeError as exc:
        raise SourceError(
            f"{path.name} is not valid JSON: {exc.msg} (line {exc.lineno})",
            key="import.source.json",
            file=path.name,
            error=exc.msg,
            line=exc.lineno,
        ) from None
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, deep nesting
        raise SourceError(
            f"{path.name} is not valid JSON: {type(exc).__name__} (line 1)",
            key="import.source.json",
            file=path.name,
            error=type(exc).__name__,
            line=1,
        ) from None
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list)]
        doc = lists[0] if len(lists) == 1 else [doc]
    if not isinstance(doc, list) or not doc:
        raise SourceError(
            f"{path.name} holds no records", key="import.source.no_records", file=path.name
        )
    columns: list[str] = []
    for item in doc:
        if isinstance(item, dict):
            columns.extend(k for k in item if k not in columns)

    done = [0]

    def rows() -> Iterator[SourceRow]:
        return _record_rows(doc, done)

    first = next((i for i in doc if isinstance(i, dict)), {})
    return Source(
        path,
        "open311",
        encoding,
        columns,
        rows(),
        first=first,
        position=lambda: (done[0], len(doc)),
    )


def _record_rows(items: Iterable[Any], done: list[int]) -> Iterator[SourceRow]:
    """An Open311 array's items as rows, counting them in `done[0]`: a record, or a row
    rejected for what it is (a lone surrogate in its text, or no JSON object at all)."""
    for number, item in enumerate(items, start=1):
        done[0] = number
        if isinstance(item, dict) and _has_surrogate(item):
            yield SourceRow(
                number,
                {k: v for k, v in item.items() if not _has_surrogate(v)},
                "holds a lone surrogate (\\ud800-\\udfff), which is not text",
                "import.row.surrogate",
            )
        elif isinstance(item, dict):
            yield SourceRow(number, item)
        else:
            yield SourceRow(number, {"value": item}, "not a JSON object", "import.row.not_object")


def _starts_array(path: Path, encoding: str) -> bool:
    try:
        with path.open("r", encoding=encoding) as handle:
            head = handle.read(4096)
    except UnicodeDecodeError:
        return False  # said by the whole-document reader
    return head.lstrip("\ufeff \t\r\n").startswith("[")


def _open_array(path: Path, encoding: str) -> Source:
    columns: list[str] = []
    seen: set[str] = set()
    first: dict[str, Any] | None = None
    count = 0
    for item in _array_items(path, encoding):
        count += 1
        if isinstance(item, dict):
            first = item if first is None else first
            for key in item:
                if key not in seen:
                    seen.add(key)
                    columns.append(key)
    if not count:
        raise SourceError(
            f"{path.name} holds no records", key="import.source.no_records", file=path.name
        )
    done = [0]

    def rows() -> Iterator[SourceRow]:
        return _record_rows(_array_items(path, encoding), done)

    return Source(
        path,
        "open311",
        encoding,
        columns,
        rows(),
        first=first or {},
        position=lambda: (done[0], count),
    )


_BLANK = re.compile(r"[ \t\r\n]*")
_ARRAY_CHUNK = 1 << 20  # characters read at a time


def _undecodable(path: Path, encoding: str) -> SourceError:
    """The refusal of a file that is not in the encoding it was read in."""
    return SourceError(
        f"{path.name} is not valid {encoding}; use --encoding",
        key="import.source.decode",
        file=path.name,
        encoding=encoding,
    )


def _array_items(path: Path, encoding: str) -> Iterator[Any]:
    """The elements of the JSON array a file holds, one at a time; SourceError if it is not
    one (with the line where it breaks)."""
    with path.open("r", encoding=encoding) as handle:
        try:
            yield from _ArrayReader(path, handle).items()
        except UnicodeDecodeError:
            raise _undecodable(path, encoding) from None


class _ArrayReader:
    """A JSON array read from a text stream with a window of it in memory, not all of it."""

    def __init__(self, path: Path, handle: IO[str]) -> None:
        self.path, self.handle = path, handle
        self.buf = handle.read(_ARRAY_CHUNK).lstrip("\ufeff")
        self.pos = 0
        self.lines = 0  # line breaks in the text already dropped from the window
        self.decoder = json.JSONDecoder()

    def items(self) -> Iterator[Any]:
        if self.skip() != "[":
            raise self.broken("expected an array", self.pos)
        self.pos += 1
        if self.skip() == "]":
            return
        while True:
            self.skip()
            while True:
                try:
                    value, end = self.decoder.raw_decode(self.buf, self.pos)
                    if end < len(self.buf) or not self.more():
                        break  # (a number at the window's edge may go on past it)
                    continue
                except json.JSONDecodeError as exc:
                    if not self.more():  # all of the file is in the window, still not JSON
                        raise self.broken(exc.msg, exc.pos) from None
                except (ValueError, RecursionError) as exc:  # 5,000 digits, deep nesting
                    raise self.broken(type(exc).__name__, self.pos) from None
            self.pos = end
            yield value
            after = self.skip()
            if after == "]":
                return
            if after != ",":
                raise self.broken("expected , or ]", self.pos)
            self.pos += 1

    def more(self) -> bool:
        """Slide the window on: drop what was read, add at least as much again."""
        chunk = self.handle.read(max(_ARRAY_CHUNK, len(self.buf) - self.pos))
        if not chunk:
            return False
        self.lines += self.buf.count("\n", 0, self.pos)
        self.buf, self.pos = self.buf[self.pos :] + chunk, 0
        return True

    def skip(self) -> str:
        """The next character past blanks ("" at the end of the file)."""
        while True:
            match = _BLANK.match(self.buf, self.pos)
            self.pos = match.end() if match else self.pos
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self.more():
                return ""

    def broken(self, why: str, at: int) -> SourceError:
        line = self.lines + self.buf.count("\n", 0, at) + 1
        return SourceError(
            f"{self.path.name} is not valid JSON: {why} (line {line})",
            key="import.source.json",
            file=self.path.name,
            error=why,
            line=line,
        )


# Bounds on what a workbook may make caseworker do. A workbook is a zip of XML: a few hundred
# kilobytes can expand to gigabytes (a "zip bomb"), declare a sheet of 17 billion cells, or
# hold one cell of half a billion characters. openpyxl holds the shared strings in memory, so
# they are capped well below the 300 MB an import may use.
MAX_XLSX_EXPANSION = 2 << 30  # bytes, all parts of the workbook uncompressed
MAX_XLSX_RATIO = 200  # uncompressed ÷ compressed, for any part over a megabyte
MAX_SHARED_STRINGS = 100 << 20  # bytes of xl/sharedStrings.xml uncompressed
MAX_COLUMNS = 1_000
MAX_CELL = 1_000_000  # characters in one cell; a row holding more is rejected


def _check_workbook(path: Path) -> None:
    """Refuse a workbook whose parts would expand past the bounds above, before opening it."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise SourceError(
            f"{path.name} cannot be read as a workbook: {exc}",
            key="import.source.workbook",
            file=path.name,
            error=str(exc),
        ) from None
    total = 0
    for part in parts:
        # zipfile never yields more than a part declares, so declared sizes bound the work.
        total += part.file_size
        ratio = part.file_size / max(part.compress_size, 1)
        bomb = part.file_size > 1 << 20 and ratio > MAX_XLSX_RATIO
        strings = part.filename.endswith("sharedStrings.xml") and (
            part.file_size > MAX_SHARED_STRINGS
        )
        if bomb or strings or total > MAX_XLSX_EXPANSION:
            raise SourceError(
                f"{path.name} expands to more than caseworker reads from a workbook "
                f"({part.filename}: {part.file_size:,} bytes from {part.compress_size:,}); "
                "save it as CSV",
                key="import.source.workbook_bomb",
                file=path.name,
                part=part.filename,
                size=part.file_size,
                packed=part.compress_size,
            )


def _xlsx_string(value: str) -> str:
    """A string cell's text with the file's `_xHHHH_` escapes undone, as a spreadsheet reads
    it: writers store a carriage return as `_x000D_` and a literal `_x0041_` as
    `_x005F_x0041_` (XLSX's rule for characters XML would change), which openpyxl leaves."""
    from openpyxl.utils.escape import unescape

    return str(unescape(value))


def _open_xlsx(path: Path) -> Source:
    from openpyxl import load_workbook

    _check_workbook(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip, XML and openpyxl errors all mean "not a workbook we can read"
        raise SourceError(
            f"{path.name} cannot be read as a workbook: {exc}",
            key="import.source.workbook",
            file=path.name,
            error=str(exc),
        ) from None
    sheet = book.worksheets[0]
    claimed = sheet.max_row or 0  # what the sheet says; blank rows included
    # Rows are read as the sheet holds them, not padded to the size its header declares: a
    # 2 KB sheet may declare A1:XFD1048576, which padding turns into 17 billion cells.
    sheet.reset_dimensions()
    iterator = sheet.iter_rows(values_only=True)
    header: list[str] | None = None
    number = 0
    try:
        for cells in iterator:
            number += 1
            if any(_filled(c) for c in cells):
                raw_header = [str(c).strip() if c is not None else "" for c in cells]
                header = _unique(raw_header)
                break
    except Exception as exc:  # as in rows() below: the sheet's XML is broken before its header
        book.close()
        raise SourceError(
            f"{path.name} cannot be read as a workbook: {exc}",
            key="import.source.workbook",
            file=path.name,
            error=str(exc),
        ) from None
    if header is None:
        book.close()
        raise SourceError(
            f"{path.name} has no header row", key="import.source.no_header", file=path.name
        )
    while header and header[-1].startswith("column "):
        header.pop()  # styled but empty columns to the right
    if len(header) > MAX_COLUMNS:
        book.close()
        raise SourceError(
            f"{path.name} has {len(header):,} columns; caseworker reads at most {MAX_COLUMNS:,}",
            key="import.source.too_many_columns",
            file=path.name,
            columns=len(header),
            limit=MAX_COLUMNS,
        )
    columns = header
    twins = _twins(raw_header)
    done = [number]

    def read() -> Iterator[tuple[Any, ...]]:
        try:
            yield from iterator
        except Exception as exc:  # openpyxl's, XML's or zip's: the sheet breaks here for good
            raise SourceError(
                f"{path.name} cannot be read as a workbook after row {done[0]}: {exc}",
                key="import.source.workbook_after",
                file=path.name,
                row=done[0],
                error=str(exc),
            ) from None

    def rows() -> Iterator[SourceRow]:
        n = number
        for cells in read():
            n += 1
            done[0] = n
            if not any(_filled(c) for c in cells):
                continue  # blank rows, including the thousands a sheet may claim at its end
            cells = tuple(_xlsx_string(c) if type(c) is str and "_x" in c else c for c in cells)
            values = dict(zip(columns, cells, strict=False))
            misfit = _misfit(columns, twins, cells)
            if misfit is not None:
                if len(cells) > len(columns):
                    for extra, cell in enumerate(cells[len(columns) :], start=len(columns) + 1):
                        values[f"column {extra}"] = cell
                yield SourceRow(n, values, *misfit)
                continue
            huge = _huge_cell(values)
            if huge is not None:
                size = len(values[huge])
                clipped = {k: _clip(v) if isinstance(v, str) else v for k, v in values.items()}
                yield SourceRow(
                    n,
                    clipped,
                    f"{huge} holds {size:,} characters; a cell may hold at most {MAX_CELL:,}",
                    "import.row.cell_too_long",
                    {"column": huge, "size": size, "limit": MAX_CELL},
                )
                continue
            yield SourceRow(n, values)

    return Source(
        path,
        "xlsx",
        None,
        columns,
        rows(),
        _closers=[book.close],
        position=lambda: (done[0], max(claimed, done[0])),
    )


def _has_surrogate(value: Any) -> bool:
    """Whether a decoded JSON value holds a lone surrogate (`"\\ud800"`): valid JSON, but no
    text a database, a terminal or a UTF-8 file can take."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


_CLIP = 2_000  # characters of a rejected line kept when the whole of it cannot be


def _clip(text: str) -> str:
    return text if len(text) <= _CLIP else text[:_CLIP] + f" … ({len(text):,} characters)"


def _huge_cell(values: dict[str, Any]) -> str | None:
    """The column of a cell holding more than MAX_CELL characters, if any."""
    for column, value in values.items():
        if isinstance(value, str) and len(value) > MAX_CELL:
            return column
    return None


def _filled(cell: Any) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())
