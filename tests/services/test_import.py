"""Batch import on the real files of tests/data/datasets, into SQLite files in tmp_path.

Expected counts are read from the files themselves (openpyxl / csv / json), never typed in, so
a test fails if the importer loses, invents or double-counts a row.
"""

from __future__ import annotations

import csv
import functools
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import col, func, select

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import Desk, NewCase, build_case
from caseworker.services.imports import (
    ImportFailed,
    ImportOptions,
    SimulatedInterrupt,
    list_imports,
    run_import,
)
from caseworker.services.imports.normalise import BadValue, clean_text, parse_time
from caseworker.services.imports.prepare import case_values
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.rules import load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow, EventRow, ImportRecord, LinkRow, ReplyRow
from caseworker.store.types import END_OF_TIME

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "data" / "datasets"
TIPDM = DATASETS / "tipdm2020"
ATTACHMENT2 = TIPDM / "attachment2-labelled-sample.xlsx"
ATTACHMENT3 = TIPDM / "attachment3-messages-with-votes.xlsx"
ATTACHMENT4 = TIPDM / "attachment4-messages-with-replies.xlsx"
MAPPINGS = ROOT / "data" / "mappings"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


@dataclass
class Bureau:
    store: Store
    desk: Desk
    folder: Path

    def run(self, path: Path, **options: Any) -> Any:
        options.setdefault("rejects", self.folder / "rejects")
        return run_import(self.store, self.desk, path, ImportOptions(**options))

    def count(self, model: Any = CaseRow) -> int:
        with self.store.session() as session:
            return int(session.exec(select(func.count()).select_from(model)).one())


@pytest.fixture
def bureau(tmp_path: Path) -> Iterator[Bureau]:
    store = open_store(str(tmp_path / "cases.sqlite"))
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    (tmp_path / "rejects").mkdir()
    yield Bureau(store, Desk(rules, FrozenClock(NOW), "alice"), tmp_path)
    store.close()


@functools.cache
def sheet_rows(path: Path) -> tuple[list[str], list[tuple[int, tuple[Any, ...]]]]:
    """Header and non-blank data rows (with their sheet row numbers), read independently."""
    book = load_workbook(path, read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    header = [str(c) for c in rows[0]]
    data = [
        (n, r)
        for n, r in enumerate(rows[1:], start=2)
        if any(c is not None and str(c).strip() for c in r)
    ]
    return header, data


def sheet_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=SHANGHAI)
    return datetime.strptime(value, "%Y/%m/%d %H:%M:%S" if ":" in value else "%Y/%m/%d").replace(
        tzinfo=SHANGHAI
    )


def read_rejects(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


# ---------------------------------------------------------------- the labelled sample


def test_labelled_sample_imports_every_row_and_reports_the_conflicting_37042(
    bureau: Bureau,
) -> None:
    header, data = sheet_rows(ATTACHMENT2)
    ids = Counter(str(r[0]) for _, r in data)
    repeated = [k for k, n in ids.items() if n > 1]
    assert repeated == ["37042"]
    first_rows = {str(r[0]): r for _, r in reversed(data)}  # the first row of each id wins

    summary = bureau.run(ATTACHMENT2)

    assert summary.read == len(data) == 495
    assert summary.imported == len(first_rows) == 494
    # The second 37042 row has the same text but another label: a conflict, not a duplicate.
    twin_rows = [r for _, r in data if str(r[0]) == "37042"]
    assert twin_rows[0][5] != twin_rows[1][5]
    assert (summary.duplicates, summary.conflicts, summary.rejected) == (0, 1, 0)
    assert summary.exit_code == 3
    assert summary.overdue == 494  # messages from 2010-2020 arrive with their clocks run out
    with bureau.store.session() as session:
        labels = Counter(c for c in session.exec(select(CaseRow.category)).all())
        case = session.exec(select(CaseRow).where(CaseRow.external_id == "37042")).one()
    expected = Counter(r[5] for r in first_rows.values())
    assert labels == expected and len(labels) == 7
    assert case.category == twin_rows[0][5]

    rejects = read_rejects(Path(summary.rejects_path))
    assert len(rejects) == 1
    row = rejects[0]
    assert list(row)[: len(header)] == header
    second = [n for n, r in data if str(r[0]) == "37042"][1]
    assert row["source_row"] == str(second)
    assert "conflict" in row["reject_reason"] and "37042" in row["reject_reason"]
    assert row["一级分类"] == twin_rows[1][5]
    assert row["留言详情"] == twin_rows[1][4]  # the original cell, padding and all
    check_first_row_cleaned_and_clocked(bureau)
    check_reimport_adds_nothing(bureau)


def check_first_row_cleaned_and_clocked(bureau: Bureau) -> None:
    _, data = sheet_rows(ATTACHMENT2)
    number, first = data[0]
    with bureau.store.session() as session:
        case = session.exec(select(CaseRow).where(CaseRow.external_id == str(first[0]))).one()
        events = session.exec(select(EventRow).where(EventRow.case_id == case.id)).all()
    assert first[4].startswith("\n\t")
    assert case.body == first[4].strip().strip("\u3000")
    assert not case.body.startswith(("\n", "\t", "\u3000"))
    assert case.title == first[2] and case.author == first[1]
    assert case.channel == "leader-board"
    assert case.received_at == sheet_time(first[3])
    # A message from years ago arrives already overdue on every running clock.
    assert case.status == "received"
    assert case.assign_started_at == case.received_at
    assert case.next_due_at < NOW
    assert [(e.action, e.actor, e.effective_at) for e in events] == [
        ("receive", "import:attachment2-labelled-sample.xlsx", case.received_at)
    ]
    assert json.loads(events[0].detail or "{}")["row"] == number


def check_reimport_adds_nothing(bureau: Bureau) -> None:
    cases, events = bureau.count(), bureau.count(EventRow)
    again = bureau.run(ATTACHMENT2)
    assert (again.imported, again.duplicates, again.conflicts) == (0, 494, 1)
    assert (bureau.count(), bureau.count(EventRow)) == (cases, events)
    with bureau.store.session() as session:
        records = list_imports(session)
    assert [r.status for r in records] == ["done", "done"]
    assert records[0].sha256 == records[1].sha256 and len(records[0].sha256) == 64
    assert (records[0].read, records[0].duplicates, records[0].clerk) == (495, 494, "alice")


def test_fast_case_values_agree_with_build_case(bureau: Bureau) -> None:
    data = NewCase(
        channel="hotline-12345",
        title="  路灯不亮 ",
        body="小区门口路灯坏了三天",
        author="U1",
        received_at=datetime(2026, 1, 23, 18, 5, tzinfo=SHANGHAI),
        category="城乡建设",
        urgency="urgent",
        extra={"likes": 3},
    )
    slow = build_case(data, bureau.desk, "import:x")
    fast = case_values(data, bureau.desk.rules, "import:x", slow.created_at)
    for column in CaseRow.__table__.columns:  # type: ignore[attr-defined]
        assert getattr(fast, column.name) == getattr(slow, column.name), column.name


# ---------------------------------------------------------------- replies and votes


def test_published_replies_become_closed_cases_with_honest_history(bureau: Bureau) -> None:
    _, data = sheet_rows(ATTACHMENT4)
    summary = bureau.run(ATTACHMENT4)
    assert summary.read == summary.imported == summary.closed == len(data)
    assert bureau.count(ReplyRow) == sum(1 for _, r in data if r[5])
    _, sample = data[0]
    replied = sheet_time(sample[6])
    with bureau.store.session() as session:
        case = session.exec(select(CaseRow).where(CaseRow.external_id == str(sample[0]))).one()
        reply = session.exec(select(ReplyRow).where(ReplyRow.case_id == case.id)).one()
        events = session.exec(
            select(EventRow).where(EventRow.case_id == case.id).order_by(col(EventRow.id))
        ).all()
        statuses = Counter(session.exec(select(CaseRow.status)).all())
    # On the 留言板 a published reply ends the message (已办理): replied and closed then.
    assert statuses == {"closed": len(data)}
    assert (reply.state, reply.final, reply.published_at) == ("published", True, replied)
    assert reply.text == clean_text(sample[5])
    assert case.replied_at == replied and case.assigned_at == replied
    assert case.closed_at == replied and case.assign_imported
    trail = [(e.action, e.from_status, e.to_status, e.effective_at) for e in events]
    assert trail == [
        ("receive", None, "received", sheet_time(sample[3])),
        ("accept", "received", "accepted", replied),
        ("assign", "accepted", "assigned", replied),
        ("publish", "assigned", "replied", replied),
        ("close", "replied", "closed", replied),
    ]
    # The steps the source has no time for say they were dated by the import.
    assert [json.loads(e.detail or "{}").get("dated_by") for e in events[1:3]] == [
        "import",
        "import",
    ]
    assert "close_on_reply" in (events[-1].reason or "")
    assert json.loads(events[-2].detail or "{}")["reply"] == reply.id
    # No clock runs any more: the case is not overdue.
    assert case.next_due_at == END_OF_TIME and summary.overdue == 0


def test_votes_are_kept_in_extra(bureau: Bureau) -> None:
    header, data = sheet_rows(ATTACHMENT3)
    summary = bureau.run(ATTACHMENT3)
    assert summary.read == summary.imported == len(data)
    likes, dislikes = header.index("点赞数"), header.index("反对数")
    top = max(data, key=lambda item: int(item[1][likes]))[1]
    with bureau.store.session() as session:
        case = session.exec(select(CaseRow).where(CaseRow.external_id == str(top[0]))).one()
    assert json.loads(case.extra or "{}") == {
        "likes": int(top[likes]),
        "dislikes": int(top[dislikes]),
    }


# ---------------------------------------------------------------- the 311 files


def test_open311_requests_keep_their_notes_and_offsets(bureau: Bureau) -> None:
    path = DATASETS / "311" / "chicago-open311-georeport-v2.json"
    requests = json.loads(path.read_text(encoding="utf-8"))
    summary = bureau.run(path)
    assert (summary.format, summary.profile) == ("open311", "open311")
    assert summary.read == summary.imported == len(requests)
    first = requests[0]
    with bureau.store.session() as session:
        case = session.exec(
            select(CaseRow).where(CaseRow.external_id == first["service_request_id"])
        ).one()
    assert case.received_at == datetime.fromisoformat(first["requested_datetime"])
    assert case.channel == "hotline-12345" and case.title == first["service_name"]
    extra = json.loads(case.extra or "{}")
    assert extra["notes"] == first["notes"] and extra["source_status"] == first["status"]
    # A request closed in the source is imported closed at its updated_datetime (GeoReport v2).
    closed = [r for r in requests if r["status"] == "closed"]
    assert summary.closed == len(closed) and summary.overdue == len(requests) - len(closed)
    assert first["status"] == "closed" and case.status == "closed"
    assert case.closed_at == datetime.fromisoformat(first["updated_datetime"])


@pytest.mark.parametrize(
    ("name", "mapping", "key"),
    [
        ("baltimore-311-sample.csv", "baltimore-311.toml", "ServiceRequestNum"),
        ("nyc-311-sample.csv", "nyc-311.toml", "unique_key"),
    ],
)
def test_city_311_files_import_with_their_mapping_files(
    bureau: Bureau, name: str, mapping: str, key: str
) -> None:
    path = DATASETS / "311" / name
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    summary = bureau.run(path, mapping=MAPPINGS / mapping)
    assert summary.read == len(rows)
    assert summary.imported == len({r[key] for r in rows})
    assert summary.rejected == summary.conflicts == 0


def test_a_file_nothing_fits_is_refused_with_its_headers(bureau: Bureau) -> None:
    with pytest.raises(ImportFailed, match="一级分类, 二级分类, 三级分类"):
        bureau.run(TIPDM / "attachment1-category-tree.xlsx")
    assert bureau.count() == 0


# ---------------------------------------------------------------- encodings and broken files


def write_csv(path: Path, header: list[str], rows: list[list[Any]], encoding: str) -> Path:
    with path.open("w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def real_rows(count: int) -> tuple[list[str], list[list[Any]]]:
    header, data = sheet_rows(ATTACHMENT2)
    return header, [list(r) for _, r in data[:count]]


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8-sig", "utf-8"])
def test_chinese_csv_in_any_common_encoding_reads_the_same(
    bureau: Bureau, tmp_path: Path, encoding: str
) -> None:
    header, rows = real_rows(40)
    path = write_csv(tmp_path / f"sample-{encoding}.csv", header, rows, encoding)
    summary = bureau.run(path)
    assert summary.imported == 40
    with bureau.store.session() as session:
        stored = {c.external_id: c for c in session.exec(select(CaseRow)).all()}
    for row in rows:
        case = stored[str(row[0])]
        assert (case.title, case.author, case.category) == (row[2], row[1], row[5])
        assert case.body == clean_text(row[4])


def test_gbk_bytes_are_not_mistaken_for_utf8(tmp_path: Path, bureau: Bureau) -> None:
    header, rows = real_rows(3)
    path = write_csv(tmp_path / "gbk.csv", header, rows, "gbk")
    with pytest.raises(ImportFailed, match=r"gbk.csv is not UTF-8 \(byte 0xC1 at row 1\)"):
        bureau.run(path, encoding="utf-8")
    assert bureau.run(path).imported == 3  # detected as GB18030


def test_broken_rows_in_the_middle_go_to_the_rejects_file(bureau: Bureau, tmp_path: Path) -> None:
    header, rows = real_rows(10)
    rows[3][3] = "2019/13/45 25:00:00"  # no such date
    rows[6][4] = "\n\t\t\u3000 \n"  # a body of padding only ...
    rows[6][2] = ""  # ... and no title either
    rows += [[""] * len(header)] * 3  # trailing blank rows
    path = write_csv(tmp_path / "broken.csv", header, rows, "utf-8-sig")
    summary = bureau.run(path, rejects=None)
    assert (summary.read, summary.imported, summary.rejected) == (10, 8, 2)
    assert summary.exit_code == 3
    assert Path(summary.rejects_path) == tmp_path / "broken.rejects.csv"
    rejects = read_rejects(tmp_path / "broken.rejects.csv")
    assert [r["source_row"] for r in rejects] == ["5", "8"]
    assert "2019/13/45 25:00:00" in rejects[0]["reject_reason"]
    assert "留言时间" in rejects[0]["reject_reason"]
    assert rejects[1]["reject_reason"] == "no title and no body"
    assert [rejects[0][h] for h in header] == [str(c) for c in rows[3]]
    assert rejects[1]["留言详情"] == rows[6][4]
    # Fixing the date in the rejects file and importing it again finishes the job.
    rejects[0]["留言时间"] = "2019/12/31 23:00:00"
    fixed = write_csv(tmp_path / "fixed.csv", header, [[rejects[0][h] for h in header]], "utf-8")
    assert bureau.run(fixed).imported == 1
    assert bureau.count() == 9


def test_same_key_with_different_content_is_a_conflict_never_an_overwrite(
    bureau: Bureau, tmp_path: Path
) -> None:
    header, rows = real_rows(5)
    bureau.run(write_csv(tmp_path / "day1.csv", header, rows, "utf-8"))
    changed = [list(r) for r in rows]
    changed[2][4] = "改过的正文"
    summary = bureau.run(write_csv(tmp_path / "day2.csv", header, changed, "utf-8"))
    assert (summary.imported, summary.duplicates, summary.conflicts) == (0, 4, 1)
    with bureau.store.session() as session:
        case = session.exec(select(CaseRow).where(CaseRow.external_id == str(rows[2][0]))).one()
    assert case.body == clean_text(rows[2][4])
    rejects = read_rejects(Path(summary.rejects_path))
    assert rejects[0]["留言详情"] == "改过的正文"
    assert rejects[0]["reject_reason"].startswith(f"conflict: case {case.id}")


def test_rows_without_ids_get_a_stable_content_key(bureau: Bureau, tmp_path: Path) -> None:
    header, rows = real_rows(6)
    keep = [header.index(h) for h in ("留言主题", "留言时间", "留言详情")]
    # The message-board profile needs 留言编号; map the id-less file with a TOML mapping.
    mapping = tmp_path / "no-ids.toml"
    mapping.write_text(
        'channel = "governor-mailbox"\n[fields]\ntitle = "留言主题"\nreceived_at = "留言时间"\n'
        'body = "留言详情"\n',
        encoding="utf-8",
    )
    path = write_csv(
        tmp_path / "no-ids.csv",
        [header[i] for i in keep],
        [[r[i] for i in keep] for r in rows],
        "utf-8",
    )
    assert bureau.run(path, mapping=mapping).imported == 6
    again = bureau.run(path, mapping=mapping)
    assert (again.imported, again.duplicates) == (0, 6)
    with bureau.store.session() as session:
        keys = session.exec(select(CaseRow.external_id)).all()
    assert all(k.startswith("sha256:") for k in keys) and len(set(keys)) == 6


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "binary"),
        ("这不是表格，只是一段话。\n第二行。\n".encode(), "no mapping profile"),
        (b"id,title\n1,\xff\xff\xff not text", "neither UTF-8 nor GB18030"),
        (b"[1, 2", "not valid JSON"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    bureau: Bureau, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "input.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFailed, match=reason):
        bureau.run(path)
    assert bureau.count() == 0


def test_a_broken_json_line_is_one_reject(bureau: Bureau, tmp_path: Path) -> None:
    header, rows = real_rows(3)
    lines = [json.dumps(dict(zip(header, r, strict=True)), ensure_ascii=False) for r in rows]
    lines.insert(1, '{"留言编号": 1, "留言主题": ')
    path = tmp_path / "messages.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    summary = bureau.run(path)
    assert (summary.format, summary.read, summary.imported, summary.rejected) == ("jsonl", 4, 3, 1)
    reject = json.loads(Path(summary.rejects_path).read_text(encoding="utf-8"))
    assert reject["_source_row"] == 2 and "not valid JSON" in reject["_reject_reason"]


# ---------------------------------------------------------------- interruption and dry run


def test_an_interrupted_import_is_finished_by_running_it_again(
    bureau: Bureau, tmp_path: Path
) -> None:
    header, rows = real_rows(495)
    path = write_csv(tmp_path / "sample.csv", header, rows, "utf-8")
    with pytest.raises(SimulatedInterrupt):
        bureau.run(path, batch_size=100, interrupt_after=2)
    assert bureau.count() == 200
    # One receipt a case, and one link for each re-post found on the way (services.repeats).
    assert bureau.count(EventRow) == 200 + bureau.count(LinkRow)
    with bureau.store.session() as session:
        record = session.exec(select(ImportRecord)).one()
    assert (record.status, record.read, record.imported) == ("interrupted", 200, 200)
    assert record.finished_at == NOW

    summary = bureau.run(path, batch_size=100)
    assert (summary.imported, summary.duplicates, summary.conflicts) == (294, 200, 1)
    assert bureau.count() == 494 and bureau.count(EventRow) == 494 + bureau.count(LinkRow)
    with bureau.store.session() as session:
        per_key = session.exec(
            select(CaseRow.external_id, func.count())
            .group_by(CaseRow.external_id)
            .having(func.count() > 1)
        ).all()
    assert per_key == []


def test_dry_run_reports_without_writing(bureau: Bureau, tmp_path: Path) -> None:
    header, rows = real_rows(495)
    path = write_csv(tmp_path / "sample.csv", header, rows, "utf-8")
    summary = bureau.run(path, dry_run=True, batch_size=100)
    assert (summary.read, summary.imported, summary.conflicts) == (495, 494, 1)
    assert summary.rejects_path is None
    assert bureau.count() == bureau.count(ImportRecord) == 0
    assert not any((bureau.folder / "rejects").iterdir())
    assert not (tmp_path / "sample.rejects.csv").exists()


# ---------------------------------------------------------------- normalising


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019/4/25 9:32:09", datetime(2019, 4, 25, 9, 32, 9, tzinfo=SHANGHAI)),
        ("2017-06-08 17:31:20", datetime(2017, 6, 8, 17, 31, 20, tzinfo=SHANGHAI)),
        ("2018/4/24", datetime(2018, 4, 24, tzinfo=SHANGHAI)),
        ("2014-05-09T19:02:21-05:00", datetime(2014, 5, 10, 0, 2, 21, tzinfo=UTC)),
        ("2024-05-27T02:08:51.000Z", datetime(2024, 5, 27, 2, 8, 51, tzinfo=UTC)),
        ("2020年1月6日 12:09", datetime(2020, 1, 6, 12, 9, tzinfo=SHANGHAI)),
        (43580.396, datetime(2019, 4, 25, 9, 30, 14, tzinfo=SHANGHAI)),
        (datetime(2019, 8, 1), datetime(2019, 8, 1, tzinfo=SHANGHAI)),
        ("  ", None),
    ],
)
def test_times_in_the_styles_real_files_use(value: Any, expected: datetime | None) -> None:
    assert parse_time(value) == expected


@pytest.mark.parametrize("value", ["2019/2/30 10:00:00", "昨天", "12:30", True])
def test_unreadable_times_say_so(value: Any) -> None:
    with pytest.raises(BadValue):
        parse_time(value)


def test_clean_text_drops_padding_and_keeps_paragraphs() -> None:
    raw = (
        "\n\t\t\t\t\t\n\t\t\t\t\t\u3000\u3000第一段。\n\t\t\t\t\t\n"
        "\t\t\t\t\t\u3000\u3000第二段《‹会计法>》。\n\t\t\t\t"
    )
    assert clean_text(raw) == "第一段。\n第二段《‹会计法>》。"
    assert clean_text("  a   b\t\tc ") == "a b c"


def test_broken_export_records_are_rejected_not_restored(bureau: Bureau, tmp_path: Path) -> None:
    case = {
        "channel": "leader-board",
        "external_id": "X1",
        "title": "路灯",
        "body": "坏了",
        "status": "received",
        "received_at": "2026-01-05T09:00:00+08:00",
    }
    lines = [
        {"caseworker_export": 1, "meta": {"units": [], "clerks": []}},
        {"caseworker_export": 1, "case": {**case, "channel": "fax"}},
        {"caseworker_export": 1, "case": {**case, "status": "lost"}},
        {"caseworker_export": 1, "case": {**case, "received_at": "yesterday"}},
        {"caseworker_export": 1, "case": {k: v for k, v in case.items() if k != "body"}},
        {"caseworker_export": 1, "case": "not a case"},
    ]
    path = tmp_path / "export.jsonl"
    path.write_text(
        "\n".join(json.dumps(doc, ensure_ascii=False) for doc in lines) + "\n", encoding="utf-8"
    )
    summary = bureau.run(path)
    assert (summary.profile, summary.read, summary.imported, summary.rejected) == (
        "caseworker-export",
        5,
        0,
        5,
    )
    reasons = [
        json.loads(line)["_reject_reason"]
        for line in Path(summary.rejects_path).read_text(encoding="utf-8").splitlines()
    ]
    assert "unknown channel 'fax'" in reasons[0]
    assert "'lost' is not a valid Status" in reasons[1]
    assert "not an ISO 8601 time" in reasons[2]
    assert reasons[3] == "case field body is missing"
    assert reasons[4] == "an export record without its case"
    assert bureau.count() == 0
