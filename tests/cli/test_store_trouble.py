"""A read-only, full or damaged database: every command says so in one line and exits 1.

No traceback, no partial write that goes unsaid. The read-only and full-disk cases run on a
small tmpfs of their own (mounting needs root; skipped with the reason otherwise).
"""

from __future__ import annotations

import csv
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

NOW = "2025-11-20T10:00"
ROOT = Path(__file__).resolve().parents[2]
REPLIED = (
    ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment4-messages-with-replies.xlsx"
)


@pytest.fixture
def demo_db(tmp_path: Path, cli: Callable[..., Any]) -> Path:
    db = tmp_path / "made" / "demo.sqlite"
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


def _received(db: Path) -> str:
    return str(_sql(db, "SELECT id FROM cases WHERE status = 'received' LIMIT 1")[0][0])


@contextmanager
def _tmpfs(folder: Path, size: str) -> Iterator[Path]:
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip() or 'not permitted'}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def _one_line(result: Any, *words: str) -> None:
    assert result.code == 1, result
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.startswith("caseworker: "), result.err
    for word in words:
        assert word in result.err, result.err


# ---------------------------------------------------------------- read-only


def test_a_read_only_file_system_still_reads_and_refuses_writes_in_one_line(
    demo_db: Path, tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    with _tmpfs(tmp_path / "ro", "16m") as folder:
        db = folder / "demo.sqlite"
        shutil.copy(demo_db, db)
        case = _received(db)
        remount = subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=False)
        assert remount.returncode == 0
        shown = run_main("--db", db, "--now", NOW, "case", "show", case)
        assert shown.code == 0, shown
        assert run_main("--db", db, "--now", NOW, "report", "overdue").code == 0
        assert run_main("--db", db, "audit", "verify").code == 0
        accepted = run_main("--db", db, "--clerk", "陈受理", "--now", NOW, "case", "accept", case)
        _one_line(accepted, "the database is read-only", "nothing was changed")
        zh = run_main("--db", db, "--lang", "zh", "--clerk", "陈受理", "case", "accept", case)
        _one_line(zh, "数据库为只读", "未作任何改动")
        backup = run_main("--db", db, "backup", folder / "copy.sqlite")
        _one_line(backup, "cannot write the backup")
        reader = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
        try:
            status = reader.execute("SELECT status FROM cases WHERE id = ?", (case,)).fetchall()
        finally:
            reader.close()
        assert status == [("received",)]


# ---------------------------------------------------------------- full disk


def test_a_full_disk_stops_an_import_saying_how_many_cases_were_kept(
    tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    if not REPLIED.exists():
        pytest.skip(f"the TipDM 2020 sample is not at {REPLIED}")
    from openpyxl import load_workbook

    book = load_workbook(REPLIED, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    source = tmp_path / "replies.csv"
    with source.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(rows[0])
        for copy in range(4):  # 11,000 messages: more than two batches
            out.writerows([[f"{r[0]}-{copy}", *r[1:]] for r in rows[1:]])
    with _tmpfs(tmp_path / "full", "60m") as folder:
        db = folder / "cases.sqlite"
        assert run_main("--db", db, "--clerk", "root", "init").code == 0
        stopped = run_main(
            "--db", db, "--clerk", "root", "import", source, "--rejects", tmp_path / "r.csv"
        )
        (kept,) = _sql(db, "SELECT count(*) FROM cases")[0]
        assert kept > 0, f"the first batch did not fit on the tmpfs: {stopped.err}"
        _one_line(
            stopped,
            "the disk holding the database is full",
            f"the {kept} cases imported before it are kept",
        )
        assert "nothing was changed" not in stopped.err
        assert run_main("--db", db, "audit", "verify").code == 0
        # A plain write on the full disk: one line, nothing changed.
        (filler := folder / "filler").write_bytes(b"")
        with filler.open("ab") as handle, pytest.raises(OSError):
            while True:
                handle.write(b"\0" * 1_048_576)
                handle.flush()
        added = run_main(
            "--db", db, "--clerk", "root", "clerks", "add", "王受理", "--role", "clerk"
        )
        if added.code == 0:  # pragma: no cover - SQLite found room in a free page of its file
            return
        _one_line(added, "the disk holding the database is full", "nothing was changed")
        assert _sql(db, "SELECT count(*) FROM clerks WHERE name = '王受理'") == [(0,)]


# ---------------------------------------------------------------- damaged


def _flip(db: Path, offset: int, length: int = 64) -> None:
    with db.open("r+b") as handle:
        handle.seek(offset)
        data = handle.read(length)
        handle.seek(offset)
        handle.write(bytes(b ^ 0xA5 for b in data))


def _page_of(db: Path, name: str) -> int:
    (root,) = _sql(db, "SELECT rootpage FROM sqlite_master WHERE name = ?", name)[0]
    (size,) = _sql(db, "PRAGMA page_size")[0]
    return int((root - 1) * size)  # where the page starts


def test_a_write_to_a_damaged_file_is_refused_before_it_buries_the_damage(
    demo_db: Path, tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    db = tmp_path / "damaged.sqlite"
    shutil.copy(demo_db, db)
    case = _received(db)
    # The unit names' index: accepting a case never reads it, so SQLite alone would not notice.
    _flip(db, _page_of(db, "ix_units_name"), 8)  # its page header
    assert _sql(db, "PRAGMA integrity_check(1)") != [("ok",)]
    accepted = run_main("--db", db, "--clerk", "陈受理", "--now", NOW, "case", "accept", case)
    _one_line(accepted, "the database file is damaged", "nothing was changed")
    assert _sql(db, "SELECT status FROM cases WHERE id = ?", case) == [("received",)]
    checked = run_main("--db", db, "--now", NOW, "check")
    assert checked.code == 1 and "Traceback" not in checked.err
    assert checked.out.splitlines()[0].startswith("WRONG integrity")


def test_a_damaged_page_read_is_called_damage_not_a_refused_change(
    demo_db: Path, tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    db = tmp_path / "damaged.sqlite"
    shutil.copy(demo_db, db)
    (pages,) = _sql(db, "PRAGMA page_count")[0]
    (size,) = _sql(db, "PRAGMA page_size")[0]
    for name in ("cases", "ix_cases_open_due", "ix_cases_status_due"):
        _flip(db, _page_of(db, name) + size // 2, size // 2)  # where the cells are
    damaged = 0
    for args in (("case", "show", "3"), ("report", "overdue"), ("audit", "verify")):
        result = run_main("--db", db, "--now", NOW, *args)
        if result.code == 0:
            continue  # that read did not reach a damaged page
        _one_line(result, "the database file is damaged")
        assert "refused the change" not in result.err
        damaged += 1
    assert damaged and pages > 10


def test_damaged_schema_text_is_one_line(
    demo_db: Path, tmp_path: Path, run_main: Callable[..., Any]
) -> None:
    db = tmp_path / "schema.sqlite"
    shutil.copy(demo_db, db)
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA writable_schema=ON")
    connection.execute("UPDATE sqlite_master SET sql = 'CREATE TABLE units(' WHERE name = 'units'")
    connection.commit()
    connection.close()
    for args in (
        ("case", "show", "3"),
        ("audit", "verify"),
        ("check",),
        ("backup", tmp_path / "b"),
    ):
        _one_line(run_main("--db", db, "--now", NOW, *args), "damaged")
