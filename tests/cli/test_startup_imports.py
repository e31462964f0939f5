"""The console's first screen and `report overdue` start without the ORM.

Each runs in a fresh interpreter, launched through the `caseworker` command as a clerk runs
it, and reports which of SQLModel, SQLAlchemy's orm and the table models it had imported: the
console at the moment its opening page is drawn (before the sidebar's counts, which do use the
ORM, start), the report when the command has finished. A fast start that quietly pulls the
ORM back in (one import at a module's top) fails here. Nothing is timed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

SERVICES_TEST = Path(__file__).resolve().parents[1] / "services" / "test_reports.py"


def _fixture_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("startup_fixture", SERVICES_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURE = _fixture_module()  # the hand-built bureau of the report tests
SUPERVISOR: str = FIXTURE.SUPERVISOR
MORNING = "2025-10-21T10:00"
ORM = ("sqlmodel", "sqlalchemy.orm", "caseworker.store.models")
HANDLER = "甲区经办"  # a unit handler of 甲区 (A): opens on 我的, their units' open cases

CONSOLE = textwrap.dedent(
    """
    import asyncio, json, sys

    from caseworker.app import CaseworkerApp
    from caseworker.screens.queue import QueueScreen

    ORM = ORM_NAMES
    seen = {}
    after_opening = QueueScreen._after_opening

    def drawn(self):
        # The opening page is on screen; the sidebar's counts start from here.
        table = self.query_one("#cases")
        seen.update(
            orm=[name for name in ORM if name in sys.modules],
            queue=str(self.queue),
            rows=len(table.lines),
            count=self.shown_count,
        )
        after_opening(self)
        self.app.exit()

    def run_headless(self, *args, **kwargs):
        async def run():
            async with self.run_test(size=(120, 36)) as pilot:
                while not seen:
                    await pilot.pause(0.05)
        asyncio.run(run())

    QueueScreen._after_opening = drawn
    CaseworkerApp.run = run_headless
    from caseworker.cli import app

    app(sys.argv[1:], standalone_mode=False)
    print(json.dumps(seen))
    """
).replace("ORM_NAMES", repr(ORM))

REPORT = textwrap.dedent(
    """
    import json, sys

    from caseworker.cli import app

    try:
        app(sys.argv[1:], standalone_mode=False)
    finally:
        print(json.dumps([name for name in ORM_NAMES if name in sys.modules]), file=sys.stderr)
    """
).replace("ORM_NAMES", repr(ORM))


@pytest.fixture(scope="module")
def bureau(tmp_path_factory: pytest.TempPathFactory, bind_clerks: Callable[..., str]) -> Path:
    from caseworker.services.people import add_clerk
    from caseworker.store.engine import open_store

    path = tmp_path_factory.mktemp("startup") / "bureau.sqlite"
    FIXTURE.build_bureau(path)
    store = open_store(str(path))
    try:
        with store.session() as session:
            add_clerk(session, HANDLER, "handler", "A")
    finally:
        store.close()
    bind_clerks(path)
    # The first command on a store records the calendar its deadlines were computed with
    # (services.clocks): from then on opening it is a read.
    first = launch(REPORT, "--db", str(path), "--clerk", SUPERVISOR, "units", "list")
    assert first.returncode == 0, first.stderr
    # C2 was never accepted: accepted now, it waits for a unit in the bureau's 待交办.
    accept = launch(
        REPORT, "--db", str(path), "--clerk", SUPERVISOR, "--now", MORNING, "case", "accept", "C2"
    )
    assert accept.returncode == 0, accept.stderr
    return path


@pytest.fixture
def db(bureau: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bureau.sqlite"
    shutil.copy(bureau, copy)
    return copy


def launch(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "CASEWORKER_LANG": "en", "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("clerk", "queue", "count"),
    [(SUPERVISOR, "accepted", 1), (HANDLER, "mine", 3)],
    ids=["bureau-clerk", "unit-handler"],
)
def test_the_first_screen_is_drawn_before_the_orm_is_imported(
    db: Path, clerk: str, queue: str, count: int
) -> None:
    done = launch(CONSOLE, "--db", str(db), "--clerk", clerk, "--now", MORNING)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["queue"].lower().endswith(queue)
    assert seen["count"] == count
    assert seen["rows"] == count
    assert seen["orm"] == []


def test_report_overdue_runs_without_the_orm(db: Path) -> None:
    args = ["--db", str(db), "--clerk", SUPERVISOR, "--now", MORNING]
    done = launch(REPORT, *args, "report", "overdue", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stderr.strip().splitlines()[-1]) == []
    assert [c["external_id"] for c in json.loads(done.stdout)["cases"]] == ["C2", "C3", "C7", "C1"]


def test_report_overdue_on_a_sqlite_file_imports_no_sqlalchemy(db: Path) -> None:
    # Read through sqlite3 alone (store.plain), as a clerk bound to the login and as a unit
    # handler, whose scope is read the same way.
    script = REPORT.replace(repr(ORM), repr(("sqlalchemy",)))
    for clerk in (SUPERVISOR, HANDLER):
        args = ["--db", str(db), "--clerk", clerk, "--now", MORNING]
        done = launch(script, *args, "report", "overdue", "--format", "json")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stderr.strip().splitlines()[-1]) == []
        assert json.loads(done.stdout)["cases"]


def test_report_overdue_after_a_calendar_change_recomputes_through_the_store(
    db: Path, tmp_path: Path
) -> None:
    # A changed calendar needs the deadlines recomputed (services.clocks), which the plain
    # read leaves to the store's usual opening: the report then agrees with the new calendar.
    from caseworker.config import DATA_DIR

    calendar = tmp_path / "calendar.toml"
    calendar.write_text(
        (DATA_DIR / "calendar.toml").read_text(encoding="utf-8")
        + '\n[years.2030]\nsource = "a notice"\nholidays = ["2030-01-02"]\n',
        encoding="utf-8",
    )
    args = ["--db", str(db), "--clerk", SUPERVISOR, "--now", MORNING]
    before = launch(REPORT, *args, "report", "overdue", "--format", "json")
    changed = launch(
        REPORT, *args, "--calendar", str(calendar), "report", "overdue", "--format", "json"
    )
    assert before.returncode == 0 and changed.returncode == 0, changed.stderr
    assert json.loads(changed.stdout)["cases"] == json.loads(before.stdout)["cases"]
    # The store now records the new calendar: the next run reads plainly again.
    again = launch(
        REPORT.replace(repr(ORM), repr(("sqlalchemy",))),
        *args,
        "--calendar",
        str(calendar),
        "report",
        "overdue",
        "--format",
        "json",
    )
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stderr.strip().splitlines()[-1]) == []


def test_report_overdue_for_a_unit_by_name_may_use_the_orm_and_agrees(db: Path) -> None:
    # --unit is looked up through the ORM (services.people); the rows are the same either way.
    args = ["--db", str(db), "--clerk", SUPERVISOR, "--now", MORNING]
    by_name = launch(REPORT, *args, "report", "overdue", "--format", "json", "--unit", "甲区")
    as_handler = launch(
        REPORT,
        "--db",
        str(db),
        "--clerk",
        HANDLER,
        "--now",
        MORNING,
        "report",
        "overdue",
        "--format",
        "json",
    )
    assert by_name.returncode == 0 and as_handler.returncode == 0, by_name.stderr
    assert json.loads(as_handler.stderr.strip().splitlines()[-1]) == []
    assert json.loads(by_name.stdout)["cases"] == json.loads(as_handler.stdout)["cases"]
