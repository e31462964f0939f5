"""`caseworker report overdue|rates` and `caseworker supervise --overdue` on the hand-built bureau.

The bureau and the hand-counted figures are those of tests/services/test_reports.py (2025
National Day holiday); these tests check what the commands make of them: formats, files, exit
codes, the 80-column table.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from openpyxl import load_workbook
from rich.cells import cell_len
from typer.testing import CliRunner

from caseworker.cli import app

SERVICES_TEST = Path(__file__).resolve().parents[1] / "services" / "test_reports.py"


def _fixture_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_fixture", SERVICES_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURE = _fixture_module()
SUPERVISOR: str = FIXTURE.SUPERVISOR
MORNING = "2025-10-21T10:00"  # the report date of the services tests


@pytest.fixture(scope="module")
def bureau_file(tmp_path_factory: pytest.TempPathFactory, bind_clerks: Callable[..., str]) -> Path:
    path = tmp_path_factory.mktemp("bureau") / "bureau.sqlite"
    FIXTURE.build_bureau(path)
    bind_clerks(path)
    return path


@pytest.fixture
def db(bureau_file: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bureau.sqlite"
    shutil.copy(bureau_file, copy)
    return copy


def run(db: Path, *args: str, now: str = MORNING, columns: int = 80) -> tuple[int, str, str]:
    runner = CliRunner()
    env = {"COLUMNS": str(columns), "CASEWORKER_LANG": "en"}
    result = runner.invoke(
        app, ["--db", str(db), "--clerk", SUPERVISOR, "--now", now, *args], env=env
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_overdue_json_shape(db: Path) -> None:
    code, out, _ = run(db, "report", "overdue", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert set(doc) == {"as_of", "cases", "by_unit"}
    assert doc["as_of"] == "2025-10-21T10:00:00+08:00"
    first = doc["cases"][0]
    assert {
        "id",
        "external_id",
        "title",
        "lead_unit",
        "stage",
        "due_at",
        "overdue_working_days",
        "overdue_days",
        "supervision",
        "repeats",
    } <= set(first)
    # Hand-counted in the services tests: C2 assign 10 wd / 21 days ... C1 reply 4 wd / 6 days.
    assert [
        (c["external_id"], c["stage"], c["overdue_working_days"], c["overdue_days"])
        for c in doc["cases"]
    ] == [
        ("C2", "assign", 10, 21),
        ("C3", "close", 8, 11),
        ("C7", "reply", 5, 7),
        ("C1", "reply", 4, 6),
    ]
    assert first["due_at"] == "2025-09-30T23:59:59+08:00"
    assert doc["by_unit"] == [
        {
            "unit": "(未交办)",
            "overdue": 1,
            "max_overdue_working_days": 10,
            "total_overdue_working_days": 10,
        },
        {
            "unit": "乙区",
            "overdue": 2,
            "max_overdue_working_days": 8,
            "total_overdue_working_days": 13,
        },
        {
            "unit": "甲区教育局",
            "overdue": 1,
            "max_overdue_working_days": 4,
            "total_overdue_working_days": 4,
        },
    ]


def test_overdue_options_filter(db: Path) -> None:
    def refs(*args: str) -> list[str]:
        code, out, _ = run(db, "report", "overdue", "--format", "json", *args)
        assert code == 0
        return [c["external_id"] for c in json.loads(out)["cases"]]

    assert refs("--unit", "A") == ["C1"]  # 甲区 and its 教育局
    assert refs("--unit", "某市") == ["C3", "C7", "C1"]  # by name; both counties
    assert refs("--channel", "hotline-12345", "--stage", "reply") == ["C7"]
    # On 10-05, inside the holiday, only C2 is late: 5 days but 0 working days.
    code, out, err = run(db, "report", "overdue", "--format", "json", "--as-of", "2025-10-05T12:00")
    assert code == 0 and "cases are read as they stand now" in err  # the past is not replayed
    assert [
        (c["external_id"], c["overdue_working_days"], c["overdue_days"])
        for c in json.loads(out)["cases"]
    ] == [("C2", 0, 5)]


def test_overdue_table_fits_80_columns_with_cjk_aligned(db: Path) -> None:
    code, out, _ = run(db, "report", "overdue")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("Overdue as of 2025-10-21 10:00")
    assert all(cell_len(line) <= 80 for line in lines)
    rows = [line for line in lines if re.search(r"\d\d-\d\d 23:59", line)]
    assert len(rows) == 4
    # The due column starts at the same cell on every row, whatever CJK text precedes it.
    starts = {cell_len(line[: re.search(r"\d\d-\d\d 23:59", line).start()]) for line in rows}  # type: ignore[union-attr]
    assert len(starts) == 1
    assert "甲区教育局" in out and "(未交办)" in out


def test_titles_are_text_not_markup(db: Path) -> None:
    code, out, _ = run(db, "report", "overdue", columns=140)
    assert code == 0
    assert "C1 留言《标题》[b]" in out  # "[b]" is the citizen's text, not a bold tag


def test_overdue_csv_and_xlsx_files(db: Path, tmp_path: Path) -> None:
    csv_path, xlsx_path = tmp_path / "overdue.csv", tmp_path / "overdue.xlsx"
    assert run(db, "report", "overdue", "--format", "csv", "-o", str(csv_path))[0] == 0
    with csv_path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    blank = rows.index([])
    cases, units = rows[:blank], rows[blank + 1 :]
    assert cases[0][:3] == ["id", "external_id", "title"]
    assert [r[1] for r in cases[1:]] == ["C2", "C3", "C7", "C1"]
    assert cases[1][6] == "2025-09-30 23:59:59"  # Shanghai wall-clock time
    assert units[0] == ["unit", "overdue", "max_overdue_working_days", "total_overdue_working_days"]
    assert units[2] == ["乙区", "2", "8", "13"]

    assert run(db, "report", "overdue", "--format", "xlsx", "-o", str(xlsx_path))[0] == 0
    book = load_workbook(xlsx_path)
    sheet = [list(r) for r in book["overdue"].iter_rows(values_only=True)]
    assert [r[1] for r in sheet[1:]] == ["C2", "C3", "C7", "C1"]
    assert [r[7] for r in sheet[1:]] == [10, 8, 5, 4]
    units_sheet = [list(r) for r in book["by unit"].iter_rows(values_only=True)]
    assert units_sheet[1] == ["(未交办)", 1, 10, 10]


def test_fail_if_any_exits_4_from_the_real_command(db: Path) -> None:
    env = {**os.environ, "CASEWORKER_LANG": "en"}
    base = [
        sys.executable,
        "-m",
        "caseworker",
        "--db",
        str(db),
        "--clerk",
        SUPERVISOR,
        "--now",
        MORNING,
        "report",
        "overdue",
        "--format",
        "json",
        "--fail-if-any",
    ]
    late = subprocess.run(base, capture_output=True, text=True, env=env, check=False)
    assert late.returncode == 4, late.stderr
    assert len(json.loads(late.stdout)["cases"]) == 4  # the report is still printed
    calm = subprocess.run(
        [*base, "--unit", "A", "--stage", "close"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert calm.returncode == 0, calm.stderr
    assert json.loads(calm.stdout)["cases"] == []


def test_bad_options_get_one_clear_line(db: Path) -> None:
    code, _, err = run(db, "report", "overdue", "--unit", "火星区")
    assert code == 1 and "unknown unit '火星区'" in err and "Traceback" not in err
    code, _, err = run(db, "report", "overdue", "--channel", "fax")
    assert code == 1 and "unknown channel 'fax'" in err
    code, _, err = run(db, "report", "overdue", "--stage", "later")
    assert code == 2 and "--stage must be one of" in err
    code, _, err = run(db, "report", "overdue", "--format", "xlsx")
    assert code == 2 and "give -o PATH" in err
    code, _, err = run(db, "report", "rates", "--at", "October")
    assert code == 2 and "is not a date" in err
    code, _, err = run(db, "supervise")
    assert code == 2 and "--overdue" in err


def test_rates_json_csv_xlsx(db: Path, tmp_path: Path) -> None:
    args = ("report", "rates", "--period", "month", "--at", "2025-10-01")
    code, out, _ = run(db, *args, "--format", "json", now="2025-11-03T10:00")
    assert code == 0
    doc = json.loads(out)
    assert (doc["start"], doc["end"], doc["period"]) == ("2025-10-01", "2025-11-01", "month")
    assert doc["rule_version"] == "policy 2025-2; measures m2; 满意率 counts 满意+基本满意"
    assert [(u["rank"], u["unit"]) for u in doc["units"]] == [
        (1, "乙区"),
        (2, "甲区"),
        (3, "甲区教育局"),
        (None, "(未交办)"),
    ]
    b = doc["units"][0]
    # Counted by hand in the services tests.
    assert b["rates"]["on_time_close"] == {"numerator": 1, "denominator": 3, "value": 0.3333}
    assert b["rates"]["timely_acceptance"]["numerator"] == 2
    assert b["average_handling_workdays"] == 5.0
    assert doc["total"]["rates"]["satisfaction"] == {
        "numerator": 2,
        "denominator": 3,
        "value": 0.6667,
    }
    assert set(doc["definitions"]) == set(b["rates"])

    xlsx = tmp_path / "rates.xlsx"
    assert run(db, *args, "--format", "xlsx", "-o", str(xlsx), now="2025-11-03T10:00")[0] == 0
    rows = [list(r) for r in load_workbook(xlsx)["rates"].iter_rows(values_only=True)]
    head = rows[0]
    b_row = dict(zip(head, rows[1], strict=True))
    assert (
        b_row["unit"],
        b_row["on_time_close_numerator"],
        b_row["on_time_close_denominator"],
    ) == ("乙区", 1, 3)
    assert rows[-1][head.index("unit")] == "合计"

    code, out, _ = run(db, *args, "--format", "csv", "--level", "county", now="2025-11-03T10:00")
    table = list(csv.DictReader(out.splitlines()))
    assert [(r["rank"], r["unit"], r["overdue"]) for r in table] == [
        ("1", "乙区", "2"),
        ("2", "甲区", "2"),
        ("", "合计", "5"),
    ]

    code, out, _ = run(db, *args, now="2025-11-03T10:00")
    assert code == 0 and all(cell_len(line) <= 80 for line in out.splitlines())
    assert "1/3" in out and "policy 2025-2" in out


def test_supervise_overdue_is_idempotent_and_says_what_it_did(db: Path) -> None:
    code, out, _ = run(db, "supervise", "--overdue", "--dry-run")
    assert code == 0 and "4 supervision record(s) would be recorded (dry run)" in out
    code, out, _ = run(db, "supervise", "--overdue")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1] == "4 supervision record(s) recorded"
    assert any("(C2)" in line and "约谈" in line and "10 working days" in line for line in lines)
    assert any("(C1)" in line and "催办" in line for line in lines)
    code, out, _ = run(db, "supervise", "--overdue")
    assert code == 0 and out.startswith("nothing to do")
    code, out, _ = run(db, "report", "overdue", "--format", "json")
    assert {c["external_id"]: c["supervision"] for c in json.loads(out)["cases"]} == {
        "C1": "remind",
        "C2": "summon",
        "C3": "flag",
        "C7": "flag",
    }


def test_a_ranking_is_recorded_and_shown_again_as_it_was(db: Path) -> None:
    import sqlite3

    args = ("report", "rates", "--period", "month", "--at", "2025-10-01")
    code, first, err = run(db, *args, "--format", "json", now="2025-11-03T10:00")
    assert code == 0 and "recorded as ranking 1" in err
    assert json.loads(first)["units"][0]["rates"]["on_time_close"]["numerator"] == 1

    # Later, 乙区's case closed on time is back in handling (as after a reopening): computed
    # again, October's figures change.
    connection = sqlite3.connect(db)
    with connection:
        changed = connection.execute(
            "UPDATE cases SET status = 'acknowledged', closed_at = NULL WHERE closed_at IS NOT"
            " NULL AND closed_at <= close_due_at"
            " AND close_due_at BETWEEN '2025-09-30 16:00' AND '2025-10-31 16:00'"  # October
            " AND lead_unit_id = (SELECT id FROM units WHERE name = '乙区')"
        ).rowcount
    connection.close()
    assert changed == 1
    code, again, err = run(db, *args, "--format", "json", now="2025-11-05T10:00")
    assert code == 0 and "recorded as ranking 2" in err
    by_unit = {u["unit"]: u for u in json.loads(again)["units"]}
    assert by_unit["乙区"]["rates"]["on_time_close"]["numerator"] == 0

    # The first ranking is shown as it was, in every format, and recording it again adds none.
    code, shown, err = run(db, "report", "rates", "--recorded", "1", "--format", "json")
    assert (code, shown, err) == (0, first, "")
    code, table, _ = run(db, "report", "rates", "--recorded", "1")
    assert code == 0 and "#1" in table and "1/3" in table
    code, table, _ = run(db, "--lang", "zh", "report", "rates", "--recorded", "1")
    assert code == 0 and "（月），统计截至" in table and "as of" not in table
    code, listing, _ = run(db, "report", "rankings", columns=160)
    assert code == 0
    lines = [line.split() for line in listing.splitlines()[1:]]
    assert [line[0] for line in lines] == ["2", "1"]  # newest first
    assert all(SUPERVISOR in line and "2025-10-01–10-31" in line for line in lines)

    from caseworker.domain.errors import InvalidInput

    with pytest.raises(InvalidInput, match="no recorded ranking 9"):  # a refusal: one line
        run(db, "report", "rates", "--recorded", "9")
    code, _, err = run(db, "report", "rates", "--recorded", "1", "--at", "2025-10-01")
    assert code == 2 and "--recorded" in err
