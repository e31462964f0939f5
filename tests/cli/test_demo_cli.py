"""`caseworker demo` and `caseworker train check` through the real entry point."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import typer

from caseworker.clock import FrozenClock
from caseworker.config import default_data_dir
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

NOW = "2026-11-23T09:30"
FROZEN = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


# `cli` (conftest.py): the real entry point in this process, no traceback allowed.
Run = Callable[..., Any]


def _count(path: Path) -> int:
    import sqlite3

    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT count(*) FROM cases").fetchone()[0])


def test_demo_builds_its_own_database_and_keeps_it_until_reset(cli: Run) -> None:
    built = cli("demo", "--cases", "120", "--now", NOW, "--no-open")
    assert built.code == 0, built.err
    path = default_data_dir() / "demo.sqlite"
    assert path.exists() and not (default_data_dir() / "caseworker.sqlite").exists()
    assert "120 cases" in built.out and "cases/s" in built.out
    again = cli("demo", "--cases", "500", "--no-open")
    assert again.code == 0 and "--reset" in again.out
    assert _count(path) == 120
    rebuilt = cli("demo", "--cases", "150", "--now", NOW, "--reset", "--no-open")
    assert rebuilt.code == 0, rebuilt.err
    assert _count(path) == 150


def test_demo_opens_the_console_on_the_demo_with_the_frozen_clock(
    cli: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseworker.commands import console
    from caseworker.commands.common import settings_of

    seen: dict[str, Any] = {}

    def fake_console(ctx: typer.Context) -> None:
        settings = settings_of(ctx)
        seen.update(database=settings.database, now=settings.now, clerk=settings.clerk)

    monkeypatch.setattr(console, "open_console", fake_console)
    target = tmp_path / "training.sqlite"
    result = cli("demo", "--db", str(target), "--cases", "60", "--now", NOW)
    assert result.code == 0, result.err
    # The login name is no demo clerk: the console acts as the demo's first bureau clerk.
    assert seen == {"database": str(target), "now": FROZEN, "clerk": "陈受理"}
    assert "acting as 陈受理" in result.err
    seen.clear()
    reopened = cli("--clerk", "赵督查", "demo", "--db", str(target))  # keeps its frozen clock
    assert reopened.code == 0, reopened.err
    assert seen == {"database": str(target), "now": FROZEN, "clerk": "赵督查"}


def test_demo_refuses_a_database_with_real_cases(cli: Run, real_bureau: Path) -> None:
    real = real_bureau
    for extra, says in (((), "real cases"), (("--reset",), "1 clerks (李受理), 1 cases")):
        result = cli("--db", str(real), "demo", "--no-open", *extra)
        assert result.code == 1
        assert result.err.startswith("caseworker: ") and says in result.err
    assert _count(real) == 1
    assert cli("demo", "--cases", "0", "--no-open").code == 2


def test_train_check_reports_steps_and_exit_codes(cli: Run, tmp_path: Path, rules: Rules) -> None:
    from caseworker.services.cases import Desk, link_repeat, reject_case
    from caseworker.store.engine import open_store

    target = str(tmp_path / "demo.sqlite")
    assert cli("demo", "--db", target, "--cases", "100", "--now", NOW, "--no-open").code == 0
    before = cli("train", "check", "reject-duplicate", "--db", target, "--lang", "zh")
    assert before.code == 1
    assert "[ ] 1. 将新留言标记为原件的重复留言" in before.out and "已完成 1/3 步" in before.out
    english = cli("train", "check", "reject-duplicate", "--db", target, "--lang", "en")
    assert english.code == 1 and "1 of 3 steps done" in english.out

    store = open_store(target)
    with store.session() as session:
        from caseworker.services.demo.build import demo_info

        info = demo_info(session)
    assert info is not None
    roles = info["training"]["reject-duplicate"]
    desk = Desk(rules, FrozenClock(FROZEN), "陈受理")
    with store.session() as session:
        link_repeat(session, desk, roles["copy"][0], original=roles["original"][0])
        reject_case(session, desk, roles["copy"][0], reason="重复留言")
    store.close()
    after = cli("train", "check", "reject-duplicate", "--db", target, "--lang", "zh")
    assert after.code == 0, after.out
    assert "已完成 3/3 步，练习完成！" in after.out
    assert "[ ]" not in after.out

    unknown = cli("train", "check", "no-such", "--db", target)
    assert unknown.code == 1 and "unknown scenario" in unknown.err
    listing = cli("--lang", "en", "train", "list")
    assert listing.code == 0 and "Request an extension" in listing.out


def test_building_and_reopening_name_the_demo_moment_alike(cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "tz.sqlite"
    # The same instant, given in UTC: both messages show it in Shanghai time, +08:00.
    built = cli(
        "demo", "--db", str(target), "--cases", "60", "--now", "2026-11-23T01:30Z", "--no-open"
    )
    assert built.code == 0, built.err
    assert "as of 2026-11-23T09:30+08:00" in built.err
    reopened = cli("demo", "--db", str(target), "--no-open")
    assert reopened.code == 0, reopened.err
    assert "as of 2026-11-23T09:30+08:00)" in reopened.out


def test_reset_refuses_a_bureau_with_units_and_clerks_but_no_case(cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "bureau.sqlite"
    units = tmp_path / "units.csv"
    units.write_text("name,parent,level,code\n市信访局,,city,C\n", encoding="utf-8")
    assert cli("--db", str(target), "--clerk", "张敏", "init").code == 0
    assert cli("--db", str(target), "units", "import", str(units)).code == 0
    refused = cli("--lang", "zh", "demo", "--db", str(target), "--reset", "--no-open")
    assert refused.code == 1
    assert "1 个单位（市信访局）、1 名工作人员（张敏）" in refused.err
    assert target.exists() and _count(target) == 0
    listed = cli("--db", str(target), "units", "list")
    assert "市信访局" in listed.out


def test_an_id_already_taken_is_not_blamed_on_a_colleague(
    run_main: Run, postgres: Any, rules: Rules
) -> None:
    from sqlalchemy import text

    from caseworker.services.demo.build import build_demo
    from caseworker.store.engine import open_store

    database = postgres.create_database()
    store = open_store(database)
    try:
        build_demo(store, rules, seed=1, cases=30, now=FROZEN)
        with store.session() as session:  # the sequences as an older demo build left them
            session.execute(text("SELECT setval('cases_id_seq', 1, false)"))
    finally:
        store.close()
    message = (
        '{"channel": "leader-board", "title": "路灯不亮", "body": "小区路灯坏了一个月。",'
        ' "received_at": "2026-11-23T08:00:00"}'
    )
    new = ("--db", database, "--clerk", "陈受理", "--now", NOW, "case", "new")
    refused = run_main(*new, stdin=message)
    assert refused.code == 1 and "Traceback" not in refused.err
    assert "id counter for cases is behind its rows" in refused.err
    assert "someone else" not in refused.err
    assert run_main("--db", database, "--clerk", "赵督查", "init").code == 0  # repairs them
    created = run_main(*new, stdin=message)
    assert created.code == 0, created.err
