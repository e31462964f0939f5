"""Imported histories: closed where the source says so, dated from the source, never late for
want of a time the source never had; columns and text kept as the file had them; dates that
cannot be right refused or warned about.

The real-data checks read tests/data/datasets and skip with the reason when it is absent;
expected figures are read from the files themselves.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlmodel import col, func, select

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.measures import Period
from caseworker.domain.policy import ImportRules, parse_policy
from caseworker.services.cases import Desk
from caseworker.services.exporting import ExportFilter, export_cases
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.imports.normalise import clean_text
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.reports import overdue_cases, supervise_overdue, unit_rates
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow, EventRow, SupervisionRow
from caseworker.store.types import END_OF_TIME

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "data" / "datasets"
ATTACHMENT2 = DATASETS / "tipdm2020" / "attachment2-labelled-sample.xlsx"
ATTACHMENT4 = DATASETS / "tipdm2020" / "attachment4-messages-with-replies.xlsx"
BALTIMORE = DATASETS / "311" / "baltimore-311-sample.csv"
MAPPINGS = ROOT / "data" / "mappings"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"dataset {path.name} is missing from tests/data/datasets")


@dataclass
class Bureau:
    store: Store
    rules: Rules
    folder: Path

    def desk(self, at: datetime = NOW) -> Desk:
        return Desk(self.rules, FrozenClock(at), "alice")

    def run(self, path: Path, **options: Any) -> Any:
        options.setdefault("rejects", self.folder / "rejects")
        return run_import(self.store, self.desk(), path, ImportOptions(**options))

    def cases(self) -> list[CaseRow]:
        with self.store.session() as session:
            return list(session.exec(select(CaseRow).order_by(col(CaseRow.id))).all())

    def events(self, case_id: int) -> list[EventRow]:
        with self.store.session() as session:
            query = select(EventRow).where(EventRow.case_id == case_id).order_by(col(EventRow.id))
            return list(session.exec(query).all())


def make_bureau(folder: Path, rules: Rules) -> Bureau:
    store = open_store(str(folder / "cases.sqlite"))
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    (folder / "rejects").mkdir(exist_ok=True)
    return Bureau(store, rules, folder)


@pytest.fixture
def shipped_rules() -> Rules:
    return load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")


@pytest.fixture
def bureau(tmp_path: Path, shipped_rules: Rules) -> Iterator[Bureau]:
    made = make_bureau(tmp_path, shipped_rules)
    yield made
    made.store.close()


def write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_mapping(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


BOARD = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情", "答复意见", "答复时间"]


# ---------------------------------------------------------------- the real files


def test_attachment4_imported_gives_no_false_overdue_and_real_rates(bureau: Bureau) -> None:
    needs(ATTACHMENT4)
    summary = bureau.run(ATTACHMENT4)
    assert summary.imported == summary.closed == summary.read
    assert summary.overdue == 0
    with bureau.store.session() as session:
        assert overdue_cases(session, bureau.rules.calendar, as_of=NOW) == []
        assert supervise_overdue(session, bureau.desk()) == []
        assert session.exec(select(func.count()).select_from(SupervisionRow)).one() == 0
        report = unit_rates(
            session, bureau.rules, period=Period.MONTH, at=NOW.date().replace(2019, 5, 15), now=NOW
        )
    cases = bureau.cases()
    assert all(c.status == "closed" and c.closed_at == c.replied_at for c in cases)
    # 按期办结率 from the source's own reply times: every case whose 60-day close deadline fell
    # in May 2019, and those replied (so closed) by it, counted here from the case rows.
    start = datetime(2019, 5, 1, tzinfo=SHANGHAI)
    end = datetime(2019, 6, 1, tzinfo=SHANGHAI)
    due = [c for c in cases if start <= c.close_due_at < end]
    on_time = [c for c in due if c.closed_at is not None and c.closed_at <= c.close_due_at]
    close = report.total.measures.rates["on_time_close"]
    assert (close.numerator, close.denominator) == (len(on_time), len(due))
    assert close.denominator > 0 and close.value is not None and close.value > 0.5
    # No accept time in the file: 及时受理率 leaves those cases out and says how many.
    timely = report.total.measures.rates["timely_acceptance"]
    assign_due = [c for c in cases if start <= c.assign_due_at < end]
    assert (timely.numerator, timely.denominator) == (0, 0)
    assert report.total.counts.assign_left_out == len(assign_due) > 0


def test_baltimore_closed_requests_close_at_their_close_date(bureau: Bureau) -> None:
    needs(BALTIMORE)
    with BALTIMORE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    closed_in_source = {r["ServiceRequestNum"] for r in rows if r["SRStatus"].startswith("Closed")}
    summary = bureau.run(BALTIMORE, mapping=MAPPINGS / "baltimore-311.toml")
    assert summary.rejected == summary.conflicts == 0
    assert summary.closed == len(closed_in_source) > 9000
    cases = {c.external_id: c for c in bureau.cases()}
    assert {k for k, c in cases.items() if c.status == "closed"} == closed_in_source
    sample = next(r for r in rows if r["ServiceRequestNum"] in closed_in_source)
    case = cases[sample["ServiceRequestNum"]]
    assert case.next_due_at == END_OF_TIME and case.assign_imported
    trail = [(e.action, e.to_status) for e in bureau.events(case.id or 0)]
    assert trail == [
        ("receive", "received"),
        ("accept", "accepted"),
        ("assign", "assigned"),
        ("close", "closed"),
    ]
    with bureau.store.session() as session:
        overdue = overdue_cases(session, bureau.rules.calendar, as_of=NOW)
        chased = supervise_overdue(session, bureau.desk())
        report = unit_rates(
            session,
            bureau.rules,
            period=Period.QUARTER,
            at=NOW.date().replace(2018, 5, 15),
            now=NOW,
        )
    # Only the requests still open in the source are overdue, and only they are chased.
    assert {r.external_id for r in overdue} == set(cases) - closed_in_source
    assert not {d.external_id for d in chased} & closed_in_source
    close = report.total.measures.rates["on_time_close"]
    assert close.denominator > 0 and 0 < close.numerator <= close.denominator
    assert report.total.counts.assign_left_out > 0


def test_baltimore_close_times_are_the_files_own(bureau: Bureau) -> None:
    needs(BALTIMORE)
    with BALTIMORE.open(encoding="utf-8", newline="") as handle:
        rows = {r["ServiceRequestNum"]: r for r in csv.DictReader(handle)}
    bureau.run(BALTIMORE, mapping=MAPPINGS / "baltimore-311.toml")
    from zoneinfo import ZoneInfo

    eastern = ZoneInfo("America/New_York")
    checked = 0
    for case in bureau.cases():
        row = rows[case.external_id]
        if case.status != "closed":
            assert case.closed_at is None and not row["CloseDate"]
            continue
        written = datetime.strptime(row["CloseDate"], "%m/%d/%Y %I:%M:%S %p")
        assert case.closed_at == written.replace(tzinfo=eastern)
        checked += 1
    assert checked > 9000


# ---------------------------------------------------------------- the closing rules


def test_the_policy_can_leave_replied_messages_open(tmp_path: Path, shipped_rules: Rules) -> None:
    rules = dataclasses.replace(
        shipped_rules,
        policy=dataclasses.replace(shipped_rules.policy, imports=ImportRules(frozenset())),
    )
    bureau = make_bureau(tmp_path, rules)
    path = write_csv(
        tmp_path / "board.csv",
        BOARD,
        [["1", "U1", "路灯不亮", "2026-11-02 09:00:00", "坏了", "已修复", "2026-11-05 10:00:00"]],
    )
    summary = bureau.run(path)
    (case,) = bureau.cases()
    assert summary.closed == 0 and case.status == "replied" and case.closed_at is None
    assert case.next_due_at == case.close_due_at  # the close clock still runs
    assert [e.action for e in bureau.events(case.id or 0)][-1] == "publish"
    bureau.store.close()


def test_policy_imports_table_is_read_and_checked() -> None:
    base = (ROOT / "data" / "policy.toml").read_text(encoding="utf-8")
    assert parse_policy(base).imports == ImportRules(frozenset({"message-board"}), 10)
    changed = base.replace('close_on_reply = ["message-board"]', "close_on_reply = []").replace(
        "old_received_years = 10", "old_received_years = 3"
    )
    assert parse_policy(changed).imports == ImportRules(frozenset(), 3)
    with pytest.raises(ValueError, match="old_received_years"):
        parse_policy(base.replace("old_received_years = 10", "old_received_years = 0"))


def test_source_dates_for_accept_and_assign_are_used_and_counted(
    bureau: Bureau, tmp_path: Path
) -> None:
    mapping = write_mapping(
        tmp_path / "orders.toml",
        """
name = "orders"
channel = "hotline-12345"
[fields]
external_id = "id"
title = "what"
received_at = "opened"
accepted_at = "taken"
assigned_at = "sent"
closed_at = "done"
status = "state"
[status]
"Done" = "closed"
"Working" = "open"
""",
    )
    path = write_csv(
        tmp_path / "orders.csv",
        ["id", "what", "opened", "taken", "sent", "done", "state"],
        [
            # Taken and sent within the hotline's 1 working day: on time.
            ["A", "路灯", "2026-11-02 09:00", "2026-11-02 10:00", "2026-11-02 11:00",
             "2026-11-04 09:00", "Done"],
            # Sent four days later: late, and counted late, because the source says so.
            ["B", "井盖", "2026-11-02 09:00", "2026-11-02 10:00", "2026-11-06 11:00",
             "2026-11-09 09:00", "Done"],
            # Closed with no step times: dated by the import, left out of 及时受理率.
            ["C", "噪音", "2026-11-02 09:00", "", "", "2026-11-03 09:00", "Done"],
            ["D", "积水", "2026-11-02 09:00", "", "", "", "Working"],
            ["E", "漏水", "2026-11-02 09:00", "", "", "2026-11-03 09:00", "Archived"],
            ["F", "断电", "2026-11-02 09:00", "", "", "", "Done"],
            ["G", "路灯", "2026-11-02 09:00", "2026-11-01 09:00", "", "2026-11-03 09:00", "Done"],
        ],
    )  # fmt: skip
    summary = bureau.run(path, mapping=mapping)
    assert (summary.imported, summary.rejected, summary.closed) == (4, 3, 3)
    rejects = {r["id"]: r["reject_reason"] for r in csv.DictReader(
        (tmp_path / "rejects" / "orders.rejects.csv").open(encoding="utf-8-sig")
    )}  # fmt: skip
    assert "Archived" in rejects["E"] and "[status]" in rejects["E"]
    assert "close time" in rejects["F"]
    assert "before the received time" in rejects["G"]
    cases = {c.external_id: c for c in bureau.cases()}
    assert cases["D"].status == "received" and cases["D"].closed_at is None
    a = bureau.events(cases["A"].id or 0)
    assert [(e.action, e.effective_at.astimezone(SHANGHAI).hour) for e in a[1:3]] == [
        ("accept", 10),
        ("assign", 11),
    ]
    assert all(json.loads(e.detail or "{}")["dated_by"] == "source" for e in a[1:3])
    assert not cases["A"].assign_imported and cases["C"].assign_imported
    with bureau.store.session() as session:
        report = unit_rates(
            session, bureau.rules, period=Period.MONTH, at=NOW.date().replace(2026, 11, 2), now=NOW
        )
    timely = report.total.measures.rates["timely_acceptance"]
    # A on time, B late, D still waiting past its deadline (late); C left out, not late.
    assert (timely.numerator, timely.denominator) == (1, 3)
    assert report.total.counts.assign_left_out == 1


# ---------------------------------------------------------------- nothing silently dropped


def test_columns_with_no_field_are_kept_in_extra_and_named(bureau: Bureau, tmp_path: Path) -> None:
    needs(ATTACHMENT2)
    book = load_workbook(ATTACHMENT2, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True, max_row=6)]
    book.close()
    header = [str(c) for c in rows[0]] + ["模型结果"]
    data = [[*r, f"预测{n}"] for n, r in enumerate(rows[1:])]
    summary = bureau.run(write_csv(tmp_path / "labelled.csv", header, data))
    assert summary.imported == 5 and summary.unmapped == ["模型结果"]
    extras = [json.loads(c.extra or "{}") for c in bureau.cases()]
    assert [e["模型结果"] for e in extras] == [f"预测{n}" for n in range(5)]


def test_original_text_is_kept_byte_exact_exported_and_restored(
    bureau: Bureau, tmp_path: Path, shipped_rules: Rules
) -> None:
    body = (
        "\r\n\t\t尊敬的领导：\u00a0\u00a0您好！\r\n\r\n"
        "\u3000\u3000小区路灯坏了，电话13812341234。\n\t"
    )
    title = "  路灯\u00a0\u00a0不亮 "
    path = write_csv(
        tmp_path / "board.csv", BOARD[:5], [["7", "U7", title, "2026-11-02 09:00:00", body]]
    )
    bureau.run(path)
    (case,) = bureau.cases()
    assert case.body == clean_text(body) != body
    source = json.loads(case.source_text or "{}")
    assert source == {"留言主题": title, "留言详情": body}
    # The JSON Lines export returns it; restoring the export brings it back unchanged.
    out = tmp_path / "all.jsonl"
    export_cases(bureau.store, out, fmt="jsonl", flt=ExportFilter(), now=NOW)
    doc = json.loads(out.read_text(encoding="utf-8").splitlines()[1])
    assert doc["case"]["source_text"] == {"留言主题": title, "留言详情": body}
    (tmp_path / "other").mkdir()
    other = make_bureau(tmp_path / "other", shipped_rules)
    # --redact masks the source's copy of the text like the text itself.
    masked = tmp_path / "masked.jsonl"
    export_cases(bureau.store, masked, fmt="jsonl", flt=ExportFilter(), now=NOW, redact=True)
    hidden = json.loads(masked.read_text(encoding="utf-8").splitlines()[1])["case"]
    assert "13812341234" not in json.dumps(hidden, ensure_ascii=False)
    assert "138****1234" in hidden["source_text"]["留言详情"]
    restored = other.run(out)
    assert restored.imported == 1
    (again,) = other.cases()
    assert json.loads(again.source_text or "{}") == source
    other.store.close()


def test_clean_text_needs_no_copy(bureau: Bureau, tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "board.csv", BOARD[:5], [["8", "U8", "路灯不亮", "2026-11-02 09:00:00", "坏了"]]
    )
    bureau.run(path)
    (case,) = bureau.cases()
    assert case.source_text is None


# ---------------------------------------------------------------- dates that cannot be right


def test_future_rows_are_rejected_and_old_ones_warned(bureau: Bureau, tmp_path: Path) -> None:
    def at(delta: timedelta) -> str:
        return (NOW + delta).strftime("%Y-%m-%d %H:%M:%S")

    path = write_csv(
        tmp_path / "dates.csv",
        BOARD[:5],
        [
            ["1", "U", "明年的留言", "2030-01-05 09:00:00", "正文"],
            ["2", "U", "两天后", at(timedelta(days=2)), "正文"],
            ["3", "U", "半天后", at(timedelta(hours=12)), "正文"],
            ["4", "U", "九十年代", "1990-06-01 09:00:00", "正文"],
            ["5", "U", "去年", "2025-11-20 09:00:00", "正文"],
        ],
    )
    summary = bureau.run(path)
    assert (summary.imported, summary.rejected, summary.old) == (3, 2, 1)
    assert "1 received over 10 years ago" in summary.line()
    rejects = list(
        csv.DictReader((tmp_path / "rejects" / "dates.rejects.csv").open(encoding="utf-8-sig"))
    )
    assert [r["留言编号"] for r in rejects] == ["1", "2"]
    assert all("more than a day in the future" in r["reject_reason"] for r in rejects)
    assert Counter(c.external_id for c in bureau.cases()) == {"3": 1, "4": 1, "5": 1}
    again = bureau.run(path)  # known rows are not warned about twice
    assert (again.duplicates, again.old, again.rejected) == (3, 0, 2)


def test_history_events_are_the_same_on_sqlite_and_postgresql(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    """The portable writer (PostgreSQL) and SQLite's own write the same closed history."""
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    path = write_csv(
        tmp_path / "board.csv",
        BOARD,
        [
            ["1", "U1", "路灯不亮", "2026-11-02 09:00:00", "坏了", "已修复", "2026-11-05 10:00:00"],
            ["2", "U2", "井盖缺失", "2026-11-02 09:00:00", "危险", "", ""],
        ],
    )
    summary = run_import(
        store,
        Desk(rules, FrozenClock(NOW), "alice"),
        path,
        ImportOptions(rejects=tmp_path / "r.csv"),
    )
    assert (summary.imported, summary.closed) == (2, 1)
    with store.session() as session:
        case = session.exec(select(CaseRow).where(CaseRow.external_id == "1")).one()
        events = session.exec(
            select(EventRow).where(EventRow.case_id == case.id).order_by(col(EventRow.id))
        ).all()
        other = session.exec(select(CaseRow).where(CaseRow.external_id == "2")).one()
    replied = datetime(2026, 11, 5, 10, tzinfo=SHANGHAI)
    assert (case.status, case.closed_at, case.assign_imported) == ("closed", replied, True)
    assert [(e.action, e.to_status, e.effective_at) for e in events[1:]] == [
        ("accept", "accepted", replied),
        ("assign", "assigned", replied),
        ("publish", "replied", replied),
        ("close", "closed", replied),
    ]
    assert [json.loads(e.detail or "{}").get("dated_by") for e in events[1:3]] == [
        "import",
        "import",
    ]
    assert (other.status, other.assign_imported, other.next_due_at) == (
        "received",
        False,
        other.assign_due_at,
    )
    with store.session() as session:
        report = unit_rates(
            session, rules, period=Period.MONTH, at=NOW.date().replace(2026, 11, 2), now=NOW
        )
    timely = report.total.measures.rates["timely_acceptance"]
    # The message still waiting is late; the one whose acceptance the file never dated is out.
    assert (timely.numerator, timely.denominator, report.total.counts.assign_left_out) == (0, 1, 1)


def test_reasons_of_history_rows_are_in_the_clerks_language(bureau: Bureau, tmp_path: Path) -> None:
    needs(BALTIMORE)
    with BALTIMORE.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        first = next(reader)
    rows = [
        {**first, "ServiceRequestNum": "X1", "SRStatus": "Archived"},
        {**first, "ServiceRequestNum": "X2", "SRStatus": "Closed", "CloseDate": ""},
        {**first, "ServiceRequestNum": "X3", "CreatedDate": "04/12/2030 11:11:26 AM"},
    ]
    path = write_csv(tmp_path / "bad.csv", header, [[r[h] for h in header] for r in rows])
    summary = bureau.run(path, mapping=MAPPINGS / "baltimore-311.toml", lang="zh")
    assert (summary.imported, summary.rejected) == (0, 3)
    reasons = [
        r["reject_reason"]
        for r in csv.DictReader(
            (tmp_path / "rejects" / "bad.rejects.csv").open(encoding="utf-8-sig")
        )
    ]
    assert "状态值 'Archived' 不在映射的 [status] 表中" in reasons[0]
    assert reasons[1] == "来源标明已办结，但没有办结时间"
    assert reasons[2].endswith("比现在晚一天以上")
