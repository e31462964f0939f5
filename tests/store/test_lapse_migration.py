"""Migration 0018 settles the extension requests an older release left pending on ended cases.

The store is built at schema 0017 and filled through the services as that release behaved
(ending a case left its request "requested"), then opened by this release, which upgrades it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.services.cases import context
from caseworker.services.upkeep import verify_audit
from caseworker.store.engine import (
    Store,
    database_url,
    head_revision,
    make_engine,
    open_store,
    schema_revision,
    upgrade,
)
from caseworker.store.models import CaseRow, EventRow, ExtensionRow

DAY = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)  # a Monday morning


@pytest.fixture
def database(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """Overrides conftest.py's: a store at schema 0017, empty."""
    if backend == "sqlite":
        target = str(tmp_path / "old.sqlite")
    else:
        target = request.getfixturevalue("postgres").create_database(template=None)
    engine = make_engine(target)
    upgrade(engine, "0017")
    engine.dispose()
    return target


@pytest.fixture
def store(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Overrides conftest.py's: the 0017 store opened without upgrading, its services acting as
    the release before 0018 did (ending a case settled none of its requests)."""
    monkeypatch.setattr(context, "ENDED_STATES", frozenset())
    engine = make_engine(database)
    assert schema_revision(engine) == "0017"
    opened = Store(engine=engine, url=database_url(database))
    try:
        yield opened
    finally:
        opened.close()


def _handling(bureau: Any, ext: str, hour: int) -> int:
    return int(bureau.assigned(DAY + timedelta(hours=hour), external_id=ext))


def _ask(bureau: Any, case: int, at: datetime) -> int:
    return int(bureau.ask_extension(case, at))


def _close(bureau: Any, case: int, at: datetime) -> None:
    bureau.act(
        bureau.HANDLER, at, svc.draft_reply, case, text="已安排处理。", final=True, outcome="支持"
    )
    bureau.act(bureau.HANDLER, at + timedelta(minutes=5), svc.submit_reply, case)
    bureau.act(bureau.CLERK, at + timedelta(minutes=10), svc.publish_reply, case)
    bureau.act(bureau.CLERK, at + timedelta(hours=1), svc.close_case, case)


def _rows(database: str) -> dict[int, ExtensionRow]:
    opened = open_store(database)  # this release: upgrades to the head
    try:
        assert schema_revision(opened.engine) == head_revision() >= "0018"
        with opened.session() as session:
            rows = session.exec(select(ExtensionRow).order_by(col(ExtensionRow.id))).all()
            assert verify_audit(opened).ok  # no event was touched
            return {row.id or 0: row for row in rows}
    finally:
        opened.close()


def test_the_upgrade_settles_requests_left_pending_on_ended_cases(
    bureau: Any, database: str
) -> None:
    asked = DAY + timedelta(days=1)
    closed = _handling(bureau, "closed", 0)
    on_closed = _ask(bureau, closed, asked)
    _close(bureau, closed, asked + timedelta(hours=2))  # closed at asked + 3 h

    rejected = _handling(bureau, "rejected", 1)
    on_rejected = _ask(bureau, rejected, asked)
    bureau.act(
        bureau.HANDLER, asked + timedelta(hours=1), svc.return_case, rejected, reason="非本单位"
    )
    bureau.act(bureau.CLERK, asked + timedelta(hours=4), svc.reject_case, rejected, reason="重复")

    original = _handling(bureau, "original", 2)
    merged = _handling(bureau, "merged", 3)
    on_merged = _ask(bureau, merged, asked)
    bureau.act(bureau.CLERK, asked + timedelta(hours=5), svc.merge_case, merged, into=original)

    # A closed case whose close time the source never had (an imported history): its last
    # event dates the lapse. It was rated after its close.
    untimed = _handling(bureau, "untimed", 4)
    on_untimed = _ask(bureau, untimed, asked)
    _close(bureau, untimed, asked + timedelta(hours=5))
    rated = asked + timedelta(days=1)
    bureau.act(bureau.CLERK, rated, svc.rate_case, untimed, value="满意")

    # Left as they are: a request on an open case (decided later), one decided before its
    # case closed, one on a case returned to the bureau (undecidable, not ended).
    still_open = _handling(bureau, "open", 5)
    waiting = _ask(bureau, still_open, asked)
    decided = _handling(bureau, "decided", 6)
    approved = _ask(bureau, decided, asked)
    bureau.act(bureau.SUPERVISOR, asked + timedelta(hours=1), svc.approve_extension, decided)
    _close(bureau, decided, asked + timedelta(hours=2))
    returned = _handling(bureau, "returned", 7)
    on_returned = _ask(bureau, returned, asked)
    bureau.act(
        bureau.HANDLER, asked + timedelta(hours=1), svc.return_case, returned, reason="非本单位"
    )

    with bureau.store.engine.begin() as connection:
        connection.execute(
            text("UPDATE cases SET closed_at = NULL WHERE id = :id"), {"id": untimed}
        )
        before = connection.execute(
            text("SELECT state, count(*) FROM extensions GROUP BY state ORDER BY state")
        ).all()
    assert [tuple(r) for r in before] == [("approved", 1), ("requested", 6)]  # the old way
    with bureau.store.session() as session:
        closes = {
            e.case_id: e.effective_at
            for e in session.exec(select(EventRow).where(EventRow.action == "close")).all()
        }
        assert all(not (e.detail or "").count("lapsed") for e in session.exec(select(EventRow)))
        ended_at = {
            c.id: c.closed_at
            for c in session.exec(
                select(CaseRow).where(col(CaseRow.id).in_([closed, rejected, merged]))
            ).all()
        }
    bureau.store.close()

    rows = _rows(database)

    for ext_id, case_id in ((on_closed, closed), (on_rejected, rejected), (on_merged, merged)):
        row = rows[ext_id]
        assert (row.state, row.decided_by_id) == ("lapsed", None), case_id
        assert row.decided_at == ended_at[case_id] is not None
    assert rows[on_closed].decided_at == closes[closed] == asked + timedelta(hours=3)
    assert rows[on_rejected].decided_at == asked + timedelta(hours=4)
    assert rows[on_merged].decided_at == asked + timedelta(hours=5)
    assert (rows[on_untimed].state, rows[on_untimed].decided_at) == ("lapsed", rated)
    assert rows[on_untimed].decided_by_id is None
    assert (rows[waiting].state, rows[waiting].decided_at) == ("requested", None)
    assert (rows[on_returned].state, rows[on_returned].decided_at) == ("requested", None)
    assert rows[approved].state == "approved"
    assert rows[approved].decided_at == asked + timedelta(hours=1)


def test_a_settled_store_shows_no_ended_case_in_the_extension_queue(
    bureau: Any, database: str
) -> None:
    """After the upgrade the pending list is what it showed before (ended cases were hidden),
    now because the data says so; opening the store again changes nothing more."""
    asked = DAY + timedelta(days=1)
    closed = _handling(bureau, "closed", 0)
    _ask(bureau, closed, asked)
    _close(bureau, closed, asked + timedelta(hours=2))
    still_open = _handling(bureau, "open", 1)
    _ask(bureau, still_open, asked)
    bureau.store.close()

    first = _rows(database)
    assert sorted(r.state for r in first.values()) == ["lapsed", "requested"]
    again = _rows(database)
    assert {k: (r.state, r.decided_at) for k, r in again.items()} == {
        k: (r.state, r.decided_at) for k, r in first.items()
    }
    opened = open_store(database)
    try:
        with opened.session() as session:
            listed = svc.pending_extensions(session, clerk=None)
            (event,) = session.exec(
                select(EventRow).where(EventRow.case_id == closed, EventRow.action == "close")
            ).all()
    finally:
        opened.close()
    assert [p.case_id for p in listed] == [still_open]
    assert json.loads(event.detail or "{}") == {}  # the close's sealed history stays as written
