"""`case resume --note`: the clerk's note goes on a new resume event, as the console's resume
dialog puts it; the pause event before it keeps its own reason (history is appended, never
edited)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

NOW = "2026-11-23T10:00"


def events(db: Path) -> list[tuple[int, str, str | None]]:
    connection = sqlite3.connect(db)
    try:
        rows = connection.execute("SELECT id, action, reason FROM events ORDER BY id").fetchall()
    finally:
        connection.close()
    return [(int(r[0]), str(r[1]), r[2]) for r in rows]


def test_resume_with_a_note_appends_and_edits_nothing(
    real_bureau: Path, cli: Callable[..., Any]
) -> None:
    base = ("--db", real_bureau, "--clerk", "李受理", "--now", NOW, "case")
    paused = cli(*base, "pause", "1", "--reason", "等待网民补充材料")
    assert paused.code == 0, paused
    before = events(real_bureau)
    assert before[-1][1:] == ("pause", "等待网民补充材料")
    resumed = cli(*base, "resume", "1", "--note", "材料已收到")
    assert resumed.code == 0, resumed
    after = events(real_bureau)
    assert after[: len(before)] == before  # the pause event is as it was
    assert [e[1:] for e in after[len(before) :]] == [("resume", "材料已收到")]
    audit = cli("--db", real_bureau, "audit", "verify")
    assert audit.code == 0, audit
