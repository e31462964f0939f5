"""One bad row costs only itself: every row of a hostile file is imported or rejected with why.

Each file here holds good rows around one bad one; the import must take the good ones, put
the bad one in the rejects file with its reason, and never fail the file or lose a row.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import func, select

from caseworker.clock import FrozenClock, recorded_now
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import Desk
from caseworker.services.imports import ImportFailed, ImportOptions, list_imports, run_import
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.rules import load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow, ImportRecord

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)
HEADER = "留言编号,留言用户,留言主题,留言时间,留言详情\n"


@dataclass
class Bureau:
    store: Store
    desk: Desk
    folder: Path

    def run(self, path: Path, **options: Any) -> Any:
        options.setdefault("rejects", self.folder / "rejects")
        return run_import(self.store, self.desk, path, ImportOptions(**options))

    def cases(self) -> int:
        with self.store.session() as session:
            return int(session.exec(select(func.count()).select_from(CaseRow)).one())

    def rejects(self, path: Path) -> list[tuple[str, str]]:
        """(source row, reason) of each rejected row of `path`."""
        folder = self.folder / "rejects"
        if path.suffix == ".jsonl":
            found = folder / f"{path.stem}.rejects.jsonl"
            docs = [json.loads(line) for line in found.read_text(encoding="utf-8").splitlines()]
            return [(str(d["_source_row"]), d["_reject_reason"]) for d in docs]
        found = folder / f"{path.stem}.rejects.csv"
        with found.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))[1:]
        # The last two cells: a row with cells past the header is written with them in place.
        return [(r[-2], r[-1]) for r in rows]


@pytest.fixture
def bureau(tmp_path: Path) -> Iterator[Bureau]:
    store = open_store(str(tmp_path / "cases.sqlite"))
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    (tmp_path / "rejects").mkdir()
    yield Bureau(store, Desk(rules, FrozenClock(NOW), "alice"), tmp_path)
    store.close()


def good(n: int) -> str:
    return f"{n},A{n},路灯不亮{n},2019-04-25 09:32:09,建设路路灯坏了两周。\n"


@pytest.mark.parametrize("when", ["0001-01-01", "9999-12-31 23:59:59", "1969-12-31"])
def test_a_csv_row_dated_beyond_what_can_be_held_is_rejected_alone(
    bureau: Bureau, tmp_path: Path, when: str
) -> None:
    path = tmp_path / "dates.csv"
    path.write_text(HEADER + good(1) + f"2,A2,路灯,{when},坏了\n" + good(3), encoding="utf-8")
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 1)
    [(row, reason)] = bureau.rejects(path)
    assert row == "3" and "outside the times caseworker holds" in reason


def jsonl(*records: str) -> str:
    return "\n".join(records) + "\n"


def record(n: int, **fields: Any) -> str:
    doc = {
        "留言编号": f"J{n}",
        "留言用户": f"A{n}",
        "留言主题": f"路灯不亮{n}",
        "留言时间": "2019-04-25 09:32:09",
        "留言详情": "坏了两周",
    }
    doc.update(fields)
    return json.dumps(doc, ensure_ascii=False)


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ('{"留言主题": ' + "[" * 100_000 + "}", "RecursionError"),
        ('{"留言编号": ' + "7" * 5_000 + "}", "not JSON caseworker can read"),
        (record(9).replace("路灯不亮9", "\\ud800"), "lone surrogate"),
        (record(9, **{"留言时间": 12345}), "outside the times"),
        (record(9, **{"留言编号": ["a", "b"]}), "is not a value for this field"),
        ("{broken", "not valid JSON"),
    ],
    ids=["deep", "digits", "surrogate", "int-time", "list-id", "broken"],
)
def test_a_hostile_json_line_is_rejected_and_the_rest_import(
    bureau: Bureau, tmp_path: Path, bad: str, why: str
) -> None:
    path = tmp_path / "lines.jsonl"
    path.write_text(jsonl(record(1), bad, record(3)), encoding="utf-8")
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 1), summary
    [(row, reason)] = bureau.rejects(path)
    assert row == "2" and why in reason, reason


def test_a_jsonl_file_whose_first_line_is_broken_loses_only_that_line(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = tmp_path / "first.jsonl"
    path.write_text(jsonl('{"title": "cut off', record(2), record(3)), encoding="utf-8")
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 1)
    assert bureau.rejects(path)[0][0] == "1"


def test_an_unterminated_quote_rejects_the_rows_it_swallowed_with_the_reason(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = tmp_path / "quote.csv"
    broken = '2,A2,"路灯,2019-04-25 09:32:09,坏了\n'
    path.write_text(HEADER + good(1) + broken + good(3) + good(4), encoding="utf-8")
    summary = bureau.run(path)
    # Before: rows 3 and 4 vanished into row 2's title, and the import said nothing.
    assert (summary.read, summary.imported, summary.rejected) == (4, 1, 3)
    rejected = bureau.rejects(path)
    assert [row for row, _ in rejected] == ["3", "4", "5"]
    assert "unterminated quote" in rejected[0][1] and "2 lines" in rejected[0][1]
    assert all("follows the unterminated quote" in why for _, why in rejected[1:])


def test_a_field_past_the_size_limit_costs_only_its_row(bureau: Bureau, tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + good(1))
        handle.write("2,A2,路灯,2019-04-25 09:32:09," + "长" * (1 << 24) + "x\n")
        handle.write(good(3))
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 1)
    [(row, reason)] = bureau.rejects(path)
    assert row == "3" and "field larger than field limit" in reason
    # The rejects file holds the start of the row, not all 16 million characters of it.
    assert (tmp_path / "rejects" / "huge.rejects.csv").stat().st_size < 100_000


def test_a_running_import_whose_process_is_gone_shows_as_interrupted(
    bureau: Bureau, tmp_path: Path
) -> None:
    """Killed with -9, an import cannot record its end; the list tells from its process and
    heartbeat (tests/cli/test_import_signals.py kills a real one)."""
    path = tmp_path / "day.csv"
    path.write_text(HEADER + good(1), encoding="utf-8")
    summary = bureau.run(path)
    here, beat = socket.gethostname(), recorded_now()
    gone = _dead_pid()
    cases = [
        (here, os.getpid(), beat, "running"),  # this very process: alive
        (here, gone, beat, "interrupted"),  # no such process on this host
        ("another-host", 1, beat - timedelta(minutes=3), "running"),  # can't ask; recent beat
        ("another-host", 1, beat - timedelta(hours=1), "interrupted"),  # silent for an hour
        (None, None, None, "running"),  # recorded before hosts were: left as it says
    ]
    for host, pid, heartbeat, shown in cases:
        with bureau.store.session() as session:
            record = session.get(ImportRecord, summary.import_id)
            assert record is not None
            record.status, record.host, record.pid = "running", host, pid
            record.heartbeat_at = heartbeat
            session.add(record)
        with bureau.store.session() as session:
            [info] = list_imports(session)
        assert info.status == shown, (host, pid, heartbeat)


def _dead_pid() -> int:
    """The id of a process that has ended (its parent reaped it)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_file_that_is_not_in_the_named_encoding_is_refused_saying_where(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = tmp_path / "utf8.csv"
    path.write_text(HEADER + good(1) + good(2), encoding="utf-8")
    with pytest.raises(ImportFailed) as failed:
        bureau.run(path, encoding="gbk")
    assert "utf8.csv is not GBK (byte 0xA2 at row 1)" in str(failed.value)
    assert bureau.cases() == 0  # nothing imported as mojibake
    ascii_after_a_line = tmp_path / "late.csv"
    ascii_after_a_line.write_bytes(b"a,b\n1,2\n3,\xe9\n")
    with pytest.raises(ImportFailed, match=r"not ASCII \(byte 0xE9 at row 3\)"):
        bureau.run(ascii_after_a_line, encoding="ascii")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes((HEADER + good(3)).encode("gbk"))
    assert bureau.run(gbk, encoding="gbk").imported == 1


# ---------------------------------------------------------------- hostile workbooks


def workbook(path: Path, rows: list[list[Any]]) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER.strip().split(","))
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def rewrite_part(path: Path, name: str, write: Any, edits: dict[str, Any] | None = None) -> None:
    """Replace (or add) one part of a workbook's zip: `write(handle, old_bytes)` streams it;
    `edits` maps other parts to functions of their bytes."""
    import zipfile

    out = path.with_suffix(".tmp")
    with zipfile.ZipFile(path) as old, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as new:
        names = [info.filename for info in old.infolist()]
        for info in old.infolist():
            data = old.read(info.filename)
            if info.filename == name:
                continue
            change = (edits or {}).get(info.filename)
            new.writestr(info, change(data) if change else data)
        with new.open(name, "w", force_zip64=True) as handle:
            write(handle, old.read(name) if name in names else b"")
    out.replace(path)


def xlsx_row(n: int) -> list[Any]:
    return [n, f"A{n}", f"路灯不亮{n}", "2019-04-25 09:32:09", "坏了"]


def test_a_sheet_declaring_a_million_rows_by_16384_columns_reads_only_its_rows(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "declared.xlsx", [xlsx_row(1), xlsx_row(2)])

    def declare(handle: Any, data: bytes) -> None:
        declared = re.sub(rb'<dimension ref="[^"]+"', b'<dimension ref="A1:XFD1048576"', data)
        assert declared != data
        handle.write(declared)

    rewrite_part(path, "xl/worksheets/sheet1.xml", declare)
    assert path.stat().st_size < 10_000
    summary = bureau.run(path)  # before: 17 billion padded cells, minutes of work
    assert (summary.read, summary.imported) == (2, 2)


def test_a_shared_strings_bomb_is_refused_before_it_is_expanded(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = workbook(tmp_path / "bomb.xlsx", [xlsx_row(1)])

    def inflate(handle: Any, data: bytes) -> None:
        handle.write(b'<?xml version="1.0" encoding="UTF-8"?>')
        handle.write(b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
        handle.write(b"<si><t>")
        for _ in range(120):
            handle.write(b"a" * (1 << 20))
        handle.write(b"</t></si></sst>")

    strings = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    override = f'<Override PartName="/xl/sharedStrings.xml" ContentType="{strings}"/>'
    link = f'<Relationship Id="rIdS" Type="{relation}" Target="sharedStrings.xml"/>'
    rewrite_part(
        path,
        "xl/sharedStrings.xml",
        inflate,
        {
            "[Content_Types].xml": lambda d: d.replace(
                b"</Types>", override.encode() + b"</Types>"
            ),
            "xl/_rels/workbook.xml.rels": lambda d: d.replace(
                b"</Relationships>", link.encode() + b"</Relationships>"
            ),
        },
    )
    assert path.stat().st_size < 1_000_000  # 120 MB of text in a few hundred kilobytes
    with pytest.raises(ImportFailed, match="expands to more than caseworker reads"):
        bureau.run(path)
    assert bureau.cases() == 0


def test_a_cell_past_a_million_characters_rejects_its_row_with_a_short_copy(
    bureau: Bureau, tmp_path: Path
) -> None:
    import random

    chars = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    body = "".join(random.Random(7).choices(chars, k=1_100_000))  # hardly compressible
    huge = [2, "A2", "路灯", "2019-04-25 09:32:09", "BODY"]
    path = workbook(tmp_path / "cell.xlsx", [xlsx_row(1), huge, xlsx_row(3)])
    # openpyxl writes at most Excel's 32,767 characters a cell; other programs write more.
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda handle, data: handle.write(data.replace(b">BODY<", f">{body}<".encode())),
    )
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 1)
    [(row, reason)] = bureau.rejects(path)
    assert row == "3" and "留言详情 holds 1,100,000 characters" in reason
    assert (tmp_path / "rejects" / "cell.rejects.csv").stat().st_size < 100_000


def test_cells_past_the_header_or_twin_columns_that_disagree_are_not_dropped_silently(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = tmp_path / "shifted.csv"
    twin = HEADER.strip() + ",留言主题\n"  # 留言主题 twice
    path.write_text(
        twin
        + "1,A1,路灯,2019-04-25 09:32:09,坏了,路灯\n"  # the twin agrees: fine
        + "2,A2,路灯,2019-04-25 09:32:09,坏了,\n"  # the twin is blank: fine
        + "3,A3,路灯,2019-04-25 09:32:09,坏了,水管\n"  # which title is it?
        + "4,A4,路灯,2019-04-25 09:32:09,坏了,路灯,多出的一格\n",  # a cell with no column
        encoding="utf-8",
    )
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected) == (2, 2)
    rejected = dict(bureau.rejects(path))
    assert rejected["4"] == "column 留言主题 appears twice with different values"
    assert "'多出的一格' has no column" in rejected["5"]
    book = workbook(tmp_path / "shifted.xlsx", [xlsx_row(7), [*xlsx_row(8), "多出的一格"]])
    summary = bureau.run(book)
    assert (summary.imported, summary.rejected) == (1, 1)
    assert "'多出的一格' has no column" in bureau.rejects(book)[0][1]


def test_an_open311_array_is_read_as_a_stream_not_held_whole(tmp_path: Path) -> None:
    """json.load held several times the file; the stream holds a window and one batch."""
    import tracemalloc

    from caseworker.services.imports.sources import open_source

    request = {
        "service_request_id": "0",
        "status": "closed",
        "service_name": "Street Light Outage",
        "description": "建设路路灯坏了两周，晚上出行很不方便，请尽快修复。" * 4,
        "requested_datetime": "2019-04-25T09:32:09-04:00",
        "address": "100 Main St",
        "lat": 39.29,
        "long": -76.61,
    }
    path = tmp_path / "requests.json"
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[\n")
        for n in range(40_000):
            request["service_request_id"] = str(n)
            handle.write(("," if n else "") + json.dumps(request, ensure_ascii=False) + "\n")
        handle.write("]\n")
    size = path.stat().st_size
    assert size > 15_000_000
    tracemalloc.start()
    try:
        source = open_source(path)
        read = sum(1 for _ in source.rows)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert source.format == "open311" and read == 40_000
    assert "description" in source.columns and source.first["service_request_id"] == "0"
    assert peak < size, (peak, size)  # the bound: under twice the file; in fact under once


def test_a_broken_open311_array_is_refused_before_any_row_is_read(
    bureau: Bureau, tmp_path: Path
) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[{"service_request_id": "1"},\n{"service_request_id": "2"\n', encoding="utf-8")
    with pytest.raises(ImportFailed, match=r"not valid JSON: Expecting .,. delimiter \(line 3\)"):
        bureau.run(path)
    assert bureau.cases() == 0


def test_a_quote_left_open_in_a_large_file_rejects_what_it_swallowed_and_reads_on(
    bureau: Bureau, tmp_path: Path
) -> None:
    """Past the field size limit the reader gives up on the quoted cell and reads on; the
    rows the quote swallowed until then are each rejected, none is lost in one huge cell.
    (The limit is lowered here so the file stays small: it is 16 million characters.)"""
    path = tmp_path / "open.csv"
    broken = '2,A2,"路灯,2019-04-25 09:32:09,坏了\n'
    path.write_text(
        HEADER + good(1) + broken + "".join(good(n) for n in range(3, 40)), encoding="utf-8"
    )
    old = csv.field_size_limit(1_000)
    try:
        summary = bureau.run(path)
    finally:
        csv.field_size_limit(old)
    rejected = bureau.rejects(path)
    assert summary.read == summary.imported + summary.rejected == 39
    assert summary.imported > 1 and "unterminated quote" in rejected[0][1]
    assert all('follows the unterminated quote (") of row 3' in why for _, why in rejected[1:])
    with bureau.store.session() as session:
        titles = set(session.exec(select(CaseRow.title)).all())
    assert "路灯不亮39" in titles  # read on after the limit
    assert len(rejected) + len(titles) == 39


def test_a_sheet_whose_xml_breaks_midway_is_refused_in_one_line(
    bureau: Bureau, tmp_path: Path
) -> None:
    """A character reference XML forbids (a lone surrogate) ends what a parser can read."""
    path = workbook(tmp_path / "broken.xlsx", [xlsx_row(1), [*xlsx_row(2)[:2], "BODY"]])
    rewrite_part(
        path,
        "xl/worksheets/sheet1.xml",
        lambda handle, data: handle.write(data.replace(b">BODY<", b">&#xD800;<")),
    )
    with pytest.raises(ImportFailed, match="cannot be read as a workbook after row 2"):
        bureau.run(path, dry_run=True)
