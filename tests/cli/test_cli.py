"""The `caseworker` command as a clerk scripts it: set-up, a case's whole life, JSON, exit codes.

Most runs go through `caseworker.cli.main` in this process (the same entry point the installed
script calls, which turns refusals into exit codes); a few run the real `python -m caseworker`
process to prove the packaging, environment variables and exit codes end to end.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[2]

# The small bureau every console, CLI and service test uses (tests/data/small_bureau_units.csv).
UNITS_CSV = (Path(__file__).resolve().parents[1] / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)

SUPERVISOR, CLERK, HANDLER, OTHER_HANDLER = "王督查", "李受理", "赵住建", "钱教育"
ISO_SHANGHAI = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+08:00$")

# A 2027 notice invented for these tests only (the real one is not published yet).
TEST_CALENDAR_2027 = """
[years.2027]
source = "TEST NOTICE for the test suite, not the State Council's"
holidays = ["2027-01-01..2027-01-03", "2027-02-05..2027-02-11"]
workdays = ["2027-02-20"]
"""


# A run's `Result` (code, out, err) comes from conftest.py's `run_main`.
Run = Callable[..., Any]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "cli.sqlite")


def _runner(run_main: Run, database: str) -> Run:
    """Run `caseworker --db DATABASE [--clerk C] [--now T] ARGS…` through the real entry point."""

    def run(
        *args: str,
        clerk: str | None = SUPERVISOR,
        now: str | None = None,
        stdin: str = "",
        calendar: Path | None = None,
    ) -> Any:
        options = ["--db", database]
        if clerk is not None:
            options += ["--clerk", clerk]
        if now is not None:
            options += ["--now", now]
        if calendar is not None:
            options += ["--calendar", str(calendar)]
        return run_main(*options, *args, stdin=stdin)

    return run


@pytest.fixture
def cli(run_main: Run, db: str) -> Run:
    """Overrides conftest.py's `cli`: a bureau's database, clerk and clock, and stdin."""
    return _runner(run_main, db)


def _finished(done: subprocess.CompletedProcess[str]) -> Any:
    """A real process's exit, in the shape of an in-process run (code, out, err)."""
    return SimpleNamespace(code=done.returncode, out=done.stdout, err=done.stderr)


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    assert result.err == "" or "Traceback" not in result.err
    return result


def refused(result: Any, code: int, *fragments: str) -> str:
    """The run failed with `code` and one line on stderr, starting `caseworker:`, no traceback."""
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("caseworker: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return str(lines[0])


def set_up_bureau(cli: Run, tmp_path: Path) -> str:
    """The test bureau; every clerk of it is bound to the login `init` ran as (the OS login on
    SQLite, the database role on PostgreSQL), which is returned, so `--clerk` chooses among
    them as it would at a bureau's shared desk."""
    first = ok(cli("init"))
    bound = re.search(
        rf"{SUPERVISOR} is registered as the first supervisor \(login (.+)\)", first.out
    )
    assert bound is not None, first.out
    LOGIN = bound.group(1)
    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    assert ok(cli("units", "import", str(units))).out.startswith("5 units loaded")
    ok(cli("clerks", "add", CLERK, "--role", "clerk", "--login", LOGIN))
    ok(cli("clerks", "add", HANDLER, "--role", "handler", "--unit", "C-HOUSING", "--login", LOGIN))
    ok(
        cli(
            "clerks",
            "add",
            OTHER_HANDLER,
            "--role",
            "handler",
            "--unit",
            "市教育局",
            "--login",
            LOGIN,
        )
    )
    return LOGIN


def new_case(cli: Run, **fields: Any) -> int:
    doc = {
        "channel": "leader-board",
        "external_id": "LB-2025-0802",
        "title": "小区门口道路积水 [red]不是标记[/red]",
        "body": "每逢下雨，小区门口道路积水严重。",
        "received_at": "2025-08-02T15:30:00+08:00",
        "author": "A0001",
        "addressee": "市长",
        "kind": "complaint",
        "urgency": "normal",
    }
    doc.update(fields)
    stdin = json.dumps(doc, ensure_ascii=False)
    # The clerk enters it the moment it arrives, so the receive event is effective then.
    result = ok(cli("case", "new", clerk=CLERK, now=str(doc["received_at"]), stdin=stdin))
    return int(result.out.strip())


def show(cli: Run, ref: str, now: str, **kwargs: Any) -> dict[str, Any]:
    data = json.loads(ok(cli("case", "show", ref, "--format", "json", now=now, **kwargs)).out)
    assert isinstance(data, dict)
    return data


# ---------------------------------------------------------------- set-up


def test_init_units_and_clerks(cli: Run, tmp_path: Path) -> None:
    set_up_bureau(cli, tmp_path)
    again = ok(cli("init"))
    assert "first supervisor" not in again.out
    listed = ok(cli("units", "list")).out.splitlines()
    names = [line.split()[1] for line in listed[1:]]
    assert names == ["省政府", "市政府", "市教育局", "市住房和城乡建设局", "市交通运输局"]
    # Children are indented under their parents.
    assert listed[2].index("市政府") > listed[1].index("省政府")
    clerks = ok(cli("clerks", "list")).out
    assert re.search(rf"{HANDLER}\s+handler\s+市住房和城乡建设局", clerks)
    assert re.search(rf"{SUPERVISOR}\s+supervisor\s+—", clerks)
    refused(cli("clerks", "add", "无单位", "--role", "handler"), 1, "a unit handler needs --unit")
    refused(cli("clerks", "add", "某人", "--role", "handler", "--unit", "NOPE"), 1, "unknown unit")
    refused(cli("clerks", "add", CLERK, "--role", "clerk"), 1, "already exists")
    refused(cli("clerks", "add", "某人", "--role", "boss"), 1, "role must be one of")


def test_units_file_with_a_cycle_or_unknown_parent_is_refused(cli: Run, tmp_path: Path) -> None:
    ok(cli("init"))
    bad = tmp_path / "bad.csv"
    bad.write_text("name,parent,level,code\n甲,乙,city,A\n乙,甲,city,B\n", encoding="utf-8")
    refused(cli("units", "import", str(bad)), 1, "cycle")
    bad.write_text("name,parent,level,code\n甲,不存在,city,A\n", encoding="utf-8")
    refused(cli("units", "import", str(bad)), 1, "line 2", "unknown or ambiguous parent")
    refused(cli("units", "import", str(tmp_path / "missing.csv")), 1, "cannot read")


# ---------------------------------------------------------------- a case's whole life


def whole_life(cli: Run, tmp_path: Path) -> int:
    """Drive one case from receipt to a second close, as a bureau would from a script."""
    set_up_bureau(cli, tmp_path)
    case_id = new_case(cli)
    ref = str(case_id)
    steps: list[tuple[str, str | None, tuple[str, ...]]] = [
        ("2025-08-04T09:00", CLERK, ("accept", ref, "--note", "属受理范围")),
        (
            "2025-08-04T10:00",
            CLERK,
            ("assign", "LB-2025-0802", "--unit", "C-HOUSING", "--co-unit", "C-TRANSPORT"),
        ),
        ("2025-08-04T14:00", HANDLER, ("acknowledge", ref)),
        ("2025-08-05T09:00", HANDLER, ("reply", ref, "--text", "正在排查。", "--interim")),
        ("2025-08-05T10:00", HANDLER, ("submit", ref)),
        ("2025-08-05T11:00", CLERK, ("send-back", ref, "--note", "请写明完成时间")),
        ("2025-08-05T15:00", HANDLER, ("reply", ref, "--text", "8月底前完成改造。")),
        ("2025-08-05T16:00", HANDLER, ("submit", ref)),
        ("2025-08-08T10:00", CLERK, ("publish", ref)),
        (
            "2025-09-19T09:00",
            HANDLER,
            ("reply", ref, "--text", "已完成改造。", "--final", "--outcome", "支持"),
        ),
        ("2025-09-20T10:00", CLERK, ("publish", ref)),
        ("2025-09-22T10:00", CLERK, ("close", ref)),
        ("2025-09-25T10:00", CLERK, ("rate", ref, "不满意", "--comment", "没修好")),
        ("2025-09-26T10:00", CLERK, ("reopen", ref, "--reason", "群众不满意，重办")),
        (
            "2025-10-09T09:00",
            HANDLER,
            ("reply", ref, "--text", "已返工。", "--final", "--outcome", "解释说明"),
        ),
        ("2025-10-10T10:00", CLERK, ("publish", ref)),
        ("2025-10-11T10:00", CLERK, ("close", ref)),
        ("2025-10-15T10:00", CLERK, ("rate", ref, "满意", "--comment", "修好了")),
    ]
    for now, clerk, args in steps:
        result = ok(cli("case", *args, clerk=clerk, now=now))
        assert result.out.startswith(f"case {args[1]}: "), result.out
    return case_id


def test_a_whole_lifecycle_from_the_shell(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the history table on one line a row
    case_id = whole_life(cli, tmp_path)
    data = show(cli, str(case_id), now="2025-10-16T09:00:00+08:00")
    assert data["status"] == "closed"
    assert data["provisional"] is False
    history = json.loads(ok(cli("case", "history", str(case_id), "--format", "json")).out)
    assert [e["action"] for e in history] == [
        "receive",
        "accept",
        "assign",
        "acknowledge",
        "draft_reply",
        "submit_reply",
        "send_back",
        "draft_reply",
        "submit_reply",
        "publish",
        "draft_reply",
        "publish",
        "close",
        "rate",
        "reopen",
        "draft_reply",
        "publish",
        "close",
        "rate",
    ]
    assert history[0]["effective_at"] == "2025-08-02T15:30:00+08:00"
    assert history[-1]["effective_at"] == "2025-10-15T10:00:00+08:00"
    assert {e["actor"] for e in history} == {CLERK, HANDLER}
    # Events record the real time they were written, not the frozen clock.
    recorded = datetime.fromisoformat(history[-1]["recorded_at"])
    assert abs(recorded - datetime.now(recorded.tzinfo)) < timedelta(minutes=10)
    text = ok(cli("case", "history", str(case_id))).out
    assert "reopened" in text and "closed → handling" in text and "群众不满意，重办" in text


def test_closing_lapses_a_pending_extension_and_the_history_says_so(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # the history table on one line a row
    set_up_bureau(cli, tmp_path)
    ref = str(new_case(cli))
    steps: list[tuple[str, str, tuple[str, ...]]] = [
        ("2025-08-04T09:00", CLERK, ("accept", ref)),
        ("2025-08-04T10:00", CLERK, ("assign", ref, "--unit", "C-HOUSING")),
        ("2025-08-05T09:00", HANDLER, ("extend", ref, "--days", "10", "--reason", "需现场勘查")),
        (
            "2025-08-06T09:00",
            HANDLER,
            ("reply", ref, "--text", "已修复。", "--final", "--outcome", "支持"),
        ),
        ("2025-08-06T10:00", HANDLER, ("submit", ref)),
        ("2025-08-06T11:00", CLERK, ("publish", ref)),
    ]
    for now, clerk, args in steps:
        ok(cli("case", *args, clerk=clerk, now=now))
    waiting = json.loads(ok(cli("case", "extensions", "--format", "json")).out)
    assert [w["case_id"] for w in waiting] == [int(ref)]

    closed = ok(cli("case", "close", ref, clerk=CLERK, now="2025-08-07T09:00"))

    # The confirmation says the request lapsed with the case, after the close's own line.
    assert closed.out.splitlines() == [
        f"case {ref}: closed",
        f"case {ref}: the pending extension request (10 days) lapsed with it",
    ]
    assert json.loads(ok(cli("case", "extensions", "--format", "json")).out) == []
    (extension,) = show(cli, ref, now="2025-08-07T10:00")["extensions"]
    assert extension["state"] == "lapsed"
    assert extension["decided_at"] == "2025-08-07T09:00:00+08:00"
    history = json.loads(ok(cli("case", "history", ref, "--format", "json")).out)
    assert set(history[-1]["detail"]) == {"lapsed_extensions"}
    (line,) = [x for x in ok(cli("case", "history", ref)).out.splitlines() if "closed" in x]
    assert "closed · pending extension lapsed" in line
    zh = ok(cli("--lang", "zh", "case", "history", ref)).out
    assert "办结 · 待批延期申请随之失效" in zh


def test_rejecting_and_merging_say_in_chinese_what_lapsed(cli: Run, tmp_path: Path) -> None:
    """A request the unit filed lapses when the bureau rejects (after the unit returned the
    case) or merges its case; the run's language tells the clerk, and an ending with nothing
    waiting says only what it did."""
    set_up_bureau(cli, tmp_path)
    refs = [
        str(new_case(cli, external_id=f"LB-2025-08{n:02d}", title=title))
        for n, title in enumerate(("小区道路积水", "小区道路积水（重复）", "路灯不亮", "原件"))
    ]
    returned, repeat, plain, original = refs

    def zh(*args: str, clerk: str = CLERK, now: str) -> Any:
        return ok(cli("--lang", "zh", "case", *args, clerk=clerk, now=now))

    for ref in refs:
        zh("accept", ref, now="2025-08-04T09:00")
    for ref in (returned, repeat, original):
        zh("assign", ref, "--unit", "C-HOUSING", now="2025-08-04T10:00")
    for ref, days in ((returned, "10"), (repeat, "5")):
        zh(
            "extend",
            ref,
            "--days",
            days,
            "--reason",
            "需现场勘查",
            clerk=HANDLER,
            now="2025-08-05T09:00",
        )
    zh("return", returned, "--reason", "非本单位职责", clerk=HANDLER, now="2025-08-05T10:00")

    rejected = zh("reject", returned, "--reason", "不属受理范围", now="2025-08-06T09:00")
    assert rejected.out.splitlines() == [
        f"案件 {returned}：已不予受理",
        f"案件 {returned}：待批延期申请（10日）已随之失效",
    ]
    merged = zh("merge", repeat, "--into", original, now="2025-08-06T10:00")
    assert merged.out.splitlines() == [
        f"案件 {repeat}：已合并到 {original}",
        f"案件 {repeat}：待批延期申请（5日）已随之失效",
    ]
    nothing = zh("reject", plain, "--reason", "无实质内容", now="2025-08-06T11:00")
    assert nothing.out.splitlines() == [f"案件 {plain}：已不予受理"]
    history = json.loads(ok(cli("case", "history", repeat, "--format", "json")).out)
    assert set(history[-1]["detail"]) == {"into", "lapsed_extensions"}


def test_show_json_shape_with_offsets(cli: Run, tmp_path: Path) -> None:
    set_up_bureau(cli, tmp_path)
    case_id = new_case(cli)
    ok(cli("case", "accept", str(case_id), clerk=CLERK, now="2025-08-04T09:00"))
    ok(
        cli(
            "case",
            "assign",
            str(case_id),
            "--unit",
            "C-HOUSING",
            "--co-unit",
            "C-TRANSPORT",
            clerk=CLERK,
            now="2025-08-04T10:00",
        )
    )
    # As of Monday 2025-08-18 09:00 the first reply (due 08-15) is late by one working day.
    data = show(cli, "LB-2025-0802", now="2025-08-18T09:00:00+08:00")
    for key in (
        "id",
        "external_id",
        "channel",
        "title",
        "status",
        "lead_unit",
        "co_units",
        "received_at",
        "clocks",
    ):
        assert key in data, key
    assert data["id"] == case_id
    assert data["external_id"] == "LB-2025-0802"
    assert data["channel"] == "leader-board"
    assert data["title"] == "小区门口道路积水 [red]不是标记[/red]"
    assert data["status"] == "assigned"
    assert data["lead_unit"] == "市住房和城乡建设局"
    assert data["co_units"] == ["市交通运输局"]
    assert data["received_at"] == "2025-08-02T15:30:00+08:00"
    clocks = {c["stage"]: c for c in data["clocks"]}
    assert list(clocks) == ["assign", "reply", "close"]
    for clock in data["clocks"]:
        assert ISO_SHANGHAI.match(clock["due_at"]), clock["due_at"]
        assert clock["state"] in ("running", "stopped", "paused")
    assert (clocks["assign"]["state"], clocks["assign"]["due_at"]) == (
        "stopped",
        "2025-08-06T23:59:59+08:00",
    )
    assert clocks["assign"]["finished_late"] is False
    assert clocks["reply"]["state"] == "running"
    assert clocks["reply"]["due_at"] == "2025-08-15T23:59:59+08:00"
    assert clocks["reply"]["overdue_working_days"] == 1
    assert "remaining_seconds" not in clocks["reply"]
    assert clocks["close"]["due_at"] == "2025-10-09T23:59:59+08:00"
    left = datetime.fromisoformat("2025-10-09T23:59:59+08:00") - datetime.fromisoformat(
        "2025-08-18T09:00:00+08:00"
    )
    assert clocks["close"]["remaining_seconds"] == int(left.total_seconds())
    assert "overdue_working_days" not in clocks["close"]
    # The text view shows citizen text literally, never as markup.
    text = ok(cli("case", "show", str(case_id), now="2025-08-18T09:00")).out
    assert "[red]不是标记[/red]" in text
    assert "!1 wd overdue" in text


def test_a_handler_works_only_their_units_cases(cli: Run, tmp_path: Path) -> None:
    set_up_bureau(cli, tmp_path)
    case_id = str(new_case(cli))
    ok(cli("case", "accept", case_id, clerk=CLERK, now="2025-08-04T09:00"))
    ok(cli("case", "assign", case_id, "--unit", "C-HOUSING", clerk=CLERK, now="2025-08-04T10:00"))
    refused(
        cli("case", "acknowledge", case_id, clerk=OTHER_HANDLER, now="2025-08-04T11:00"),
        1,
        OTHER_HANDLER,
        "not assigned to their unit",
    )
    refused(
        cli("case", "close", case_id, clerk=HANDLER, now="2025-08-04T11:00"),
        1,
        "(handler) may not close",  # the role is the reason, whatever the case's state
        "needs: clerk, supervisor",
    )


def test_a_handler_reads_only_their_units_cases(cli: Run, tmp_path: Path) -> None:
    login = set_up_bureau(cli, tmp_path)
    co_handler = "孙交通"
    ok(cli("clerks", "add", co_handler, "--role", "handler", "--unit", "C-TRANSPORT"))
    ok(cli("clerks", "bind", co_handler, "--login", login))
    case_id = str(new_case(cli))
    ok(cli("case", "accept", case_id, clerk=CLERK, now="2025-08-04T09:00"))
    ok(
        cli(
            "case",
            "assign",
            case_id,
            "--unit",
            "C-HOUSING",
            "--co-unit",
            "C-TRANSPORT",
            clerk=CLERK,
            now="2025-08-04T10:00",
        )
    )
    for clerk in (HANDLER, co_handler, CLERK, SUPERVISOR):  # lead, co-unit and the bureau
        assert "小区门口道路积水" in ok(cli("case", "show", case_id, clerk=clerk)).out
        assert json.loads(ok(cli("case", "history", case_id, "--format", "json", clerk=clerk)).out)
    # Refused by the reference typed, and nothing else of the case is told (its external id
    # to whoever typed its number, its state to anyone).
    for command, label in (
        (("show", case_id), case_id),
        (("show", case_id, "--format", "json"), case_id),
        (("history", "ext:LB-2025-0802"), "ext:LB-2025-0802"),
    ):
        said = (
            f"{OTHER_HANDLER} (handler) may not see case {label}: it is not assigned to their unit"
        )
        result = cli("case", *command, clerk=OTHER_HANDLER)
        assert refused(result, 1) == f"caseworker: {said}" and result.out == ""
    zh = refused(cli("--lang", "zh", "case", "show", case_id, clerk=OTHER_HANDLER), 1)
    assert zh == (
        f"caseworker: {OTHER_HANDLER}（承办单位经办人）无权查看案件 {case_id}："
        "该案件未交办给其所在单位"
    )


def test_a_handlers_export_and_overdue_report_hold_only_their_units_cases(
    cli: Run, tmp_path: Path
) -> None:
    """Unit handlers see only their units' cases: in an export too (led or helped on), and in
    the overdue report (cases their units lead; --unit narrows it, never widens it)."""
    set_up_bureau(cli, tmp_path)
    plans = {
        "own": ("C-HOUSING", []),
        "helping": ("C-TRANSPORT", ["C-HOUSING"]),
        "other": ("C-EDU", []),
    }
    for n, (name, (lead, co_units)) in enumerate(plans.items()):
        case_id = str(new_case(cli, external_id=f"LB-{name}", title=f"留言 {name}"))
        ok(cli("case", "accept", case_id, clerk=CLERK, now="2025-08-04T09:00"))
        more = [arg for unit in co_units for arg in ("--co-unit", unit)]
        ok(
            cli(
                "case",
                "assign",
                case_id,
                "--unit",
                lead,
                *more,
                clerk=CLERK,
                now=f"2025-08-04T1{n}:00",
            )
        )
    later = "2025-09-30T10:00"  # every first reply is late by then

    def exported(clerk: str) -> tuple[set[str], str]:
        target = tmp_path / f"{clerk}.jsonl"
        result = ok(cli("export", str(target), "--redact", clerk=clerk, now=later))
        lines = target.read_text(encoding="utf-8").splitlines()
        docs = [json.loads(line) for line in lines]
        return {d["case"]["external_id"] for d in docs if "case" in d}, result.err

    theirs, said = exported(HANDLER)
    assert theirs == {"LB-own", "LB-helping"}
    assert said.strip() == (
        f"{HANDLER} is a unit handler: only the cases their unit or a unit "
        "below it leads or helps on (协办) were exported"
    )
    everything, said = exported(CLERK)
    assert everything == {"LB-own", "LB-helping", "LB-other"} and said == ""

    def overdue(*args: str, clerk: str = HANDLER) -> set[str]:
        result = ok(cli("report", "overdue", "--format", "json", *args, clerk=clerk, now=later))
        return {c["external_id"] for c in json.loads(result.out)["cases"]}

    assert overdue(clerk=SUPERVISOR) == {"LB-own", "LB-helping", "LB-other"}
    assert overdue() == {"LB-own"}  # the report counts a case against its lead unit
    assert overdue("--unit", "C-HOUSING") == {"LB-own"}
    assert overdue("--unit", "C-TRANSPORT", clerk=SUPERVISOR) == {"LB-helping"}
    refused(
        cli("report", "overdue", "--unit", "C-EDU", clerk=HANDLER, now=later),
        1,
        f"{HANDLER} (handler) may report only on their own unit and the units below it, "
        "not on 市教育局",
    )
    zh = refused(
        cli("--lang", "zh", "report", "overdue", "--unit", "C", clerk=HANDLER, now=later), 1
    )
    assert zh == f"caseworker: {HANDLER}（承办单位经办人）只能统计本单位及下级单位，无权统计 市政府"


def test_a_reply_under_review_and_a_reopening_without_dissatisfaction_are_refused(
    cli: Run, tmp_path: Path
) -> None:
    set_up_bureau(cli, tmp_path)
    ref = str(new_case(cli))
    label = f"case {ref} (LB-2025-0802)"
    steps: list[tuple[str, str, tuple[str, ...]]] = [
        ("2025-08-04T09:00", CLERK, ("accept", ref)),
        ("2025-08-04T10:00", CLERK, ("assign", ref, "--unit", "C-HOUSING")),
        (
            "2025-08-05T09:00",
            HANDLER,
            ("reply", ref, "--text", "已完成改造。", "--final", "--outcome", "支持"),
        ),
        ("2025-08-05T10:00", HANDLER, ("submit", ref)),
    ]
    for now, clerk, args in steps:
        ok(cli("case", *args, clerk=clerk, now=now))
    for clerk in (HANDLER, CLERK):
        refused(
            cli("case", "reply", ref, "--text", "改写", clerk=clerk, now="2025-08-05T11:00"),
            1,
            f"{label}: its reply is awaiting the bureau's review and cannot be edited",
        )
    ok(cli("case", "publish", ref, clerk=CLERK, now="2025-08-06T10:00"))
    assert show(cli, ref, now="2025-08-06T11:00")["replies"][0]["text"] == "已完成改造。"
    ok(cli("case", "close", ref, clerk=CLERK, now="2025-08-07T10:00"))

    reopen = ("case", "reopen", ref, "--reason", "群众来电要求重办")
    refused(
        cli(*reopen, clerk=CLERK, now="2025-08-08T10:00"),
        1,
        f"{label} cannot be reopened: it has no rating since it was received or last "
        "reopened; only a 不满意 rating reopens a case",
    )
    line = refused(
        cli("--lang", "zh", *reopen, clerk=CLERK, now="2025-08-08T10:00"),
        1,
        f"案件 {ref} (LB-2025-0802) 不能重办：自收到或上次重办以来尚无评价",
    )
    assert "只有评价为“不满意”的案件才能重办" in line
    ok(cli("case", "rate", ref, "满意", clerk=CLERK, now="2025-08-09T10:00"))
    refused(
        cli(*reopen, clerk=CLERK, now="2025-08-09T11:00"),
        1,
        "its latest rating is 满意; only a 不满意 rating reopens a case",
    )
    ok(
        cli(
            "case",
            "rate",
            ref,
            "不满意",
            "--comment",
            "没修好",
            clerk=CLERK,
            now="2025-08-10T10:00",
        )
    )
    ok(cli(*reopen, clerk=CLERK, now="2025-08-11T10:00"))
    assert show(cli, ref, now="2025-08-11T11:00")["status"] == "acknowledged"


# ---------------------------------------------------------------- exit codes


def test_refusals_exit_1_with_one_line(cli: Run, tmp_path: Path) -> None:
    set_up_bureau(cli, tmp_path)
    case_id = str(new_case(cli))
    now = "2025-08-04T09:00"
    refused(
        cli("case", "close", case_id, clerk=CLERK, now=now),
        1,
        f"case {case_id} (LB-2025-0802) is received: cannot close",
        "allowed now: accept",
    )
    # A case not theirs is refused as such: neither its state nor its external id is told.
    line = refused(
        cli("case", "accept", case_id, clerk=HANDLER, now=now),
        1,
        f"{HANDLER} (handler) may not see case {case_id}",
    )
    assert "LB-2025-0802" not in line and "received" not in line
    refused(cli("case", "show", "999"), 1, "unknown case '999'")
    refused(cli("case", "accept", "NO-SUCH-ID", clerk=CLERK), 1, "unknown case 'NO-SUCH-ID'")
    ok(cli("case", "accept", case_id, clerk=CLERK, now=now))
    refused(
        cli("case", "assign", case_id, "--unit", "NOPE", clerk=CLERK, now=now),
        1,
        "unknown unit 'NOPE'",
    )
    refused(
        cli("case", "accept", case_id, clerk="陌生人", now=now),
        1,
        "login ",
        "may not act as 陌生人; it may act as 李受理, 王督查, 赵住建, 钱教育",
    )
    refused(
        cli("case", "reject", case_id, "--reason", " ", clerk=CLERK, now=now),
        1,
        "a reason for rejecting is required",
    )
    refused(cli("case", "rate", case_id, "很好", clerk=CLERK, now=now), 1, "is accepted")
    fax = {"channel": "fax", "title": "t", "body": "b", "received_at": "2025-08-02T15:30"}
    refused(
        cli("case", "new", clerk=CLERK, now=now, stdin=json.dumps(fax)),
        1,
        "unknown channel 'fax'; known: leader-board",
    )
    rant = {**fax, "channel": "leader-board", "kind": "rant"}
    refused(
        cli("case", "new", clerk=CLERK, now=now, stdin=json.dumps(rant)), 1, "kind must be one of"
    )


def test_unreadable_database_file_exits_1(run_main: Run, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("这不是数据库\n" * 100, encoding="utf-8")
    run = _runner(run_main, str(notes))
    refused(run("case", "show", "1"), 1, "cannot open database", "file is not a database")
    refused(run("init"), 1, "file is not a database")
    missing = _runner(run_main, str(tmp_path / "missing.sqlite"))
    refused(missing("clerks", "list"), 1, "no database at", "run `caseworker init` first")


def test_usage_errors_exit_2(cli: Run, tmp_path: Path) -> None:
    set_up_bureau(cli, tmp_path)
    case_id = str(new_case(cli))
    for result in (
        cli("case", "accept", case_id, now="yesterday-ish"),  # malformed --now
        cli("case", "assign", case_id),  # missing --unit
        cli("case", "show", case_id, "--format", "xml"),
        cli("case", "new", stdin="not json"),
        cli("case", "new", stdin=json.dumps({"channel": "leader-board"})),
        cli("case", "new", stdin=json.dumps({"channel": "leader-board", "received_at": "soon"})),
        cli("case", "extend", case_id, "--days", "many", "--reason", "x"),
    ):
        refused(result, 2)
    assert (
        "--now 'yesterday-ish' is not an ISO 8601 time"
        in cli("case", "accept", case_id, now="yesterday-ish").err
    )
    assert ok(cli("case", "show", case_id, "--format", "json")).out  # nothing was changed


def test_usage_errors_are_one_line_too(cli: Run, tmp_path: Path) -> None:
    ok(cli("init"))
    refused(cli("clerks", "list", now="2025-13-45"), 2, "--now '2025-13-45' is not an ISO 8601")
    refused(cli("clerks", "add", "某人"), 2, "Missing option '--role'")
    refused(cli("case", "nonsense"), 2, "No such command 'nonsense'")


def test_version_conflict_exits_1(cli: Run, tmp_path: Path, db: str, rules: Any) -> None:
    """Another clerk saves the case while this command is between reading and writing it."""
    from caseworker.clock import FrozenClock
    from caseworker.services.cases import Desk, reject_case
    from caseworker.store.engine import open_store

    set_up_bureau(cli, tmp_path)
    case_id = new_case(cli)
    raced: list[str] = []

    def other_clerk_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if raced or not statement.lstrip().upper().startswith("UPDATE CASES"):
            return
        raced.append(statement)
        other = open_store(db)
        try:
            with other.session() as session:
                desk = Desk(
                    rules, FrozenClock(datetime.fromisoformat("2025-08-04T08:59+08:00")), SUPERVISOR
                )
                reject_case(session, desk, case_id, reason="重复")
        finally:
            other.close()

    event.listen(Engine, "before_cursor_execute", other_clerk_first)
    try:
        result = cli("case", "accept", str(case_id), clerk=CLERK, now="2025-08-04T09:00")
    finally:
        event.remove(Engine, "before_cursor_execute", other_clerk_first)
    assert raced
    refused(
        result,
        1,
        f"case {case_id} (LB-2025-0802) was changed by {SUPERVISOR} at 2025-08-04 08:59 "
        "(reject; now rejected)",
        "accept is no longer possible",
    )
    data = show(cli, str(case_id), now="2025-08-04T10:00")
    assert data["status"] == "rejected"
    history = json.loads(ok(cli("case", "history", str(case_id), "--format", "json")).out)
    assert [(e["actor"], e["action"]) for e in history] == [
        (CLERK, "receive"),
        (SUPERVISOR, "reject"),
    ]


# ---------------------------------------------------------------- provisional deadlines


def test_provisional_deadlines_become_exact_once_the_year_is_entered(
    cli: Run, tmp_path: Path, db: str
) -> None:
    set_up_bureau(cli, tmp_path)
    # Received 2026-11-20: 60 日 ends 2027-01-19, a year the shipped calendar does not know.
    late_2026 = new_case(cli, external_id="LB-2026-1120", received_at="2026-11-20T09:00:00+08:00")
    data = show(cli, "LB-2026-1120", now="2026-11-21T09:00:00+08:00")
    assert data["provisional"] is True
    close = {c["stage"]: c for c in data["clocks"]}["close"]
    assert (close["due_at"], close["provisional"]) == ("2027-01-19T23:59:59+08:00", True)
    text = ok(cli("case", "show", "LB-2026-1120", now="2026-11-21T09:00")).out
    assert "(provisional)" in text and "calendar file" in text
    # Received Monday 2027-02-15: 10 工作日 by the statutory rules alone run to 03-01; the test
    # notice adds a make-up Saturday (02-20), so the exact answer is 02-26.
    in_2027 = new_case(cli, external_id="LB-2027-0215", received_at="2027-02-15T09:00:00+08:00")
    reply = {c["stage"]: c for c in show(cli, "LB-2027-0215", now="2027-02-15T10:00")["clocks"]}
    assert (reply["reply"]["due_at"], reply["reply"]["provisional"]) == (
        "2027-03-01T23:59:59+08:00",
        True,
    )

    calendar = tmp_path / "calendar.toml"
    calendar.write_text(TEST_CALENDAR_2027, encoding="utf-8")
    ok(cli("clerks", "list", calendar=calendar))  # any command brings the stored deadlines up

    from caseworker.store.engine import open_store
    from caseworker.store.models import CaseRow

    store = open_store(db)
    try:
        with store.session() as session:
            first = session.get(CaseRow, late_2026)
            second = session.get(CaseRow, in_2027)
            assert first is not None and second is not None
            assert first.provisional is False and second.provisional is False
            assert first.close_due_at == datetime.fromisoformat("2027-01-19T23:59:59+08:00")
            assert second.reply_due_at == datetime.fromisoformat("2027-02-26T23:59:59+08:00")
            assert second.next_due_at == second.assign_due_at
    finally:
        store.close()
    data = show(cli, "LB-2026-1120", now="2026-11-21T09:00", calendar=calendar)
    assert data["provisional"] is False
    assert all(c["provisional"] is False for c in data["clocks"])
    reply = {
        c["stage"]: c
        for c in show(cli, "LB-2027-0215", now="2027-02-15T10:00", calendar=calendar)["clocks"]
    }
    assert reply["reply"]["due_at"] == "2027-02-26T23:59:59+08:00"


# ---------------------------------------------------------------- the real process


def _process(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "caseworker", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_real_command_and_its_exit_codes(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "CASEWORKER_DB": str(tmp_path / "real.sqlite"),
        "CASEWORKER_CLERK": SUPERVISOR,
        "CASEWORKER_NOW": "2025-08-04T09:00:00+08:00",
    }
    assert _process("init", env=env).returncode == 0
    doc = {
        "channel": "leader-board",
        "title": "t",
        "body": "b",
        "received_at": "2025-08-02T15:30:00+08:00",
        "external_id": "REAL-1",
    }
    created = _process("case", "new", env=env, stdin=json.dumps(doc))
    assert (created.returncode, created.stdout.strip()) == (0, "1"), created.stderr

    illegal = _process("case", "close", "REAL-1", env=env)
    refused(_finished(illegal), 1, "is received: cannot close")

    bad_now = _process("case", "show", "1", env={**env, "CASEWORKER_NOW": "not-a-time"})
    assert bad_now.returncode == 2 and "Traceback" not in bad_now.stderr
    assert "is not an ISO 8601 time" in bad_now.stderr

    notes = tmp_path / "notes.txt"
    notes.write_text("plain text\n", encoding="utf-8")
    unreadable = _process("case", "show", "1", env={**env, "CASEWORKER_DB": str(notes)})
    refused(_finished(unreadable), 1, "file is not a database")

    shown = _process("case", "show", "REAL-1", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["received_at"] == "2025-08-02T15:30:00+08:00"


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture
def pg_cli(run_main: Run, postgres: Any) -> Run:
    url = postgres.create_database(template=None)  # empty: `init` creates the schema
    return _runner(run_main, url)


def test_a_whole_lifecycle_on_postgresql(pg_cli: Run, tmp_path: Path) -> None:
    case_id = whole_life(pg_cli, tmp_path)
    data = show(pg_cli, str(case_id), now="2025-10-16T09:00:00+08:00")
    assert data["status"] == "closed"
    close = {c["stage"]: c for c in data["clocks"]}["close"]
    # Reopened on 2025-09-26: 60 日 ends 11-25; closed 10-11, well before.
    assert (close["due_at"], close["state"], close["finished_late"]) == (
        "2025-11-25T23:59:59+08:00",
        "stopped",
        False,
    )
    refused(pg_cli("case", "close", str(case_id), clerk=CLERK), 1, "is closed: cannot close")


def test_a_number_that_is_one_cases_id_and_anothers_external_id_is_refused(
    cli: Run, tmp_path: Path
) -> None:
    """Message boards number their messages too: `case show 2` must not guess which is meant."""
    set_up_bureau(cli, tmp_path)
    first = new_case(cli, external_id="2")  # case 1, whose source called it "2"
    second = new_case(cli, external_id="B-7")  # case 2
    assert (first, second) == (1, 2)
    now = "2025-08-03T09:00:00"
    refused(cli("case", "show", "2", now=now), 1, "#2", "ext:2")
    assert show(cli, "#2", now)["external_id"] == "B-7"
    assert show(cli, "ext:2", now)["id"] == 1
    assert show(cli, "B-7", now)["id"] == 2  # an unambiguous external id needs no prefix
