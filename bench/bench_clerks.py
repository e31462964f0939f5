"""Print what N clerks acting at once on overlapping cases do to each other, per backend.

N processes (default 2, 4, 8), each its own clerk with its own engine, act for a fixed time on
one shared pool of cases through the services, as the command line does (one transaction per
action, `Store.transact`): take-next then accept, accept, assign, reply (draft and submit),
publish, supervise. Printed per N and backend: actions per second, refusals by kind (version
conflict, rule, locked), tracebacks, lost updates (a successful action with no event, or an
event with no successful action) and cases take-next handed to two clerks. The goal is zeros
in the last three columns; the baseline is N=1 in the same run.

Run: .venv/bin/python bench/bench_clerks.py [--clerks 2 4 8] [--seconds 10] [--cases 200]
     [--backend sqlite postgresql]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import random
import shutil
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOW = "2025-11-20T10:00:00+08:00"
UNITS = (
    "name,parent,level,code\n江南市,,city,C\n"
    "市住建局,C,department,C-HOUSING\n市交通局,C,department,C-TRANSPORT\n"
)
ACTIONS = ("take_next", "accept", "assign", "reply", "publish", "supervise")
# The events a successful action appends, by the clerk who did it.
EVENTS = {
    "take_next": ("accept",),
    "accept": ("accept",),
    "assign": ("assign",),
    "reply": ("draft_reply", "submit_reply"),
    "publish": ("publish",),
    "supervise": ("supervise",),
}


@dataclass
class Figures:
    """What one run of N clerks on one backend did."""

    backend: str
    clerks: int
    seconds: float
    done: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    tracebacks: int = 0
    first_traceback: str = ""
    lost: int = 0
    double_taken: int = 0

    @property
    def per_second(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0


def clerk_name(n: int) -> str:
    return f"督查{n:02d}"


def prepare(database: str, clerks: int, cases: int) -> None:
    """A fresh bureau: two units, `clerks` supervisors, `cases` new messages."""
    from caseworker.clock import FrozenClock
    from caseworker.services.cases import Desk, NewCase, create_case
    from caseworker.services.people import add_clerk, import_units
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    now = datetime.fromisoformat(NOW)
    store = open_store(database)
    try:
        with store.session() as session:
            import_units(session, UNITS)
            for n in range(clerks):
                add_clerk(session, clerk_name(n), "supervisor")
        desk = Desk(rules, FrozenClock(now), clerk_name(0))
        with store.session() as session:
            for number in range(cases):
                create_case(
                    session,
                    desk,
                    NewCase(
                        channel="leader-board",
                        title=f"小区门口道路积水 {number}",
                        body="每逢下雨，小区门口道路积水严重，请尽快处理。",
                        received_at=now.replace(hour=8),
                        external_id=f"B-{number}",
                    ),
                )
    finally:
        store.close()


def _act(
    store: Any, desk: Any, action: str, case_id: int, viewer: Any, taken: list[int]
) -> int | None:
    """One action in its own transaction; the case it acted on (take-next: the one it took,
    noted in `taken` as soon as it was handed out)."""
    from caseworker.services import cases as svc
    from caseworker.services import queues
    from caseworker.store.queue_types import Filters, QueueKey

    if action == "take_next":
        # As the console does it: take-next finds the case, then the case view opens (claims)
        # it and the clerk accepts it, in a second transaction.
        found = store.transact(
            lambda session: queues.take_next(
                session, QueueKey.RECEIVED, desk.now(), viewer, Filters()
            )
        )
        if found is not None:
            taken.append(found)

            def open_and_accept(session: Any) -> None:
                queues.claim(session, found, desk.clerk, desk.now())
                svc.accept_case(session, desk, found)

            store.transact(open_and_accept)
        return found  # type: ignore[no-any-return]

    def work(session: Any) -> None:
        if action == "accept":
            svc.accept_case(session, desk, case_id)
        elif action == "assign":
            svc.assign_case(session, desk, case_id, lead="C-HOUSING", co_units=["C-TRANSPORT"])
        elif action == "reply":
            text = "网友您好：已安排处理。"
            svc.draft_reply(session, desk, case_id, text=text, final=True, outcome="支持")
            svc.submit_reply(session, desk, case_id)
        elif action == "publish":
            svc.publish_reply(session, desk, case_id)
        elif action == "supervise":
            svc.supervise_case(session, desk, case_id, level="催办", note="请加快办理")

    store.transact(work)
    return case_id


def clerk_process(
    database: str, n: int, seconds: float, case_ids: list[int], queue: Any, go: Any
) -> None:
    """One clerk acting for `seconds` once every clerk is ready; reports on `queue`."""
    from caseworker.clock import FrozenClock
    from caseworker.domain.errors import DomainError
    from caseworker.services.cases import Desk, VersionConflict
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import StoreError, open_store
    from caseworker.store.queue_types import Viewer

    rules = load_rules(ROOT / "data" / "policy.toml", ROOT / "data" / "calendar.toml")
    desk = Desk(rules, FrozenClock(datetime.fromisoformat(NOW)), clerk_name(n))
    viewer = Viewer(clerk=clerk_name(n))
    rng = random.Random(n)
    store = open_store(database, create=False)
    done: list[tuple[str, int]] = []
    refusals: Counter[str] = Counter()
    tracebacks: list[str] = []
    taken: list[int] = []
    queue.put(("ready", n))
    go.wait()
    until = time.time() + seconds
    try:
        while time.time() < until:
            action = rng.choice(ACTIONS)
            case_id = rng.choice(case_ids)
            try:
                acted = _act(store, desk, action, case_id, viewer, taken)
            except VersionConflict:
                refusals["version conflict"] += 1
            except StoreError as exc:
                kind = "locked" if getattr(exc, "key", "") == "refused.store_busy" else "store"
                refusals[kind] += 1
            except DomainError:
                refusals["rule"] += 1
            except Exception:
                tracebacks.append(traceback.format_exc())
            else:
                if acted is None:
                    refusals["nothing to take"] += 1
                    continue
                done.append((action, acted))
    finally:
        store.close()
        queue.put((n, done, refusals, tracebacks, taken))


def run_clerks(database: str, clerks: int, seconds: float, cases: int, backend: str) -> Figures:
    """Prepare a bureau, let `clerks` processes act for `seconds`, and count what happened."""
    from sqlalchemy import text

    from caseworker.store.engine import open_store

    prepare(database, clerks, cases)
    store = open_store(database, create=False)
    with store.engine.connect() as connection:
        case_ids = [int(r[0]) for r in connection.execute(text("SELECT id FROM cases"))]
        before = Counter(
            (str(a), int(c), str(x))
            for a, c, x in connection.execute(text("SELECT actor, case_id, action FROM events"))
        )
    context = multiprocessing.get_context("spawn")
    queue, go = context.Queue(), context.Event()
    processes = [
        context.Process(target=clerk_process, args=(database, n, seconds, case_ids, queue, go))
        for n in range(clerks)
    ]
    for process in processes:
        process.start()
    for _ in processes:  # every clerk has imported the program and opened the store
        queue.get(timeout=120)
    go.set()
    reports = [queue.get(timeout=seconds + 120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    figures = Figures(backend=backend, clerks=clerks, seconds=seconds)
    expected: Counter[tuple[str, int, str]] = Counter()
    takers: dict[int, set[int]] = {}
    for n, done, refusals, tracebacks, taken in reports:
        figures.done += len(done)
        figures.refusals.update(refusals)
        figures.tracebacks += len(tracebacks)
        if tracebacks and not figures.first_traceback:
            figures.first_traceback = tracebacks[0]
        for action, case_id in done:
            for event in EVENTS[action]:
                expected[(clerk_name(n), case_id, event)] += 1
        for case_id in taken:
            takers.setdefault(case_id, set()).add(n)
    with store.engine.connect() as connection:
        after = Counter(
            (str(a), int(c), str(x))
            for a, c, x in connection.execute(text("SELECT actor, case_id, action FROM events"))
        )
    store.close()
    written = after - before
    figures.lost = sum(((expected - written) + (written - expected)).values())
    figures.double_taken = sum(1 for who in takers.values() if len(who) > 1)
    return figures


def _postgres() -> tuple[Any, str, Path]:
    """A throw-away PostgreSQL server (pgserver, as the tests start it), its admin URL and data
    folder."""
    import pgserver
    from sqlalchemy.engine import make_url

    pgdata = Path(tempfile.mkdtemp(prefix="caseworker-bench-pg-"))
    os.environ["LANG"] = "C.UTF-8"
    os.environ.pop("LC_ALL", None)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")  # type: ignore[attr-defined]
    uri = str(server.get_uri()).replace("postgresql://", "postgresql+psycopg://", 1)
    return server, make_url(uri).render_as_string(hide_password=False), pgdata


def _new_pg_database(admin_url: str, name: str) -> str:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clerks", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--backend", nargs="+", default=["sqlite", "postgresql"])
    args = parser.parse_args()
    server, admin_url, pgdata = _postgres() if "postgresql" in args.backend else (None, "", Path())
    rows: list[Figures] = []
    try:
        with tempfile.TemporaryDirectory() as folder:
            for backend in args.backend:
                for clerks in [1, *args.clerks]:
                    if backend == "sqlite":
                        database = str(Path(folder) / f"clerks-{clerks}.sqlite")
                    else:
                        database = _new_pg_database(admin_url, f"bench_clerks_{clerks}")
                    rows.append(run_clerks(database, clerks, args.seconds, args.cases, backend))
                    print(_line(rows[-1]), flush=True)
    finally:
        if server is not None:
            server.cleanup()
            shutil.rmtree(pgdata, ignore_errors=True)
    for row in rows:
        if row.first_traceback:
            print(f"\nfirst traceback ({row.backend}, N={row.clerks}):\n{row.first_traceback}")


def _line(f: Figures) -> str:
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(f.refusals.items())) or "none"
    return (
        f"{f.backend:10} N={f.clerks}: {f.per_second:7.1f} actions/s "
        f"({f.done} in {f.seconds:.0f} s);"
        f" refusals: {kinds}; tracebacks {f.tracebacks}; lost updates {f.lost};"
        f" taken twice {f.double_taken}"
    )


if __name__ == "__main__":
    main()
