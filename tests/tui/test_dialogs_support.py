"""Support for the dialog tests (no tests here): a small bureau on a real SQLite file, and a
host app that provides what the console provides.

The host app has what a case action asks of the console (the services' facade `services` and
the `catalog`), so the dialogs and `start_action` run exactly as they do in the console;
its one screen records the `CaseChanged` / `ActionRefused` messages the dialogs send.
Case titles, bodies, authors and ids come from the real 2020 Teddy Cup messages.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from caseworker.clock import FrozenClock
from caseworker.config import Settings
from caseworker.domain.calendar import SHANGHAI
from caseworker.i18n.catalog import Catalog
from caseworker.screens.case_actions import start_action
from caseworker.screens.messages import ActionRefused, CaseChanged
from caseworker.services import cases as svc
from caseworker.services.cases import Desk, NewCase
from caseworker.services.console import Console
from caseworker.services.people import add_clerk, find_unit, import_units
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import Store, open_store

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "tests" / "data" / "datasets"
MESSAGES = DATASETS / "tipdm2020" / "attachment2-labelled-sample.xlsx"

NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)  # a Thursday morning, as in docs/console.md

UNITS_CSV = """name,parent,level,code
A市人民政府,,city,A
A3区人民政府,A,county,A3
A3区教育局,A3,department,A3-EDU
A3区住房和城乡建设局,A3,department,A3-HOUSING
A3区自然资源局,A3,department,A3-LAND
A市交通运输局,A,department,A-TRANSPORT
K8县人民政府,A,county,K8
K8县城市管理局,K8,department,K8-CITY
"""

CLERK = "张敏"  # 受理员
SUPERVISOR = "王刚"  # 督查
HANDLER = "李娜"  # handler of A3区教育局
OTHER_CLERK = "陈静"  # another clerk, who changes cases behind the first one's back


def real_messages(count: int) -> list[dict[str, str]]:
    """The first `count` non-empty messages of the labelled sample, whitespace trimmed."""
    import openpyxl

    book = openpyxl.load_workbook(MESSAGES, read_only=True)
    out: list[dict[str, str]] = []
    try:
        rows = book.active.iter_rows(min_row=2, values_only=True)
        for number, user, title, _when, body, category in rows:
            if not title:
                continue
            out.append(
                {
                    "external_id": str(number),
                    "author": str(user),
                    "title": str(title).strip(),
                    "body": str(body).strip().replace("\u3000", ""),
                    "category": str(category),
                }
            )
            if len(out) == count:
                break
    finally:
        book.close()
    return out


@dataclass(frozen=True)
class Bureau:
    """Where the store file is, the rules, and the ids of the cases in each state."""

    database: Path
    rules: Rules
    cases: dict[str, int]

    def open(self) -> Store:
        return open_store(str(self.database), create=False)

    def desk(self, clerk: str, at: datetime = NOW) -> Desk:
        return Desk(rules=self.rules, clock=FrozenClock(at), clerk=clerk)


def build_bureau(folder: Path, rules: Rules) -> Bureau:
    """Units, clerks and cases in every state a dialog starts from, plus closed history."""
    database = folder / "caseworker.sqlite"
    store = open_store(str(database))
    messages = iter(real_messages(14))
    ids: dict[str, int] = {}

    def act(clerk: str, at: datetime, action: Any, *args: Any, **kw: Any) -> Any:
        with store.session() as session:
            return action(session, Desk(rules, FrozenClock(at), clerk), *args, **kw)

    def receive(name: str, at: datetime) -> int:
        m = next(messages)
        data = NewCase(
            channel="leader-board",
            received_at=at,
            external_id=m["external_id"],
            author=m["author"],
            title=m["title"],
            body=m["body"],
            category=m["category"],
        )
        ids[name] = int(act(CLERK, at, svc.create_case, data))
        return ids[name]

    def assign(case_id: int, at: datetime) -> None:
        act(CLERK, at, svc.accept_case, case_id)
        act(CLERK, at, svc.assign_case, case_id, lead="A3-EDU")
        act(HANDLER, at, svc.acknowledge_case, case_id)

    def publish(case_id: int, at: datetime, outcome: str = "解释说明") -> None:
        act(
            HANDLER,
            at,
            svc.draft_reply,
            case_id,
            text="经核实，已处理。",
            final=True,
            outcome=outcome,
        )
        act(HANDLER, at, svc.submit_reply, case_id)
        act(CLERK, at, svc.publish_reply, case_id)

    try:
        with store.session() as session:
            import_units(session, UNITS_CSV)
            add_clerk(session, CLERK, "clerk")
            add_clerk(session, SUPERVISOR, "supervisor")
            add_clerk(session, HANDLER, "handler", "A3-EDU")
            add_clerk(session, OTHER_CLERK, "clerk")
            assert find_unit(session, "A3-EDU").id is not None

        # History of A3区教育局: three close deadlines (60 日 from receipt) fell in the last 90
        # days; two were met, one was missed -> 按期 66.7%.
        for n, (received_days_ago, closed_days_ago) in enumerate([(80, 70), (75, 60), (100, 20)]):
            received = NOW - timedelta(days=received_days_ago)
            case_id = receive(f"history{n}", received)
            assign(case_id, received + timedelta(hours=2))
            publish(case_id, NOW - timedelta(days=closed_days_ago + 1))
            act(CLERK, NOW - timedelta(days=closed_days_ago), svc.close_case, case_id)

        receive("new", NOW - timedelta(hours=1))
        accepted = receive("accepted", NOW - timedelta(days=2))
        act(CLERK, NOW - timedelta(days=1), svc.accept_case, accepted)
        handling = receive("handling", NOW - timedelta(days=6))
        assign(handling, NOW - timedelta(days=5))
        submitted = receive("submitted", NOW - timedelta(days=8))
        assign(submitted, NOW - timedelta(days=7))
        act(
            HANDLER,
            NOW - timedelta(days=1),
            svc.draft_reply,
            submitted,
            text=f"网友“{'A0009647'}”您好！经A3区教育局核实，该校已按规定整改。\nA3区教育局\n2025年11月19日",
            final=True,
            outcome="支持",
        )
        act(HANDLER, NOW - timedelta(days=1), svc.submit_reply, submitted)
        replied = receive("replied", NOW - timedelta(days=12))
        assign(replied, NOW - timedelta(days=11))
        publish(replied, NOW - timedelta(days=2))
        closed = receive("closed", NOW - timedelta(days=30))
        assign(closed, NOW - timedelta(days=29))
        publish(closed, NOW - timedelta(days=10))
        act(CLERK, NOW - timedelta(days=9), svc.close_case, closed)
        # The citizen's 不满意 is what lets the bureau reopen it (重办).
        act(
            CLERK,
            NOW - timedelta(days=8),
            svc.rate_case,
            closed,
            value="不满意",
            comment="问题没有解决",
        )
        extended = receive("extension", NOW - timedelta(days=20))
        assign(extended, NOW - timedelta(days=19))
        act(
            HANDLER,
            NOW - timedelta(days=1),
            svc.request_extension,
            extended,
            days=15,
            reason="需协调规划和住建部门现场勘查",
        )
        paused = receive("paused", NOW - timedelta(days=4))
        assign(paused, NOW - timedelta(days=3))
        act(CLERK, NOW - timedelta(days=2), svc.pause_case, paused, reason="等待网民补充材料")
    finally:
        store.close()
    return Bureau(database, rules, ids)


class HostScreen(Screen[None]):
    """Stands in for the queue / case view: it starts actions and records what comes back."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: list[int] = []
        self.refused: list[str] = []

    def compose(self) -> ComposeResult:
        yield Static(Text("caseworker"))

    def on_case_changed(self, message: CaseChanged) -> None:
        self.changed.append(message.case_id)

    def on_action_refused(self, message: ActionRefused) -> None:
        self.refused.append(message.text)
        self.notify(message.text, severity="warning", markup=False)


class HostApp(App[None]):
    """What a case action asks of the console (screens.case_actions.ActionHost), and no more."""

    def __init__(self, settings: Settings, store: Store, rules: Rules) -> None:
        super().__init__()
        self.settings = settings
        self.store = store  # for the tests' own reads and closing
        self.services = Console(store, rules, settings)
        self.catalog = Catalog(settings.language)
        self.host = HostScreen()

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(self.host)


def host_app(bureau: Bureau, clerk: str = CLERK, lang: str = "zh") -> HostApp:
    settings = Settings(database=str(bureau.database), clerk=clerk, language=lang, now=NOW)
    return HostApp(settings, bureau.open(), bureau.rules)


def copy_bureau(template: Bureau, folder: Path) -> Bureau:
    """A private copy of the prepared store, so every test starts from the same bureau."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / template.database.name
    shutil.copyfile(template.database, target)
    return Bureau(target, template.rules, dict(template.cases))


def rules_of_the_house() -> Rules:
    data = ROOT / "data"
    return load_rules(data / "policy.toml", data / "calendar.toml")


async def open_dialog(pilot: Any, action: str, case_id: int) -> Any:
    """Start an action from the host screen and wait until its dialog is up (or refused)."""
    app = pilot.app
    start_action(app.host, action, case_id)
    await settle(pilot)
    return app.screen


def top(app: Any) -> Any:
    """The screen on top now, read afresh (keys and workers change it between two reads)."""
    return app.screen


async def settle(pilot: Any) -> None:
    """Wait for every worker and the messages they posted; no sleeping."""
    app = pilot.app
    for _ in range(4):
        await app.workers.wait_for_complete()
        await pilot.pause()
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test with asyncio.run (no async plugin needed); fixtures still apply."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run
