"""Opening a database made by an older release upgrades it in place without losing a row.

The old database is built at schema revision 0001 and filled with plain SQL
(tests/data/schema_0001_rows.sql), the way the first release's program left it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.store.engine import (
    StoreError,
    head_revision,
    make_engine,
    open_store,
    schema_revision,
    upgrade,
)

ROOT = Path(__file__).resolve().parents[2]
OLD_ROWS = ROOT / "tests" / "data" / "schema_0001_rows.sql"
TABLES_0001 = [
    "units",
    "clerks",
    "cases",
    "case_co_units",
    "events",
    "replies",
    "supervisions",
    "ratings",
    "extensions",
    "instructions",
    "pauses",
    "case_links",
]


def _statements() -> list[str]:
    lines = [
        line
        for line in OLD_ROWS.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("--")
    ]
    return [s.strip() for s in "\n".join(lines).split(";\n") if s.strip().rstrip(";")]


def _counts(engine: Any) -> dict[str, int]:
    with engine.connect() as connection:
        return {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in TABLES_0001
        }


@pytest.fixture
def old_database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A database at schema 0001 with rows in it, closed, as an older program left it."""
    if backend == "sqlite":
        target = str(tmp_path / "old.sqlite")
    else:
        target = request.getfixturevalue("postgres").create_database(template=None)
    engine = make_engine(target)
    upgrade(engine, "0001")
    with engine.begin() as connection:
        for statement in _statements():
            connection.exec_driver_sql(statement.rstrip(";"))
    assert schema_revision(engine) == "0001"
    assert "imports" not in inspect(engine).get_table_names()  # added by 0002
    engine.dispose()
    return target


def test_the_old_rows_are_what_the_fixture_says(old_database: str) -> None:
    engine = make_engine(old_database)
    try:
        assert _counts(engine) == {
            "units": 4,
            "clerks": 3,
            "cases": 2,
            "case_co_units": 1,
            "events": 4,
            "replies": 1,
            "supervisions": 1,
            "ratings": 0,
            "extensions": 0,
            "instructions": 0,
            "pauses": 0,
            "case_links": 0,
        }
    finally:
        engine.dispose()


def test_opening_an_old_database_upgrades_it_without_losing_a_row(old_database: str) -> None:
    engine = make_engine(old_database)
    before = _counts(engine)
    engine.dispose()

    store = open_store(old_database, create=False)
    try:
        assert schema_revision(store.engine) == head_revision()
        assert "imports" in inspect(store.engine).get_table_names()
        assert _counts(store.engine) == before
        with store.session() as session:
            case = svc.find_case(session, "OLD-0001")
            # Times written as naive UTC by the old program read back as the same instants.
            assert case.received_at == datetime(2025, 8, 2, 15, 30, tzinfo=SHANGHAI)
            assert case.close_due_at == datetime(2025, 10, 9, 23, 59, 59, tzinfo=SHANGHAI)
            assert (case.status, case.version, case.updated_by) == ("assigned", 3, "李受理")
            assert case.body == "每逢下雨，小区门口道路积水严重。[bold]不是标记[/bold]"
            history = svc.case_history(session, "OLD-0001", clerk=None)
            assert [e.action for e in history] == ["receive", "accept", "assign"]
            assert history[2].detail == {"lead": "市住房和城乡建设局", "co_units": ["市交通运输局"]}
            other = svc.find_case(session, "OLD-0002")
            assert other.extra == '{"source": "old"}'
    finally:
        store.close()


def test_the_upgrade_seals_the_history_already_there(old_database: str, rules: Any) -> None:
    """Events written before the audit chain existed are sealed once, by the upgrade."""
    from caseworker.services.upkeep import verify_audit

    store = open_store(old_database, create=False)
    try:
        report = verify_audit(store)
        assert (report.ok, report.events, report.cases) == (True, 4, 2)
        at = datetime(2025, 8, 5, 10, tzinfo=SHANGHAI)
        with store.session() as session:
            svc.acknowledge_case(session, svc.Desk(rules, FrozenClock(at), "赵住建"), "OLD-0001")
        assert verify_audit(store).events == 5 and verify_audit(store).ok
    finally:
        store.close()


def test_the_upgraded_database_keeps_working(old_database: str, rules: Any) -> None:
    store = open_store(old_database)
    try:
        at = datetime(2025, 8, 5, 9, tzinfo=SHANGHAI)
        with store.session() as session:
            svc.acknowledge_case(session, svc.Desk(rules, FrozenClock(at), "赵住建"), "OLD-0001")
        with store.session() as session:
            desk = svc.Desk(rules, FrozenClock(at), "李受理")
            new_id = svc.create_case(
                session,
                desk,
                svc.NewCase(
                    channel="leader-board", title="新留言", body="升级后收到", received_at=at
                ),
            )
            detail = svc.case_detail(session, rules, at, "OLD-0001", clerk=None)
        assert detail.status == "acknowledged"
        assert detail.co_units == ["市交通运输局"]
        assert detail.version > 3
        assert [s["note"] for s in detail.supervisions] == ["请加快办理"]
        assert new_id == 3  # the id sequence continued after the old rows
    finally:
        store.close()


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


@pytest.fixture
def caseworker(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `caseworker ARGS…` through its real entry point (tests/cli runs the real process)."""
    from caseworker.cli import main

    def run(*args: str) -> Ran:
        monkeypatch.setattr(sys, "argv", ["caseworker", *args])
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main()
        out, err = capsys.readouterr()
        return Ran(int(done.value.code or 0), out, err)

    return run


def _login_of(target: str) -> str:
    """The login a command on `target` runs as: the OS login, or the PostgreSQL role."""
    from caseworker.config import os_login

    engine = make_engine(target)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "postgresql":
                return str(connection.execute(text("SELECT session_user")).scalar_one())
    finally:
        engine.dispose()
    return os_login()


def _old_clerk(target: str, name: str, role: str) -> None:
    engine = make_engine(target)
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO clerks (name, role, active) VALUES (:n, :r, TRUE)"),
            {"n": name, "r": role},
        )
    engine.dispose()


def test_an_old_database_is_upgraded_by_a_supervisor_only(
    old_database: str, caseworker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Before logins were bound, a clerk acted under the login of their own name: a login
    whose clerk is no supervisor may not upgrade the schema, by `init` or any other command."""
    login = _login_of(old_database)
    _old_clerk(old_database, login, "clerk")
    monkeypatch.setenv("CASEWORKER_DB", old_database)
    for command in (("init",), ("units", "list")):
        refused = caseworker(*command)
        assert refused.code == 1, refused
        assert f"login {login} is no supervisor's" in refused.err
    engine = make_engine(old_database)
    try:
        assert schema_revision(engine) == "0001"
    finally:
        engine.dispose()


def test_init_upgrades_an_old_database_and_is_idempotent(
    old_database: str, caseworker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The supervisor who upgrades acted, before logins were bound, under their login's name.
    login = _login_of(old_database)
    _old_clerk(old_database, login, "supervisor")
    monkeypatch.setenv("CASEWORKER_DB", old_database)
    monkeypatch.setenv("CASEWORKER_NOW", "2025-08-05T09:00:00+08:00")
    first = caseworker("init")
    assert first.code == 0, first.err
    assert f"database ready at schema {head_revision()}" in first.out
    assert "first supervisor" not in first.out  # the old database already has clerks
    engine = make_engine(old_database)
    try:
        after_first = _counts(engine)
        second = caseworker("init")
        assert second.code == 0, second.err
        assert second.out == first.out
        assert _counts(engine) == after_first
        assert after_first["cases"] == 2 and after_first["clerks"] == 4
        assert schema_revision(engine) == head_revision()
        with engine.connect() as connection:  # every clerk keeps the login of their name
            bound = connection.execute(
                text(
                    "SELECT c.name, l.login FROM clerks c JOIN clerk_logins l ON c.id = l.clerk_id"
                )
            ).all()
        assert sorted(tuple(b) for b in bound) == sorted(
            (name, name) for name in ("王督查", "李受理", "赵住建", login)
        )
    finally:
        engine.dispose()


def test_init_on_a_fresh_database_registers_the_first_supervisor_once(
    database: str, caseworker: Any
) -> None:
    # `database` names a fresh SQLite file or an already-migrated empty PostgreSQL database.
    first = caseworker("--db", database, "--clerk", "王督查", "init")
    assert first.code == 0, first.err
    assert "王督查 is registered as the first supervisor" in first.out
    second = caseworker("--db", database, "--clerk", "王督查", "init")
    assert second.code == 0, second.err
    assert "first supervisor" not in second.out
    engine = make_engine(database)
    try:
        with engine.connect() as connection:
            clerks = connection.execute(text("SELECT name, role FROM clerks")).all()
        assert [tuple(c) for c in clerks] == [("王督查", "supervisor")]
    finally:
        engine.dispose()


# ---------------------------------------------------------------- files that are not databases


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    content = "这不是数据库\n" * 200
    notes.write_text(content, encoding="utf-8")
    with pytest.raises(StoreError) as refused:
        open_store(str(notes))
    message = str(refused.value)
    assert message.startswith("cannot open database sqlite:///")
    assert "notes.txt" in message and "file is not a database" in message
    assert notes.read_text(encoding="utf-8") == content  # left untouched


def test_a_missing_file_is_refused_without_create(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.sqlite"
    refusal = r"no database at .*nowhere\.sqlite; run `caseworker init`"
    with pytest.raises(StoreError, match=refusal):
        open_store(str(missing), create=False)
    assert not missing.exists()


def test_a_database_with_cases_but_no_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "unversioned.sqlite"
    engine = make_engine(str(path))
    upgrade(engine, "0001")
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    with pytest.raises(StoreError, match="holds cases but no schema version; refusing"):
        open_store(str(path))


def test_upgrade_from_nothing_reaches_head(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "new.sqlite"))
    try:
        assert schema_revision(store.engine) == head_revision()
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        store.close()


def test_the_upgrade_gives_every_old_case_its_text_key(old_database: str) -> None:
    """Cases stored before signatures were kept get them from the upgrade (0016), computed as
    the import computes them, so an import finds them as the originals of a re-post."""
    from caseworker.domain.triage_repeats import signature_key, sketch
    from caseworker.store.signatures import backfill_signatures, backfill_sketches

    store = open_store(old_database, create=False)
    try:
        with store.engine.connect() as connection:
            cases = connection.execute(text("SELECT id, title, body, author FROM cases")).all()
            keys = connection.execute(
                text("SELECT case_id, text_key, author FROM case_signatures")
            ).all()
        assert sorted(keys) == sorted((c[0], signature_key(c[1], c[2]), c[3]) for c in cases)
        # And their sketches (0019: 0016 ran before 0017 added the columns), as an import's.
        with store.engine.connect() as connection:
            stored = connection.execute(
                text("SELECT case_id, pair_count, pair_bits FROM case_signatures")
            ).all()
        assert stored and sorted(stored) == sorted((c[0], *sketch(c[1], c[2] or "")) for c in cases)
        with store.engine.begin() as connection:
            assert backfill_signatures(connection) == 0  # nothing left to do
            assert backfill_sketches(connection) == 0
    finally:
        store.close()
