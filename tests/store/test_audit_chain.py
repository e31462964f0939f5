"""The history is tamper-evident: every writer seals its events, and a raw edit shows.

On SQLite and on the real PostgreSQL server: each case's events form a SHA-256 chain, recorded
rankings one more; `audit verify` names the first row that no longer matches its seal.
"""

from __future__ import annotations

import csv
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from caseworker.commands.common import to_json
from caseworker.commands.reports import rates_json
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.measures import Period
from caseworker.services import cases as svc
from caseworker.services.rankings import record_ranking
from caseworker.services.reports import unit_rates
from caseworker.services.upkeep import verify_audit
from caseworker.store.audit import head_digest


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def _history(bureau: Any) -> tuple[int, int]:
    """Two cases with a few actions each, written through the services."""
    b = bureau
    first = b.receive(sh(2025, 3, 3, 9), external_id="A-1")
    second = b.receive(sh(2025, 3, 3, 10), external_id="A-2")
    b.act(b.CLERK, sh(2025, 3, 3, 11), svc.accept_case, first)
    b.act(b.CLERK, sh(2025, 3, 3, 11), svc.accept_case, second)
    b.act(b.CLERK, sh(2025, 3, 3, 12), svc.assign_case, first, lead="C-HOUSING")
    b.act(b.CLERK, sh(2025, 3, 4, 9), svc.pause_case, first, reason="等待网民补充材料")
    b.act(b.CLERK, sh(2025, 3, 5, 9), svc.resume_case, first, note="材料已收到")
    return first, second


def _raw(bureau: Any, sql: str, **params: Any) -> None:
    with bureau.store.engine.begin() as connection:
        connection.execute(text(sql), params)


def test_every_event_is_sealed_and_the_chains_verify(bureau: Any) -> None:
    first, second = _history(bureau)
    events = bureau.events(first) + bureau.events(second)
    assert all(e.hash is not None and len(e.hash) == 64 for e in events)
    report = verify_audit(bureau.store)
    assert (report.ok, report.events, report.cases) == (True, len(events), 2)


def test_a_raw_edit_of_one_event_is_named(bureau: Any) -> None:
    first, _ = _history(bureau)
    target = bureau.events(first)[2]  # the assignment
    _raw(bureau, "UPDATE events SET reason = 'forged' WHERE id = :id", id=target.id)
    report = verify_audit(bureau.store)
    assert not report.ok and report.mismatches == 1
    assert report.first is not None
    assert (report.first.table, report.first.id, report.first.case_id) == (
        "events",
        target.id,
        first,
    )


def test_a_deleted_event_shows_at_the_next_one(bureau: Any) -> None:
    first, _ = _history(bureau)
    history = bureau.events(first)
    _raw(bureau, "DELETE FROM events WHERE id = :id", id=history[1].id)
    report = verify_audit(bureau.store)
    assert report.first is not None and report.first.id == history[2].id


def test_an_edit_with_its_seal_recomputed_shows_at_the_next_event(bureau: Any) -> None:
    """A forger who reseals the edited event still breaks the link the next event holds."""
    from caseworker.store.audit import GENESIS, seal

    first, _ = _history(bureau)
    history = bureau.events(first)
    edited = history[1]
    values = [
        edited.case_id,
        "someone else",
        edited.action,
        edited.from_status,
        edited.to_status,
        edited.reason,
        edited.detail,
        edited.effective_at,
        edited.recorded_at,
    ]
    _raw(
        bureau,
        "UPDATE events SET actor = 'someone else', hash = :hash WHERE id = :id",
        hash=seal(history[0].hash or GENESIS, values),
        id=edited.id,
    )
    report = verify_audit(bureau.store)
    assert report.first is not None and report.first.id == history[2].id


def test_resume_with_a_note_appends_and_edits_nothing(bureau: Any) -> None:
    first, _ = _history(bureau)
    history = bureau.events(first)
    pause, resume = history[-2], history[-1]
    assert (pause.action, pause.reason) == ("pause", "等待网民补充材料")
    assert (resume.action, resume.reason) == ("resume", "材料已收到")
    assert verify_audit(bureau.store).ok


def test_a_recorded_ranking_is_sealed_and_a_raw_edit_shows(bureau: Any) -> None:
    bureau.receive(sh(2025, 10, 9, 9), external_id="r1")
    now = sh(2025, 11, 3, 10)
    numbers = []
    with bureau.store.session() as session:
        for level in (None, "county"):
            report = unit_rates(
                session,
                bureau.rules,
                period=Period.MONTH,
                at=date(2025, 10, 1),
                now=now,
                level=level,
            )
            figures = to_json(rates_json(report))
            numbers.append(record_ranking(session, report, figures, bureau.SUPERVISOR, now))
    audit = verify_audit(bureau.store)
    assert audit.ok and audit.rankings == 2
    _raw(
        bureau,
        "UPDATE rankings SET figures = replace(figures, '\"period\"', '\"periods\"') "
        "WHERE id = :id",
        id=numbers[0],
    )
    audit = verify_audit(bureau.store)
    assert audit.first is not None
    assert (audit.first.table, audit.first.id) == ("rankings", numbers[0])


def test_the_head_of_the_first_events_stays_as_history_grows(bureau: Any) -> None:
    first, second = _history(bureau)
    with bureau.store.engine.connect() as connection:
        upto, head = head_digest(connection)
    bureau.act(bureau.CLERK, sh(2025, 3, 6, 9), svc.assign_case, second, lead="C-EDU")
    with bureau.store.engine.connect() as connection:
        assert head_digest(connection, upto) == (upto, head)
        assert head_digest(connection)[1] != head
    # Rewriting an early event and resealing the whole chain still changes that head.
    _raw(
        bureau,
        "UPDATE events SET hash = :h WHERE id = :id",
        h="0" * 64,
        id=bureau.events(first)[0].id,
    )
    with bureau.store.engine.connect() as connection:
        assert head_digest(connection, upto)[1] != head


# ---------------------------------------------------------------- the bulk writers

ROOT = Path(__file__).resolve().parents[2]
REPLIED = (
    ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment4-messages-with-replies.xlsx"
)


def test_the_demo_and_its_restore_are_sealed(
    store: Any, rules: Any, tmp_path: Path, database: str
) -> None:
    """The demo's bulk writer and a restore from its export seal every event they write."""
    from caseworker.clock import FrozenClock
    from caseworker.services.cases import Desk
    from caseworker.services.demo.build import build_demo
    from caseworker.services.exporting import ExportFilter, export_cases
    from caseworker.services.imports import ImportOptions, run_import
    from caseworker.services.people import ensure_first_supervisor
    from caseworker.store.engine import open_store

    now = sh(2025, 11, 20, 10)
    made = build_demo(store, rules, seed=4, cases=80, now=now, workers=1)
    report = verify_audit(store)
    assert (report.ok, report.events, report.cases) == (True, made.events, 80)
    export_cases(store, tmp_path / "all.jsonl", fmt="jsonl", flt=ExportFilter(), now=now)
    copy = open_store(str(tmp_path / "copy.sqlite"))
    try:
        with copy.session() as session:
            ensure_first_supervisor(session, "alice")
        run_import(
            copy,
            Desk(rules, FrozenClock(now), "alice"),
            tmp_path / "all.jsonl",
            ImportOptions(rejects=tmp_path / "rejects.csv"),
        )
        restored = verify_audit(copy)
        assert restored.ok and restored.events >= made.events
    finally:
        copy.close()


def test_an_import_with_published_replies_is_sealed(store: Any, rules: Any, tmp_path: Path) -> None:
    """Both of the import's writers (SQLite's driver tuples, the portable rows) seal."""
    if not REPLIED.exists():
        pytest.skip(f"the TipDM 2020 sample is not at {REPLIED}")
    from openpyxl import load_workbook

    from caseworker.clock import FrozenClock
    from caseworker.services.cases import Desk
    from caseworker.services.imports import ImportOptions, run_import
    from caseworker.services.people import ensure_first_supervisor

    book = load_workbook(REPLIED, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True, max_row=61)]
    book.close()
    path = tmp_path / "replied.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    summary = run_import(
        store,
        Desk(rules, FrozenClock(sh(2025, 11, 20, 10)), "alice"),
        path,
        ImportOptions(rejects=tmp_path / "rejects.csv"),
    )
    assert summary.imported == 60
    report = verify_audit(store)
    assert report.ok and report.cases == 60 and report.events > 60
