"""Hostile files cost bounded memory: a real `caseworker import` process stays under 300 MB.

Each import runs in a process of its own, which reports the peak resident size of itself (its
own high-water mark, not the runner's it was forked from) and of its children (the second
process that reads a file of 16 MB or more).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

LIMIT_KB = 300 * 1024
RUN = """
import resource, sys
from caseworker.cli import main
sys.argv = ["caseworker", *sys.argv[1:]]
try:
    main()
except SystemExit as done:
    code = done.code
# VmHWM, not RUSAGE_SELF: Linux carries the parent's peak across fork and exec into
# ru_maxrss, so a test runner that has grown would be measured instead of the import.
with open("/proc/self/status") as status:
    own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
peak = max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(f"peak-kb {peak}", file=sys.stderr)
sys.exit(code)
"""
HEADER = "留言编号,留言用户,留言主题,留言时间,留言详情\n"


def peak_kb(tmp_path: Path, *args: str) -> tuple[int, int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKER_")} | {
        "CASEWORKER_DB": str(tmp_path / "cases.sqlite"),
        "CASEWORKER_CLERK": "alice",
        "CASEWORKER_NOW": "2026-11-20T10:00:00+08:00",
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN, *args], env=env, capture_output=True, text=True, timeout=600
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("peak-kb "), done.stderr
    return done.returncode, int(last.split()[1]), done.stdout + done.stderr


@pytest.fixture
def initialised(tmp_path: Path) -> Path:
    code, _, err = peak_kb(tmp_path, "init")
    assert code == 0, err
    return tmp_path


def test_a_csv_field_of_20_million_characters(initialised: Path) -> None:
    path = initialised / "huge.csv"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(HEADER + "1,A1,路灯,2019-04-25 09:32:09,坏了\n")
        handle.write("2,A2,路灯,2019-04-25 09:32:09,")
        for _ in range(20):
            handle.write("x" * 1_000_000)
        handle.write("\n3,A3,路灯,2019-04-25 09:32:09,坏了\n")
    code, peak, err = peak_kb(initialised, "import", str(path))
    assert code == 3 and "imported 2" in err and "rejected 1" in err, err
    assert peak < LIMIT_KB, peak


def test_a_workbook_bomb(initialised: Path) -> None:
    path = initialised / "bomb.xlsx"
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as book,
        book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet,
    ):
        sheet.write(b"<worksheet><sheetData><row r='1'><c t='inlineStr'><is><t>")
        for _ in range(500):
            sheet.write(b"a" * (1 << 20))
        sheet.write(b"</t></is></c></row></sheetData></worksheet>")
    assert path.stat().st_size < 1_000_000  # half a gigabyte of text
    code, peak, err = peak_kb(initialised, "import", str(path))
    assert code == 1 and "expands to more than caseworker reads" in err, err
    assert peak < LIMIT_KB, peak


def test_an_open311_array_under_twice_its_size(initialised: Path) -> None:
    path = initialised / "requests.json"
    request = {
        "service_request_id": "0",
        "status": "open",
        "service_name": "Street Light Outage",
        "description": "建设路路灯坏了两周，晚上出行很不方便，请尽快修复。" * 4,
        "requested_datetime": "2019-04-25T09:32:09+08:00",
    }
    with path.open("w", encoding="utf-8") as handle:
        handle.write("[")
        for n in range(60_000):
            request["service_request_id"] = f"R{n}"
            handle.write(("," if n else "") + json.dumps(request, ensure_ascii=False))
        handle.write("]")
    size_kb = path.stat().st_size // 1024
    baseline = peak_kb(initialised, "imports", "list")[1]  # Python and caseworker themselves
    code, peak, err = peak_kb(
        initialised, "import", str(path), "--channel", "hotline-12345", "--dry-run"
    )
    assert code == 0, err
    assert peak < LIMIT_KB and peak - baseline < 2 * size_kb, (peak, baseline, size_kb)
