"""`audit verify`, `backup FILE` and `check` from the command line, on a small demo bureau."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NOW = "2025-11-20T10:00"


@pytest.fixture
def demo_db(tmp_path: Path, cli: Callable[..., Any]) -> Path:
    db = tmp_path / "demo.sqlite"
    made = cli("--db", db, "--now", NOW, "demo", "--cases", "120", "--seed", "5", "--no-open")
    assert made.code == 0, made
    return db


def _sql(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db)
    try:
        with connection:
            return connection.execute(sql, params).fetchall()
    finally:
        connection.close()


def test_verify_counts_the_events_then_names_a_raw_edit(
    demo_db: Path, cli: Callable[..., Any]
) -> None:
    (count,) = _sql(demo_db, "SELECT count(*) FROM events")[0]
    ok = cli("--db", demo_db, "audit", "verify")
    assert ok.code == 0, ok
    assert ok.out.startswith(f"{count} events verified in 120 case chains")
    (event_id, case_id) = _sql(
        demo_db, "SELECT id, case_id FROM events ORDER BY id LIMIT 1 OFFSET 40"
    )[0]
    _sql(demo_db, "UPDATE events SET reason = 'nothing happened' WHERE id = ?", event_id)
    bad = cli("--db", demo_db, "audit", "verify")
    assert bad.code == 1
    assert bad.err == (
        f"caseworker: event {event_id} of case {case_id} does not match its seal: it, or the "
        "event before it, was changed after it was written (1 in all)\n"
    )
    zh = cli("--db", demo_db, "--lang", "zh", "audit", "verify")
    assert zh.code == 1 and f"案件 {case_id} 的第 {event_id} 号操作记录" in zh.err


def test_a_noted_head_checks_the_early_history_later(
    demo_db: Path, cli: Callable[..., Any]
) -> None:
    first = cli("--db", demo_db, "audit", "verify")
    noted = first.out.splitlines()[1].split()[1]  # "head N:DIGEST ..."
    (paused,) = _sql(demo_db, "SELECT id FROM cases WHERE paused_since IS NOT NULL LIMIT 1")[0]
    resumed = cli(
        "--db",
        demo_db,
        "--clerk",
        "陈受理",
        "--now",
        NOW,
        "case",
        "resume",
        str(paused),
        "--note",
        "材料已收到",
    )
    assert resumed.code == 0, resumed
    assert _sql(demo_db, "SELECT action, reason FROM events ORDER BY id DESC LIMIT 1") == [
        ("resume", "材料已收到")
    ]
    assert cli("--db", demo_db, "audit", "verify", "--head", noted).code == 0
    # Someone rewrites the first event and reseals every chain: the noted head tells.
    _sql(demo_db, "UPDATE events SET hash = ? WHERE id = (SELECT min(id) FROM events)", "f" * 64)
    rewritten = cli("--db", demo_db, "audit", "verify", "--head", noted)
    assert rewritten.code == 1
    assert cli("--db", demo_db, "audit", "verify", "--head", "12:abc").code == 2


def test_check_reports_each_part_in_one_line(demo_db: Path, cli: Callable[..., Any]) -> None:
    ok = cli("--db", demo_db, "--now", NOW, "check")
    assert ok.code == 0, ok
    lines = ok.out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "ok    integrity",
        "ok    audit chain",
        "ok    deadlines",
        "ok    extensions",
    ]
    (case_id,) = _sql(
        demo_db, "SELECT id FROM cases WHERE paused_since IS NULL ORDER BY id LIMIT 1 OFFSET 7"
    )[0]
    _sql(
        demo_db,
        "UPDATE cases SET close_due_at = '2030-01-01 00:00:00.000000' WHERE id = ?",
        case_id,
    )
    bad = cli("--db", demo_db, "--now", NOW, "check")
    assert bad.code == 1
    lines = bad.out.splitlines()
    assert lines[0].startswith("ok    integrity") and lines[1].startswith("ok    audit chain")
    assert lines[2].startswith(
        "WRONG deadlines: 1 case(s) hold deadlines the rules do not give; "
        f"first: case {case_id}, close"
    )
    assert lines[3].startswith("ok    extensions: no extension request awaits a decision")


def test_check_finds_a_request_waiting_on_an_ended_case(
    demo_db: Path, cli: Callable[..., Any]
) -> None:
    """As a restored older export could hold one: the services would have lapsed it."""
    (case_id,) = _sql(demo_db, "SELECT min(id) FROM cases WHERE status = 'closed'")[0]
    _sql(
        demo_db,
        "INSERT INTO extensions (case_id, days, reason, state, requested_at) "
        "VALUES (?, 10, '需现场勘查', 'requested', '2025-11-01 02:00:00.000000')",
        case_id,
    )
    bad = cli("--db", demo_db, "--now", NOW, "check")
    assert bad.code == 1
    assert bad.out.splitlines()[3] == (
        "WRONG extensions: 1 extension request(s) still await a decision on cases that have "
        f"ended (closing, rejecting or merging lapses them); first: case {case_id}"
    )
    zh = cli("--db", demo_db, "--now", NOW, "--lang", "zh", "check")
    assert zh.code == 1 and f"第一件：案件 {case_id}" in zh.out.splitlines()[3]


def test_backup_is_a_checked_private_copy_taken_while_a_writer_works(
    demo_db: Path, cli: Callable[..., Any], tmp_path: Path
) -> None:
    writer = sqlite3.connect(demo_db, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a clerk in the middle of a write
    writer.execute("UPDATE cases SET title = 'half-done' WHERE id = 1")
    try:
        copy = tmp_path / "backup.sqlite"
        done = cli("--db", demo_db, "backup", copy)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.code == 0, done
    assert f"backup written to {copy}" in done.out
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert not list(tmp_path.glob(".backup.sqlite.partial"))
    assert _sql(copy, "PRAGMA integrity_check") == [("ok",)]
    assert _sql(copy, "SELECT title FROM cases WHERE id = 1") != [("half-done",)]
    assert _sql(copy, "SELECT count(*) FROM events") == _sql(demo_db, "SELECT count(*) FROM events")
    assert cli("--db", copy, "audit", "verify").code == 0
    again = cli("--db", demo_db, "backup", copy)
    assert again.code == 1 and "already exists" in again.err


def test_backup_on_postgresql_points_to_pg_dump(
    postgres: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    url = postgres.create_database()
    assert cli("--db", url, "init").code == 0
    refused = cli("--db", url, "backup", tmp_path / "copy.sqlite")
    assert refused.code == 2
    assert "pg_dump" in refused.err
    assert not (tmp_path / "copy.sqlite").exists()


def test_check_and_verify_on_postgresql(
    postgres: Any, cli: Callable[..., Any], tmp_path: Path
) -> None:
    url = postgres.create_database()
    assert cli("--db", url, "--clerk", "alice", "init").code == 0
    checked = cli("--db", url, "--now", NOW, "check")
    assert checked.code == 0, checked
    assert checked.out.splitlines()[0].startswith("ok    integrity: PostgreSQL keeps its own pages")
    verified = cli("--db", url, "audit", "verify")
    assert verified.code == 0 and verified.out.startswith("0 events verified")
