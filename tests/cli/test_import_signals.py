"""Stopping a large `caseworker import` for real: Ctrl-C, kill and kill -9 mid-file.

The file is large enough (over 16 MB) to be read by a second process, so each case also proves
that process ends with the import and that no half-written batch is left: the cases stored
are exactly whole batches, and running the same command again finishes the file with no
duplicates. Rows are built from the real messages of attachment 3 (ids made unique).
"""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

ROOT = Path(__file__).resolve().parents[2]
TIPDM = ROOT / "tests" / "data" / "datasets" / "tipdm2020"
ATTACHMENT3 = TIPDM / "attachment3-messages-with-votes.xlsx"
ROWS = 13_000  # three batches (the last short), about 29 MB: a stop lands before the end
WORKER = b"caseworker.services.imports.worker"


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    book = load_workbook(ATTACHMENT3, read_only=True)
    sheet = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    header, rows = [str(c) for c in sheet[0]], [r for r in sheet[1:] if r[0] is not None]
    path = tmp_path_factory.mktemp("signals") / "year.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n in range(ROWS):
            row = list(rows[n % len(rows)])
            row[0] = f"Y{n:06d}"
            row[4] = f"{row[4]}\n（第 {n} 条）" * 2  # realistic bodies, a few hundred characters
            writer.writerow(row)
    assert path.stat().st_size > 16 << 20  # read by a second process by default
    return path


def _env(db: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKER_")} | {
        "CASEWORKER_DB": str(db),
        "CASEWORKER_CLERK": "alice",
        "CASEWORKER_NOW": "2026-11-20T10:00:00+08:00",
    }


def _state(db: Path) -> tuple[int, list[tuple[str, int]]]:
    with sqlite3.connect(db, timeout=30) as connection:
        cases = connection.execute("SELECT count(*) FROM cases").fetchone()[0]
        records = connection.execute("SELECT status, imported FROM imports ORDER BY id").fetchall()
    return int(cases), [(str(s), int(n)) for s, n in records]


def _workers(session: int) -> list[int]:
    """The reading processes of the import started as the leader of `session` (an import
    someone else runs on the same machine is none of this test's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if WORKER not in (entry / "cmdline").read_bytes():
                    continue
                # /proc/PID/stat: "pid (name) state ppid pgrp session ..."
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session:
                found.append(int(entry.name))
    return found


def _stop_midway(db: Path, path: Path, stop: signal.Signals) -> int:
    """Start the import, send `stop` once a batch is committed, return the exit code."""
    # Ctrl-C is given with the run in Chinese: the one line it leaves is in the clerk's language.
    lang = ["--lang", "zh"] if stop is signal.SIGINT else []
    process = subprocess.Popen(
        [sys.executable, "-m", "caseworker", *lang, "import", str(path)],
        env=_env(db),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        # As a terminal's shell starts it: Ctrl-C at its default even when these tests run in
        # the background, where the shell has the process ignore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
        try:
            if _state(db)[0] > 0:
                break
        except sqlite3.Error:
            continue  # the schema is still being made
    assert process.poll() is None, "the import finished before it could be stopped"
    if stop is signal.SIGINT:
        os.killpg(process.pid, stop)  # Ctrl-C reaches the whole foreground group
    else:
        os.kill(process.pid, stop)
    _, err = process.communicate(timeout=120)
    if stop is not signal.SIGKILL:
        said = "已中断" if stop is signal.SIGINT else "interrupted"
        assert err.decode().splitlines()[-1] == f"caseworker: {said}", err
    deadline = time.monotonic() + 30
    while _workers(process.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _workers(process.pid) == [], "the reading process outlived the import"
    return process.returncode


@pytest.mark.parametrize(
    "stop", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=["ctrl-c", "kill", "kill-9"]
)
def test_a_stopped_import_leaves_whole_batches_and_finishes_when_run_again(
    tmp_path: Path, big_csv: Path, stop: signal.Signals
) -> None:
    db = tmp_path / "cases.sqlite"
    assert (
        subprocess.run(
            [sys.executable, "-m", "caseworker", "init"],
            env=_env(db),
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )
    code = _stop_midway(db, big_csv, stop)
    cases, records = _state(db)
    assert 0 < cases < ROWS and cases % 5000 == 0  # whole batches only
    if stop is signal.SIGKILL:
        assert code == -signal.SIGKILL and records == [("running", cases)]  # no time to record
        # ... but its process is gone, so the list says it was interrupted, not running forever.
        listed = subprocess.run(
            [sys.executable, "-m", "caseworker", "imports", "list"],
            env=_env(db) | {"COLUMNS": "250"},
            capture_output=True,
            text=True,
            check=False,
        )
        assert listed.returncode == 0, listed.stderr
        assert "interrupted" in listed.stdout and "running" not in listed.stdout, listed.stdout
    else:
        assert code != 0 and records == [("interrupted", cases)]

    again = subprocess.run(
        [sys.executable, "-m", "caseworker", "import", str(big_csv)],
        env=_env(db),
        capture_output=True,
        text=True,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert f"read {ROWS} / imported {ROWS - cases} / duplicates {cases} /" in again.stdout
    assert _state(db)[0] == ROWS
