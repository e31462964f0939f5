"""After `caseworker import`, the search index catches up: inline when small, else in the
background, with search exact throughout (see tests/services/test_search_backlog.py)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from caseworker.clock import FrozenClock
from caseworker.commands import transfer
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import Desk
from caseworker.services.imports import ImportOptions, run_import, runner
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.rules import load_rules
from caseworker.store.engine import open_store

ROOT = Path(__file__).resolve().parents[2]
TIPDM = ROOT / "tests" / "data" / "datasets" / "tipdm2020"
ATTACHMENT2 = TIPDM / "attachment2-labelled-sample.xlsx"
ATTACHMENT3 = TIPDM / "attachment3-messages-with-votes.xlsx"


def _state(db: Path) -> tuple[int, int, str | None]:
    """Cases, cases in the search index, and the pending mark."""
    with sqlite3.connect(db) as connection:
        cases = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
        indexed = connection.execute("SELECT count(*) FROM cases_fts_docsize").fetchone()[0]
        mark = connection.execute(
            "SELECT value FROM store_meta WHERE key = 'search_pending_from'"
        ).fetchone()
    return int(cases), int(indexed), mark[0] if mark else None


def test_the_command_returns_with_a_small_backlog_indexed(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKER_")} | {
        "CASEWORKER_DB": str(tmp_path / "cases.sqlite"),
        "CASEWORKER_CLERK": "alice",
        "CASEWORKER_NOW": "2026-11-20T10:00:00+08:00",
    }

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "caseworker", *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=300,
        )

    assert run("init").returncode == 0
    done = run("import", ATTACHMENT3, "--rejects", tmp_path)
    assert done.returncode in (0, 3), done.stderr
    cases, indexed, mark = _state(tmp_path / "cases.sqlite")
    assert cases > 4000 and indexed == cases and mark is None


def test_a_large_backlog_is_indexed_in_the_background(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "DEFER_SEARCH_AT", 1)
    monkeypatch.setattr(transfer, "INLINE_CATCH_UP", 0)
    db = tmp_path / "cases.sqlite"
    store = open_store(str(db))
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    desk = Desk(rules, FrozenClock(datetime(2026, 11, 20, 10, tzinfo=SHANGHAI)), "alice")
    summary = run_import(store, desk, ATTACHMENT2, ImportOptions(rejects=tmp_path / "r.csv"))
    store.close()
    assert summary.search_backlog == summary.imported > 400
    assert _state(db)[1:] == (0, "1")

    transfer._catch_up_search(str(db), summary.search_backlog)  # returns at once
    deadline = time.monotonic() + 60
    while _state(db)[2] is not None and time.monotonic() < deadline:
        time.sleep(0.2)
    cases, indexed, mark = _state(db)
    assert mark is None and indexed == cases == summary.imported
