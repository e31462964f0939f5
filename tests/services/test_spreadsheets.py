"""Files a spreadsheet opens safely, and that come back exactly when imported again.

CSV: every text cell that could run as a formula is guarded by a leading `'` (and so is a
leading `'` itself, so the guard can be undone exactly), ids a spreadsheet would change take the
`="0012345"` form, and caseworker reading its own CSV (an export, a rejects file) undoes both.
XLSX: cells are typed (text, ids, times, numbers), so `=1+1` is a string that shows `=1+1`,
and characters XML cannot hold are replaced, never fatal.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import select

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.services.cases import Desk, NewCase
from caseworker.services.exporting import ExportFilter, export_cases
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.people import ensure_first_supervisor, import_units
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)
NOW = datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI)
UNITS = "name,parent,level,code\nA市,,city,A\nA3区住建局,A,department,A3-ZJ\n"
# Titles a spreadsheet would take for formulas, or that look like our own guard.
TITLES = {
    "LB-1": "=1+1",
    "LB-2": "'=1+1 已经带引号",
    "LB-3": "''=x",
    "LB-4": "'普通的引号开头",
    "LB-5": "-5 度，暖气不热",
    "LB-6": "@市长 请关注",
    "LB-7": '=HYPERLINK("http://evil.example","点此")',
    "0012345": "零开头的编号",
    "123456789012345678": "十八位的编号",
    "LB-8": "控制字符\x01与\x0b垂直制表",
}


@pytest.fixture
def rules() -> Rules:
    return load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")


def new_store(path: Path) -> Store:
    store = open_store(str(path))
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    return store


@pytest.fixture
def store(tmp_path: Path, rules: Rules) -> Iterator[Store]:
    """A bureau with one case per tricky title; the first is assigned and overdue."""
    store = new_store(tmp_path / "source.sqlite")
    with store.session() as s:
        import_units(s, UNITS)
    for n, (key, title) in enumerate(TITLES.items()):
        when = START + timedelta(hours=n)
        with store.session() as s:
            cid = svc.create_case(
                s,
                Desk(rules, FrozenClock(when), "alice"),
                NewCase(
                    channel="leader-board",
                    title=title,
                    body=f"正文 {title}\n第二行",
                    received_at=when,
                    external_id=key,
                    author="A000123",
                ),
            )
        if n == 0:
            with store.session() as s:
                desk = Desk(rules, FrozenClock(when + timedelta(hours=1)), "alice")
                svc.accept_case(s, desk, cid)
                svc.assign_case(s, desk, cid, lead="A3-ZJ", co_units=[])
    yield store
    store.close()


def cases_of(store: Store) -> dict[str, tuple[str, str]]:
    with store.session() as s:
        return {c.external_id: (c.title, c.body) for c in s.exec(select(CaseRow)).all()}


def export(store: Store, path: Path, **kwargs: Any) -> int:
    fmt = path.suffix[1:]
    return export_cases(store, path, fmt=fmt, flt=ExportFilter(), now=NOW, **kwargs).cases


def test_our_own_csv_imports_back_exactly(store: Store, tmp_path: Path, rules: Rules) -> None:
    target = tmp_path / "cases.csv"
    assert export(store, target) == len(TITLES)
    with target.open(encoding="utf-8-sig", newline="") as handle:
        rows = {r["title"]: r for r in csv.DictReader(handle)}
    # What a spreadsheet sees: no cell starts a formula except our constant text ids.
    assert {"'=1+1", "''=1+1 已经带引号", "'''=x", "''普通的引号开头", "'-5 度，暖气不热"} <= set(
        rows
    )
    assert rows["'=1+1"]["body"] == "'正文 =1+1\n第二行"[1:]
    ids = {r["external_id"] for r in rows.values()}
    assert {'="0012345"', '="123456789012345678"', "LB-1"} <= ids
    for row in rows.values():
        for name, cell in row.items():
            if cell.startswith(("=", "+", "-", "@", "\t", "\r")):
                assert name == "external_id" and cell.startswith('="'), (name, cell)
    desk = Desk(rules, FrozenClock(NOW), "alice")
    # Into the same database: every row is a known duplicate, none a (false) conflict.
    again = run_import(store, desk, target, ImportOptions(rejects=tmp_path / "r1.csv"))
    assert (again.imported, again.duplicates, again.conflicts, again.rejected) == (
        0,
        len(TITLES),
        0,
        0,
    )
    # Into an empty one: the same titles, bodies and ids, character for character.
    copy = new_store(tmp_path / "copy.sqlite")
    try:
        back = run_import(copy, desk, target, ImportOptions(rejects=tmp_path / "r2.csv"))
        assert (back.imported, back.rejected) == (len(TITLES), 0)
        assert cases_of(copy) == cases_of(store)
    finally:
        copy.close()


def test_gb18030_export_for_older_excel_reads_back(
    store: Store, tmp_path: Path, rules: Rules
) -> None:
    target = tmp_path / "gbk.csv"
    export(store, target, encoding="gb18030")
    raw = target.read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    assert "零开头的编号".encode("gb18030") in raw
    copy = new_store(tmp_path / "copy.sqlite")
    try:
        desk = Desk(rules, FrozenClock(NOW), "alice")
        back = run_import(copy, desk, target, ImportOptions(rejects=tmp_path / "r.csv"))
        assert (back.imported, back.rejected) == (len(TITLES), 0)
        assert cases_of(copy) == cases_of(store)
    finally:
        copy.close()
    with pytest.raises(Exception, match="unknown export encoding"):
        export(store, tmp_path / "x.csv", encoding="latin-1")


def test_xlsx_cells_are_typed_and_formatted(store: Store, tmp_path: Path) -> None:
    target = tmp_path / "cases.xlsx"
    export(store, target)  # the \x01 and \x0b of one title are not fatal
    book = load_workbook(target)
    assert book.sheetnames == ["cases", "query"]
    sheet = book["cases"]
    head = [c.value for c in sheet[1]]
    col = {name: n for n, name in enumerate(head)}
    assert all(c.font.bold for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, len(head)).column_letter}{len(TITLES) + 1}"
    rows = {r[col["external_id"]].value: r for r in sheet.iter_rows(min_row=2)}
    first = rows["LB-1"]
    title = first[col["title"]]
    assert (title.value, title.data_type) == ("=1+1", "s")  # a string: shows =1+1, no '
    assert rows["LB-7"][col["title"]].data_type == "s"
    assert rows["LB-2"][col["title"]].value == "'=1+1 已经带引号"  # no guard in XLSX
    assert rows["LB-8"][col["title"]].value == "控制字符\ufffd与\ufffd垂直制表"
    assert rows["0012345"][col["external_id"]].data_type == "s"
    assert rows["123456789012345678"][col["external_id"]].value == "123456789012345678"
    received = first[col["received_at"]]
    assert received.value == START.replace(tzinfo=None)  # Shanghai wall clock
    assert received.is_date and received.number_format == "yyyy-mm-dd hh:mm"
    # A number cell (the writer stores 1 as "1.0", which every spreadsheet shows as 1).
    assert first[col["id"]].data_type == "n" and first[col["id"]].value == 1
    assert first[col["overdue"]].value is True
    assert first[col["body"]].alignment.wrap_text
    widths = {
        name: sheet.column_dimensions[sheet.cell(1, n + 1).column_letter].width
        for name, n in col.items()
    }
    assert widths["id"] < widths["received_at"] <= widths["title"] <= 62
    assert 10 < widths["body"] <= 52
    about = {r[0].value: r[1].value for r in book["query"].iter_rows()}
    assert about["as of"] == "2026-05-20 10:00 (Asia/Shanghai)"
    assert about["filters"] == "all cases" and about["cases"] == len(TITLES)


def test_xlsx_query_sheet_counts_every_case_past_the_sampled_rows(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The widths are sampled from the first rows before the rest stream; the query sheet's
    count is still every case written, not the rows sampled so far."""
    from caseworker.services import sheets

    monkeypatch.setattr(sheets, "SAMPLE_ROWS", 3)
    target = tmp_path / "cases.xlsx"
    assert export(store, target) == len(TITLES)
    book = load_workbook(target)
    assert book["cases"].max_row == len(TITLES) + 1
    about = {r[0].value: r[1].value for r in book["query"].iter_rows()}
    assert about["cases"] == len(TITLES)


def test_rejects_file_is_guarded_and_reads_back_after_the_fix(tmp_path: Path, rules: Rules) -> None:
    """The documented trip: a rejected row is fixed in the rejects file and imported again."""
    store = new_store(tmp_path / "bureau.sqlite")
    source = tmp_path / "留言.csv"
    header = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"]
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(
            [
                header,
                ["9001", "A1", "好的一行", "2026-03-02 09:00:00", "内容"],
                ["0012345", "A2", "=1+1", "不是时间", "@正文"],
                ["123456789012345678", "A3", "'=2+2", "也不是时间", "-3"],
            ]
        )
    desk = Desk(rules, FrozenClock(NOW), "alice")
    rejects = tmp_path / "留言.rejects.csv"
    try:
        first = run_import(store, desk, source, ImportOptions(rejects=rejects))
        assert (first.imported, first.rejected) == (1, 2)
        with rejects.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.reader(handle))
        assert rows[1][:5] == ['="0012345"', "A2", "'=1+1", "不是时间", "'@正文"]
        assert rows[2][:5] == ['="123456789012345678"', "A3", "''=2+2", "也不是时间", "'-3"]
        # The clerk fixes the times and saves; the guarded cells are left as they were.
        rows[1][3], rows[2][3] = "2026-03-03 10:00:00", "2026-03-04 11:00:00"
        with rejects.open("w", encoding="utf-8-sig", newline="") as handle:
            csv.writer(handle).writerows(rows)
        again = run_import(store, desk, rejects, ImportOptions(rejects=tmp_path / "again.csv"))
        assert (again.imported, again.rejected) == (2, 0)
        got = cases_of(store)
        assert got["0012345"] == ("=1+1", "@正文")
        assert got["123456789012345678"] == ("'=2+2", "-3")
        # The rejects file's own columns are the import's notes, not the citizen's data.
        with store.session() as s:
            extras = [json.loads(c.extra or "{}") for c in s.exec(select(CaseRow)).all()]
        assert not any({"source_row", "reject_reason"} & set(extra) for extra in extras)
        assert not again.unmapped
    finally:
        store.close()


def test_our_own_xlsx_imports_back_unguarded(store: Store, tmp_path: Path, rules: Rules) -> None:
    """XLSX cells are typed, not guarded: a title starting with ' reads back as it is. Only the
    title with characters XLSX cannot hold comes back changed, and so as a conflict."""
    target = tmp_path / "cases.xlsx"
    export(store, target)
    desk = Desk(rules, FrozenClock(NOW), "alice")
    again = run_import(store, desk, target, ImportOptions(rejects=tmp_path / "r.csv"))
    assert (again.imported, again.duplicates, again.conflicts, again.rejected) == (
        0,
        len(TITLES) - 1,
        1,
        0,
    )
    copy = new_store(tmp_path / "copy.sqlite")
    try:
        run_import(copy, desk, target, ImportOptions(rejects=tmp_path / "r2.csv"))
        got, want = cases_of(copy), cases_of(store)
        assert got.pop("LB-8")[0] == "控制字符\ufffd与\ufffd垂直制表"
        want.pop("LB-8")
        assert got == want
    finally:
        copy.close()


def test_a_sheet_past_the_row_limit_goes_on_in_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No row is cut: a full sheet goes on in a second of the same columns, headed and typed
    alike; a file that cannot be written fails with the OSError behind it."""
    from caseworker.services import sheets

    monkeypatch.setattr(sheets, "MAX_ROWS", 3)
    monkeypatch.setattr(sheets, "SAMPLE_ROWS", 2)
    target = tmp_path / "long.xlsx"
    book = sheets.SheetBook(target)
    columns = [sheets.Column("id", "int"), sheets.Column("title")]
    pulled: list[int] = []

    def cases() -> Iterator[list[Any]]:
        for n in range(1, 8):
            pulled.append(n)
            yield [n, "=1+1" if n == 5 else f"第{n}件"]

    book.sheet("cases", columns, cases(), 7)
    book.query([("cases", 7)])
    assert not pulled  # the rows are read as the file is written, not before
    book.save()
    read = load_workbook(target)
    assert read.sheetnames == ["cases", "cases (2)", "cases (3)", "query"]
    rows = []
    for name in read.sheetnames[:3]:
        part = read[name]
        assert [c.value for c in part[1]] == ["id", "title"]
        assert all(c.font.bold for c in part[1]) and part.freeze_panes == "A2"
        assert part.auto_filter.ref == f"A1:B{part.max_row}"
        rows += [[c.value for c in r] for r in part.iter_rows(min_row=2)]
    assert [r[0] for r in rows] == list(range(1, 8))
    assert rows[4][1] == "=1+1" and read["cases (2)"]["B3"].data_type == "s"
    with pytest.raises(OSError):
        broken = sheets.SheetBook(tmp_path / "no such folder" / "x.xlsx")
        broken.sheet("cases", [sheets.Column("id", "int")], [[1]], 1)
        broken.save()


def test_an_empty_sheet_keeps_its_header_and_overlong_text_is_cut(tmp_path: Path) -> None:
    """An export matching no case is still a headed sheet; a text past the 32,767 characters
    a cell holds is cut to them rather than failing the file; an empty text is no cell."""
    from caseworker.services import sheets

    target = tmp_path / "edges.xlsx"
    book = sheets.SheetBook(target)
    book.sheet("none", [sheets.Column("id", "int"), sheets.Column("title")], [], 0)
    book.sheet("long", [sheets.Column("body", "long_text")], [["长" * 40_000], [""]], 2)
    book.save()
    read = load_workbook(target)
    assert read.sheetnames == ["none", "long"]
    assert [c.value for c in read["none"][1]] == ["id", "title"] and read["none"].max_row == 1
    cell = read["long"]["A2"]
    assert cell.value == "长" * 32_767 and cell.alignment.wrap_text
    assert read["long"]["A3"].value is None


def test_xlsx_escapes_come_back_as_the_characters_they_stand_for(
    tmp_path: Path, rules: Rules
) -> None:
    """XLSX stores a carriage return as `_x000D_` and a literal `_x0041_` as `_x005F_x0041_`;
    the import reads them as a spreadsheet does, so the text comes back exactly."""
    store = new_store(tmp_path / "source.sqlite")
    title, body = "字样 _x0041_ 与 _x000D_ 原样", "第一行\r\n第二行\r末行"
    with store.session() as s:
        svc.create_case(
            s,
            Desk(rules, FrozenClock(START), "alice"),
            NewCase(
                channel="leader-board",
                title=title,
                body=body,
                received_at=START,
                external_id="LB-X",
                author="A000124",
            ),
        )
    target = tmp_path / "escapes.xlsx"
    export(store, target)
    raw = load_workbook(target, read_only=True)["cases"]
    assert any("_x000D_" in str(c) for r in raw.iter_rows(values_only=True) for c in r)
    copy = new_store(tmp_path / "copy.sqlite")
    try:
        desk = Desk(rules, FrozenClock(NOW), "alice")
        back = run_import(copy, desk, target, ImportOptions(rejects=tmp_path / "r.csv"))
        assert (back.imported, back.rejected) == (1, 0)
        assert cases_of(store) == {"LB-X": (title, body)}
        # Every import ends lines with \n (imports.normalise); no `_x000D_` is left behind.
        assert cases_of(copy) == {"LB-X": (title, "第一行\n第二行\n末行")}
    finally:
        copy.close()
        store.close()
