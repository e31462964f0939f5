"""Ways to run the `caseworker` command, shared by the CLI tests.

- `run_main`: the real entry point, `caseworker.cli.main`, in this process: sys.argv and stdin
  set, SystemExit caught, the exit code and what it wrote returned as a `Result`.
- `cli`: `run_main` that also insists nothing on stderr is a traceback. test_cli.py overrides
  it with one that adds --db, --clerk, --now and --calendar.
- `cw`: the real `python -m caseworker` process on a fresh, initialised database, with the
  clerk and time from CASEWORKER_* variables; `cw_options` (none here) go before every command,
  and a test module overrides it to run, say, with --lang zh.
- `real_rows`: the first rows of the TipDM 2020 labelled sample, as a header and data rows.
- `real_bureau`: a SQLite database with one real (not demo) case, which `demo` must not touch.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook

from caseworker.cli import main
from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

ROOT = Path(__file__).resolve().parents[2]
ATTACHMENT2 = (
    ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment2-labelled-sample.xlsx"
)

Process = Callable[..., subprocess.CompletedProcess[str]]
Rows = tuple[list[str], list[list[object]]]


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Result]:
    """Run `caseworker ARGS…` through the real entry point, with `stdin` as its input."""

    def run(*args: str | Path, stdin: str = "") -> Result:
        monkeypatch.setattr(sys, "argv", ["caseworker", *map(str, args)])
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        else:  # pragma: no cover - main() always exits
            code = -1
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def cli(run_main: Callable[..., Result]) -> Callable[..., Result]:
    """`run_main`, failing the test if the run printed a traceback."""

    def run(*args: str | Path) -> Result:
        result = run_main(*args)
        assert "Traceback" not in result.err
        return result

    return run


@pytest.fixture
def cw_options() -> tuple[str, ...]:
    """Root options `cw` passes before every command (and before its own `init`)."""
    return ()


@pytest.fixture
def cw(tmp_path: Path, cw_options: tuple[str, ...]) -> Process:
    """Run `python -m caseworker [CW_OPTIONS] ARGS…` in tmp_path on its own initialised database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEWORKER_")} | {
        "CASEWORKER_DB": str(tmp_path / "cases.sqlite"),
        "CASEWORKER_CLERK": "alice",
        "CASEWORKER_NOW": "2026-11-20T10:00:00+08:00",
        "COLUMNS": "250",
    }

    def run(*args: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "caseworker", *cw_options, *map(str, args)],
            env=env,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    assert run("init").returncode == 0
    return run


@pytest.fixture
def real_rows() -> Callable[[int], Rows]:
    """`real_rows(count)`: the sample's header and its first `count` rows."""

    def read(count: int) -> Rows:
        book = load_workbook(ATTACHMENT2, read_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True, max_row=count + 1)]
        book.close()
        return [str(c) for c in rows[0]], rows[1:]

    return read


@pytest.fixture
def real_bureau(tmp_path: Path, rules: Rules, bind_clerks: Callable[..., str]) -> Path:
    """tmp_path/bureau.sqlite: a clerk and one case received over the hotline, no demo marker."""
    from caseworker.services.cases import Desk, NewCase, create_case
    from caseworker.services.people import add_clerk
    from caseworker.store.engine import open_store

    at = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
    real = tmp_path / "bureau.sqlite"
    store = open_store(str(real))
    with store.session() as session:
        add_clerk(session, "李受理", "clerk")
        create_case(
            session,
            Desk(rules, FrozenClock(at), "李受理"),
            NewCase(
                channel="hotline-12345",
                title="路灯不亮",
                body="建设路路灯坏了两周。",
                received_at=at - timedelta(hours=2),
            ),
        )
    store.close()
    bind_clerks(real)
    return real
