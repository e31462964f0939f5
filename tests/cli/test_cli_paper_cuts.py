"""Paper cuts a new user met on the command line, each run through the real entry point.

- a version conflict says in Shanghai time who changed the case and how, and does not invite
  a retry the rules would refuse;
- `case show` and `case history` speak the run's language; the 60-日 close clock counts days;
- list commands take `--format table|json|csv`, and a piped table folds long cells, never cuts;
- an extension request can be denied, with a reason, and supervisors have the pending queue.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlalchemy import event
from sqlalchemy.engine import Engine

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

Run = Callable[..., Any]

SUPERVISOR, CLERK, HANDLER = "王督查", "李受理", "赵住建"
# A clerk name of the kind bureaus pass as --clerk: long, without spaces to wrap at.
LONG_CLERK = "desk3-zhangmin-night-shift-hotline-intake-of-the-city-bureau"
UNITS = (Path(__file__).resolve().parents[1] / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)
RECEIVED = "2025-08-04T09:00:00+08:00"
NOW = "2025-08-06T10:00:00+08:00"
LONG_REASON = (
    "网民反映的问题涉及住建、交通、教育多个部门，需现场勘查并召开协调会，"
    "预计无法在原定期限内办结，申请延期二十日 (site visit and joint meeting needed)"
)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "bureau.sqlite")


@pytest.fixture
def run(run_main: Run, db: str) -> Run:
    """`caseworker --db DB --clerk C --now T [--lang L] ARGS…` through the real entry point."""

    def call(
        *args: str, clerk: str = SUPERVISOR, now: str = NOW, lang: str = "en", stdin: str = ""
    ) -> Any:
        options = ["--db", db, "--clerk", clerk, "--now", now, "--lang", lang]
        result = run_main(*options, *args, stdin=stdin)
        assert "Traceback" not in result.err
        return result

    return call


def ok(result: Any) -> Any:
    assert result.code == 0, (result.code, result.out, result.err)
    return result


def refused(result: Any, code: int, *fragments: str) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caseworker: "), result.err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return str(lines[0])


@pytest.fixture
def bureau(
    run: Run, tmp_path: Path, db: str, bind_clerks: Callable[..., str]
) -> Callable[..., int]:
    """The small test bureau (clerks bound to this login); `bureau()` makes a case assigned to
    the housing bureau and returns its id."""
    ok(run("init", now=RECEIVED))
    units = tmp_path / "units.csv"
    units.write_text(UNITS, encoding="utf-8")
    ok(run("units", "import", str(units), now=RECEIVED))
    ok(run("clerks", "add", CLERK, "--role", "clerk", now=RECEIVED))
    ok(run("clerks", "add", HANDLER, "--role", "handler", "--unit", "C-HOUSING", now=RECEIVED))
    ok(run("clerks", "add", LONG_CLERK, "--role", "clerk", now=RECEIVED))
    bind_clerks(db)
    made = 0

    def new_case(*, assign: bool = True) -> int:
        nonlocal made
        made += 1
        doc = {
            "channel": "leader-board",
            "external_id": f"LB-2025-{made:04d}",
            "title": f"小区门口道路积水 {made}",
            "body": "每逢下雨，小区门口道路积水严重。",
            "received_at": RECEIVED,
        }
        stdin = json.dumps(doc, ensure_ascii=False)
        case_id = int(ok(run("case", "new", clerk=CLERK, now=RECEIVED, stdin=stdin)).out)
        if assign:
            ok(run("case", "accept", str(case_id), clerk=CLERK, now=RECEIVED))
            ok(
                run(
                    "case", "assign", str(case_id), "--unit", "C-HOUSING", clerk=CLERK, now=RECEIVED
                )
            )
        return case_id

    return new_case


def _cells(line: str) -> list[str]:
    """A line as terminal cells: a wide character fills two (its second one empty)."""
    out: list[str] = []
    for char in line:
        out += [char, ""] if cell_len(char) == 2 else [char]
    return out


def column_text(table: str, header: str, next_header: str | None = None) -> str:
    """All the text of one column of a printed table (spaces dropped), read line by line
    between its header's position and the next header's (or the end of the line)."""
    lines = [_cells(line) for line in table.splitlines()]
    head = "".join(lines[0])
    start = len(_cells(head[: head.index(header)]))
    end = len(_cells(head[: head.index(next_header)])) if next_header else None
    return "".join("".join(cells[start:end]).replace(" ", "") for cells in lines[1:])


def history(run: Run, ref: int) -> list[dict[str, Any]]:
    data = json.loads(ok(run("case", "history", str(ref), "--format", "json")).out)
    assert isinstance(data, list)
    return data


# ---------------------------------------------------------------- 9. deny an extension


def test_a_supervisor_denies_an_extension_with_a_reason(
    run: Run, bureau: Callable[..., int]
) -> None:
    case_id = bureau()
    other = bureau()
    ref = str(case_id)
    before = json.loads(ok(run("case", "show", ref, "--format", "json")).out)
    ok(run("case", "extend", ref, "--days", "20", "--reason", LONG_REASON, clerk=HANDLER))
    ok(run("case", "extend", str(other), "--days", "5", "--reason", "等材料", clerk=HANDLER))

    # The supervisor's queue: both requests, oldest first, in every format.
    pending = json.loads(ok(run("case", "extensions", "--format", "json")).out)
    assert [(p["case_id"], p["days"], p["requested_by"]) for p in pending] == [
        (case_id, 20, HANDLER),
        (other, 5, HANDLER),
    ]
    assert pending[0]["reason"] == LONG_REASON
    rows = list(csv.DictReader(io.StringIO(ok(run("case", "extensions", "--format", "csv")).out)))
    assert [r["case_id"] for r in rows] == [str(case_id), str(other)]
    assert rows[0]["lead_unit"] == "市住房和城乡建设局"

    # Only a supervisor decides; the refusal says the role, and nothing changes.
    refused(run("case", "deny-extension", ref, "--reason", "不需要", clerk=CLERK), 1, "supervisor")
    refused(run("case", "deny-extension", ref), 2, "--reason")
    refused(run("case", "deny-extension", ref, "--reason", "  "), 1, "reason for denying")

    done = ok(run("case", "deny-extension", ref, "--reason", "现场勘查可在期限内完成"))
    assert done.out.strip() == f"case {ref}: extension denied"
    last = history(run, case_id)[-1]
    assert (last["actor"], last["action"]) == (SUPERVISOR, "deny_extension")
    assert last["reason"] == "现场勘查可在期限内完成"
    assert last["detail"]["days"] == 20

    after = json.loads(ok(run("case", "show", ref, "--format", "json")).out)
    close = next(c for c in after["clocks"] if c["stage"] == "close")
    close_before = next(c for c in before["clocks"] if c["stage"] == "close")
    assert close["due_at"] == close_before["due_at"]  # a denial moves nothing
    assert [e["state"] for e in after["extensions"]] == ["denied"]

    # Decided: gone from the queue, a second decision has nothing to decide.
    pending = json.loads(ok(run("case", "extensions", "--format", "json")).out)
    assert [p["case_id"] for p in pending] == [other]
    refused(run("case", "deny-extension", ref, "--reason", "再次"), 1, "no extension awaiting")
    refused(run("case", "approve-extension", ref), 1, "no extension awaiting")
    # The unit may ask again, and this time it is approved.
    ok(run("case", "extend", ref, "--days", "10", "--reason", "补充材料", clerk=HANDLER))
    ok(run("case", "approve-extension", ref))
    ok(run("audit", "verify"))


def test_the_pending_queue_in_chinese_and_for_a_handler(
    run: Run, bureau: Callable[..., int]
) -> None:
    case_id = bureau()
    ok(run("case", "extend", str(case_id), "--days", "20", "--reason", LONG_REASON, clerk=HANDLER))
    table = ok(run("case", "extensions", lang="zh")).out
    assert "申请人" in table and "办结期限" in table
    # Piped (as here), the long reason is folded onto more lines, every character kept.
    assert "…" not in table
    assert column_text(table, "理由", "申请人") == "".join(LONG_REASON.split())
    # A unit handler sees their own unit's requests.
    mine = json.loads(ok(run("case", "extensions", "--format", "json", clerk=HANDLER)).out)
    assert [p["case_id"] for p in mine] == [case_id]
    refused(run("case", "extensions", "--format", "xml"), 2, "--format")
    # The decision's line is in the run's language too.
    approved = ok(run("case", "approve-extension", str(case_id), lang="zh"))
    assert approved.out.strip() == f"案件 {case_id}：已批准延期"


# ---------------------------------------------------------------- 4. version conflicts


@contextmanager
def racing(db: str, rules: Rules, case_id: int, action: Callable[..., Any]) -> Iterator[list[str]]:
    """While inside, `action` runs as the supervisor in another session the moment a command's
    own UPDATE of the case is about to run; the list yielded is non-empty once it did."""
    from caseworker.services.cases import Desk
    from caseworker.store.engine import open_store

    raced: list[str] = []

    def other_clerk_first(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if raced or not statement.lstrip().upper().startswith("UPDATE CASES"):
            return
        raced.append(statement)
        other = open_store(db)
        try:
            with other.session() as session:
                clock = FrozenClock(datetime(2025, 8, 4, 8, 59, tzinfo=SHANGHAI))
                action(session, Desk(rules, clock, SUPERVISOR), case_id)
        finally:
            other.close()

    event.listen(Engine, "before_cursor_execute", other_clerk_first)
    try:
        yield raced
    finally:
        event.remove(Engine, "before_cursor_execute", other_clerk_first)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_conflict_that_rules_the_action_out_says_what_changed_and_no_retry(
    run: Run, bureau: Callable[..., int], db: str, rules: Rules, lang: str
) -> None:
    from caseworker.services.cases import reject_case

    case_id = bureau(assign=False)
    with racing(db, rules, case_id, lambda s, d, c: reject_case(s, d, c, reason="重复")) as raced:
        result = run("case", "accept", str(case_id), clerk=CLERK, lang=lang)
    assert raced
    label = f"{case_id} (LB-2025-0001)"
    if lang == "en":
        line = refused(
            result,
            1,
            f"case {label} was changed by {SUPERVISOR} at 2025-08-04 08:59 (reject; now rejected)",
            "accept is no longer possible",
        )
        assert "try again" not in line
    else:
        line = refused(
            result,
            1,
            f"案件 {label} 已被 {SUPERVISOR} 于 2025-08-04 08:59 修改（不予受理；现为“不予受理”）",
            "已不能受理",
        )
        assert "再试" not in line
    assert "T0" not in line and "+00:00" not in line  # no raw UTC ISO time


def test_a_conflict_that_leaves_the_action_possible_invites_a_reload(
    run: Run, bureau: Callable[..., int], db: str, rules: Rules
) -> None:
    from caseworker.services.cases import supervise_case

    case_id = bureau()
    urge = lambda s, d, c: supervise_case(s, d, c, level="催办", note="请加快")  # noqa: E731
    with racing(db, rules, case_id, urge) as raced:
        result = run("case", "acknowledge", str(case_id), clerk=HANDLER)
    assert raced
    refused(
        result,
        1,
        f"was changed by {SUPERVISOR} at 2025-08-04 08:59 (supervise; now assigned)",
        "reload and try again",
    )
    ok(run("case", "acknowledge", str(case_id), clerk=HANDLER))  # and indeed it works


# ---------------------------------------------------------------- 7. show and history speak


def test_case_show_speaks_chinese_and_counts_the_close_clock_in_days(
    run: Run, bureau: Callable[..., int]
) -> None:
    ref = str(bureau())
    zh = ok(run("case", "show", ref, lang="zh")).out
    # Received 08-04 09:00, 60 日 to close: due 10-09 (10-03 falls in National Day week and
    # the limit's end rolls to the next working day), 64 natural days from 08-06.
    assert "领导留言板 · 已交办 · 收到 2025-08-04 09:00 · 主办 市住房和城乡建设局" in zh
    for word in ("环节", "期限", "交办", "首次答复", "办结", "计时中", "剩"):
        assert word in zh, word
    assert " h left" not in zh and "running" not in zh and "received" not in zh
    close_line = next(line for line in zh.splitlines() if line.lstrip().startswith("办结"))
    assert "剩64日" in close_line, close_line
    en = ok(run("case", "show", ref)).out
    close_line = next(line for line in en.splitlines() if line.lstrip().startswith("Close"))
    assert "64 d left" in close_line and " h left" not in en


def test_case_history_speaks_the_run_language_and_shows_moves_once(
    run: Run, bureau: Callable[..., int]
) -> None:
    ref = str(bureau())
    ok(run("case", "supervise", ref, "--level", "催办", "--note", "请加快办理"))
    zh = ok(run("case", "history", ref, lang="zh")).out
    for word in ("时间", "办理人", "操作", "受理", "交办", "督办", "待受理 → 待交办", "请加快办理"):
        assert word in zh, word
    assert "assigned" not in zh and "accept" not in zh
    en = ok(run("case", "history", ref)).out
    assert "new → accepted" in en and "accepted → assigned" in en
    supervised = next(line for line in en.splitlines() if "supervised" in line)
    assert "assigned → assigned" not in supervised and "assigned" in supervised
    rows = list(csv.DictReader(io.StringIO(ok(run("case", "history", ref, "--format", "csv")).out)))
    assert [(r["action"], r["from_status"], r["to_status"]) for r in rows] == [
        ("receive", "", "received"),
        ("accept", "received", "accepted"),
        ("assign", "accepted", "assigned"),
        ("supervise", "assigned", "assigned"),
    ]
    assert rows[-1]["reason"] == "请加快办理"


def test_case_new_refusals_speak_chinese(run: Run, bureau: Callable[..., int]) -> None:
    bad = {"channel": "leader-board", "received_at": "2025-08-04T09:00", "kind": "咨询x"}
    bad["title"] = "路灯不亮"
    refused(run("case", "new", stdin="", lang="zh"), 2, "标准输入")
    refused(run("case", "new", stdin="[1]", lang="zh"), 2, "JSON 对象")
    refused(run("case", "new", stdin='{"colour": 1}', lang="zh"), 2, "未知字段", "colour")
    refused(run("case", "new", stdin='{"channel": "leader-board"}', lang="zh"), 2, "received_at")
    refused(run("case", "new", stdin="{", lang="zh"), 2, "不是有效的 JSON")
    stdin = json.dumps({"channel": "leader-board", "received_at": 12345})
    refused(run("case", "new", stdin=stdin, lang="zh"), 2, "received_at", "文本")
    refused(run("case", "new", stdin=json.dumps(bad), lang="zh"), 1, "类型须为")
    stdin = json.dumps({"channel": "leader-board", "received_at": "昨天", "title": "x"})
    refused(run("case", "new", stdin=stdin, lang="zh"), 2, "received_at 的值 昨天 不是 ISO 8601")


# ---------------------------------------------------------------- 8. list formats, no cuts


def test_a_piped_table_folds_long_cells_instead_of_cutting_them(
    run: Run, bureau: Callable[..., int]
) -> None:
    ref = str(bureau())
    ok(run("case", "supervise", ref, "--level", "催办", "--note", LONG_REASON, clerk=LONG_CLERK))
    clerks = ok(run("clerks", "list")).out
    assert "…" not in clerks
    assert LONG_CLERK in column_text(clerks, "name", "role")
    listed = ok(run("case", "history", ref)).out
    assert "…" not in listed
    assert column_text(listed, "who", "action").endswith(LONG_CLERK)
    assert column_text(listed, "why") == "".join(LONG_REASON.split())
    admin = ok(run("admin", "history")).out
    assert "…" not in admin and LONG_CLERK in column_text(admin, "subject", "before")


def test_list_commands_give_json_and_guarded_csv(
    run: Run, bureau: Callable[..., int], tmp_path: Path
) -> None:
    bureau()
    formula = '=HYPERLINK("http://x")'
    ok(run("clerks", "add", formula, "--role", "clerk"))
    clerks = json.loads(ok(run("clerks", "list", "--format", "json")).out)
    assert {c["name"] for c in clerks} >= {SUPERVISOR, CLERK, HANDLER, LONG_CLERK, formula}
    handler = next(c for c in clerks if c["name"] == HANDLER)
    assert (handler["role"], handler["unit"]) == ("handler", "市住房和城乡建设局")
    rows = list(csv.DictReader(io.StringIO(ok(run("clerks", "list", "--format", "csv")).out)))
    assert list(rows[0]) == ["name", "role", "unit", "logins"]
    assert "'" + formula in {r["name"] for r in rows}  # never a live formula

    units = json.loads(ok(run("units", "list", "--format", "json")).out)
    assert [(u["code"], u["depth"]) for u in units][:2] == [("P", 0), ("C", 1)]
    unit_rows = list(csv.DictReader(io.StringIO(ok(run("units", "list", "--format", "csv")).out)))
    assert [r["name"] for r in unit_rows][:2] == ["省政府", "市政府"]

    admin = json.loads(ok(run("admin", "history", "--format", "json")).out)
    assert any(e["subject"] == formula for e in admin)
    admin_rows = list(
        csv.DictReader(io.StringIO(ok(run("admin", "history", "--format", "csv")).out))
    )
    assert "'" + formula in {r["subject"] for r in admin_rows}

    export = tmp_path / "cases.jsonl"
    ok(run("export", str(export)))
    ok(run("import", str(export)))
    imports = json.loads(ok(run("imports", "list", "--format", "json")).out)
    assert imports[0]["file_name"] == "cases.jsonl" and imports[0]["duplicates"] == 1
    import_rows = list(
        csv.DictReader(io.StringIO(ok(run("imports", "list", "--format", "csv")).out))
    )
    assert import_rows[0]["sha256"] == imports[0]["sha256"]

    ok(run("report", "rates", "--period", "month", "--at", "2025-08-31"))
    rankings = json.loads(ok(run("report", "rankings", "--format", "json")).out)
    assert [(r["period"], r["period_start"]) for r in rankings] == [("month", "2025-08-01")]
    ranking_rows = ok(run("report", "rankings", "--format", "csv")).out.splitlines()
    assert ranking_rows[0] == "id,period,level,as_of,clerk,recorded_at"

    for command in (("units", "list"), ("clerks", "list"), ("imports", "list")):
        refused(run(*command, "--format", "xml"), 2, "--format")
    refused(run("report", "rankings", "--format", "xlsx"), 2, "--format")


def test_every_list_format_is_terminal_safe(run: Run, bureau: Callable[..., int]) -> None:
    hostile = "\x1b[2J\x1b]52;c;ZXZpbA==\x07\u202eevil\x9b31m"
    ref = str(bureau())
    ok(run("clerks", "add", f"clerk{hostile}", "--role", "clerk"))
    ok(run("case", "extend", ref, "--days", "5", "--reason", f"why{hostile}", clerk=HANDLER))
    for command in (
        ("case", "extensions"),
        ("case", "history", ref),
        ("clerks", "list"),
        ("admin", "history"),
    ):
        for fmt in ("table", "json", "csv"):
            result = ok(run(*command, "--format", fmt))
            for raw in ("\x1b", "\x07", "\u202e", "\x9b"):
                assert raw not in result.out + result.err, (command, fmt, raw)
    table = ok(run("case", "extensions", "--format", "csv")).out
    assert "why␛[2J" in table


def test_every_case_action_line_is_in_both_catalogs() -> None:
    """Each line `caseworker case ACTION` ends with names a message of `cli.case.done` that
    English and Chinese both have, with the same fields; so do the lines saying what lapsed."""
    import re
    import string

    from caseworker.i18n.catalog import Catalog

    source = (Path(__file__).resolve().parents[2] / "caseworker/commands/case.py").read_text()
    named = re.findall(r'_act\(\s*ctx,\s*"([a-z_]+)"', source)
    # Every call names its line (an f-string here once printed the raw key).
    assert len(named) == source.count("_act(") - 1  # the definition
    used = set(named)
    en, zh = Catalog("en"), Catalog("zh")

    def fields(text: str) -> set[str]:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    # Closing, rejecting and merging add a line when an extension request lapsed with the case.
    lapsed = {"cli.case.lapsed.one", "cli.case.lapsed.many"}
    for name in {f"cli.case.done.{key}" for key in used} | lapsed:
        assert en.has(name) and zh.has(name), name
        assert fields(en.t(name)) == fields(zh.t(name)) >= {"ref"}, name
