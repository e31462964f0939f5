"""Who acts is the login's clerk: `--clerk` chooses among the clerks bound to the login running
the command, a name that is no clerk sees nothing, administration is a supervisor's and is kept
in a chained history, and what caseworker writes is its user's alone.

The tests run as one operating-system login; a bureau where that login is bound to a unit
handler only, and the supervisor to another login, is what a handler's own desk looks like.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import stat
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caseworker.clock import FrozenClock
from caseworker.config import os_login
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

Run = Callable[..., Any]
LOGIN = os_login()
SUPERVISOR, CLERK, HANDLER, OTHER_HANDLER = "王督查", "李受理", "赵住建", "钱教育"
UNITS = (Path(__file__).resolve().parents[1] / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)
AT = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


def one_line(result: Any, code: int = 1) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caseworker: "), result.err
    return str(lines[0])


def build(path: Path, rules: Rules, bindings: dict[str, tuple[str, ...]]) -> list[int]:
    """A bureau at `path`: units, four clerks bound as `bindings` says, and two cases, one
    assigned to the housing bureau and one to the education bureau."""
    from caseworker.services.cases import Desk, NewCase, accept_case, assign_case, create_case
    from caseworker.services.people import add_clerk, import_units
    from caseworker.store.engine import open_store

    store = open_store(str(path))
    ids = []
    with store.session() as session:
        import_units(session, UNITS)
        add_clerk(session, SUPERVISOR, "supervisor", logins=bindings.get(SUPERVISOR, ()))
        add_clerk(session, CLERK, "clerk", logins=bindings.get(CLERK, ()))
        add_clerk(session, HANDLER, "handler", "C-HOUSING", logins=bindings.get(HANDLER, ()))
        add_clerk(
            session, OTHER_HANDLER, "handler", "C-EDU", logins=bindings.get(OTHER_HANDLER, ())
        )
        desk = Desk(rules, FrozenClock(AT), CLERK)
        for ext, unit in (("H-1", "C-HOUSING"), ("E-1", "C-EDU")):
            case_id = create_case(
                session,
                desk,
                NewCase(
                    channel="hotline-12345",
                    title="路灯不亮",
                    body="建设路路灯坏了两周。",
                    received_at=AT - timedelta(hours=2),
                    external_id=ext,
                ),
            )
            accept_case(session, desk, case_id)
            assign_case(session, desk, case_id, lead=unit)
            ids.append(case_id)
    store.close()
    return ids


@pytest.fixture
def handler_desk(tmp_path: Path, rules: Rules) -> tuple[Path, list[int]]:
    """The login is the housing handler's only; the supervisor and the clerk log in elsewhere."""
    db = tmp_path / "bureau.sqlite"
    ids = build(
        db,
        rules,
        {SUPERVISOR: ("wang",), CLERK: ("li",), HANDLER: (LOGIN,), OTHER_HANDLER: ("qian",)},
    )
    return db, ids


def test_a_handlers_login_cannot_act_as_a_supervisor(
    cli: Run, handler_desk: tuple[Path, list[int]]
) -> None:
    db, (housing, education) = handler_desk
    # Without --clerk the login acts as its one clerk.
    shown = cli("--db", db, "case", "show", str(housing), "--format", "json")
    assert shown.code == 0, shown.err
    # --clerk names another clerk: refused, naming the login and the clerks it may act as.
    for clerk in (SUPERVISOR, CLERK, "nobody"):
        line = one_line(cli("--db", db, "--clerk", clerk, "case", "show", str(housing)))
        assert line == (
            f"caseworker: login {LOGIN} may not act as {clerk}; it may act as {HANDLER}"
        )
    # The same for the environment variable, and for the console.
    os.environ["CASEWORKER_CLERK"] = SUPERVISOR
    try:
        line = one_line(cli("--db", db, "report", "overdue"))
    finally:
        del os.environ["CASEWORKER_CLERK"]
    assert f"may not act as {SUPERVISOR}" in line
    assert f"may not act as {SUPERVISOR}" in one_line(cli("--db", db, "--clerk", SUPERVISOR))
    with sqlite3.connect(db) as connection:
        events = connection.execute("SELECT count(*) FROM events").fetchone()[0]
        clerks = connection.execute("SELECT count(*) FROM clerks").fetchone()[0]
    # …and the handler's own clerk may not administer.
    line = one_line(cli("--db", db, "clerks", "add", "mallory", "--role", "supervisor"))
    assert line == f"caseworker: clerks add needs a supervisor; {HANDLER} is not one"
    line = one_line(cli("--db", db, "clerks", "bind", SUPERVISOR, "--login", LOGIN))
    assert "clerks bind needs a supervisor" in line
    with sqlite3.connect(db) as connection:
        assert connection.execute("SELECT count(*) FROM events").fetchone()[0] == events
        assert connection.execute("SELECT count(*) FROM clerks").fetchone()[0] == clerks
        bound = connection.execute(
            "SELECT count(*) FROM clerk_logins WHERE login = ?", (LOGIN,)
        ).fetchone()[0]
    assert bound == 1
    assert education  # the other unit's case is the subject of the scoping tests below


def test_the_login_is_read_from_the_uid_not_from_user_or_logname(
    cli: Run, handler_desk: tuple[Path, list[int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    db, _ = handler_desk
    for name in ("USER", "LOGNAME", "USERNAME"):
        monkeypatch.setenv(name, "wang")  # the supervisor's login
    line = one_line(cli("--db", db, "--clerk", SUPERVISOR, "clerks", "list"))
    assert f"login {LOGIN} may not act as {SUPERVISOR}" in line


def test_a_handler_cannot_move_another_unit_under_their_own(
    cli: Run, handler_desk: tuple[Path, list[int]], tmp_path: Path
) -> None:
    db, (_, education) = handler_desk
    moved = tmp_path / "moved.csv"
    # The education bureau moved under the handler's own unit.
    moved.write_text(UNITS.replace("市教育局,市政府", "市教育局,C-HOUSING"), encoding="utf-8")
    with sqlite3.connect(db) as connection:
        before = connection.execute("SELECT code, parent_id FROM units ORDER BY code").fetchall()
    line = one_line(cli("--db", db, "units", "import", moved))
    assert "units import needs a supervisor" in line
    with sqlite3.connect(db) as connection:
        after = connection.execute("SELECT code, parent_id FROM units ORDER BY code").fetchall()
    assert after == before
    one_line(cli("--db", db, "case", "show", str(education)))


def test_refusing_another_units_case_tells_nothing_of_it(
    cli: Run, handler_desk: tuple[Path, list[int]]
) -> None:
    db, (_, education) = handler_desk
    for command in (
        ("case", "show", str(education)),
        ("case", "history", str(education)),
        ("case", "acknowledge", str(education)),
        ("case", "close", str(education)),
        ("case", "return", str(education), "--reason", "不属本单位"),
    ):
        line = one_line(cli("--db", db, *command))
        assert line == (
            f"caseworker: {HANDLER} (handler) may not see case {education}: "
            "it is not assigned to their unit"
        ), command
    by_external = one_line(cli("--db", db, "case", "close", "ext:E-1"))
    assert "assigned" not in by_external.replace("not assigned", "")
    assert "E-1" in by_external  # what they typed, and nothing more


def test_a_name_that_is_no_clerk_sees_nothing(tmp_path: Path, rules: Rules) -> None:
    """The services fail closed too: an unknown or inactive name is scoped to no case."""
    from sqlmodel import select

    from caseworker.services.exporting import ExportFilter, export_cases
    from caseworker.services.queues import handler_units, viewer_for
    from caseworker.store.engine import open_store
    from caseworker.store.models import ClerkRow
    from caseworker.store.queries import case_in_scope

    db = tmp_path / "bureau.sqlite"
    housing, _ = build(db, rules, {})
    store = open_store(str(db))
    try:
        with store.session() as session:
            assert handler_units(session, "nobody") == ()
            assert handler_units(session, SUPERVISOR) is None
            viewer = viewer_for(session, "nobody")
            assert viewer.unit_ids and not case_in_scope(session, housing, viewer.unit_ids)
            row = session.exec(select(ClerkRow).where(ClerkRow.name == CLERK)).one()
            row.active = False
        with store.session() as session:
            assert handler_units(session, CLERK) == ()
            scope = handler_units(session, "nobody")
        out = tmp_path / "all.csv"
        summary = export_cases(
            store, out, fmt="csv", flt=ExportFilter(scope=scope), now=AT, redact=True
        )
        assert summary.cases == 0
    finally:
        store.close()


def test_a_name_typed_with_control_characters_is_printed_inert(
    cli: Run, handler_desk: tuple[Path, list[int]]
) -> None:
    db, _ = handler_desk
    line = one_line(cli("--db", db, "--clerk", "\x1b[2J王督查\x07", "clerks", "list"))
    assert "\x1b" not in line and "\x07" not in line
    assert f"may not act as ?[2J王督查?; it may act as {HANDLER}" in line


def test_nobody_exports_nothing_from_the_command_line(
    cli: Run, tmp_path: Path, rules: Rules
) -> None:
    db = tmp_path / "bureau.sqlite"
    build(db, rules, {CLERK: (LOGIN,)})
    out = tmp_path / "all.csv"
    line = one_line(cli("--db", db, "--clerk", "nobody", "export", out))
    assert f"login {LOGIN} may not act as nobody; it may act as {CLERK}" in line
    assert not out.exists()


def test_a_login_bound_to_no_clerk_is_told_how_to_be_added(
    cli: Run, tmp_path: Path, rules: Rules
) -> None:
    db = tmp_path / "bureau.sqlite"
    build(db, rules, {SUPERVISOR: ("wang",)})
    said = (
        f"caseworker: login {LOGIN} is bound to no clerk of this database; a supervisor adds "
        f"you with `caseworker clerks bind CLERK --login {LOGIN}`"
    )
    assert one_line(cli("--db", db, "case", "show", "1")) == said
    assert one_line(cli("--db", db)) == said  # the console does not open
    zh = one_line(cli("--db", db, "--lang", "zh"))
    assert f"登录账号 {LOGIN} 未绑定" in zh and f"--login {LOGIN}" in zh


def test_a_login_with_several_clerks_chooses_with_clerk(
    cli: Run, tmp_path: Path, rules: Rules
) -> None:
    db = tmp_path / "bureau.sqlite"
    build(db, rules, {SUPERVISOR: (LOGIN,), CLERK: (LOGIN,)})
    line = one_line(cli("--db", db, "case", "show", "1"))
    assert line == (
        f"caseworker: login {LOGIN} may act as {CLERK}, {SUPERVISOR}; choose one with --clerk"
    )
    assert cli("--db", db, "--clerk", CLERK, "case", "show", "1").code == 0


def test_supervisors_administer_and_every_change_is_kept(
    cli: Run, tmp_path: Path, rules: Rules
) -> None:
    db = tmp_path / "bureau.sqlite"
    build(db, rules, {SUPERVISOR: (LOGIN,)})
    ok = cli("--db", db, "clerks", "add", "孙交通", "--role", "handler", "--unit", "C-TRANSPORT")
    assert ok.code == 0 and "bound to no login yet" in ok.out
    bound = cli("--db", db, "clerks", "bind", "孙交通", "--login", "sun")
    assert bound.code == 0 and bound.out == "login sun may act as 孙交通\n"
    unbound = cli("--db", db, "--lang", "zh", "clerks", "unbind", "孙交通", "--login", "sun")
    assert unbound.code == 0 and unbound.out == "登录名 sun 不再以 孙交通 的身份办理\n"
    listed = cli("--db", db, "clerks", "list").out
    assert LOGIN in listed
    history = cli("--db", db, "admin", "history")
    assert history.code == 0 and "3 administration records verified" in history.err
    zh = cli("--db", db, "--lang", "zh", "admin", "history")
    assert zh.code == 0 and "已核验 3 条管理记录" in zh.err
    with sqlite3.connect(db) as connection:
        rows = connection.execute(
            "SELECT actor, action, subject, before, after FROM admin_history ORDER BY id"
        ).fetchall()
    assert [r[:3] for r in rows] == [
        (SUPERVISOR, "clerk.add", "孙交通"),
        (SUPERVISOR, "clerk.bind", "孙交通"),
        (SUPERVISOR, "clerk.unbind", "孙交通"),
    ]
    assert json.loads(rows[1][3])["logins"] == [] and json.loads(rows[1][4])["logins"] == ["sun"]
    # An edit with raw SQL shows.
    with sqlite3.connect(db) as connection:
        connection.execute("UPDATE admin_history SET actor = '钱教育' WHERE id = 2")
    broken = cli("--db", db, "admin", "history")
    assert one_line(broken) == (
        "caseworker: administration record 2 does not match its chain (1 verified before)"
    )
    # Database roles are PostgreSQL's: on SQLite the command says to bind a login instead.
    assert "clerks bind" in one_line(cli("--db", db, "admin", "grant", CLERK))


def test_init_on_an_existing_store_needs_a_supervisor(
    cli: Run, handler_desk: tuple[Path, list[int]]
) -> None:
    db, _ = handler_desk
    assert "init needs a supervisor" in one_line(cli("--db", db, "init"))


def test_a_demo_accepts_any_clerk_of_its_own(cli: Run, tmp_path: Path) -> None:
    target = tmp_path / "training.sqlite"
    built = cli("demo", "--db", target, "--cases", "40", "--now", "2026-11-23T09:30", "--no-open")
    assert built.code == 0, built.err
    for clerk in ("陈受理", "赵督查"):
        assert cli("--db", target, "--clerk", clerk, "case", "show", "1").code == 0
    line = one_line(cli("--db", target, "--clerk", "nobody", "case", "show", "1"))
    assert "the demo has no clerk nobody" in line


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_what_caseworker_writes_is_its_users_alone(
    cli: Run, tmp_path: Path, real_rows: Callable[[int], Any]
) -> None:
    folder = tmp_path / "bureau" / "data"
    db = folder / "cases.sqlite"
    os.umask(0o022)  # a usual default, under which files come out world-readable
    assert cli("--db", db, "--clerk", SUPERVISOR, "init").code == 0
    assert _mode(db) == 0o600 and _mode(folder) == 0o700
    os.umask(0o022)
    out = tmp_path / "all.jsonl"
    assert cli("--db", db, "export", out).code == 0
    assert _mode(out) == 0o600
    os.umask(0o022)
    header, rows = real_rows(3)
    rows[1][3] = "not a date"  # one row rejected
    source = tmp_path / "messages.csv"
    with source.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    done = cli("--db", db, "import", source)
    assert done.code == 3, done.err
    rejects = tmp_path / "messages.rejects.csv"
    assert _mode(rejects) == 0o600
