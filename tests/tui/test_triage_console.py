"""Triage in the console: the case view's suggested category (K accepts it, recorded as an
accepted suggestion), and the supervisor screen's 共性问题 panel, whose cases a supervisor
links as one common issue. Snapshots at 120x36 in Chinese; each was looked at before it was
accepted (the suggestion line under the case's head; the cluster's cases oldest first)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from console_data import CLERK, NOW, SUPERVISOR, Console
from rich.text import Text
from sqlmodel import select
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

SIZE = (120, 36)


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def train(console: Console) -> None:
    """A model of the console's 24 labelled cases (few: enough to suggest, not to be good)."""
    from caseworker.services.triage import train as train_model

    result = train_model(console.store, clerk=CLERK, now=NOW, min_cases=10)
    assert result.model_id is not None


def shown(widget: Any) -> str:
    content = widget.content
    return content.plain if isinstance(content, Text) else str(content)


@sync
async def test_the_case_view_shows_the_suggestion_and_k_accepts_it(console: Console) -> None:
    from caseworker.screens.case import CaseScreen
    from caseworker.services.cases import case_history, find_case
    from caseworker.services.triage import triage_stats

    case_id = console.ids["c0"]
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CaseScreen(case_id))
        await settle(pilot)
        assert not app.screen.query_one("#case-suggest").display  # no model yet: no line
    train(console)
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CaseScreen(case_id))
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen) and screen.suggestion is not None
        suggested = screen.suggestion.category
        assert "建议分类" in shown(screen.query_one("#case-suggest")) and suggested in shown(
            screen.query_one("#case-suggest")
        )
        await pilot.press("K")
        await settle(pilot)
    with console.store.session() as session:
        assert find_case(session, case_id).category == suggested
        last = case_history(session, case_id, clerk=None)[-1]
        assert last.action == "categorise"
        figures = triage_stats(session)
        assert (figures.categorised, figures.accepted) == (1, 1)


async def _matters(pilot: Pilot[Any]) -> DataTable[Any]:
    """The supervisor screen with its 共性问题 panel focused on the hottest matter."""
    await settle(pilot)
    await pilot.press("D")
    await settle(pilot)
    table = pilot.app.screen.query_one("#clusters", DataTable)
    assert table.row_count >= 1
    table.focus()
    await pilot.pause()
    return table


@sync
async def test_enter_on_a_matter_opens_its_cases_as_a_queue(console: Console) -> None:
    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.screens.queue import QueueScreen
    from caseworker.store.queries import QueueKey
    from caseworker.widgets.case_table import CaseTable

    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await _matters(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        cluster = dashboard.clusters[0]
        ids = sorted(d.id for d in cluster.docs)
        assert len(ids) >= 3
        await pilot.press("enter")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        assert queue.queue is QueueKey.ALL
        assert queue.filters.case_ids == tuple(ids)
        assert sorted(line.id for line in queue.query_one(CaseTable).lines) == ids
        assert cluster.label in shown(queue.query_one("#queue-title"))
        # The filter dialog's other choices keep the matter's cases narrowed.
        assert queue.filters.active()


@sync
async def test_l_on_a_matter_links_its_cases_as_one_common_issue(console: Console) -> None:
    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.store.models import CommonIssueCase, CommonIssueRow

    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await _matters(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        label, ids, issue = dashboard.matters[0]
        assert issue is None
        await pilot.press("l")
        await settle(pilot)
        await pilot.press("l")  # twice: already recorded, nothing new
        await settle(pilot)
        assert dashboard.matters[0][2] is not None
    with console.store.session() as session:
        issue_row = session.exec(select(CommonIssueRow)).one()
        assert issue_row.created_by == SUPERVISOR and issue_row.title == label
        members = session.exec(
            select(CommonIssueCase.case_id).where(CommonIssueCase.issue_id == issue_row.id)
        ).all()
        assert sorted(members) == ids
    # Opened again, the panel finds the recorded issue behind the same matter.
    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await _matters(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        recorded = dashboard.matters[0][2]
        assert recorded is not None and recorded.id == issue_row.id


@sync
async def test_a_recorded_issue_is_listed_and_b_writes_its_brief(
    console: Console, tmp_path: Path, monkeypatch: Any
) -> None:
    from docx import Document

    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.screens.dialogs.documents import DocumentsDialog
    from caseworker.services.triage import record_common_issue
    from caseworker.store.models import EventRow

    monkeypatch.chdir(tmp_path)
    picked = [console.ids["c1"], console.ids["c2"]]
    issue = console.act(
        SUPERVISOR, NOW, record_common_issue, title="某小区车位捆绑销售", case_ids=picked
    )
    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        table = await _matters(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        row = next(n for n, m in enumerate(dashboard.matters) if m[2] and m[2].id == issue)
        assert "某小区车位捆绑销售" in str(table.get_row_at(row)[1])
        table.move_cursor(row=row)
        await pilot.pause()
        await pilot.press("B")
        await settle(pilot)
        dialog = app.screen
        assert isinstance(dialog, DocumentsDialog)
        assert "某小区车位捆绑销售" in dialog.heading
        assert "江信专〔2025〕1号" in str(dialog.query_one("#number").render())
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "已写入" in str(dialog.query_one("#status").render())
    written = tmp_path / f"信访专报-{min(picked)}.docx"
    text = "\n".join(p.text for p in Document(str(written)).paragraphs)
    assert "某小区车位捆绑销售" in text
    with console.store.session() as session:
        noted = session.exec(
            select(EventRow.case_id).where(EventRow.action == "issue_document")
        ).all()
        assert sorted(noted) == sorted(picked)


@sync
async def test_b_without_a_matter_under_the_cursor_says_what_to_do(console: Console) -> None:
    from caseworker.screens.dashboard import DashboardScreen

    app = console.app(clerk=SUPERVISOR, lang="en", poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("D")
        await settle(pilot)
        await pilot.press("B")  # the overdue table has the focus
        await settle(pilot)
        assert isinstance(app.screen, DashboardScreen)
        assert any("common issues panel" in str(n.message) for n in app._notifications)


async def _case_with_suggestion(pilot: Pilot[Any]) -> None:
    from caseworker.screens.case import CaseScreen

    await settle(pilot)
    pilot.app.push_screen(CaseScreen(pilot.app.case_for_snapshot))  # type: ignore[attr-defined]
    await settle(pilot)


def test_case_view_with_suggestion_snapshot(console: Console, snap_compare: Any) -> None:
    train(console)
    app = console.app(poll_seconds=3600)
    app.case_for_snapshot = console.ids["c1"]
    assert snap_compare(app, terminal_size=SIZE, run_before=_case_with_suggestion)


async def _matter_queue(pilot: Pilot[Any]) -> None:
    await _matters(pilot)
    await pilot.press("enter")
    await settle(pilot)


def test_matter_queue_snapshot(console: Console, snap_compare: Any) -> None:
    app = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    assert snap_compare(app, terminal_size=SIZE, run_before=_matter_queue)


def train_with_units(console: Console) -> None:
    """Units to learn from: the console's cases led by the housing bureau, and four more led by
    the education and transport bureaus (test_dashboard.add_other_units)."""
    from test_dashboard import add_other_units

    from caseworker.services.triage import train as train_model

    add_other_units(console)
    result = train_model(console.store, clerk=CLERK, now=NOW, min_cases=10)
    assert result.units >= 2


async def _assign_dialog(pilot: Pilot[Any]) -> None:
    from caseworker.screens.case import CaseScreen

    await settle(pilot)
    pilot.app.push_screen(CaseScreen(pilot.app.case_for_snapshot))  # type: ignore[attr-defined]
    await settle(pilot)
    await pilot.press("a")
    await settle(pilot)
    # The search field's cursor shown steadily: a blinking one was drawn or not by the
    # moment the snapshot was taken, which a loaded machine moves.
    for field in pilot.app.screen.query(Input):
        field.cursor_blink = False
    await pilot.pause()


@sync
async def test_the_assign_dialog_lists_suggested_units_first_and_chooses_none(
    console: Console,
) -> None:
    from textual.widgets import OptionList

    from caseworker.screens.dialogs.assign import AssignDialog

    train_with_units(console)
    app = console.app(poll_seconds=3600)
    app.case_for_snapshot = console.ids["c1"]
    async with app.run_test(size=SIZE) as pilot:
        await _assign_dialog(pilot)
        dialog = app.screen
        assert isinstance(dialog, AssignDialog)
        suggested = [unit for unit, _ in dialog.data.suggested]
        assert 1 <= len(suggested) <= 3
        assert [u.id for u in dialog.shown[: len(suggested)]] == suggested
        options = dialog.query_one("#candidates", OptionList)
        first = options.get_option_at_index(0).prompt
        assert "★" in str(getattr(first, "plain", first))
        assert dialog.lead is None and dialog.co_units == []  # nothing chosen for the clerk


def test_assign_dialog_with_suggestions_snapshot(console: Console, snap_compare: Any) -> None:
    train_with_units(console)
    app = console.app(poll_seconds=3600)
    app.case_for_snapshot = console.ids["c1"]
    assert snap_compare(app, terminal_size=SIZE, run_before=_assign_dialog)


def test_queue_marks_a_repeat_snapshot(console: Console, snap_compare: Any) -> None:
    """Case c9 linked as a repeat of c1: its row's title opens with 重复#<c1's id>."""
    from test_console_snapshots import _queue

    from caseworker.services import cases as svc
    from caseworker.store.queries import QueueKey

    console.act(CLERK, NOW, svc.link_repeat, console.ids["c9"], original=console.ids["c1"])
    app = console.app(poll_seconds=3600)
    assert snap_compare(app, terminal_size=SIZE, run_before=_queue(QueueKey.ALL))


@sync
async def test_the_panel_keys_are_in_the_help(console: Console) -> None:
    from caseworker.screens.help import HelpScreen

    app = console.app(clerk=SUPERVISOR, lang="en", poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await _matters(pilot)
        await pilot.press("question_mark")
        await settle(pilot)
        assert isinstance(app.screen, HelpScreen)
        rows = app.screen.rows
        assert ("l", "link as one issue", "dashboard.link_issue") in rows
        assert ("B", "brief", "dashboard.brief") in rows
