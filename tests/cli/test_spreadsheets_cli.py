"""The reports' CSV and XLSX files, and the export's encodings, as a supervisor opens them.

A case whose title is a live formula with a control character XLSX cannot hold, led by a unit
whose name is another formula: `report overdue` and `report rates` write CSV with the formula
guard and XLSX with typed, formatted cells and a query sheet, never a traceback.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

Run = Callable[..., Any]

TITLE = '=HYPERLINK("http://evil.example","点此")\x01'
UNIT = "=cmd|' /C calc'!A0"
NOW = "2025-12-20T10:00:00+08:00"
RECEIVED = "2025-08-04T09:30:00+08:00"


@pytest.fixture
def run(run_main: Run, tmp_path: Path) -> Run:
    database = str(tmp_path / "sheets.sqlite")

    def run(*args: str | Path, stdin: str = "", now: str = NOW) -> Any:
        result = run_main("--db", database, "--clerk", "alice", "--now", now, *args, stdin=stdin)
        assert "Traceback" not in result.err
        return result

    assert run("init").code == 0
    units = tmp_path / "units.csv"
    with units.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["name", "parent", "level", "code"],
                ["市政府", "", "city", "C"],
                [UNIT, "C", "department", "EVIL"],
            ]
        )
    assert run("units", "import", units).code == 0
    doc = {
        "channel": "leader-board",
        "external_id": "0012345",
        "title": TITLE,
        "body": "正文",
        "received_at": RECEIVED,
    }
    assert run("case", "new", stdin=json.dumps(doc), now=RECEIVED).code == 0
    assert run("case", "accept", "1", now=RECEIVED).code == 0
    assert run("case", "assign", "1", "--unit", "EVIL", now=RECEIVED).code == 0
    return run


def test_overdue_csv_guards_formulas_and_keeps_ids_text(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "overdue.csv"
    assert run("report", "overdue", "--format", "csv", "-o", target).code == 0
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    head = rows[0]
    case = dict(zip(head, rows[1], strict=True))
    assert case["title"] == "'" + TITLE
    assert case["lead_unit"] == "'" + UNIT
    assert case["external_id"] == '="0012345"'
    # Nothing anywhere in the file starts a formula but the constant text id.
    starts = [cell for row in rows for cell in row if cell[:1] in ("=", "+", "-", "@")]
    assert starts == ['="0012345"']
    printed = run("report", "overdue", "--format", "csv").out
    assert "'=HYPERLINK" in printed and "\x01" not in printed


def test_overdue_xlsx_is_typed_and_never_fatal(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "overdue.xlsx"
    result = run("report", "overdue", "--format", "xlsx", "-o", target)
    assert result.code == 0, result.err
    book = load_workbook(target)
    assert book.sheetnames == ["overdue", "by unit", "query"]
    sheet = book["overdue"]
    head = [c.value for c in sheet[1]]
    row = dict(zip(head, sheet[2], strict=True))
    assert (row["title"].value, row["title"].data_type) == (TITLE[:-1] + "\ufffd", "s")
    assert (row["lead_unit"].value, row["lead_unit"].data_type) == (UNIT, "s")
    assert (row["external_id"].value, row["external_id"].data_type) == ("0012345", "s")
    assert row["due_at"].is_date and row["due_at"].number_format == "yyyy-mm-dd hh:mm"
    days = row["overdue_working_days"]
    assert days.data_type == "n" and days.value > 50 and days.value == int(days.value)
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:K2"
    assert all(c.font.bold for c in sheet[1])
    units = book["by unit"]
    assert [c.value for c in units[2]][:2] == [UNIT, 1]
    about = {r[0].value: r[1].value for r in book["query"].iter_rows()}
    assert about["as of"] == "2025-12-20 10:00 (Asia/Shanghai)"
    assert about["run by"] == "alice" and about["rule version"].startswith("policy")
    assert about["unit"] == "all units" and about["cases"] == 1


def test_rates_files_are_guarded_and_typed(run: Run, tmp_path: Path) -> None:
    csv_file, xlsx_file = tmp_path / "rates.csv", tmp_path / "rates.xlsx"
    for target, fmt in ((csv_file, "csv"), (xlsx_file, "xlsx")):
        result = run("report", "rates", "--at", "2025-08-15", "--format", fmt, "-o", target)
        assert result.code == 0, result.err
    with csv_file.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert "'" + UNIT in {r["unit"] for r in rows}
    book = load_workbook(xlsx_file)
    assert book.sheetnames == ["rates", "definitions", "query"]
    sheet = book["rates"]
    head = [c.value for c in sheet[1]]
    row = next(dict(zip(head, r, strict=True)) for r in sheet.iter_rows(min_row=2))
    assert (row["unit"].value, row["unit"].data_type) == (UNIT, "s")
    assert row["received"].value == 1 and row["received"].data_type == "n"
    assert row["reply_rate"].number_format == "0.0%"
    assert row["reply_rate"].value == 0
    assert row["reply_rate_denominator"].value == 1
    about = {r[0].value: r[1].value for r in book["query"].iter_rows()}
    assert about["period"] == "month 2025-08-01 – 2025-08-31"
    assert about["run by"] == "alice" and about["ranking"] == "#2"  # the CSV was #1


def test_export_encodings(run: Run, tmp_path: Path) -> None:
    target = tmp_path / "old-excel.csv"
    assert run("export", target, "--encoding", "gb18030").code == 0
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and "正文".encode("gb18030") in raw
    assert '"=""0012345"""' in raw.decode("gb18030")
    assert run("export", tmp_path / "bom.csv").code == 0
    assert (tmp_path / "bom.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    bad = run("export", tmp_path / "x.csv", "--encoding", "latin-1")
    assert bad.code == 2 and "gb18030" in bad.err
    xlsx = tmp_path / "cases.xlsx"
    assert run("export", xlsx).code == 0
    about = {r[0].value: r[1].value for r in load_workbook(xlsx)["query"].iter_rows()}
    assert about["run by"] == "alice" and about["cases"] == 1
