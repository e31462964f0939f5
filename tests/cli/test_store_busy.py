"""A write the database cannot take (locked past the busy timeout by another writer) is one
clear line in the run's language and exit 1, never a traceback, and changes nothing."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_a_database_locked_by_another_writer_is_a_clear_refusal(tmp_path: Path) -> None:
    db = tmp_path / "cases.sqlite"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKER_")} | {
        "CASEWORKER_DB": str(db),
        "CASEWORKER_CLERK": "alice",
    }

    def cw(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "caseworker", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    assert cw("init").returncode == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another clerk's long write: the lock is theirs
    try:
        busy = cw("--lang", "zh", "clerks", "add", "王受理", "--role", "clerk")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.returncode == 1, busy
    said = "数据库正忙（另一位工作人员或导入正在写入）；未作任何改动，请重试"
    assert busy.stderr == f"caseworker: {said}\n"
    assert "王受理" not in cw("clerks", "list").stdout
