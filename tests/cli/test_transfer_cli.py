"""`caseworker import`, `imports list` and `export` as a clerk runs them: real exit codes."""

from __future__ import annotations

import csv
import subprocess
from collections.abc import Callable
from pathlib import Path

# `cw` and `real_rows` come from conftest.py.
Process = Callable[..., subprocess.CompletedProcess[str]]
Rows = Callable[[int], tuple[list[str], list[list[object]]]]


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


def test_exit_codes_follow_the_contract(cw: Process, tmp_path: Path, real_rows: Rows) -> None:
    header, rows = real_rows(12)
    clean = write_csv(tmp_path / "[b]clean.csv", header, rows[:6])
    done = cw("import", clean)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        "[b]clean.csv: read 6 / imported 6 / duplicates 0 / conflicts 0 / rejected 0; "
        "6 already overdue"
    )
    assert done.stderr == ""  # no progress bar when stderr is not a terminal

    again = cw("import", clean)
    assert again.returncode == 0 and "imported 0 / duplicates 6" in again.stdout

    rows[8][3] = "not a date"
    broken = write_csv(tmp_path / "broken.csv", header, rows[6:])
    partly = cw("import", broken)
    assert partly.returncode == 3
    assert "read 6 / imported 5" in partly.stdout and "rejected 1" in partly.stdout
    assert f"rejects in {tmp_path / 'broken.rejects.csv'}" in partly.stdout
    assert (tmp_path / "broken.rejects.csv").exists()

    junk = tmp_path / "notes.txt"
    junk.write_text("随便写的一段话\n没有表头\n", encoding="utf-8")
    unreadable = cw("import", junk)
    assert unreadable.returncode == 1
    assert unreadable.stderr.startswith("caseworker: ")
    assert "no mapping profile" in unreadable.stderr
    assert "Traceback" not in unreadable.stderr

    missing = cw("import", tmp_path / "nowhere.csv")
    assert missing.returncode == 1 and "no such file" in missing.stderr

    usage = cw("import", clean, "--format", "pdf")
    assert usage.returncode == 2 and "--format" in usage.stderr
    unknown_channel = cw("import", clean, "--channel", "fax")
    assert unknown_channel.returncode == 1 and "unknown channel 'fax'" in unknown_channel.stderr

    listed = cw("imports", "list")
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert "[b]clean.csv" in listed.stdout  # a file name is shown as text, never as markup
    assert any("broken.csv" in line and " 5 " in line for line in lines)


def test_dry_run_writes_nothing(cw: Process, tmp_path: Path, real_rows: Rows) -> None:
    header, rows = real_rows(5)
    rows[2][4] = ""
    rows[2][2] = ""
    path = write_csv(tmp_path / "day.csv", header, rows)
    dry = cw("import", "--dry-run", path)
    assert dry.returncode == 3
    assert "would import 4" in dry.stdout and "rejected 1" in dry.stdout
    assert not (tmp_path / "day.rejects.csv").exists()
    listed = cw("imports", "list")
    assert "day.csv" not in listed.stdout


def test_export_warns_about_personal_data_unless_redacted(
    cw: Process, tmp_path: Path, real_rows: Rows
) -> None:
    header, rows = real_rows(4)
    cw("import", write_csv(tmp_path / "day.csv", header, rows))
    plain = cw("export", tmp_path / "out.csv")
    assert plain.returncode == 0
    assert plain.stdout.strip() == f"4 cases exported to {tmp_path / 'out.csv'} (csv)"
    assert "personal data" in plain.stderr
    masked = cw("export", tmp_path / "out.jsonl", "--redact", "--status", "received")
    assert masked.returncode == 0 and masked.stderr == ""
    assert "4 cases exported" in masked.stdout
    assert cw("export", tmp_path / "out.pdf").returncode == 2
    bad_status = cw("export", tmp_path / "x.csv", "--status", "lost")
    # An unknown status is a usage error (exit 2), like an unknown format, and writes nothing.
    assert bad_status.returncode == 2 and "--status must be one of" in bad_status.stderr
    assert "'lost'" in bad_status.stderr and not (tmp_path / "x.csv").exists()
    bad_time = cw("export", tmp_path / "x.csv", "--since", "yesterday")
    assert bad_time.returncode == 2
