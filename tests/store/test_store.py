"""The store itself on both backends: times, constraints, versions and the queue indexes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlmodel import col, select

from caseworker.domain.calendar import SHANGHAI
from caseworker.store.engine import PAGE_SIZE, StoreError, database_url, open_store
from caseworker.store.models import CaseRow, EventRow, Unit
from caseworker.store.queries import OPEN_SQL
from caseworker.store.types import END_OF_TIME

QUEUE_INDEXES = {
    "ix_cases_status_due": ["status", "next_due_at", "id"],
    "ix_cases_unit_status_due": ["lead_unit_id", "status", "next_due_at", "id"],
    "ix_cases_channel_status_due": ["channel", "status", "next_due_at", "id"],
}


def test_aware_times_are_stored_as_naive_utc_and_read_back_as_the_same_instant(
    bureau: Any,
) -> None:
    received = datetime(2025, 8, 2, 15, 30, 12, 345678, tzinfo=SHANGHAI)
    case_id = bureau.receive(received, external_id="TZ")
    case = bureau.case(case_id)
    assert case.received_at == received
    assert case.received_at.tzinfo is UTC
    assert case.received_at.isoformat() == "2025-08-02T07:30:12.345678+00:00"
    with bureau.store.engine.connect() as connection:
        raw = connection.execute(
            text("SELECT received_at FROM cases WHERE id = :id"), {"id": case_id}
        ).scalar_one()
    # SQLite hands back text, PostgreSQL a naive datetime; both are the UTC wall time.
    assert str(raw).replace("T", " ").startswith("2025-08-02 07:30:12.345678")
    # An instant given in another offset is the same instant.
    plus_one = received.astimezone(timezone(timedelta(hours=1)))
    with bureau.store.session() as session:
        found = session.exec(select(CaseRow).where(CaseRow.received_at == plus_one)).one()
    assert found.id == case_id


def test_naive_times_are_refused(bureau: Any) -> None:
    with (
        pytest.raises(StatementError, match="refusing to store a naive datetime"),
        bureau.store.session() as session,
    ):
        session.add(
            EventRow(
                case_id=bureau.receive(datetime(2025, 8, 2, 9, tzinfo=SHANGHAI)),
                actor="x",
                action="receive",
                effective_at=datetime(2025, 8, 2, 9),
                recorded_at=datetime.now(UTC),
            )
        )
        session.flush()


def test_foreign_keys_are_enforced(store: Any) -> None:
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Unit(code="X", name="孤儿单位", level="department", parent_id=424242))
        session.flush()
    with store.session() as session:
        assert session.exec(select(Unit)).all() == []


def test_an_open_case_without_running_clocks_sorts_last(bureau: Any) -> None:
    from caseworker.services import cases as svc

    at = datetime(2025, 8, 4, 9, tzinfo=SHANGHAI)
    done = bureau.receive(datetime(2025, 8, 2, 9, tzinfo=SHANGHAI), external_id="DONE")
    bureau.act(bureau.CLERK, at, svc.reject_case, done, reason="重复")
    waiting = bureau.receive(datetime(2025, 8, 3, 9, tzinfo=SHANGHAI), external_id="WAIT")
    assert bureau.case(done).next_due_at == END_OF_TIME
    with bureau.store.session() as session:
        ordered = session.exec(
            select(CaseRow.id).order_by(col(CaseRow.next_due_at), col(CaseRow.id))
        ).all()
    assert list(ordered) == [waiting, done]


def test_queue_indexes_exist(store: Any) -> None:
    indexes = {ix["name"]: ix["column_names"] for ix in inspect(store.engine).get_indexes("cases")}
    for name, columns in QUEUE_INDEXES.items():
        assert indexes.get(name) == columns, name


def test_a_unit_queue_is_read_from_its_index_on_sqlite(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "plan.sqlite"))
    try:
        query = (
            "EXPLAIN QUERY PLAN SELECT id FROM cases WHERE lead_unit_id = 3 AND status = 'assigned'"
            " AND (next_due_at, id) > ('2025-08-01 00:00:00.000000', 10)"
            " ORDER BY next_due_at, id LIMIT 50"
        )
        with store.engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in connection.exec_driver_sql(query))
        assert "ix_cases_unit_status_due" in plan
        assert "TEMP B-TREE" not in plan  # no sort: the index order is the queue order
    finally:
        store.close()


def test_the_assign_dialogs_on_time_figures_are_read_from_an_index_alone(tmp_path: Path) -> None:
    from sqlalchemy import event

    from caseworker.services.console_data import unit_candidates

    store = open_store(str(tmp_path / "plan.sqlite"))
    seen: list[tuple[str, Any]] = []

    def remember(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "close_due_at" in statement:
            seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", remember)
    try:
        with store.session() as session:
            unit_candidates(session, datetime(2025, 11, 20, 2, tzinfo=UTC))
        ((statement, params),) = seen
        with store.engine.connect() as connection:
            plan = " ".join(
                str(row[-1])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            )
        assert "COVERING INDEX ix_cases_close_due (close_due_at>? AND close_due_at<?)" in plan
    finally:
        store.close()


@pytest.mark.parametrize(
    ("index", "where"),
    [
        # 已超期 and the overdue report; 即将到期.
        ("ix_cases_open_due", "next_due_at <= '2026-11-20 00:00:00.000000'"),
        (
            "ix_cases_open_warn",
            "next_due_at > '2026-11-20 00:00:00.000000'"
            " AND warn_at <= '2026-11-20 00:00:00.000000'",
        ),
    ],
)
def test_the_open_queues_can_use_their_partial_indexes_on_sqlite(
    tmp_path: Path, index: str, where: str
) -> None:
    # INDEXED BY fails ("no query solution") unless the query's WHERE implies the index's.
    store = open_store(str(tmp_path / "plan.sqlite"))
    try:
        query = (
            f"SELECT id FROM cases INDEXED BY {index} WHERE {OPEN_SQL} AND {where}"
            " ORDER BY next_due_at, id LIMIT 50"
        )
        with store.engine.connect() as connection:
            connection.exec_driver_sql(query).all()
            plan = " ".join(
                str(row[-1]) for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + query)
            )
        assert index in plan
    finally:
        store.close()


def test_the_open_predicate_names_exactly_the_open_states() -> None:
    import re

    from caseworker.domain.lifecycle import OPEN_STATES

    assert set(re.findall(r"status = '(\w+)'", OPEN_SQL)) == {s.value for s in OPEN_STATES}


def test_repeats_are_found_through_an_index_of_repeats_only_on_sqlite(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "plan.sqlite"))
    try:
        with store.engine.connect() as connection:
            sql = connection.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_cases_repeat_of_id'"
            ).scalar_one()
            assert sql.endswith("WHERE repeat_of_id IS NOT NULL")  # no entry for non-repeats
            # As the overdue report counts a case's repeats; INDEXED BY fails if it cannot.
            connection.exec_driver_sql(
                "SELECT c.id, (SELECT count(*) FROM cases AS r INDEXED BY ix_cases_repeat_of_id"
                " WHERE r.repeat_of_id = c.id) FROM cases AS c"
            ).all()
    finally:
        store.close()


def test_every_change_bumps_the_version(bureau: Any) -> None:
    from caseworker.services import cases as svc

    case_id = bureau.receive(datetime(2025, 8, 2, 9, tzinfo=SHANGHAI))
    versions = [bureau.case(case_id).version]
    at = datetime(2025, 8, 4, 9, tzinfo=SHANGHAI)
    bureau.act(bureau.CLERK, at, svc.accept_case, case_id)
    versions.append(bureau.case(case_id).version)
    bureau.act(bureau.CLERK, at, svc.assign_case, case_id, lead="C-HOUSING")
    versions.append(bureau.case(case_id).version)
    assert versions == sorted(set(versions)), versions


def test_a_new_sqlite_store_has_large_pages_and_an_old_one_keeps_its_own(tmp_path: Path) -> None:
    import sqlite3

    def page_size(path: Path) -> int:
        connection = sqlite3.connect(path)
        try:
            return int(connection.execute("PRAGMA page_size").fetchone()[0])
        finally:
            connection.close()

    new = tmp_path / "new.sqlite"
    open_store(str(new)).close()
    assert page_size(new) == PAGE_SIZE == 16384

    # A database written before (SQLite's default 4 KiB pages, already in WAL) opens, upgrades
    # and keeps working with the pages it has.
    old = tmp_path / "old.sqlite"
    connection = sqlite3.connect(old)
    connection.execute("PRAGMA page_size=4096")
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE scratch (x)")
    connection.commit()
    connection.close()
    store = open_store(str(old))
    try:
        with store.engine.begin() as conn:
            assert conn.execute(text("SELECT count(*) FROM cases")).scalar() == 0
    finally:
        store.close()
    assert page_size(old) == 4096


def test_database_url_accepts_files_and_urls(tmp_path: Path) -> None:
    assert database_url(str(tmp_path / "a.sqlite")) == f"sqlite:///{tmp_path / 'a.sqlite'}"
    url = "postgresql+psycopg://u:p@localhost/db"
    assert database_url(url) == url


def test_an_unreachable_server_is_refused_without_showing_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://clerk:s3cret@/caseworker?host={tmp_path / 'no-server'}"
    with pytest.raises(StoreError) as refused:
        open_store(url)
    message = str(refused.value)
    assert message.startswith("cannot open database postgresql+psycopg://clerk:***@/caseworker")
    assert "s3cret" not in message


def test_a_bad_url_is_refused() -> None:
    with pytest.raises(StoreError, match="not a database URL or file path: ://x"):
        open_store("://x")
    with pytest.raises(StoreError, match="unknown kind of database 'nonsense'"):
        open_store("nonsense://somewhere/db")


# ---------------------------------------------------------------- real citizen text

TIPDM = (
    Path(__file__).resolve().parents[2]
    / "tests"
    / "data"
    / "datasets"
    / "tipdm2020"
    / "attachment2-labelled-sample.xlsx"
)


def _real_messages() -> list[tuple[Any, ...]]:
    from openpyxl import load_workbook

    book = load_workbook(TIPDM, read_only=True)
    try:
        found: list[tuple[Any, ...]] = []
        for row in book.active.iter_rows(min_row=2, values_only=True):
            if not row or row[0] is None:
                break  # the trailing blank rows: tens of thousands of them
            found.append(tuple(row[:6]))
        return found
    finally:
        book.close()


def test_real_messages_are_stored_and_read_back_exactly(bureau: Any) -> None:
    """Labelled messages of the 2020 Teddy Cup data, with their quirks, on both backends."""
    from caseworker.domain.errors import InvalidInput
    from caseworker.services.cases import Desk, NewCase, create_case

    every = _real_messages()
    assert len(every) == 495  # the sheet claims ~65,000 rows; the rest are blank
    # A sample keeps the test fast: the first 60, and both rows that share id 37042.
    messages = every[:60] + [m for m in every[60:] if m[0] == 37042]
    assert len(messages) >= 61
    at = datetime(2020, 6, 1, 9, tzinfo=SHANGHAI)
    stored: dict[str, tuple[str, str]] = {}
    duplicates: list[str] = []
    with bureau.store.session() as session:
        desk = Desk(bureau.rules, FrozenClockAt(at), bureau.CLERK)
        for number, user, title, when, body, label in messages:
            received = datetime.strptime(str(when).replace("-", "/"), "%Y/%m/%d %H:%M:%S")
            data = NewCase(
                channel="leader-board",
                external_id=str(number),
                author=str(user),
                title=str(title),
                body=str(body),
                category=str(label),
                received_at=received.replace(tzinfo=SHANGHAI),
            )
            try:
                create_case(session, desk, data)
            except InvalidInput as refused:
                assert "already has a case with external id" in str(refused)
                duplicates.append(str(number))
                continue
            # Titles are trimmed on intake (one has a trailing no-break space); bodies never.
            stored[str(number)] = (str(title).strip(), str(body))
    assert duplicates == ["37042"]  # the one duplicate id the dataset is known for
    with bureau.store.session() as session:
        rows = session.exec(select(CaseRow.external_id, CaseRow.title, CaseRow.body)).all()
    assert {ext: (title, body) for ext, title, body in rows} == stored
    bodies = [body for _, body in stored.values()]
    assert any(body.startswith("\n\t") for body in bodies)  # whitespace runs kept as written
    assert any("\u3000" in body for body in bodies)


class FrozenClockAt:
    """The clock a batch intake runs with: one frozen instant."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def now(self) -> datetime:
        return self.at
