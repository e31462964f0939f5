"""A large file is prepared in a second process; the result must be exactly the inline one.

The same real files (tests/data/datasets/tipdm2020) are imported once with rows prepared inline
and once with them prepared in the second process (`parallel=True`, which a file of 16 MB or
more gets by default), into two SQLite files; every stored column, event, reply, summary count
and rejects line must agree. Interrupting a parallel import, and a file that breaks in the
middle, must end as they do inline, with no reading process left behind.
"""

from __future__ import annotations

import csv
import sqlite3
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.cases import Desk
from caseworker.services.imports import (
    ImportOptions,
    ImportSummary,
    SimulatedInterrupt,
    run_import,
)
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.rules import load_rules
from caseworker.services.upkeep import verify_audit
from caseworker.store.engine import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
TIPDM = ROOT / "tests" / "data" / "datasets" / "tipdm2020"
ATTACHMENT2 = TIPDM / "attachment2-labelled-sample.xlsx"
ATTACHMENT4 = TIPDM / "attachment4-messages-with-replies.xlsx"
NOW = datetime(2026, 11, 20, 10, 0, tzinfo=SHANGHAI)

# Columns written from the wall clock at the moment of writing (when, not what).
# Real times of writing differ between two runs, and so do the seals of events, which cover
# them; each run's seals are verified instead.
RECORDED = {"cases": {"created_at", "updated_at"}, "events": {"recorded_at", "hash"}}


def _open(folder: Path) -> tuple[Store, Desk]:
    folder.mkdir()
    store = open_store(str(folder / "cases.sqlite"))
    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    with store.session() as session:
        ensure_first_supervisor(session, "alice")
    return store, Desk(rules, FrozenClock(NOW), "alice")


@pytest.fixture
def twins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Store, Desk, Store, Desk]]:
    """Two empty stores; afterwards, every reading process started must have ended."""
    started: list[subprocess.Popen[bytes]] = []
    real = subprocess.Popen

    def popen(*args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        started.append(real(*args, **kwargs))
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", popen)
    inline, parallel = _open(tmp_path / "inline"), _open(tmp_path / "parallel")
    yield *inline, *parallel
    inline[0].close()
    parallel[0].close()
    assert started, "no import ran in a second process"
    assert all(worker.poll() is not None for worker in started)


def _table(store: Store, name: str) -> list[tuple[Any, ...]]:
    path = store.engine.url.database
    assert path is not None
    with sqlite3.connect(path) as connection:
        columns = [r[1] for r in connection.execute(f"PRAGMA table_info({name})")]
        kept = [c for c in columns if c not in RECORDED.get(name, set())]
        return connection.execute(f"SELECT {', '.join(kept)} FROM {name} ORDER BY id").fetchall()


def _counts(summary: ImportSummary) -> tuple[int | str, ...]:
    s = summary
    return (
        s.read,
        s.imported,
        s.duplicates,
        s.conflicts,
        s.rejected,
        s.overdue,
        s.exit_code,
        s.closed,
        s.old,
        len(s.unmapped),
        *s.unmapped,
    )


def _sample_csv(folder: Path) -> Path:
    """Attachment 2 as CSV with the kinds of trouble real files have, spread over batches."""
    book = load_workbook(ATTACHMENT2, read_only=True)
    rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    book.close()
    header, data = [str(c) for c in rows[0]], [r for r in rows[1:] if any(r)]
    data[7][3] = "2019/13/45 25:00:00"  # no such date
    data[150][2], data[150][4] = "", "\n\t\u3000\n"  # nothing to read
    data.insert(300, list(data[20]))  # a repeated row: a duplicate
    changed = list(data[40])
    changed[4] = "改过的正文"
    data.insert(420, changed)  # the same key with other content: a conflict
    # A column no field reads, first filled in a later batch: kept in extra and named.
    header.append("模型结果")
    data = [[*r, r[5] if n >= 250 else None] for n, r in enumerate(data)]
    path = folder / "sample.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(data)
    return path


@pytest.mark.parametrize("source", ["sample.csv", ATTACHMENT4.name])
def test_a_file_prepared_in_a_second_process_imports_exactly_as_inline(
    twins: tuple[Store, Desk, Store, Desk], tmp_path: Path, source: str
) -> None:
    store_a, desk_a, store_b, desk_b = twins
    path = _sample_csv(tmp_path) if source == "sample.csv" else ATTACHMENT4
    results = []
    for store, desk, parallel in ((store_a, desk_a, False), (store_b, desk_b, True)):
        rejects = tmp_path / f"rejects-{parallel}.csv"
        summary = run_import(
            store,
            desk,
            path,
            ImportOptions(
                rejects=rejects,
                batch_size=100,
                parallel=parallel,
            ),
        )
        text = rejects.read_text(encoding="utf-8-sig") if rejects.exists() else ""
        results.append((_counts(summary), text))
    assert results[0] == results[1]
    imported = results[0][0][0]
    assert isinstance(imported, int) and imported > 400
    if source == "sample.csv":
        assert results[0][0][2:5] == (1, 2, 2)  # duplicate; conflicts (37042 too); rejects
        assert results[0][0][-2:] == (1, "模型结果")
    for table in ("cases", "events", "replies"):
        assert _table(store_a, table) == _table(store_b, table), table
    assert verify_audit(store_a).ok and verify_audit(store_b).ok


def test_an_interrupted_parallel_import_is_finished_by_running_it_again(
    twins: tuple[Store, Desk, Store, Desk], tmp_path: Path
) -> None:
    store, desk, _, _ = twins
    path = _sample_csv(tmp_path)
    options = dict(rejects=tmp_path / "r.csv", batch_size=100, parallel=True)
    with pytest.raises(SimulatedInterrupt):
        run_import(store, desk, path, ImportOptions(interrupt_after=2, **options))  # type: ignore[arg-type]
    assert len(_table(store, "cases")) == 200 - 2  # two of the first 200 rows are rejects
    summary = run_import(store, desk, path, ImportOptions(**options))  # type: ignore[arg-type]
    assert summary.duplicates == 198 + 1
    assert len(_table(store, "cases")) == summary.imported + 198


def test_bytes_of_another_encoding_deep_in_a_file_cost_only_their_row_in_parallel_too(
    twins: tuple[Store, Desk, Store, Desk], tmp_path: Path
) -> None:
    store_a, desk_a, store_b, desk_b = twins
    path = tmp_path / "mixed.csv"
    line = "留言编号,留言用户,留言主题,留言时间,留言详情\n"
    body = "小区门口的路灯坏了很久，晚上出行很不方便，请尽快修复。" * 20
    rows = [f"{n},A00{n},路灯不亮,2019/4/25 9:32:09,{body}\n" for n in range(1, 2001)]
    # Valid UTF-8 well past the bytes sampled for detection, then a GBK row, then UTF-8 again.
    gbk = "9999,A9,水管漏水,2019/4/25 9:32:09,楼道水管漏水\n".encode("gbk")
    tail = f"10000,A10,路灯不亮,2019/4/25 9:32:09,{body}\n".encode()
    path.write_bytes((line + "".join(rows)).encode() + gbk + tail)
    summaries = []
    for store, desk, parallel, rejects in (
        (store_a, desk_a, False, tmp_path / "a.csv"),
        (store_b, desk_b, True, tmp_path / "b.csv"),
    ):
        summary = run_import(
            store,
            desk,
            path,
            ImportOptions(rejects=rejects, batch_size=500, parallel=parallel),
        )
        summaries.append((summary.read, summary.imported, summary.rejected))
        text = rejects.read_text(encoding="utf-8-sig")
        # The row is rejected with why, its cells read as the GBK they are, to fix and re-import.
        assert "not valid UTF-8 (byte 0xB9 in this row)" in text
        assert "楼道水管漏水" in text and ",2002," in text
    assert summaries[0] == summaries[1] == (2002, 2001, 1)
    assert _table(store_a, "cases") == _table(store_b, "cases")
