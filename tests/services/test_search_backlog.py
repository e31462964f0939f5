"""Search stays exact while the index catches up on a bulk import, and after it has.

A real file (attachment 2 of tests/data/datasets/tipdm2020) is imported into a SQLite file with
indexing deferred; the console's search (services.queues.queue_page) is then compared with
the plain answer computed in Python from the stored rows, for terms of 1, 2, 3 and 4
characters, before, during and after the catch-up, with a case edited and one created while
the index is behind. The index itself is checked against its content table at the end.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import search_backlog
from caseworker.services.cases import Desk, NewCase, create_case
from caseworker.services.imports import ImportOptions, run_import, runner
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.queues import queue_page
from caseworker.services.rules import load_rules
from caseworker.store import queries
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow
from caseworker.store.queries import Filters, QueueKey, Viewer
from caseworker.store.queries import search_backlog as backlog_of

ROOT = Path(__file__).resolve().parents[2]
ATTACHMENT2 = (
    ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment2-labelled-sample.xlsx"
)
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Store, Desk, Path]]:
    monkeypatch.setattr(runner, "DEFER_SEARCH_AT", 1)  # the sample is smaller than a big batch
    db = tmp_path / "cases.sqlite"
    store = open_store(str(db))
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    desk = Desk(rules, FrozenClock(NOW), "alice")
    yield store, desk, db
    store.close()


def _new(desk: Desk, store: Store, title: str, body: str, ext: str) -> int:
    with store.session() as session:
        return create_case(
            session,
            desk,
            NewCase(
                channel="leader-board",
                title=title,
                body=body,
                external_id=ext,
                received_at=datetime(2026, 11, 19, 9, 0, tzinfo=SHANGHAI),
            ),
        )


def _found(store: Store, query: str) -> set[int]:
    """Every case the console's search shows, page by page."""
    ids: set[int] = set()
    after = None
    with store.session() as session:
        while True:
            page = queue_page(
                session,
                QueueKey.ALL,
                NOW,
                Viewer("alice"),
                Filters(search=query),
                after=after,
                limit=200,
            )
            ids.update(line.id for line in page.lines)
            if page.at_end or not page.lines:
                return ids
            after = page.lines[-1].key


def _expected(store: Store, query: str) -> set[int]:
    with Session(store.engine) as session:
        rows = session.exec(select(CaseRow.id, CaseRow.title, CaseRow.body)).all()
    terms = query.split()
    return {
        cid
        for cid, title, body in rows
        if cid is not None and all(t in title or t in body for t in terms)
    }


def _indexed(db: Path) -> int:
    with sqlite3.connect(db) as connection:
        return int(connection.execute("SELECT count(*) FROM cases_fts_docsize").fetchone()[0])


QUERIES = ("小区", "噪音", "学校", "幼儿园", "物业管理", "小区 物业", "西地省 小区", "水", "zzzq")


def _check_all(store: Store) -> None:
    """Both ways search runs: FTS hits drive the query, or (dense) the queue's index does."""
    for dense_from in (queries.DENSE_SEARCH, 0):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(queries, "DENSE_SEARCH", dense_from)
            for query in QUERIES:
                assert _found(store, query) == _expected(store, query), (query, dense_from)
    assert any(_expected(store, q) for q in QUERIES if len(q.split()[0]) >= 3)


def _insert_trigger(db: Path) -> str | None:
    with sqlite3.connect(db) as connection:
        row = connection.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'cases_fts_insert'"
        ).fetchone()
    return None if row is None else str(row[0])


def test_search_is_exact_while_the_index_catches_up(world: tuple[Store, Desk, Path]) -> None:
    store, desk, db = world
    before = _new(desk, store, "幼儿园门口物业管理混乱", "小区幼儿园门口每天堵车", "early-1")
    assert _indexed(db) == 1
    trigger = _insert_trigger(db)
    assert trigger is not None

    summary = run_import(store, desk, ATTACHMENT2, ImportOptions(rejects=db.parent / "r.csv"))
    assert summary.imported > 400
    assert summary.search_backlog == summary.imported
    assert _indexed(db) == 1  # the import left every new case to the catch-up
    assert _insert_trigger(db) is None  # set aside while the mark stands
    with store.session() as session:
        assert backlog_of(session) == summary.imported

    # While behind: a case edited and one created land in the pending range, unindexed.
    with store.session() as session:
        pending = session.exec(select(CaseRow).where(col(CaseRow.id) > before)).first()
        assert pending is not None
        pending.title = "物业管理不作为 幼儿园旁噪音"
        session.add(pending)
    late = _new(desk, store, "学校旁边工地噪音", "夜间施工噪音影响学生休息", "late-1")
    assert _indexed(db) == 1
    _check_all(store)

    # Half-way: one chunk indexed, the mark moved up, results unchanged.
    connection = sqlite3.connect(db, isolation_level=None)
    assert search_backlog.catch_up_chunk(connection, chunk=200) == 200
    connection.close()
    assert _indexed(db) == 201
    _check_all(store)

    assert _insert_trigger(db) is None
    assert search_backlog.catch_up(str(db), chunk=150) == summary.imported + 1 - 200
    with store.session() as session:
        assert backlog_of(session) == 0
    assert _insert_trigger(db) == trigger  # back, exactly as the migration made it
    with sqlite3.connect(db) as connection:
        count = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
        assert _indexed(db) == count
        connection.execute("INSERT INTO cases_fts(cases_fts, rank) VALUES ('integrity-check', 1)")
        hits = {
            r[0]
            for r in connection.execute(
                "SELECT rowid FROM cases_fts WHERE cases_fts MATCH '\"幼儿园\"'"
            )
        }
    assert late in _expected(store, "噪音") and late in _found(store, "噪音")
    assert hits == _expected(store, "幼儿园")
    _check_all(store)

    # The triggers are back to indexing each new case as it is written.
    _new(desk, store, "路灯不亮", "幼儿园旁边的路灯坏了", "after-1")
    assert _indexed(db) == count + 1
    assert search_backlog.catch_up(str(db)) == 0


def test_small_imports_index_as_they_write(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "c.sqlite"))
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    desk = Desk(rules, FrozenClock(NOW), "alice")
    summary = run_import(store, desk, ATTACHMENT2, ImportOptions(rejects=tmp_path / "r.csv"))
    store.close()
    assert summary.search_backlog == 0
    assert _indexed(tmp_path / "c.sqlite") == summary.imported
