"""Test data for the console: a real SQLite store in tmp_path, filled through the services
with real messages from the 2020 Teddy Cup data set, at a frozen clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from caseworker.clock import FrozenClock
from caseworker.config import Settings
from caseworker.domain.calendar import SHANGHAI
from caseworker.services.rules import Rules

# The small bureau every console, CLI and service test uses (tests/data/small_bureau_units.csv).
UNITS_CSV = (Path(__file__).resolve().parents[1] / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)
CLERK = "李受理"
SUPERVISOR = "王督查"
HANDLER = "赵住建"  # handler of C-HOUSING


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Shanghai, the bureau's time zone."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def populate_bureau(store: Any) -> None:
    """The unit tree and one clerk of each kind."""
    from caseworker.services.people import add_clerk, import_units

    with store.session() as session:
        import_units(session, UNITS_CSV)
        add_clerk(session, CLERK, "clerk")
        add_clerk(session, SUPERVISOR, "supervisor")
        add_clerk(session, HANDLER, "handler", "C-HOUSING")


DATASETS = Path(__file__).resolve().parents[2] / "tests" / "data" / "datasets"
SAMPLE = DATASETS / "tipdm2020" / "attachment2-labelled-sample.xlsx"
NOW = sh(2025, 11, 20, 10)  # a Thursday morning


@cache
def real_messages(limit: int = 40) -> tuple[tuple[str, str, str, str], ...]:
    """(external id, title, body, category) of real messages, read once per test run.

    Every 12th row, so the sample spans the file's categories (it is sorted by label)."""
    from openpyxl import load_workbook

    book = load_workbook(SAMPLE, read_only=True)
    sheet = book.worksheets[0]
    out = []
    for n, row in enumerate(sheet.iter_rows(min_row=2, max_row=600, values_only=True)):
        if not row or row[0] is None or n % 12:
            continue
        ext, _user, title, _when, body, category = (list(row) + [None] * 6)[:6]
        out.append((str(ext), str(title).strip(), str(body).strip(), str(category or "")))
        if len(out) >= limit:
            break
    book.close()
    return tuple(out)


@dataclass
class Console:
    """An open store with a small bureau and a mix of cases, and how to build its app."""

    store: Any
    rules: Rules
    path: Path
    ids: dict[str, int]

    def settings(self, lang: str = "zh", clerk: str = CLERK) -> Settings:
        return Settings(database=str(self.path), clerk=clerk, language=lang, now=NOW)

    def app(self, lang: str = "zh", clerk: str = CLERK, **kwargs: Any) -> Any:
        from caseworker.app import make_app

        return make_app(self.settings(lang, clerk), self.store, self.rules, **kwargs)

    def act(
        self, clerk: str, at: datetime, action: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> Any:
        from caseworker.services.cases import Desk

        with self.store.session() as session:
            desk = Desk(rules=self.rules, clock=FrozenClock(at), clerk=clerk)
            return action(session, desk, *args, **kwargs)


CHANNELS = (
    "leader-board",
    "hotline-12345",
    "governor-mailbox",
    "social-media",
    "party-secretary-mailbox",
)


def fill(console: Console, count: int = 24) -> None:
    """Cases in every queue: new, to assign, in progress, to review, replied, closed,
    overdue, due soon, supervised, urgent; received over the three weeks before NOW."""
    from caseworker.services import cases as svc

    messages = real_messages()
    for n in range(count):
        ext, title, body, category = messages[n]
        received = NOW - timedelta(days=20 - (n * 20) // count, hours=(n * 7) % 11)
        urgent = n % 11 == 5
        case_id = console.act(
            CLERK,
            received,
            svc.create_case,
            svc.NewCase(
                channel=CHANNELS[n % len(CHANNELS)],
                title=title,
                body=body,
                received_at=received,
                external_id=ext,
                author=f"A{1000 + n}",
                contact="138****5678",
                region="A市",
                category=category,
                kind="complaint" if n % 2 else "help",
                urgency="urgent" if urgent else "normal",
                addressee="市长",
            ),
        )
        console.ids[f"c{n}"] = case_id
        stage = n % 8
        step = received + timedelta(hours=2)
        if stage == 0:
            continue  # new
        console.act(CLERK, step, svc.accept_case, case_id)
        if stage == 1:
            continue  # to assign
        console.act(
            CLERK,
            step + timedelta(hours=1),
            svc.assign_case,
            case_id,
            lead="C-HOUSING",
            co_units=["C-TRANSPORT"] if n % 3 == 0 else [],
            note="请核实并按时答复",
        )
        if stage == 2:
            continue
        if stage == 3:
            console.act(
                SUPERVISOR,
                NOW - timedelta(hours=3),
                svc.supervise_case,
                case_id,
                level="催办",
                note="请尽快办理",
            )
            continue
        if stage == 4:
            console.act(
                HANDLER,
                step + timedelta(days=1),
                svc.draft_reply,
                case_id,
                text="经核实，已安排处理。",
                final=True,
                outcome="支持",
            )
            console.act(HANDLER, step + timedelta(days=1, hours=1), svc.submit_reply, case_id)
            continue
        if stage == 5:
            console.act(HANDLER, step + timedelta(days=1), svc.acknowledge_case, case_id)
            continue
        console.act(
            HANDLER,
            step + timedelta(days=2),
            svc.draft_reply,
            case_id,
            text="您好，您反映的问题已转交相关部门处理。",
            final=True,
            outcome="解释说明",
        )
        console.act(HANDLER, step + timedelta(days=2, hours=1), svc.submit_reply, case_id)
        console.act(CLERK, step + timedelta(days=2, hours=2), svc.publish_reply, case_id)
        if stage == 7:
            console.act(CLERK, step + timedelta(days=3), svc.close_case, case_id)


def open_console(tmp_path: Path, rules: Rules, count: int = 24) -> Console:
    from caseworker.services.clocks import recompute_if_calendar_changed
    from caseworker.store.engine import open_store

    path = tmp_path / "console.sqlite"
    store = open_store(str(path))
    populate_bureau(store)
    with store.session() as session:
        recompute_if_calendar_changed(session, rules, NOW)
    console = Console(store=store, rules=rules, path=path, ids={})
    fill(console, count)
    return console


def copy_console(template: Console, tmp_path: Path) -> Console:
    """A fresh copy of a filled store (filling it through the services takes seconds)."""
    import shutil

    from caseworker.store.engine import open_store

    path = tmp_path / template.path.name
    shutil.copyfile(template.path, path)
    return Console(
        store=open_store(str(path)), rules=template.rules, path=path, ids=dict(template.ids)
    )


@pytest.fixture(scope="session")
def console_template(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Any:
    """The filled store, built once per test run and checkpointed into one file."""
    from sqlalchemy import text

    opened = open_console(tmp_path_factory.mktemp("console"), rules)
    with opened.store.engine.connect() as connection:
        connection.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
    opened.store.close()
    return opened


@pytest.fixture
def console(console_template: Console, tmp_path: Path) -> Any:
    opened = copy_console(console_template, tmp_path)
    try:
        yield opened
    finally:
        opened.store.close()


__all__ = ["CLERK", "HANDLER", "NOW", "SUPERVISOR", "Console", "open_console"]
