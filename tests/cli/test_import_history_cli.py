"""The commands a supervisor runs after importing a real history: nothing the source closed is
overdue or chased, the rates come from the source's own times and say what they left out; and
`case new` refuses or warns about received times that cannot be right.

The real files come from tests/data/datasets (skipped with the reason when absent). `cw` runs
the real `python -m caseworker` on a fresh database with the clock at 2026-11-20 10:00.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "data" / "datasets"
ATTACHMENT4 = DATASETS / "tipdm2020" / "attachment4-messages-with-replies.xlsx"
BALTIMORE = DATASETS / "311" / "baltimore-311-sample.csv"

Process = Callable[..., subprocess.CompletedProcess[str]]


def needs(path: Path) -> None:
    if not path.exists():
        pytest.skip(f"dataset {path.name} is missing from tests/data/datasets")


def test_attachment4_imported_is_neither_overdue_nor_chased(cw: Process) -> None:
    needs(ATTACHMENT4)
    done = cw("import", ATTACHMENT4)
    assert done.returncode == 0, done.stderr
    assert "2816 imported closed" in done.stdout and "overdue" not in done.stdout
    overdue = cw("report", "overdue", "--format", "json")
    assert overdue.returncode == 0 and json.loads(overdue.stdout)["cases"] == []
    chased = cw("supervise", "--overdue", "--format", "json")
    assert chased.returncode == 0, chased.stderr
    assert json.loads(chased.stdout) == {"dry_run": False, "records": []}
    rates = cw("report", "rates", "--period", "month", "--at", "2019-05-15", "--format", "json")
    total = json.loads(rates.stdout)["total"]
    close = total["rates"]["on_time_close"]
    # Was 0/81: every case judged still open. Now from the reply times: most on time.
    assert close["denominator"] > 0 and close["numerator"] / close["denominator"] > 0.5
    timely = total["rates"]["timely_acceptance"]
    assert (timely["numerator"], timely["denominator"]) == (0, 0)
    left_out = total["timely_acceptance_left_out"]
    assert left_out > 0
    table = cw("report", "rates", "--period", "month", "--at", "2019-05-15")
    assert f"及时受理率 leaves out {left_out} imported cases" in table.stdout
    zh = cw("--lang", "zh", "report", "rates", "--period", "month", "--at", "2019-05-15")
    assert f"及时受理率未计入 {left_out} 件导入案件" in zh.stdout
    sheet = cw("report", "rates", "--period", "month", "--at", "2019-05-15", "--format", "csv")
    lines = list(csv.DictReader(sheet.stdout.splitlines()))
    assert lines[-1]["timely_acceptance_left_out"] == str(left_out)


def test_baltimore_lists_only_requests_open_in_the_source(cw: Process) -> None:
    needs(BALTIMORE)
    with BALTIMORE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    open_ids = {r["ServiceRequestNum"] for r in rows if not r["SRStatus"].startswith("Closed")}
    mapping = ROOT / "data" / "mappings" / "baltimore-311.toml"
    done = cw("import", BALTIMORE, "--mapping", mapping)
    assert done.returncode == 0, done.stderr
    assert f"{len(rows) - len(open_ids)} imported closed" in done.stdout
    overdue = json.loads(cw("report", "overdue", "--format", "json").stdout)
    assert {c["external_id"] for c in overdue["cases"]} == open_ids
    chased = cw("supervise", "--overdue", "--dry-run")
    assert f"{len(open_ids)} supervision record(s) would be recorded" in chased.stdout


def test_case_new_refuses_the_future_and_warns_about_the_distant_past(
    run_main: Callable[..., Any], tmp_path: Path
) -> None:
    base = ("--db", tmp_path / "new.sqlite", "--clerk", "alice", "--lang", "en")
    now = ("--now", "2026-11-20T10:00:00+08:00")
    assert run_main(*base, *now, "init").code == 0

    def new(received: str) -> Any:
        doc = {"channel": "leader-board", "title": "路灯不亮", "body": "坏了"}
        doc["received_at"] = received
        return run_main(*base, *now, "case", "new", stdin=json.dumps(doc, ensure_ascii=False))

    future = new("2030-01-05T09:00:00")
    assert future.code == 1 and future.out == ""
    assert future.err.strip().splitlines() == [
        "caseworker: received_at 2030-01-05T09:00:00+08:00 is more than a day in the future"
    ]
    assert new("2026-11-22T09:00:00").code == 1  # two days ahead
    soon = new("2026-11-20T20:00:00")  # hours ahead: a clock or zone slip, accepted
    assert soon.code == 0 and soon.err == ""
    old = new("1980-06-02T09:00:00")
    assert old.code == 0 and old.out.strip().isdigit()
    assert old.err.strip() == (
        "warning: received_at 1980-06-02T09:00:00+08:00 is over 10 years ago; check the date"
    )
    zh = run_main(*base[:-2], "--lang", "zh", *now, "case", "new", stdin=json.dumps(
        {"channel": "leader-board", "title": "x", "body": "y", "received_at": "2001-01-01T09:00"}
    ))  # fmt: skip
    assert zh.code == 0 and "早于 10 年前" in zh.err

    # The overdue table shows the year of a deadline in another year: 1980's is no "06-05".
    table = run_main(*base, *now, "report", "overdue")
    assert table.code == 0
    lines = [line for line in table.out.splitlines() if "路灯不亮" in line]
    assert len(lines) == 1 and re.search(r" 1980-06-\d\d ", lines[0]), lines
    this_year = run_main(*base, "--now", "2026-12-31T10:00:00+08:00", "report", "overdue")
    soon_line = next(line for line in this_year.out.splitlines() if " 11-2" in line)
    assert "2026-" not in soon_line
