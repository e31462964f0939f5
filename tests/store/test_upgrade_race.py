"""Several commands opening an old-schema database at once: one upgrades, the others wait.

Each opener is its own process, started together the way clerks' commands would start on the
morning of a new release; on SQLite and on the real PostgreSQL server.
"""

from __future__ import annotations

import subprocess
import sys
import time

from caseworker.store.engine import head_revision, make_engine, schema_revision, upgrade

# Each process imports the store first, then waits for the same instant to open it.
OPENER = """
import sys, time
from caseworker.store.engine import open_store
from caseworker.store.models import CaseRow
from sqlmodel import select
start = float(sys.argv[2])
time.sleep(max(0.0, start - time.time()))
store = open_store(sys.argv[1])
with store.session() as session:
    session.exec(select(CaseRow).limit(1)).all()
store.close()
"""


def test_four_openers_of_an_old_database_at_once_all_succeed(database: str) -> None:
    for _round in range(2):
        engine = make_engine(database)
        upgrade(engine, "0001")
        engine.dispose()
        start = time.time() + 4
        runs = [
            subprocess.Popen(
                [sys.executable, "-c", OPENER, database, str(start)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(4)
        ]
        results = [(run.wait(timeout=180), *run.communicate()) for run in runs]
        assert [(code, err[-300:]) for code, _out, err in results] == [(0, "")] * 4
        engine = make_engine(database)
        try:
            assert schema_revision(engine) == head_revision()
        finally:
            engine.dispose()
        _downgrade(database)


def _downgrade(database: str) -> None:
    """Back to the first schema for the next round."""
    from alembic import command

    from caseworker.store.engine import _alembic_config

    engine = make_engine(database)
    try:
        command.downgrade(_alembic_config(engine), "0001")
    finally:
        engine.dispose()
