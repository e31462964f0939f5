"""Four clerks acting at once on overlapping cases, on SQLite and on the real PostgreSQL
server: no traceback, no lost update, no case taken by two clerks (bench/bench_clerks.py, short).
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _bench() -> ModuleType:
    """The benchmark's module, importable by name (its clerk processes are spawned)."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    return importlib.import_module("bench_clerks")


def test_four_clerks_at_once_lose_nothing_and_never_share_a_taken_case(
    database: str, backend: str
) -> None:
    figures = _bench().run_clerks(database, 4, 3.0, 80, backend)
    assert figures.first_traceback == "" and figures.tracebacks == 0
    assert figures.lost == 0
    assert figures.double_taken == 0
    assert figures.done > 0
    assert set(figures.refusals) <= {"version conflict", "rule", "locked", "nothing to take"}
