"""Export: the JSON Lines round trip field by field, CSV/XLSX for Excel, filters, redaction."""

from __future__ import annotations

import csv
import functools
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import Table, select
from sqlmodel import col
from sqlmodel import select as sqlselect

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.services.cases import Desk, NewCase
from caseworker.services.exporting import ExportFilter, export_cases
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.people import add_clerk, ensure_first_supervisor, import_units
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    InstructionRow,
    LinkRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "data" / "datasets"
ATTACHMENT4 = DATASETS / "tipdm2020" / "attachment4-messages-with-replies.xlsx"
START = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday
NOW = datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI)
UNITS = (
    "name,parent,level,code\nA市,,city,A\nA3区,A,county,A3\nA3区住建局,A3,department,A3-ZJ\n"
    "A3区教育局,A3,department,A3-JY\nA5区,A,county,A5\n"
)
LAMP = "小区门口的路灯坏了三天，晚上很黑。"
PERSONAL = "我的电话13812341234，身份证430102199001011234，邮箱 zhang.san@example.com，请回电。"


@dataclass
class World:
    store: Store
    rules: Rules
    folder: Path
    ids: dict[str, int]

    def desk(self, clerk: str, at: datetime) -> Desk:
        return Desk(self.rules, FrozenClock(at), clerk)

    def export(self, name: str, **kwargs: Any) -> Any:
        fmt = kwargs.pop("fmt", name.rsplit(".", 1)[1])
        flt = ExportFilter(**kwargs.pop("flt", {}))
        return export_cases(self.store, self.folder / name, fmt=fmt, flt=flt, now=NOW, **kwargs)


@functools.cache
def replied_rows() -> tuple[list[str], list[list[Any]]]:
    book = load_workbook(ATTACHMENT4, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    return [str(c) for c in rows[0]], rows[1:]


def new_store(path: Path) -> Store:
    store = open_store(str(path))
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    return store


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """A bureau with a unit tree, three kinds of clerk, and cases in every state."""
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    store = new_store(tmp_path / "source.sqlite")
    w = World(store, rules, tmp_path, {})
    with store.session() as s:
        import_units(s, UNITS)
        add_clerk(s, "bob", "clerk")
        add_clerk(s, "hank", "handler", "A3-ZJ")
    # Real replied messages, imported (their history says so): 300 rows of attachment 4.
    replies = tmp_path / "replies.csv"
    header, rows = replied_rows()
    with replies.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows[:300]])
    head = run_import(
        store,
        w.desk("bob", NOW),
        replies,
        ImportOptions(rejects=tmp_path / "r.csv"),
    )
    assert head.imported == 300

    def at(days: float) -> datetime:
        return START + timedelta(days=days)

    def new(key: str, days: float, body: str = LAMP, **kw: Any) -> int:
        with store.session() as s:
            cid = svc.create_case(
                s,
                w.desk("bob", at(days)),
                NewCase(
                    channel=kw.pop("channel", "leader-board"),
                    title=f"路灯不亮 {key}",
                    body=body,
                    received_at=at(days),
                    external_id=key,
                    author="A000123",
                    **kw,
                ),
            )
        w.ids[key] = cid
        return cid

    def act(fn: Any, who: str, when: float, ref: int, **kw: Any) -> Any:
        with store.session() as s:
            return fn(s, w.desk(who, at(when)), ref, **kw)

    full = new("full", 0, contact="13812341234")
    act(svc.accept_case, "bob", 0.1, full)
    act(svc.assign_case, "bob", 0.2, full, lead="A3-ZJ", co_units=["A3-JY"], note="请核实")
    act(svc.acknowledge_case, "hank", 0.5, full)
    act(svc.request_extension, "hank", 3, full, days=10, reason="需要现场勘查")
    act(svc.approve_extension, "alice", 3.5, full)
    act(svc.pause_case, "alice", 4, full, reason="等待群众补充材料")
    act(svc.resume_case, "alice", 6, full)
    act(svc.draft_reply, "hank", 7, full, text="已修复路灯。", final=True, outcome="支持")
    act(svc.submit_reply, "hank", 7.1, full)
    act(svc.send_back_reply, "bob", 7.2, full, note="请写明修复时间")
    act(svc.draft_reply, "hank", 8, full, text="3月9日已修复路灯。", final=True, outcome="支持")
    act(svc.request_extension, "hank", 8.2, full, days=5, reason="待复查")  # lapses at the close
    act(svc.publish_reply, "bob", 8.5, full)
    act(svc.close_case, "bob", 9, full)
    act(svc.rate_case, "bob", 10, full, value="满意", comment="很快")
    act(svc.instruct_case, "alice", 10.5, full, leader="王市长", text="做得好")

    chased = new("chased", 1, body=PERSONAL, channel="governor-mailbox")
    act(svc.accept_case, "bob", 1.1, chased)
    act(svc.assign_case, "bob", 1.2, chased, lead="A3-ZJ")
    act(svc.supervise_case, "alice", 30, chased, level="催办", note="请尽快办理")
    act(svc.pause_case, "alice", 31, chased, reason="听证")

    repeat = new("repeat", 2)
    act(svc.link_repeat, "bob", 2.1, repeat, original=full)
    merged = new("merged", 2.5)
    act(svc.merge_case, "bob", 2.6, merged, into=full, reason="重复留言")
    rejected = new("rejected", 3, channel="hotline-12345")
    act(svc.reject_case, "bob", 3.1, rejected, reason="无实质内容")
    fresh = new("fresh", 79, channel="hotline-12345")  # received the day before NOW: on time
    del fresh
    other = new("other-unit", 5)
    act(svc.accept_case, "bob", 5.1, other)
    act(svc.assign_case, "bob", 5.2, other, lead="A5")
    yield w
    store.close()


# ---------------------------------------------------------------- the round trip

_CHILD_TABLES = [
    CoUnit,
    ReplyRow,
    RatingRow,
    ExtensionRow,
    SupervisionRow,
    InstructionRow,
    PauseRow,
    LinkRow,
    EventRow,
]


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def snapshot(store: Store) -> dict[str, Any]:
    """Every case, record and event, with ids replaced by what they stand for."""
    with store.engine.connect() as conn:
        unit_code = dict(conn.execute(select(_table(Unit).c.id, _table(Unit).c.code)).all())
        clerks_t = _table(ClerkRow)
        clerk_name = dict(conn.execute(select(clerks_t.c.id, clerks_t.c.name)).all())
        cases_t = _table(CaseRow)
        case_key = {
            r.id: (r.channel, r.external_id)
            for r in conn.execute(select(cases_t.c.id, cases_t.c.channel, cases_t.c.external_id))
        }

        def natural(table: Table, row: Any) -> dict[str, Any]:
            out = {}
            for column in table.columns:
                if column.name == "id":
                    continue
                value = getattr(row, column.name)
                refs = {fk.column.table.name for fk in column.foreign_keys}
                if "units" in refs:
                    value = unit_code.get(value)
                elif "clerks" in refs:
                    value = clerk_name.get(value)
                elif "cases" in refs:
                    value = case_key.get(value)
                out[column.name] = value
            return out

        doc: dict[str, Any] = {
            "cases": {case_key[r.id]: natural(cases_t, r) for r in conn.execute(select(cases_t))},
            "units": sorted(
                tuple(sorted(natural(_table(Unit), r).items()))
                for r in conn.execute(select(_table(Unit)))
            ),
            "clerks": sorted(
                tuple(sorted(natural(_table(ClerkRow), r).items()))
                for r in conn.execute(select(_table(ClerkRow)))
            ),
        }
        for model in _CHILD_TABLES:
            table = _table(model)
            grouped: dict[Any, list[dict[str, Any]]] = {}
            for r in conn.execute(select(table).order_by(table.c.id)):
                item = natural(table, r)
                grouped.setdefault(item.pop("case_id"), []).append(item)
            doc[table.name] = grouped
    return doc


def unmarked(doc: dict[str, Any], restored_from: str | None = None) -> dict[str, Any]:
    """A snapshot with each event's mark of the file it was restored from taken off (and
    checked to be `restored_from` on every event), details compared as JSON, and without the
    events' seals: a restored event carries its mark, so its chain is sealed anew."""
    out = dict(doc)
    out["events"] = {}
    for key, events in doc["events"].items():
        plain = []
        for event in events:
            detail = json.loads(event["detail"]) if event["detail"] else {}
            if restored_from is not None:
                assert detail.pop("restored_from") == restored_from
            plain.append({**{k: v for k, v in event.items() if k != "hash"}, "detail": detail})
        out["events"][key] = plain
    return out


def test_json_lines_round_trip_gives_back_the_same_cases_field_by_field(world: World) -> None:
    summary = world.export("all.jsonl")
    before = snapshot(world.store)
    assert summary.cases == len(before["cases"])
    copy = new_store(world.folder / "copy.sqlite")
    try:
        back = run_import(
            copy,
            world.desk("alice", NOW),
            world.folder / "all.jsonl",
            ImportOptions(rejects=world.folder / "copy-rejects.csv"),
        )
        assert (back.profile, back.read, back.imported) == (
            "caseworker-export",
            summary.cases,
            summary.cases,
        )
        assert back.exit_code == 0
        after = snapshot(copy)
        assert set(after["cases"]) == set(before["cases"])
        for key, case in before["cases"].items():
            for name, value in case.items():
                assert after["cases"][key][name] == value, (key, name)
        # Every restored event says which file it came from; otherwise all is as it was.
        for name in ("units", "clerks", *(_table(m).name for m in _CHILD_TABLES)):
            assert unmarked(after, "all.jsonl")[name] == unmarked(before)[name], name
        # Importing the export again adds nothing.
        again = run_import(
            copy,
            world.desk("alice", NOW),
            world.folder / "all.jsonl",
            ImportOptions(rejects=world.folder / "copy-rejects.csv"),
        )
        assert (again.imported, again.duplicates) == (0, summary.cases)
        assert snapshot(copy) == after
    finally:
        copy.close()
    full = before["cases"][("leader-board", "full")]
    assert full["status"] == "closed" and full["lead_unit_id"] == "A3-ZJ"
    # Its approved request and the one that lapsed with the close, decided by whom they were.
    assert [(e["state"], e["decided_by_id"]) for e in before["extensions"][full_key()]] == [
        ("approved", "alice"),
        ("lapsed", "bob"),
    ]
    assert before["case_links"][("leader-board", "merged")][0]["target_id"] == full_key()


def full_key() -> tuple[str, str]:
    return ("leader-board", "full")


def test_an_interrupted_restore_still_links_its_cases(world: World) -> None:
    world.export("all.jsonl")
    copy = new_store(world.folder / "copy.sqlite")
    try:
        options = ImportOptions(rejects=world.folder / "x.csv", batch_size=200)
        with pytest.raises(KeyboardInterrupt):
            run_import(
                copy,
                world.desk("alice", NOW),
                world.folder / "all.jsonl",
                ImportOptions(rejects=world.folder / "x.csv", batch_size=200, interrupt_after=1),
            )
        run_import(copy, world.desk("alice", NOW), world.folder / "all.jsonl", options)
        assert unmarked(snapshot(copy), "all.jsonl") == unmarked(snapshot(world.store))
    finally:
        copy.close()


# ---------------------------------------------------------------- filters


def test_filters_select_by_status_unit_subtree_channel_time_and_overdue(world: World) -> None:
    def keys(**flt: Any) -> set[str]:
        world.export("f.jsonl", flt=flt)
        lines = (world.folder / "f.jsonl").read_text(encoding="utf-8").splitlines()[1:]
        return {json.loads(line)["case"]["external_id"] for line in lines}

    imported = {str(r[0]) for r in replied_rows()[1][:300]}  # closed by their published reply
    assert keys(statuses=["closed", "rejected"]) == {"full", "rejected"} | imported
    assert keys(unit="A3") == {"full", "chased"}  # A3-ZJ is below A3
    assert keys(unit="A") == {"full", "chased", "other-unit"}
    assert keys(channel="hotline-12345") == {"rejected", "fresh"}
    assert keys(since=START + timedelta(days=2), until=START + timedelta(days=4)) == {
        "repeat",
        "merged",
        "rejected",
    }
    overdue = keys(overdue=True)
    assert "fresh" not in overdue and {"repeat", "other-unit"} <= overdue
    assert not overdue & {"full", "merged", "rejected"}


# ---------------------------------------------------------------- Excel and redaction


def test_csv_opens_in_excel_with_chinese_newlines_and_no_formulas(world: World) -> None:
    with world.store.session() as s:
        case = s.get(CaseRow, world.ids["repeat"])
        assert case is not None
        case.title = '=HYPERLINK("http://x")'
        case.body = '第一段\n第二段，含"引号"和,逗号'
        s.add(case)
    summary = world.export("cases.csv")
    raw = (world.folder / "cases.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with (world.folder / "cases.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == summary.cases
    row = next(r for r in rows if r["external_id"] == "repeat")
    assert row["body"] == '第一段\n第二段，含"引号"和,逗号'
    assert row["title"] == '\'=HYPERLINK("http://x")'
    full = next(r for r in rows if r["external_id"] == "full")
    assert (full["status"], full["lead_unit"]) == ("closed", "A3区住建局")


def test_xlsx_export_has_a_row_per_case(world: World) -> None:
    summary = world.export("cases.xlsx", flt={"channel": "leader-board"})
    book = load_workbook(world.folder / "cases.xlsx", read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert rows[0][:4] == ("id", "channel", "external_id", "status")
    assert len(rows) - 1 == summary.cases
    assert {r[1] for r in rows[1:]} == {"leader-board"}


def test_redact_masks_mobiles_id_cards_and_email_everywhere(world: World) -> None:
    for name in ("plain.jsonl", "masked.jsonl", "masked.csv"):
        world.export(name, redact=name.startswith("masked"))
    plain = (world.folder / "plain.jsonl").read_text(encoding="utf-8")
    assert "13812341234" in plain and "430102199001011234" in plain
    for name in ("masked.jsonl", "masked.csv"):
        text = (world.folder / name).read_text(encoding="utf-8-sig")
        for secret in ("13812341234", "430102199001011234", "zhang.san@"):
            assert secret not in text, (name, secret)
        assert "138****1234" in text and "430102********1234" in text
        assert "z***@example.com" in text
    masked = [
        json.loads(line)
        for line in (world.folder / "masked.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert masked[0]["meta"]["redacted"] is True
    full = next(d for d in masked[1:] if d["case"]["external_id"] == "full")
    assert full["case"]["contact"] == "138****1234"


def test_csv_and_xlsx_exports_import_again_as_new_cases(world: World) -> None:
    with world.store.session() as s:
        case = s.get(CaseRow, world.ids["repeat"])
        assert case is not None
        case.title = "=1+1 不是公式"
        s.add(case)
    flt = {"channel": "leader-board"}
    for name in ("again.csv", "again.xlsx"):
        exported = world.export(name, flt=flt)
        copy = new_store(world.folder / f"{name}.sqlite")
        try:
            back = run_import(
                copy,
                world.desk("alice", NOW),
                world.folder / name,
                ImportOptions(rejects=world.folder / "again-rejects"),
            )
            assert (back.profile, back.imported, back.rejected) == (
                "caseworker-table",
                exported.cases,
                0,
            )
            with copy.session() as s:
                got = {c.external_id: c for c in s.exec(sqlselect(CaseRow)).all()}
            with world.store.session() as s:
                want = {
                    c.external_id: c
                    for c in s.exec(sqlselect(CaseRow).where(CaseRow.channel == "leader-board"))
                }
            assert set(got) == set(want)
            for key, case in want.items():
                mine = got[key]
                assert (mine.title, mine.body, mine.received_at, mine.author, mine.category) == (
                    case.title,
                    case.body,
                    case.received_at,
                    case.author,
                    case.category,
                ), key
                assert mine.status == "received"
        finally:
            copy.close()


def test_the_export_restores_into_sqlite_and_postgresql(world: World, store: Store) -> None:
    """The same export restores on either backend (`store` comes from tests/conftest.py)."""
    with store.session() as s:
        ensure_first_supervisor(s, "alice")
    exported = world.export("all.jsonl")
    back = run_import(
        store,
        world.desk("alice", NOW),
        world.folder / "all.jsonl",
        ImportOptions(rejects=world.folder / "pg-rejects", batch_size=150),
    )
    assert (back.imported, back.rejected, back.conflicts) == (exported.cases, 0, 0)
    assert unmarked(snapshot(store), "all.jsonl") == unmarked(snapshot(world.store))
    again = run_import(
        store,
        world.desk("alice", NOW),
        world.folder / "all.jsonl",
        ImportOptions(rejects=world.folder / "pg-rejects"),
    )
    assert (again.imported, again.duplicates) == (0, exported.cases)
    world.store, copy = store, world.store
    try:
        assert world.export("back.csv", flt={"unit": "A3", "overdue": True}).cases == 1
    finally:
        world.store = copy


def test_a_full_restore_is_a_supervisors_into_a_store_with_no_case(world: World) -> None:
    """The export's history, clerks and units come back only to rebuild a bureau: into a store
    with no case, by a supervisor, recorded, and its clerks able to act only once bound."""
    from caseworker.domain.errors import NotPermitted
    from caseworker.services.admin import admin_history
    from caseworker.services.people import list_clerks

    world.export("all.jsonl")
    source = world.folder / "all.jsonl"
    copy = new_store(world.folder / "copy.sqlite")
    try:
        with copy.session() as s:
            add_clerk(s, "carol", "clerk")
        with pytest.raises(NotPermitted) as refused:
            run_import(copy, world.desk("carol", NOW), source, ImportOptions())
        assert str(refused.value) == "a full restore needs a supervisor; carol is not one"
        with copy.session() as s:
            assert s.exec(sqlselect(CaseRow.id)).first() is None
        run_import(copy, world.desk("alice", NOW), source, ImportOptions())
        with copy.session() as s:
            history = admin_history(s)
            bound = {c.name: c.logins for c in list_clerks(s)}
        first = history[0]
        assert (first.actor, first.action, first.subject) == ("alice", "restore", "all.jsonl")
        assert {("clerk.restore", "bob"), ("clerk.restore", "hank")} <= {
            (h.action, h.subject) for h in history
        }
        assert bound["bob"] == bound["hank"] == ()
    finally:
        copy.close()


def test_an_export_into_a_store_with_cases_imports_as_plain_cases(world: World) -> None:
    """No back-dated history, no clerk from the file: each case is received anew by the
    importing clerk, with none of its states or records."""
    world.export("all.jsonl")
    copy = new_store(world.folder / "copy.sqlite")
    try:
        with copy.session() as s:
            svc.create_case(
                s,
                world.desk("alice", NOW),
                NewCase(channel="hotline-12345", title="已有案件", body="……", received_at=NOW),
            )
        done = run_import(
            copy, world.desk("alice", NOW), world.folder / "all.jsonl", ImportOptions()
        )
        assert done.profile == "caseworker-export" and done.imported > 0
        with copy.session() as s:
            statuses = set(s.exec(sqlselect(CaseRow.status)).all())
            actors = set(s.exec(sqlselect(EventRow.actor)).all())
            clerks = set(s.exec(sqlselect(ClerkRow.name)).all())
        assert statuses == {"received"}
        assert clerks == {"alice"}
        assert "bob" not in actors and "hank" not in actors
    finally:
        copy.close()


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("电话13812341234。", "电话138****1234。"),
        ("+86 139-1234-5678", "+86 139****5678"),
        ("身份证号430102199001011234", "身份证号430102********1234"),
        ("老证43010219900101X", "老证43010219900101X"),  # not a card number: left alone
        ("旧证430102900101123", "旧证430102*****1123"),
        ("写信到 li_si+gov@mail.example.cn 谢谢", "写信到 l***@mail.example.cn 谢谢"),
        ("订单 20191234567890123456", "订单 20191234567890123456"),
        ("座机 0731-88886666", "座机 0731-****6666"),
        # Full-width digits, as Chinese input methods type them (they occur in attachment3).
        ("电话１３８１２３４５６７８", "电话１３８****５６７８"),
        ("身份证１１０１０１１９９００３０７１２３Ｘ", "身份证１１０１０１********１２３Ｘ"),
        # Mobiles split by dots or spaces, ID numbers glued to letters.
        ("手机138.1234.5678", "手机138****5678"),
        ("手机 138 1234 5678 谢谢", "手机 138****5678 谢谢"),
        ("sfz110101199003071234", "sfz110101********1234"),
        # Landlines: an area code set off by a hyphen, a space or brackets.
        ("(010)12345678", "(010)****5678"),
        ("（0731）88886666", "（0731）****6666"),
        ("010-1234567", "010-***4567"),
        ("0731 8888 6666", "0731 **** 6666"),
        # Not personal data: dates, prices, a number too long for a card.
        ("2019年11月14日 12345", "2019年11月14日 12345"),
        ("价格 1380000 元", "价格 1380000 元"),
        ("订单 990101199013071234", "订单 990101199013071234"),  # month 13: not a birth date
    ],
)
def test_redaction_patterns(text: str, masked: str) -> None:
    from caseworker.services.redact import redact_text

    assert redact_text(text) == masked


# ---------------------------------------------------------------- a backup's guarantees


def test_an_export_is_one_snapshot_while_another_connection_writes(
    world: World, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages read after a clerk's change still show the store as it was at the first page:
    the change, a new case, and a new event are in none of them (SQLite and PostgreSQL)."""
    from caseworker.services import exporting

    with store.session() as s:
        ensure_first_supervisor(s, "alice")
    world.export("all.jsonl")
    run_import(store, world.desk("alice", NOW), world.folder / "all.jsonl", ImportOptions())
    with store.session() as s:
        assigned = s.exec(sqlselect(CaseRow.id).where(CaseRow.status == "assigned")).all()
        last = max(i for i in assigned if i is not None)
        total = len(s.exec(sqlselect(CaseRow.id)).all())
        events_before = len(s.exec(sqlselect(EventRow.id).where(EventRow.case_id == last)).all())
    monkeypatch.setattr(exporting, "PAGE", 50)
    writes: list[int] = []

    def meanwhile(count: int) -> None:
        if writes:
            return
        with store.session() as s:  # another connection, committed at once
            case = s.get(CaseRow, last)
            assert case is not None
            case.title = "changed during the export"
            s.add(case)
        with store.session() as s:
            writes.append(
                svc.create_case(
                    s,
                    world.desk("alice", NOW),
                    NewCase(
                        channel="leader-board",
                        title="arrived during the export",
                        body=LAMP,
                        received_at=NOW,
                        external_id="late",
                    ),
                )
            )
        with store.session() as s:
            svc.supervise_case(s, world.desk("alice", NOW), last, level="催办", note="快办")

    summary = export_cases(
        store,
        world.folder / "during.jsonl",
        fmt="jsonl",
        flt=ExportFilter(),
        now=NOW,
        progress=meanwhile,
    )
    assert writes, "the writer ran between pages"
    assert summary.cases == total
    lines = [json.loads(line) for line in (world.folder / "during.jsonl").open(encoding="utf-8")]
    cases = {tuple((d["case"]["channel"], d["case"]["external_id"])): d for d in lines[1:]}
    assert ("leader-board", "late") not in cases
    changed = [d for d in cases.values() if d["case"]["id"] == last]
    assert changed[0]["case"]["title"] != "changed during the export"
    assert len(changed[0]["events"]) == events_before
    # After the export, the writes are all there.
    again = world.export("after.jsonl", fmt="jsonl")
    assert again.cases == summary.cases  # the world's own store did not change
    with store.session() as s:
        assert len(s.exec(sqlselect(CaseRow.id)).all()) == total + 1


def test_recorded_rankings_travel_with_the_export_and_are_sealed_anew(world: World) -> None:
    """The rankings supervisors recorded come back on a full restore, figures as recorded, on
    a ranking chain `audit verify` finds whole; an export into a store with cases leaves them."""
    from caseworker.domain.measures import Period
    from caseworker.services.rankings import rank_and_record
    from caseworker.services.upkeep import verify_audit
    from caseworker.store.models import RankingRecord

    with world.store.session() as s:
        for at in (START.date(), NOW.date()):
            rank_and_record(s, world.rules, period=Period.MONTH, at=at, now=NOW, clerk="alice")
    world.export("all.jsonl")
    meta = json.loads((world.folder / "all.jsonl").open(encoding="utf-8").readline())["meta"]
    assert [r["period_start"] for r in meta["rankings"]] == ["2026-03-01", "2026-05-01"]

    def rankings(store: Store) -> list[tuple[Any, ...]]:
        with store.session() as s:
            rows = s.exec(sqlselect(RankingRecord).order_by(col(RankingRecord.id))).all()
            return [
                (
                    r.period,
                    r.period_start,
                    r.period_end,
                    r.level,
                    r.as_of,
                    r.rule_version,
                    r.figures,
                    r.clerk,
                    r.recorded_at,
                )
                for r in rows
            ]

    copy = new_store(world.folder / "copy.sqlite")
    try:
        run_import(copy, world.desk("alice", NOW), world.folder / "all.jsonl", ImportOptions())
        assert rankings(copy) == rankings(world.store)
        report = verify_audit(copy)
        assert report.ok and report.rankings == 2
        # Each is in the administration history too, as a restored unit or clerk is.
        from caseworker.services.admin import admin_history, verify_admin_history

        with copy.session() as s:
            restored = [e for e in admin_history(s) if e.action == "ranking.restore"]
            assert [(e.actor, e.subject) for e in restored] == [
                ("import:all.jsonl", "month 2026-03-01"),
                ("import:all.jsonl", "month 2026-05-01"),
            ]
            assert json.loads(restored[0].after or "{}")["recorded_by"] == "alice"
            assert verify_admin_history(s)[1] is None  # the chain is whole
        # Importing the same file again (plain cases now) adds no ranking.
        run_import(copy, world.desk("alice", NOW), world.folder / "all.jsonl", ImportOptions())
        assert len(rankings(copy)) == 2
    finally:
        copy.close()


@pytest.mark.parametrize(
    "stored",
    [
        "2026-03-02 01:00:00.000000",
        "2026-03-02 15:59:59.999999",  # the next Shanghai day
        "2024-02-28 20:30:00.000001",  # across a leap day
        "9999-12-31 00:00:00.000000",  # the end of time of a case with no running clock
        "1989-06-01 00:00:00.000000",  # a summer when Shanghai kept +09:00
        "2026-03-02 01:00:00",  # text without the fraction (written by a migration)
    ],
)
def test_stored_times_are_written_as_the_shanghai_times_they_are(stored: str) -> None:
    """The export's shortcut for stored times gives exactly the zoneinfo conversion."""
    from datetime import UTC

    from caseworker.services.exporting import _local_naive, _local_text, time_text

    value = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    assert _local_text(stored) == time_text(value)
    assert _local_text(value.replace(tzinfo=None)) == time_text(value)  # PostgreSQL's form
    assert _local_naive(stored) == value.astimezone(SHANGHAI).replace(tzinfo=None)


def test_stored_json_travels_as_stored_one_record_a_line(world: World) -> None:
    """Stored JSON (extra, detail, source_text) is carried as it was stored: a number past 64
    bits stays exact, and JSON stored over several lines still makes one record a line."""
    big = '{"big": 123456789012345678901234567890, "名": "值"}'
    spread = '{\n  "title": "  标题 ",\n  "body": "正文\\r\\n"\n}'
    with world.store.session() as s:
        first, second = s.exec(sqlselect(CaseRow).order_by(col(CaseRow.id)).limit(2)).all()
        first.extra, second.source_text = big, spread
        s.add(first)
        s.add(second)
        ids = first.id, second.id
    world.export("all.jsonl")
    lines = (world.folder / "all.jsonl").read_text(encoding="utf-8").splitlines()
    docs = {d["case"]["id"]: d["case"] for d in map(json.loads, lines[1:])}
    assert len(docs) == len(lines) - 1
    assert docs[ids[0]]["extra"] == json.loads(big)
    assert docs[ids[0]]["extra"]["big"] == 123456789012345678901234567890
    assert docs[ids[1]]["source_text"] == json.loads(spread)


def test_sqlite_builds_the_same_records_as_python(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite the records are built by the database (json_object); with the same stored
    times the conversion per value gives, the same documents come out as the Python form
    (which PostgreSQL and --redact use), for the times of the shortcut's edges too."""
    from caseworker.services import exporting

    edges = [
        "2026-03-02 15:59:59.999999",  # the fraction never rounds into the next hour
        "2024-02-28 20:30:00.000001",  # across a leap day
        "9999-12-31 00:00:00.000000",  # the end of time of a case with no running clock
        "1989-06-01 00:00:00.000000",  # a summer when Shanghai kept +09:00
        "2026-03-02 01:00:00",  # text without the fraction (written by a migration)
    ]
    with world.store.engine.begin() as connection:
        ids = [r[0] for r in connection.exec_driver_sql("SELECT id FROM cases ORDER BY id")]
        for cid, stored in zip(ids, edges, strict=False):
            connection.exec_driver_sql(
                "UPDATE cases SET closed_at = ?, paused_since = ? WHERE id = ?",
                (stored, stored, cid),
            )
            connection.exec_driver_sql(
                "UPDATE events SET effective_at = ? WHERE case_id = ?", (stored, cid)
            )
    # Everything (pages dense in ids), and a few cases far apart (their ids asked for).
    sparse = {"statuses": ["rejected", "merged"]}
    world.export("sqlite.jsonl")
    world.export("sqlite-sparse.jsonl", flt=sparse)
    monkeypatch.setattr(exporting, "_SqliteJsonLines", exporting._JsonLines)
    world.export("python.jsonl")
    world.export("python-sparse.jsonl", flt=sparse)
    for name in ("", "-sparse"):
        mine = (world.folder / f"sqlite{name}.jsonl").read_text(encoding="utf-8").splitlines()
        theirs = (world.folder / f"python{name}.jsonl").read_text(encoding="utf-8").splitlines()
        assert len(mine) == len(theirs) > 2
        assert [json.loads(line) for line in mine] == [json.loads(line) for line in theirs]
    built = (world.folder / "sqlite.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(built) > len(edges)
    first = json.loads(built[1])
    assert first["case"]["closed_at"] == "2026-03-02T23:59:59.999999+08:00"
    assert all(e["effective_at"] == first["case"]["closed_at"] for e in first["events"])
    assert json.loads(built[4])["case"]["closed_at"] == "1989-06-01T09:00:00+09:00"


def test_a_request_an_older_export_left_waiting_on_an_ended_case_lapses_on_restore(
    world: World,
) -> None:
    """An older release kept a request "requested" after its case closed; restored today, it
    lapses as migration 0018 settles stored ones (at the close, by nobody), and `check`
    finds nothing waiting on an ended case."""
    from caseworker.services.upkeep import check_extensions

    world.export("all.jsonl")
    path = world.folder / "all.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    older = []
    for line in lines:
        doc = json.loads(line)
        case = doc.get("case") or {}
        if (case.get("channel"), case.get("external_id")) == full_key():
            for extension in doc["extensions"]:
                if extension["state"] == "lapsed":
                    extension.update(state="requested", decided_by=None, decided_at=None)
        older.append(json.dumps(doc, ensure_ascii=False))
    assert older != lines
    path.write_text("\n".join(older) + "\n", encoding="utf-8")
    copy = new_store(world.folder / "copy.sqlite")
    try:
        back = run_import(
            copy,
            world.desk("alice", NOW),
            path,
            ImportOptions(rejects=world.folder / "copy-rejects.csv"),
        )
        assert back.exit_code == 0
        after = snapshot(copy)
        closed_at = after["cases"][full_key()]["closed_at"]
        assert closed_at is not None
        assert [
            (e["state"], e["decided_by_id"], e["decided_at"])
            for e in after["extensions"][full_key()]
        ][1] == ("lapsed", None, closed_at)
        assert check_extensions(copy).ok
    finally:
        copy.close()
