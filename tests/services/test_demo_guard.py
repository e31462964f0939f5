"""The demo never destroys a bureau's data, and leaves PostgreSQL able to take new cases."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import Desk, NewCase, create_case
from caseworker.services.demo.build import NotADemo, build_demo, reset_demo
from caseworker.services.people import add_clerk, import_units
from caseworker.services.rules import Rules
from caseworker.store.engine import open_store
from caseworker.store.sequences import sync_id_sequences

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
UNITS = "name,parent,level,code\n市信访局,,city,C\n区教育局,市信访局,department,C-EDU\n"


def _new_case(store: object, rules: Rules, clerk: str) -> int:
    with store.session() as session:  # type: ignore[attr-defined]
        return create_case(
            session,
            Desk(rules, FrozenClock(NOW), clerk),
            NewCase(
                channel="leader-board",
                title="小区道路积水",
                body="每逢下雨门口积水。",
                received_at=NOW - timedelta(hours=3),
            ),
        )


def _counts(database: str) -> tuple[int, int]:
    store = open_store(database)
    try:
        with store.session() as session:
            units = session.execute(text("SELECT count(*) FROM units")).scalar_one()
            clerks = session.execute(text("SELECT count(*) FROM clerks")).scalar_one()
    finally:
        store.close()
    return int(units), int(clerks)


def test_reset_refuses_a_bureau_set_up_without_cases_and_names_it(database: str) -> None:
    # `init`, units and clerks imported, no case yet: a real bureau all the same.
    store = open_store(database)
    with store.session() as session:
        import_units(session, UNITS)
        add_clerk(session, "张敏", "clerk")
    store.close()
    with pytest.raises(NotADemo) as refused:
        reset_demo(database)
    assert "2 units (市信访局, 区教育局)" in str(refused.value)
    assert "1 clerks (张敏)" in str(refused.value)
    assert refused.value.key == "refused.demo.reset_bureau"
    assert _counts(database) == (2, 1)


def test_the_demo_will_not_build_into_a_bureau_without_cases(database: str, rules: Rules) -> None:
    store = open_store(database)
    try:
        with store.session() as session:
            add_clerk(session, "张敏", "clerk")
        with pytest.raises(NotADemo, match="张敏"):
            build_demo(store, rules, seed=1, cases=40, now=NOW)
    finally:
        store.close()
    assert _counts(database) == (0, 1)


def test_reset_refuses_a_demo_someone_added_a_clerk_to(database: str, rules: Rules) -> None:
    store = open_store(database)
    try:
        build_demo(store, rules, seed=1, cases=40, now=NOW)
        with store.session() as session:
            add_clerk(session, "李新来", "clerk")
    finally:
        store.close()
    with pytest.raises(NotADemo, match="1 clerks \\(李新来\\)"):
        reset_demo(database)
    units, clerks = _counts(database)
    assert units > 0 and clerks > 1


def test_reset_clears_a_demo_with_a_trainees_cases(database: str, rules: Rules) -> None:
    store = open_store(database)
    try:
        build_demo(store, rules, seed=1, cases=40, now=NOW)
        _new_case(store, rules, "陈受理")  # a trainee's practice case is the demo's to reset
    finally:
        store.close()
    reset_demo(database)
    assert _counts(database) == (0, 0)


def test_reset_refuses_a_sqlite_file_of_another_program(tmp_path: Path) -> None:
    path = tmp_path / "notes.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes (body) VALUES ('keep me')")
    db.close()
    with pytest.raises(NotADemo, match=r"not a caseworker database .*notes"):
        reset_demo(str(path))
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        body = db.execute("SELECT body FROM notes").fetchone()[0]
    db.close()
    assert (tables, body) == ({"notes"}, "keep me")  # not even opened as a store


def test_a_demo_built_on_postgresql_takes_new_cases(postgres: object, rules: Rules) -> None:
    database = postgres.create_database()  # type: ignore[attr-defined]
    store = open_store(database)
    try:
        report = build_demo(store, rules, seed=1, cases=60, now=NOW)
        case_id = _new_case(store, rules, "陈受理")
        assert case_id == report.cases + 1
        with store.session() as session:
            # Every table with explicit ids got its sequence moved: events too.
            top = session.execute(text("SELECT max(id) FROM events")).scalar_one()
            following = session.execute(text("SELECT nextval('events_id_seq')")).scalar_one()
        assert following > top
    finally:
        store.close()


def test_sync_id_sequences_repairs_a_database_left_behind(postgres: object, rules: Rules) -> None:
    database = postgres.create_database()  # type: ignore[attr-defined]
    store = open_store(database)
    try:
        build_demo(store, rules, seed=1, cases=30, now=NOW)
        with store.session() as session:  # as an older version left it
            session.execute(text("SELECT setval('cases_id_seq', 1, false)"))
        with pytest.raises(Exception, match="duplicate key"):
            _new_case(store, rules, "陈受理")
        with store.session() as session:
            assert sync_id_sequences(session.connection()) >= 10
            assert sync_id_sequences(session.connection()) >= 10  # idempotent
        assert _new_case(store, rules, "陈受理") == 31
    finally:
        store.close()
