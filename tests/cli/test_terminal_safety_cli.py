"""Nothing the command line prints from data can drive the terminal that shows it.

A case, a unit, a clerk and an imported file carry every kind of control sequence a terminal
obeys (clear screen, window title, OSC 52 clipboard write, OSC 8 link, BEL, backspace, 8-bit
CSI, DEL, a bidi override); every command that shows them, and every refusal that quotes
them, is run through the real entry point in both languages, and no such character may reach
stdout or stderr. What the terminal shows instead (`␛[2J`) is checked too.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from caseworker.output_safety import BIDI_CONTROLS

Run = Callable[..., Any]

HOSTILE = (
    "\x1b[2J\x1b]0;pwned\x07\x1b]52;c;ZXZpbA==\x07\x1b]8;;http://evil.example\x1b\\link"
    "\x1b]8;;\x1b\\\x08\x9b31m\u202eevil\x7f\x05"
)
# Any character a terminal may obey: C0 but newline and tab, DEL, C1, bidi controls.
RAW_CONTROL = re.compile(
    "["
    + "".join(
        re.escape(chr(c))
        for c in (*range(0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0), *BIDI_CONTROLS)
    )
    + "]"
)
NOW = "2025-12-20T10:00:00+08:00"
RECEIVED = "2025-08-02T15:30:00+08:00"


def assert_clean(result: Any, *, code: int = 0) -> str:
    """The run ended with `code` and printed no raw control character; its whole output."""
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    for stream in (result.out, result.err):
        hit = RAW_CONTROL.search(stream)
        assert hit is None, (repr(hit.group()) if hit else None, stream)
    return str(result.out + result.err)


@pytest.fixture(params=["en", "zh"])
def bureau(
    run_main: Run, tmp_path: Path, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Run:
    """A database with a hostile unit, clerk and case; `run(*args)` in the fixture's language."""
    monkeypatch.setenv("COLUMNS", "300")  # wide enough that tables do not wrap the stand-ins
    database = str(tmp_path / "hostile.sqlite")

    def run(*args: str, clerk: str = "alice", stdin: str = "", now: str = NOW) -> Any:
        options = ["--db", database, "--clerk", clerk, "--now", now, "--lang", request.param]
        return run_main(*options, *args, stdin=stdin)

    assert run("init").code == 0
    units = tmp_path / "units.csv"
    with units.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["name", "parent", "level", "code"],
                ["市政府", "", "city", "C"],
                [f"单位{HOSTILE}", "C", "department", "EVIL"],
            ]
        )
    assert_clean(run("units", "import", str(units)))
    assert_clean(run("clerks", "add", f"clerk{HOSTILE}", "--role", "clerk"))
    doc = {
        "channel": "leader-board",
        "external_id": f"LB{HOSTILE}",
        "title": f"标题{HOSTILE}",
        "body": f"正文\n{HOSTILE}\r\n第二行",
        "received_at": RECEIVED,
        "author": f"作者{HOSTILE}",
    }
    out = assert_clean(run("case", "new", stdin=json.dumps(doc), now=RECEIVED))
    assert out.strip() == "1"
    assert_clean(run("case", "accept", "1", "--note", f"note{HOSTILE}"))
    assert_clean(run("case", "assign", "1", "--unit", "EVIL", "--note", f"why{HOSTILE}"))
    return run


def test_case_show_and_history_print_no_control_character(bureau: Run) -> None:
    shown = assert_clean(bureau("case", "show", "1"))
    assert "标题␛[2J␛]0;pwned␇" in shown  # visible, telling, harmless
    assert "<U+009B>31m<U+202E>evil␡" in shown
    assert "正文\n" in shown  # the body keeps its lines
    assert_clean(bureau("case", "show", "1", "--format", "json"))
    history = assert_clean(bureau("case", "history", "1"))
    assert "note␛[2J" in history
    assert_clean(bureau("case", "history", "1", "--format", "json"))


def test_lists_print_no_control_character(bureau: Run, tmp_path: Path) -> None:
    assert "单位␛[2J" in assert_clean(bureau("units", "list"))
    assert "clerk␛[2J" in assert_clean(bureau("clerks", "list"))
    source = tmp_path / f"留言{HOSTILE.replace('/', '')}.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(
            [
                ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"],
                ["9001", "A1", f"题{HOSTILE}", "2025-08-03 09:00:00", "内容"],
            ]
        )
    imported = assert_clean(bureau("import", str(source)))
    assert "␛]0;pwned␇" in imported
    assert "␛]0;pwned␇" in assert_clean(bureau("imports", "list"))


def test_reports_to_the_terminal_print_no_control_character(bureau: Run) -> None:
    for fmt in ("table", "csv", "json"):
        out = assert_clean(bureau("report", "overdue", "--format", fmt))
        assert "标题" in out, fmt
    assert_clean(bureau("report", "rates", "--at", "2025-12-01"))
    assert_clean(bureau("report", "rates", "--at", "2025-12-01", "--format", "csv"))
    assert_clean(bureau("report", "rankings"))
    assert_clean(bureau("supervise", "--overdue", "--dry-run"))


def test_refusals_that_quote_data_print_no_control_character(bureau: Run) -> None:
    doc = {
        "channel": "leader-board",
        "external_id": f"LB{HOSTILE}",
        "title": "again",
        "received_at": RECEIVED,
    }
    line = assert_clean(bureau("case", "new", stdin=json.dumps(doc), now=RECEIVED), code=1)
    assert "LB␛[2J" in line and len(line.strip().splitlines()) == 1
    assert_clean(bureau("case", "assign", "1", "--unit", f"nowhere{HOSTILE}"), code=1)
    assert_clean(bureau("case", "show", f"LB{HOSTILE}-x"), code=1)
    assert_clean(bureau("report", "overdue", "--unit", f"x{HOSTILE}"), code=1)
