"""On PostgreSQL the server enforces who may see and change what: a clerk connects as their own
role (`caseworker admin grant`), a unit handler's role reads and writes only their units' cases
(row-level security), no clerk role may change or delete history, and only the owner changes
units, clerks and the schema. Shown with a plain psycopg connection as the handler's role, and
with caseworker's own commands run as that role.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy.engine import make_url

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

Run = Callable[..., Any]
SUPERVISOR, CLERK, HANDLER, OTHER_HANDLER = "王督查", "李受理", "赵住建", "钱教育"
UNITS = (
    "name,parent,level,code\n"
    "市住房和城乡建设局,市政府,department,C-HOUSING\n"
    "市教育局,市政府,department,C-EDU\n"
    "市政府,,city,C\n"
)
AT = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
NOW = "2026-11-23T10:00"
_roles = itertools.count(1)


def as_role(url: str, role: str) -> str:
    """The SQLAlchemy URL of the same database, connecting as `role` (no password: the test
    server trusts its local socket, as a bureau might trust peer authentication)."""
    return make_url(url).set(username=role, password=None).render_as_string(hide_password=False)


def libpq(url: str) -> str:
    """A plain libpq URI for psycopg, from a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def bureau(postgres: Any, rules: Rules) -> tuple[str, dict[str, int]]:
    """A migrated database with units, clerks (the supervisor bound to the owner role) and
    two assigned cases, one to each bureau; returns its owner URL and the cases by unit."""
    from sqlalchemy import text

    from caseworker.services.cases import Desk, NewCase, accept_case, assign_case, create_case
    from caseworker.services.people import add_clerk, import_units
    from caseworker.store.engine import open_store

    url = postgres.create_database()
    store = open_store(url)
    cases: dict[str, int] = {}
    try:
        with store.session() as session:
            owner = str(session.execute(text("SELECT session_user")).scalar_one())
            import_units(session, UNITS)
            add_clerk(session, SUPERVISOR, "supervisor", logins=(owner,))
            add_clerk(session, CLERK, "clerk")
            add_clerk(session, HANDLER, "handler", "C-HOUSING")
            add_clerk(session, OTHER_HANDLER, "handler", "C-EDU")
            desk = Desk(rules, FrozenClock(AT), CLERK)
            for ext, unit in (("H-1", "C-HOUSING"), ("E-1", "C-EDU")):
                case_id = create_case(
                    session,
                    desk,
                    NewCase(
                        channel="hotline-12345",
                        title="路灯不亮" if unit == "C-HOUSING" else "学位不足",
                        body="……",
                        received_at=AT - timedelta(hours=2),
                        external_id=ext,
                    ),
                )
                accept_case(session, desk, case_id)
                assign_case(session, desk, case_id, lead=unit)
                cases[unit] = case_id
    finally:
        store.close()
    return url, cases


def one_line(result: Any, code: int = 1) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("caseworker: "), result.err
    return str(lines[0])


def test_a_handlers_role_is_held_to_their_units_cases_by_the_server(
    cli: Run, bureau: tuple[str, dict[str, int]]
) -> None:
    url, cases = bureau
    role = f"cw_handler_{os.getpid()}_{next(_roles)}"
    granted = cli("--db", url, "admin", "grant", HANDLER, "--login", role)
    assert granted.code == 0, granted.err
    assert f"role {role} may connect and act as {HANDLER}" in granted.out
    handler_url = as_role(url, role)

    with psycopg.connect(libpq(handler_url), autocommit=True) as connection:
        # Another unit's case is invisible, with all that hangs off it.
        seen = connection.execute("SELECT external_id FROM cases ORDER BY id").fetchall()
        assert seen == [("H-1",)]
        case_ids = {r[0] for r in connection.execute("SELECT case_id FROM events").fetchall()}
        assert case_ids == {cases["C-HOUSING"]}
        hidden = connection.execute("UPDATE cases SET title = 'x' WHERE id = %s", (cases["C-EDU"],))
        assert hidden.rowcount == 0
        # History may be added to, never changed or removed: the server refuses.
        for statement in (
            "UPDATE events SET reason = 'rewritten'",
            "DELETE FROM events",
            "TRUNCATE events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
        # Units, clerks, logins and the schema are the owner's.
        for statement in (
            "UPDATE units SET parent_id = NULL",
            "INSERT INTO clerk_logins (clerk_id, login) VALUES (1, 'mallory')",
            "UPDATE clerks SET role = 'supervisor'",
            "ALTER TABLE cases ADD COLUMN x integer",
            "DROP POLICY cw_cases_read ON cases",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
        # The events the handler may add name a case they may see, and themselves.
        insert = (
            "INSERT INTO events (case_id, actor, action, effective_at, recorded_at) "
            "VALUES (%s, %s, 'note', now(), now())"
        )
        for case_id, actor in (
            (cases["C-EDU"], HANDLER),
            (cases["C-HOUSING"], SUPERVISOR),
            (cases["C-HOUSING"], "import:forged.csv"),
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(insert, (case_id, actor))
        connection.execute(insert, (cases["C-HOUSING"], HANDLER))

    # caseworker's own commands still work for that role, as that role's clerk.
    housing, education = str(cases["C-HOUSING"]), str(cases["C-EDU"])

    def run(*args: str) -> Any:
        return cli("--db", handler_url, "--now", NOW, *args)

    assert run("case", "acknowledge", housing).code == 0
    shown = run("case", "show", housing, "--format", "json")
    assert shown.code == 0, shown.err
    assert '"status": "acknowledged"' in shown.out
    history = run("case", "history", housing)
    assert history.code == 0 and HANDLER in history.out
    assert "unknown case" in one_line(run("case", "show", education))
    overdue = run("report", "overdue", "--format", "json")
    assert overdue.code == 0, overdue.err
    # --clerk may name the role's own clerk, no other.
    assert run("--clerk", HANDLER, "case", "show", housing).code == 0
    line = one_line(cli("--db", handler_url, "--clerk", SUPERVISOR, "case", "show", housing))
    assert line == f"caseworker: login {role} may not act as {SUPERVISOR}; it may act as {HANDLER}"
    assert "clerks add needs a supervisor" in one_line(
        run("clerks", "add", "mallory", "--role", "supervisor")
    )

    # Revoked, the role can no longer read anything, nor act.
    revoked = cli("--db", url, "admin", "revoke", HANDLER, "--login", role)
    assert revoked.code == 0, revoked.err
    kept = cli("--db", url, "admin", "history")
    assert kept.code == 0 and "records verified" in kept.err
    for action in ("role.grant", "clerk.bind", "clerk.unbind", "role.revoke"):
        assert action in kept.out
    with (
        psycopg.connect(libpq(handler_url), autocommit=True) as connection,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        connection.execute("SELECT count(*) FROM cases")


def test_the_bureaus_clerk_role_sees_every_case_and_grant_refuses_the_owner(
    cli: Run, bureau: tuple[str, dict[str, int]]
) -> None:
    url, _ = bureau
    role = f"cw_clerk_{os.getpid()}_{next(_roles)}"
    assert cli("--db", url, "admin", "grant", CLERK, "--login", role).code == 0
    with psycopg.connect(libpq(as_role(url, role)), autocommit=True) as connection:
        assert connection.execute("SELECT count(*) FROM cases").fetchone() == (2,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            connection.execute("DELETE FROM events")
    owner = make_url(url).username
    assert "a clerk needs a role of their own" in one_line(
        cli("--db", url, "admin", "grant", CLERK, "--login", owner)
    )


def test_a_case_lives_its_whole_life_through_clerk_roles(
    cli: Run, run_main: Run, bureau: tuple[str, dict[str, int]], tmp_path: Path
) -> None:
    """Row security lets every step the services allow through: the bureau's clerk and the
    units' handlers each connect as their own role, and a handler who returns a case (退回)
    may still record it, though the case is then no longer theirs."""
    url, _ = bureau
    roles = {}
    for clerk in (CLERK, HANDLER, OTHER_HANDLER):
        role = f"cw_{next(_roles)}_{os.getpid()}"
        assert cli("--db", url, "admin", "grant", clerk, "--login", role).code == 0
        roles[clerk] = as_role(url, role)
    message = {
        "channel": "leader-board",
        "external_id": "LB-9",
        "title": "小区积水",
        "body": "……",
        "received_at": "2026-11-23T09:00:00",
    }
    created = run_main("--db", roles[CLERK], "--now", NOW, "case", "new", stdin=json.dumps(message))
    assert created.code == 0, created.err
    ref = "ext:LB-9"
    steps = [
        (CLERK, ("accept", ref)),
        (CLERK, ("assign", ref, "--unit", "C-EDU")),
        (OTHER_HANDLER, ("return", ref, "--reason", "不属本单位职责")),
        (CLERK, ("assign", ref, "--unit", "C-HOUSING", "--co-unit", "C-EDU")),
        (HANDLER, ("acknowledge", ref)),
        (OTHER_HANDLER, ("reply", ref, "--text", "协办意见：已配合排查。", "--interim")),
        (HANDLER, ("reply", ref, "--text", "已修复。", "--final", "--outcome", "支持")),
        (HANDLER, ("submit", ref)),
        (CLERK, ("publish", ref)),
        (CLERK, ("close", ref)),
    ]
    for clerk, args in steps:
        done = cli("--db", roles[clerk], "--now", "2026-11-24T10:00", "case", *args)
        assert done.code == 0, (clerk, args, done.err)
    history = cli("--db", roles[CLERK], "case", "history", ref, "--format", "json")
    assert history.code == 0, history.err
    actions = [(e["actor"], e["action"]) for e in json.loads(history.out)]
    assert (OTHER_HANDLER, "return") in actions and (CLERK, "close") in actions
    assert actions[-1] == (CLERK, "close")
    # The bureau's clerk numbers and prints its 交办函 under their own role too.
    letter = tmp_path / "交办函.docx"
    printed = cli(
        "--db",
        roles[CLERK],
        "--now",
        "2026-11-24T10:00",
        "letter",
        "assign",
        ref,
        "-o",
        str(letter),
    )
    assert printed.code == 0, printed.err
    assert letter.is_file()
