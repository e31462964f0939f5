"""The console catches the search index up on a bulk import's backlog, and says so meanwhile.

A real file (attachment 2 of tests/data/datasets/tipdm2020) is imported with indexing
deferred; a second connection holds the write lock while the console opens, so the note in
the header can be seen before the catch-up runs. Once the lock is let go, the console's
worker indexes the backlog in chunks, the note goes away and a search is answered by the
FTS index alone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_data import CLERK, NOW, SAMPLE, populate_bureau
from sqlmodel import Session, select
from test_console import SIZE, settle, sync, table_of

from caseworker.clock import FrozenClock
from caseworker.config import Settings
from caseworker.services.cases import Desk
from caseworker.services.imports import ImportOptions, run_import, runner
from caseworker.services.rules import Rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow
from caseworker.store.queries import QueueKey
from caseworker.store.queries import search_backlog as backlog_of

TERM = "幼儿园"


@pytest.fixture
def imported(
    tmp_path: Path, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Path, int]]:
    monkeypatch.setattr(runner, "DEFER_SEARCH_AT", 1)  # the sample is smaller than a big batch
    path = tmp_path / "cases.sqlite"
    store = open_store(str(path))
    populate_bureau(store)
    desk = Desk(rules, FrozenClock(NOW), CLERK)
    summary = run_import(store, desk, SAMPLE, ImportOptions(rejects=tmp_path / "r.csv"))
    assert summary.imported > 400
    assert summary.search_backlog == summary.imported
    yield store, path, summary.imported
    store.close()


def _header(app: Any) -> str:
    return str(app.screen.query_one("#header").render())


def _expected(store: Store, term: str) -> set[int]:
    with Session(store.engine) as session:
        rows = session.exec(select(CaseRow.id, CaseRow.title, CaseRow.body)).all()
    return {cid for cid, title, body in rows if term in title or term in body}  # type: ignore[misc]


@sync
async def test_console_catches_the_search_index_up(
    imported: tuple[Store, Path, int], rules: Rules
) -> None:
    from caseworker.app import make_app

    store, path, count = imported
    app = make_app(
        Settings(database=str(path), clerk=CLERK, language="zh", now=NOW),
        store,
        rules,
        poll_seconds=60,
    )  # the catch-up starts on opening, not on a poll
    app.search_chunk = 100  # several chunks, each its own transaction
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the catch-up waits for this writer
    try:
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(200):
                await pilot.pause(0.05)
                if app.search_left:
                    break
            assert app.search_left == count
            assert f"搜索索引更新中：还有 {count:,} 件" in _header(app)
            blocker.execute("COMMIT")
            await settle(pilot)

            assert app.search_left == 0 and not app.catching_up
            assert "搜索索引" not in _header(app)
            with store.session() as session:
                assert backlog_of(session) == 0
            with sqlite3.connect(path) as connection:
                indexed = connection.execute("SELECT count(*) FROM cases_fts_docsize").fetchone()
                total = connection.execute("SELECT count(*) FROM cases").fetchone()
                hits = {
                    r[0]
                    for r in connection.execute(
                        "SELECT rowid FROM cases_fts WHERE cases_fts MATCH ?", (f'"{TERM}"',)
                    )
                }
            assert indexed == total
            expected = _expected(store, TERM)
            assert expected and hits == expected and len(expected) < 100

            screen: Any = app.screen
            screen.switch_queue(QueueKey.ALL)
            await settle(pilot)
            await pilot.press("slash")
            for char in TERM:
                await pilot.press(char)
            await pilot.press("enter")
            await settle(pilot)
            assert screen.filters.search == TERM
            assert {line.id for line in table_of(pilot).lines} == expected
            assert screen.shown_count == len(expected)
    finally:
        blocker.close()
