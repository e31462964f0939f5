"""Writing the demo bureau into a store: units, clerks and a day's worth of simulated cases.

A demo database is marked by the store_meta key "demo" (JSON: seed, size, the frozen `now`,
the training cases and the last demo event id); every demo case also carries
`{"demo": true}` in its `extra`. A database that holds cases without that mark is a bureau's
real data, and nothing here writes into it or clears it.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import random
import time as timer
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

from sqlalchemy import Boolean, Table, delete, func, insert
from sqlmodel import Session, SQLModel, select

from caseworker.domain.calendar import SHANGHAI, WorkCalendar
from caseworker.domain.errors import DomainError
from caseworker.services.clocks import recompute_if_calendar_changed
from caseworker.services.demo.bureau import build_bureau
from caseworker.services.demo.simulate import Rows, Simulator, Spec
from caseworker.services.rules import Rules
from caseworker.store.audit import EVENT_FIELDS, Chain
from caseworker.store.engine import Store, database_url, open_store
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    CoUnit,
    EventRow,
    ExtensionRow,
    InstructionRow,
    LinkRow,
    MetaRow,
    PauseRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)
from caseworker.store.sequences import sync_id_sequences
from caseworker.store.types import UTCDateTime

DEMO_KEY = "demo"
DEFAULT_CASES = 2000
MAX_CASES = 1_000_000
BATCH = 5000

# The training exercises and how many cases each one starts from (data/training/*.toml).
TRAINING_ROLES: dict[str, tuple[tuple[str, float, str], ...]] = {
    # scenario -> (role, how long before now it arrived, in "hours" or "workdays") per case;
    # working days, so a case has reached its starting stage even after a long holiday
    "assign-urgent": (("urgent", 0.6, "hours"), ("urgent", 1.4, "hours"), ("urgent", 2.5, "hours")),
    "reject-duplicate": (("original", 8, "workdays"), ("copy", 1.5, "hours")),
    "draft-publish": (("case", 4, "workdays"),),
    "request-extension": (("case", 30, "workdays"),),
}


class NotADemo(DomainError):
    """The database holds real cases; the demo will not write into it or clear it."""


class DemoExists(DomainError):
    """The database already holds a demo; rebuilding it needs --reset."""


@dataclass(frozen=True)
class DemoReport:
    """What a build wrote and how long it took."""

    cases: int
    events: int
    seconds: float
    now: datetime
    seed: int


def _table(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def demo_info(session: Session) -> dict[str, Any] | None:
    """The demo mark of a store (seed, size, now, training cases), or None for other stores."""
    meta = session.get(MetaRow, DEMO_KEY)
    if meta is None:
        return None
    value = json.loads(meta.value)
    return value if isinstance(value, dict) else None


def holds_real_cases(session: Session) -> bool:
    """Whether the store has cases and is not a demo: then the demo must not touch it."""
    if demo_info(session) is not None:
        return False
    return session.exec(select(CaseRow.id).limit(1)).first() is not None


def has_cases(session: Session) -> bool:
    return session.exec(select(CaseRow.id).limit(1)).first() is not None


@dataclass(frozen=True)
class NotTheDemos:
    """What a store holds that the demo did not make: a real bureau's units, clerks and cases."""

    units: tuple[str, ...] = ()
    clerks: tuple[str, ...] = ()
    cases: int = 0
    tables: tuple[str, ...] = ()  # tables of another program, in a file that is not ours

    def __bool__(self) -> bool:
        return bool(self.units or self.clerks or self.cases or self.tables)

    def refusal(self, target: str, *, building: bool = False) -> NotADemo:
        """The refusal to reset (or build into) `target`, naming what is there (a few names)."""

        def first(names: tuple[str, ...]) -> list[str]:
            return [*names[:3], "…"] if len(names) > 3 else list(names)

        if self.tables:
            return NotADemo(
                f"{target} is not a caseworker database (it has tables {', '.join(self.tables)});"
                " the demo resets only its own database",
                key="refused.demo.reset_foreign_file",
                target=target,
                tables=first(self.tables),
            )
        what = (
            f"{len(self.units)} units ({', '.join(first(self.units)) or '-'}),"
            f" {len(self.clerks)} clerks ({', '.join(first(self.clerks)) or '-'}),"
            f" {self.cases} cases"
        )
        end = "the demo will not write into it" if building else "the demo resets only its own"
        return NotADemo(
            f"{'this database' if building else target} holds a bureau's own data, not made by"
            f" the demo: {what}; {end} database",
            key="refused.demo.build_bureau" if building else "refused.demo.reset_bureau",
            target=target,
            units=len(self.units),
            unit_names=first(self.units),
            clerks=len(self.clerks),
            clerk_names=first(self.clerks),
            cases=self.cases,
        )


def not_the_demos(session: Session) -> NotTheDemos:
    """Units and clerks the demo bureau does not have, and, in a store that is no demo, cases.

    A trainee's cases in a demo are the demo's to reset; a unit or clerk someone added to it
    may belong to a real bureau set up in the wrong file, so it is named and kept.
    """
    bureau = build_bureau()
    units = session.exec(select(Unit.name).order_by(Unit.id)).all()  # type: ignore[arg-type]
    clerks = session.exec(select(ClerkRow.name).order_by(ClerkRow.id)).all()  # type: ignore[arg-type]
    if demo_info(session) is None:
        cases = session.exec(select(func.count()).select_from(CaseRow)).one()
        return NotTheDemos(units=tuple(units), clerks=tuple(clerks), cases=int(cases))
    demo_units = {u.name for u in bureau.units}
    demo_clerks = {c.name for c in bureau.clerks}
    return NotTheDemos(
        units=tuple(n for n in units if n not in demo_units),
        clerks=tuple(n for n in clerks if n not in demo_clerks),
    )


def _foreign_tables(path: Path) -> tuple[str, ...]:
    """Tables of a SQLite file that caseworker does not make; ("?",) if it is no SQLite file.

    Read before the store is opened, since opening would add caseworker's tables to it.
    """
    import sqlite3

    if not path.exists() or path.stat().st_size == 0:
        return ()
    ours = set(SQLModel.metadata.tables) | {"alembic_version"}
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as db:
            names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    except sqlite3.DatabaseError:
        return ("?",)
    return tuple(
        sorted(n for n in names if n not in ours and not n.startswith(("sqlite_", "cases_fts")))
    )


def reset_demo(target: str) -> None:
    """Remove a demo database's content (the file itself for SQLite).

    Refused, naming what is there, when the database holds anything the demo did not make:
    another program's tables, or a bureau's own units, clerks or cases.
    """
    url = database_url(target)
    if url.startswith("sqlite:///"):
        foreign = _foreign_tables(Path(url.removeprefix("sqlite:///")))
        if foreign:
            raise NotTheDemos(tables=foreign).refusal(target)
    store = open_store(target)
    try:
        with store.session() as session:
            there = not_the_demos(session)
            if there:
                raise there.refusal(target)
            if store.url.startswith("sqlite:///"):
                path = Path(store.url.removeprefix("sqlite:///"))
            else:
                path = None
                for table in reversed(SQLModel.metadata.sorted_tables):
                    session.execute(delete(table))
    finally:
        store.close()
    if path is not None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def make_specs(cases: int, now: datetime, seed: int, calendar: WorkCalendar) -> list[Spec]:
    """When every case arrives and which ones repeat others, sorted into id order."""
    rng = random.Random(f"{seed}/specs")
    local_now = now.astimezone(SHANGHAI)
    today = datetime.combine(local_now.date(), time(0), tzinfo=SHANGHAI)
    specs: list[Spec] = []
    serial = 0

    def new(received: datetime, **kw: Any) -> Spec:
        nonlocal serial
        serial += 1
        received = received.replace(microsecond=0)  # whole seconds, like a real intake
        spec = Spec(received_at=min(received, now), serial=serial, **kw)
        specs.append(spec)
        return spec

    training = [(s, r, a, u) for s, roles in TRAINING_ROLES.items() for r, a, u in roles]
    if cases < len(training) + 10:
        training = []
    kindergarten = max(24, cases // 50) if cases >= 200 else cases // 10
    repeats = cases * 4 // 100
    base = max(0, cases - len(training) - kindergarten - repeats)

    for _ in range(base):
        new(_arrival(rng, now, local_now, today))
    eligible = [s for s in specs if now - s.received_at > timedelta(days=6)]
    for original in rng.sample(eligible, min(repeats, len(eligible))):
        room = min(20.0, (now - original.received_at).total_seconds() / 86400 - 0.2)
        when = original.received_at + timedelta(days=rng.uniform(1.5, room))
        new(when, original=original.serial, original_at=original.received_at)
    kg_times = sorted(
        now - timedelta(days=rng.uniform(0.1, 60), minutes=rng.randint(0, 600))
        for _ in range(kindergarten)
    )
    first = -1
    for when in kg_times:
        spec = new(when, role="kindergarten", original=first)
        first = spec.serial if first < 0 else first
    originals: dict[str, Spec] = {}
    for scenario, role, amount, unit in training:
        if unit == "hours":
            received = now - timedelta(hours=amount)
        else:
            day, left = local_now.date(), int(amount)
            while left:
                day -= timedelta(days=1)
                left -= calendar.is_workday(day)
            received = datetime.combine(day, time(10, 0), tzinfo=SHANGHAI)
        if scenario == "reject-duplicate" and role == "copy":
            source = originals[scenario]
            new(received, role=f"training:{scenario}:{role}", same_as=source.serial)
        else:
            spec = new(received, role=f"training:{scenario}:{role}")
            originals.setdefault(scenario, spec)
    specs.sort(key=lambda s: (s.received_at, s.serial))
    # Repeats and merges must point back in time; a tie on received_at keeps serial order.
    return specs


def _arrival(rng: random.Random, now: datetime, local_now: datetime, today: datetime) -> datetime:
    """A receipt time: a share this morning, most in the last weeks, a tail of older cases."""
    roll = rng.random()
    if roll < 0.05:
        span = max((local_now - today).total_seconds(), 1800.0)
        return now - timedelta(seconds=rng.randrange(60, int(span)))
    if roll < 0.3:
        days = rng.uniform(0.3, 3)
    elif roll < 0.65:
        days = rng.uniform(3, 25)
    else:
        days = rng.uniform(25, 150)
    day = (local_now - timedelta(days=days)).date()
    hour = rng.choices(range(24), weights=_HOUR_WEIGHTS)[0]
    when = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=SHANGHAI)
    return when if when <= now else when - timedelta(days=1)


# Citizens write around the clock, mostly in the day and the evening.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 9, 7, 7, 8, 8, 8, 7, 6, 7, 8, 7, 5, 3)


def build_demo(
    store: Store,
    rules: Rules,
    *,
    seed: int,
    cases: int,
    now: datetime,
    frozen: bool = True,
    progress: Callable[[int, int], None] | None = None,
    workers: int | None = None,
) -> DemoReport:
    """Write the demo bureau into an empty (or demo-free) store in one transaction.

    `frozen` records whether `now` was a frozen clock (--now), so reopening the demo later
    keeps that clock instead of drifting to the real one. Large demos are simulated in
    `workers` processes (default: one per CPU from 20,000 cases); the rows do not depend on it.
    """
    if not 1 <= cases <= MAX_CASES:
        raise DomainError(
            f"--cases must be between 1 and {MAX_CASES:,}",
            key="refused.demo.cases",
            max=f"{MAX_CASES:,}",
        )
    if now.tzinfo is None:
        raise DomainError("the demo's now needs a timezone", key="refused.demo.now_tz")
    started = timer.perf_counter()
    bureau = build_bureau()
    specs = make_specs(cases, now, seed, rules.calendar)
    sim = Simulator(rules, bureau, now, seed, specs)
    with store.session() as session:
        there = not_the_demos(session) if demo_info(session) is None else NotTheDemos()
        if there and not there.cases:  # a bureau set up (units, clerks) but with no case yet
            raise there.refusal(store.url, building=True)
        if holds_real_cases(session):
            raise NotADemo(
                "this database holds real cases, not a demo; the demo will not write "
                "into it (use another --db)",
                key="refused.demo.real_cases",
            )
        if has_cases(session):
            raise DemoExists(
                "this database already holds the demo; use --reset to rebuild it",
                key="refused.demo.exists",
            )
        # Record the calendar the deadlines are computed with (cheap while there are no cases),
        # so the first command on the demo does not recompute its provisional deadlines.
        recompute_if_calendar_changed(session, rules, now)
        session.execute(
            insert(_table(Unit)),
            [
                {
                    "id": u.id,
                    "code": u.code,
                    "name": u.name,
                    "level": u.level,
                    "parent_id": u.parent_id,
                    "active": True,
                    "population": u.population,
                }
                for u in bureau.units
            ],
        )
        session.execute(
            insert(_table(ClerkRow)),
            [
                {
                    "id": c.id,
                    "name": c.name,
                    "role": c.role.value,
                    "unit_id": c.unit_id,
                    "active": True,
                }
                for c in bureau.clerks
            ],
        )
        done = events = last_event = 0
        chain = Chain()  # every case of the demo is new: its events start their own chain
        training: dict[str, dict[str, list[int]]] = {}
        sqlite = session.connection().dialect.name == "sqlite"
        with _search_index_deferred(session):
            for batch in _simulated(sim, specs, workers, sqlite):
                events += batch.events
                last_event = max(last_event, batch.last_event)
                for role, ids in batch.training.items():
                    _, scenario, part = role.split(":")
                    training.setdefault(scenario, {}).setdefault(part, []).extend(ids)
                _write(session, batch, sqlite, chain)
                done += batch.cases
                if progress is not None:
                    progress(done, cases)
        mark = {
            "seed": seed,
            "cases": cases,
            "now": now.astimezone(SHANGHAI).isoformat(),
            "frozen": frozen,
            "last_event_id": last_event,
            "training": training,
        }
        session.merge(
            MetaRow(key=DEMO_KEY, value=json.dumps(mark, ensure_ascii=False, sort_keys=True))
        )
        # Each case's text key, as an import records it, so a file imported into the demo
        # finds its re-posts among the demo's cases (about 6 s per 100,000 cases).
        from caseworker.store.signatures import backfill_signatures

        backfill_signatures(session.connection())
        # The rows carry the demo's own ids: PostgreSQL's sequences must move past them, or the
        # next `case new` draws an id already taken.
        sync_id_sequences(session.connection())
    return DemoReport(
        cases=done, events=events, seconds=timer.perf_counter() - started, now=now, seed=seed
    )


@dataclass
class _Batch:
    """Simulated cases ready for the driver: each table's rows as tuples in column order."""

    cases: int
    events: int
    last_event: int
    training: dict[str, list[int]]
    tables: list[tuple[str, list[str], list[tuple[Any, ...]]]]


def _simulated(
    sim: Simulator, specs: list[Spec], workers: int | None, sqlite: bool
) -> Iterator[_Batch]:
    """Simulated rows a batch at a time, in id order, from this process or from a pool.

    Workers also turn the rows into driver values, so the writing process only writes.
    """
    ranges = [(start, min(start + BATCH, len(specs))) for start in range(0, len(specs), BATCH)]
    if workers is None:
        workers = min(os.cpu_count() or 1, 4) if len(specs) >= 20_000 else 1
    if workers <= 1 or len(ranges) < 2:
        for start, end in ranges:
            sim.rows, sim.training = Rows(), {}
            for spec in specs[start:end]:
                sim.simulate(spec)
            yield _prepare(sim, sqlite)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(
        workers,
        initializer=_start_worker,
        initargs=(sim.rules, sim.bureau, sim.now, sim.seed, specs, sqlite),
    ) as pool:
        yield from pool.imap(_simulate_range, ranges)


_WORKER: list[Any] = []  # the worker process's simulator, specs and dialect


def _start_worker(
    rules: Rules, bureau: Any, now: datetime, seed: int, specs: list[Spec], sqlite: bool
) -> None:
    _WORKER[:] = [Simulator(rules, bureau, now, seed, specs), specs, sqlite]


def _simulate_range(bounds: tuple[int, int]) -> _Batch:
    sim, specs, sqlite = _WORKER
    sim.rows, sim.training = Rows(), {}
    for spec in specs[bounds[0] : bounds[1]]:
        sim.simulate(spec)
    return _prepare(sim, sqlite)


def _prepare(sim: Simulator, sqlite: bool) -> _Batch:
    """Turn a simulator's rows into tuples of stored values, parents before children.

    Values are already in the store's form (naive UTC times; SQLite's text layout) because
    SQLAlchemy's per-value type processing cost more than the whole simulation.
    """
    rows = sim.rows
    tables = []
    for name, model in _ORDER:
        batch: list[dict[str, Any]] = getattr(rows, name)
        if not batch:
            continue
        table = _table(model)
        # Events get their seal when written, in order (see _write).
        columns = [c.name for c in table.columns if c.name != "hash"]
        getter = itemgetter(*columns)
        converters = [
            (n, f) for n, f in enumerate(_converter(c.type, sqlite) for c in table.columns) if f
        ]
        values = []
        for row in batch:
            value = list(getter(row))
            for n, f in converters:
                value[n] = f(value[n])
            values.append(tuple(value))
        tables.append((table.name, columns, values))
    return _Batch(
        cases=len(rows.cases),
        events=len(rows.events),
        last_event=max((e["id"] for e in rows.events), default=0),
        training=sim.training,
        tables=tables,
    )


def _write(session: Session, batch: _Batch, sqlite: bool, chain: Chain) -> None:
    """Bulk-insert one prepared batch with the driver's executemany, its events sealed."""
    connection = session.connection()
    for name, columns, values in batch.tables:
        if name == "events":
            at = [columns.index(field) for field in EVENT_FIELDS]
            values = [(*row, chain.seal([row[n] for n in at])) for row in values]
            columns = [*columns, "hash"]
        marks = ", ".join("?" if sqlite else "%s" for _ in columns)
        sql = f"INSERT INTO {name} ({', '.join(columns)}) VALUES ({marks})"
        connection.exec_driver_sql(sql, values)


_ORDER: tuple[tuple[str, type[SQLModel]], ...] = (
    ("cases", CaseRow),
    ("events", EventRow),
    ("co_units", CoUnit),
    ("replies", ReplyRow),
    ("ratings", RatingRow),
    ("extensions", ExtensionRow),
    ("supervisions", SupervisionRow),
    ("instructions", InstructionRow),
    ("pauses", PauseRow),
    ("links", LinkRow),
)


def _converter(kind: Any, sqlite: bool) -> Callable[[Any], Any] | None:
    """How a column's Python value is stored: what the column type would do, done once."""
    if isinstance(kind, UTCDateTime):
        return _sqlite_time if sqlite else _naive_utc
    if sqlite and isinstance(kind, Boolean):
        return _sqlite_bool
    return None


def _naive_utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime | None) -> str | None:
    """SQLAlchemy's SQLite DateTime text, so stored values compare with bound ones.

    Deadlines repeat across thousands of cases, so their text is remembered.
    """
    if value is None:
        return None
    text = _TIME_TEXT.get(value)
    if text is None:
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")
        text = text if value.microsecond else text + ".000000"
        if len(_TIME_TEXT) < 100_000:
            _TIME_TEXT[value] = text
    return text


_TIME_TEXT: dict[datetime, str] = {}


def _sqlite_bool(value: bool | None) -> int | None:
    return None if value is None else int(value)


@contextmanager
def _search_index_deferred(session: Session) -> Iterator[None]:
    """On SQLite, fill the full-text index and the big tables' indexes once, at the end.

    The index's insert trigger costs more per case than everything else together; dropping
    it for the load and rebuilding the index from the table gives the same index, and the
    trigger comes back with its own SQL, all inside the build's transaction.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        yield
        return
    triggers = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'cases' "
        "AND sql LIKE '%AFTER INSERT%' AND sql LIKE '%cases_fts%'"
    ).all()
    # Secondary indexes of the big tables are likewise built once from the loaded rows.
    indexes = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
        "AND tbl_name IN ('cases', 'events')"
    ).all()
    for name, _ in triggers:
        connection.exec_driver_sql(f'DROP TRIGGER "{name}"')
    for name, _ in indexes:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    yield
    for _, sql in indexes:
        connection.exec_driver_sql(sql)
    if triggers:
        connection.exec_driver_sql("INSERT INTO cases_fts(cases_fts) VALUES ('rebuild')")
    for _, sql in triggers:
        connection.exec_driver_sql(sql)
