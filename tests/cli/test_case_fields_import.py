"""Plain files of case fields import with no mapping, and kinds and urgencies may be written
in Chinese (投诉 … 表扬, 普通 / 紧急) in `case new` as in an import: one table of the domain."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from caseworker.commands.case import NEW_CASE_FIELDS
from caseworker.domain.policy import KIND_NAMES, URGENCY_NAMES, Kind, Urgency
from caseworker.services.imports.mapping import BUILT_IN, PLAIN_CASES

NOW = "2026-11-20T10:00:00+08:00"
Run = Callable[..., Any]


@pytest.fixture
def run(run_main: Run, tmp_path: Path) -> Run:
    database = tmp_path / "cases.sqlite"

    def go(*args: str | Path, stdin: str = "") -> Any:
        return run_main("--db", database, "--clerk", "alice", "--now", NOW, *args, stdin=stdin)

    assert go("init").code == 0
    return go


def shown(run: Run, ref: str) -> dict[str, Any]:
    done = run("case", "show", ref, "--format", "json")
    assert done.code == 0, done.err
    data = json.loads(done.out)
    assert isinstance(data, dict)
    return data


def test_every_kind_and_urgency_has_one_chinese_name() -> None:
    assert set(KIND_NAMES.values()) == set(Kind)
    assert set(URGENCY_NAMES.values()) == set(Urgency)


def test_case_new_reads_chinese_kinds_and_urgencies(run: Run) -> None:
    for number, (name, kind) in enumerate(KIND_NAMES.items()):
        urgency = "紧急" if number % 2 else "普通"
        doc = {
            "channel": "leader-board",
            "external_id": f"N{number}",
            "title": f"{name}：小区路灯不亮",
            "body": "建设路路灯坏了两周。",
            "received_at": "2026-11-19T09:00:00+08:00",
            "kind": name,
            "urgency": urgency,
        }
        done = run("case", "new", stdin=json.dumps(doc, ensure_ascii=False))
        assert done.code == 0, done.err
        case = shown(run, f"N{number}")
        assert (case["kind"], case["urgency"]) == (kind.value, URGENCY_NAMES[urgency].value)
    rant = {**doc, "external_id": "N9", "kind": "牢骚"}
    done = run("case", "new", stdin=json.dumps(rant, ensure_ascii=False))
    assert done.code == 1 and "kind must be one of" in done.err


def test_the_plain_profile_reads_exactly_the_fields_case_new_reads() -> None:
    assert set(PLAIN_CASES.fields) == NEW_CASE_FIELDS
    assert BUILT_IN[-1] is PLAIN_CASES  # tried last: it never takes another profile's file


def test_json_lines_of_case_fields_import_with_no_mapping(run: Run, tmp_path: Path) -> None:
    rows = [
        {
            "channel": "leader-board",
            "external_id": "J1",
            "title": "新楼盘旁缺幼儿园学位",
            "body": "小区交房两年，附近没有公办幼儿园。",
            "received_at": "2026-11-18T09:12:00",
            "author": "网友A0312",
            "contact": "138****5678",
            "addressee": "区委书记",
            "region": "A3区",
            "category": "教育文体",
            "kind": "求助",
            "urgency": "普通",
        },
        {
            "channel": "hotline-12345",
            "external_id": "J2",
            "title": "暴雨后垃圾冲进村口水塘",
            "body": "村口水塘漂满垃圾。",
            "received_at": "2026-11-19T09:34:00",
            "kind": "complaint",
            "urgency": "紧急",
        },
    ]
    path = tmp_path / "cases.jsonl"
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    done = run("import", path)
    assert done.code == 0, done.err
    assert "imported 2" in done.out
    first, second = shown(run, "J1"), shown(run, "J2")
    for field in ("title", "author", "contact", "addressee", "region", "category"):
        assert first[field] == rows[0][field]
    assert (first["channel"], first["kind"], first["urgency"]) == ("leader-board", "help", "normal")
    assert (second["channel"], second["kind"], second["urgency"]) == (
        "hotline-12345",
        "complaint",
        "urgent",
    )
    again = run("import", path)
    assert again.code == 0 and "duplicates 2" in again.out


def test_a_csv_of_case_fields_takes_its_channel_from_the_option(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "cases.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["external_id", "title", "body", "received_at", "kind", "urgency"])
        writer.writerow(["C1", "公交站离地铁口600米", "换乘不便。", "2026-11-18 09:00", "建议", ""])
        writer.writerow(["C2", "拖欠工资九万元", "至今未付。", "2026-11-18 10:00", "投诉", "紧急"])
    done = run("import", path, "--channel", "governor-mailbox")
    assert done.code == 0, done.err
    assert (shown(run, "C1")["kind"], shown(run, "C1")["urgency"]) == ("suggestion", "normal")
    assert (shown(run, "C2")["channel"], shown(run, "C2")["urgency"]) == (
        "governor-mailbox",
        "urgent",
    )


def test_a_file_with_columns_beyond_the_case_fields_still_needs_a_mapping(
    run: Run, tmp_path: Path
) -> None:
    path = tmp_path / "other.csv"
    path.write_text(
        "external_id,title,body,received_at,工单状态\nW1,标题,正文,2026-11-18 09:00,已派单\n",
        encoding="utf-8",
    )
    done = run("import", path, "--channel", "leader-board")
    assert done.code == 1 and "no mapping profile fits" in done.err
    assert "Traceback" not in done.err
