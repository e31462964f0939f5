"""The console driven with Pilot: queues, paging, case view, search, keys, live changes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from console_data import CLERK, HANDLER, NOW, SUPERVISOR, Console, open_console
from sqlmodel import col, select
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static
from textual.worker import WorkerCancelled

from caseworker.domain.deadlines import ClockState
from caseworker.domain.lifecycle import OPEN_STATES
from caseworker.screens.queue import QueueList, queues_for
from caseworker.services import cases as svc
from caseworker.services.clocks import case_clocks, load_records
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow, ReplyRow, SupervisionRow
from caseworker.store.queries import QueueKey
from caseworker.widgets.case_table import CaseTable
from caseworker.widgets.kinsoku import NO_START
from caseworker.widgets.message_text import MessageText

SIZE = (120, 36)


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on its own event loop (no async plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(pilot: Pilot[Any]) -> None:
    """Let every worker finish and its messages land (no sleeping on a guess). A worker that a
    newer one of its group cancelled meanwhile (a fast poll's) is done too."""
    for _ in range(3):
        with contextlib.suppress(WorkerCancelled):
            await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def as_text(renderable: Any) -> str:
    """What a Rich renderable shows, as plain text."""
    from rich.console import Console as RichConsole

    out = RichConsole(width=100, record=True, file=io.StringIO())
    out.print(renderable)
    return out.export_text()


def screen_text(app: Any) -> str:
    """The text on screen, row by row, as the snapshot's SVG draws it."""
    import html
    import re

    rows: dict[float, list[tuple[float, str]]] = {}
    svg = app.export_screenshot()
    for m in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        rows.setdefault(float(m.group(2)), []).append(
            (float(m.group(1)), html.unescape(m.group(3)).replace("\xa0", " "))
        )
    return "\n".join("".join(t for _, t in sorted(rows[y])) for y in sorted(rows))


def top(app: Any) -> Any:
    """The screen on top now, read afresh (keys and workers change it between two reads)."""
    return app.screen


def table_of(pilot: Pilot[Any]) -> CaseTable:
    return pilot.app.screen.query_one(CaseTable)


def expected_queues(console: Console) -> dict[QueueKey, set[int]]:
    """Queue membership computed in Python from the rows and the domain clocks."""
    out: dict[QueueKey, set[int]] = {key: set() for key in QueueKey}
    open_values = {s.value for s in OPEN_STATES}
    with console.store.session() as session:
        rows = session.exec(select(CaseRow)).all()
        submitted = {
            r.case_id for r in session.exec(select(ReplyRow)).all() if r.state == "submitted"
        }
        supervised = {s.case_id for s in session.exec(select(SupervisionRow)).all()}
        for case in rows:
            assert case.id is not None
            cid = case.id
            out[QueueKey.ALL].add(cid)
            is_open = case.status in open_values
            clocks = case_clocks(
                case, load_records(session, cid, case.clock_started_at), console.rules, NOW
            )
            running = [c for c in clocks if c.state is not ClockState.STOPPED]
            overdue = any(c.is_overdue(NOW) for c in running)
            simple = {
                "received": QueueKey.RECEIVED,
                "accepted": QueueKey.ACCEPTED,
                "replied": QueueKey.REPLIED,
                "closed": QueueKey.CLOSED,
            }
            if case.status in simple:
                out[simple[case.status]].add(cid)
            if case.status in ("assigned", "acknowledged"):
                out[QueueKey.HANDLING].add(cid)
            if not is_open:
                continue
            if cid in submitted:
                out[QueueKey.REVIEW].add(cid)
            if overdue:
                out[QueueKey.OVERDUE].add(cid)
            elif any(c.needs_warning(NOW) for c in running):
                out[QueueKey.DUE_SOON].add(cid)
            if cid in supervised:
                out[QueueKey.SUPERVISED].add(cid)
            if case.updated_by == CLERK:
                out[QueueKey.MINE].add(cid)
    return out


@sync
async def test_sidebar_counts_and_every_queue_match_the_rows(console: Console) -> None:
    expected = expected_queues(console)
    assert expected[QueueKey.OVERDUE] and expected[QueueKey.DUE_SOON]  # the fixture has both
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        counts = screen.query_one("#queues").counts
        # Every queue the sidebar lists for the clerk's role is counted, and only those.
        listed = queues_for(app.role, screen.queue)
        assert QueueKey.EXTENSIONS not in listed  # the supervisors' queue
        assert counts == {k: len(expected[k]) for k in listed}
        for key in QueueKey:
            screen.switch_queue(key)
            await settle(pilot)
            lines = table_of(pilot).lines
            assert {line.id for line in lines} == expected[key], key
            keys = [line.key for line in lines]
            assert keys == sorted(keys), f"{key} is not ordered by (next_due_at, id)"


@sync
async def test_the_narrow_queue_bar_always_shows_the_chosen_queue(console: Console) -> None:
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        bar = app.screen.query_one("#queue-bar")
        seen = {}
        for key in QueueKey:
            app.screen.switch_queue(key)
            await settle(pilot)
            seen[key] = shown = bar.render_line(0).text
            label = app.t(f"queue.{key.value}")
            assert f"[{label} " in shown, (key, shown)  # chosen: in brackets, with its count
        assert not seen[QueueKey.RECEIVED].startswith("‹")  # the first: nothing to its left
        assert seen[QueueKey.ALL].startswith("‹")  # the last: the first ones gave way
        await pilot.resize_terminal(70, 24)  # narrower still: the bar follows
        await settle(pilot)
        assert f"[{app.t('queue.all')} " in bar.render_line(0).text


@sync
async def test_tab_switches_queue_and_enter_opens_the_case(console: Console) -> None:
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.queue is QueueKey.ACCEPTED
        await pilot.press("tab")
        await settle(pilot)
        assert top(app).queue is QueueKey.HANDLING
        table = table_of(pilot)
        await pilot.press("j")
        chosen = table.current
        assert chosen is not None and table.cursor == 1
        await pilot.press("enter")
        await settle(pilot)
        from caseworker.screens.case import CaseScreen

        assert isinstance(app.screen, CaseScreen)
        assert app.screen.detail is not None and app.screen.detail.id == chosen.id
        message = app.screen.query_one("#case-message", MessageText)
        drawn = [message.render_line(y).text.rstrip() for y in range(message.size.height)]
        body = "".join(drawn)
        assert len(drawn) > 2 and not any(line[:1] in NO_START for line in drawn[1:])
        with console.store.session() as session:
            row = session.get(CaseRow, chosen.id)
            assert row is not None
            assert row.body.split()[0][:20] in body
        timeline = as_text(app.screen.query_one("#case-history", Static).content)
        assert f"{CLERK} 交办 → 已交办：请核实并按时答复" in " ".join(timeline.split())
        await pilot.press("escape")
        await settle(pilot)
        assert top(app).queue is QueueKey.HANDLING
        assert table_of(pilot).current == chosen  # the cursor did not move


@sync
async def test_opening_claims_the_case_and_take_next_skips_it_for_others(
    console: Console,
) -> None:
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        first = table_of(pilot).lines[0].id
        await pilot.press("enter")
        await settle(pilot)
        await pilot.press("escape")
    # Another clerk, a minute later, is offered the next case instead of the one being worked.
    other = console.app(clerk=SUPERVISOR, poll_seconds=3600)
    async with other.run_test(size=SIZE) as pilot:
        await settle(pilot)
        second = table_of(pilot).lines[1].id
        await pilot.press("n")
        await settle(pilot)
        assert other.screen.case_id == second != first


@sync
async def test_another_clerks_draft_saved_again_shows_in_the_case_view(console: Console) -> None:
    from caseworker.screens.case import CaseScreen

    case_id = console.ids["c5"]  # acknowledged by the lead unit's handler
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.push_screen(CaseScreen(case_id))
        await settle(pilot)
        events = []
        for text in ("初稿：正在核实现场情况", "二稿：已核实，本周内修复路灯"):
            console.act(HANDLER, NOW, svc.draft_reply, case_id, text=text)
            with console.store.session() as session:
                events.append(len(svc.case_history(session, case_id, clerk=None)))
            app.screen.poll()  # what its timer does every few seconds
            await settle(pilot)
            shown = "".join(as_text(app.screen.query_one("#case-records").content).split())
            assert text in shown
        assert events[1] == events[0]  # the second save continued the draft: no new event


@sync
async def test_the_case_view_shows_a_request_that_lapsed_with_the_close(console: Console) -> None:
    """A request still awaiting its decision when the case was closed reads 已失效 among the
    records, and the close in the history says it lapsed, in either language."""
    from caseworker.screens.case import CaseScreen

    case_id = console.ids["c5"]  # acknowledged by the lead unit's handler
    at = NOW - timedelta(hours=5)
    console.act(HANDLER, at, svc.request_extension, case_id, days=10, reason="需现场勘查")
    console.act(
        HANDLER,
        at + timedelta(hours=1),
        svc.draft_reply,
        case_id,
        text="已安排处理。",
        final=True,
        outcome="支持",
    )
    console.act(HANDLER, at + timedelta(hours=2), svc.submit_reply, case_id)
    console.act(CLERK, at + timedelta(hours=3), svc.publish_reply, case_id)
    console.act(CLERK, at + timedelta(hours=4), svc.close_case, case_id)
    for lang, note, state in (
        ("zh", "办结→已办结·待批延期申请随之失效", "·已失效·"),
        ("en", "closed·pendingextensionlapsed", "·lapsed·"),
    ):
        app = console.app(lang=lang, poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.push_screen(CaseScreen(case_id))
            await settle(pilot)
            history = "".join(as_text(app.screen.query_one("#case-history").content).split())
            records = "".join(as_text(app.screen.query_one("#case-records").content).split())
        assert note in history, history
        assert state in records, records


def long_queue(tmp_path: Path, rules: Rules) -> tuple[Console, list[int]]:
    """A console whose 待受理 queue holds 260 cases (three keyset pages), and their ids in order."""
    from caseworker.clock import FrozenClock

    console = open_console(tmp_path, rules, count=8)
    desk = svc.Desk(rules=rules, clock=FrozenClock(NOW), clerk=CLERK)
    with console.store.session() as session:
        for n in range(260):
            received = NOW - timedelta(hours=n * 3 % 400, minutes=n)
            session.add(
                svc.build_case(
                    svc.NewCase(
                        channel="leader-board",
                        title=f"第{n}件：路灯不亮",
                        body="小区路灯坏了。",
                        received_at=received,
                        external_id=f"bulk-{n}",
                    ),
                    desk,
                    CLERK,
                )
            )
    with console.store.session() as session:
        query = (
            select(CaseRow.id)
            .where(CaseRow.status == "received")
            .order_by(col(CaseRow.next_due_at), col(CaseRow.id))
        )
        expected = list(session.exec(query).all())
    return console, expected


@sync
async def test_keyset_paging_walks_a_long_queue_in_order(tmp_path: Path, rules: Rules) -> None:
    console, expected = long_queue(tmp_path, rules)
    try:
        app = console.app(poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.screen.switch_queue(QueueKey.RECEIVED)
            await settle(pilot)
            table = table_of(pilot)
            assert len(table.lines) == 100  # one page, not the queue
            seen = [table.current.id] if table.current else []
            await pilot.press("down")  # one real key; then the same action, without redraws
            assert table.current is not None
            seen.append(table.current.id)
            while len(seen) < len(expected):
                table.action_cursor_down()
                if table.fetching:
                    await settle(pilot)
                assert table.current is not None
                seen.append(table.current.id)
            assert seen == expected
            assert table.at_end
            await pilot.press("pageup")
            await settle(pilot)
            assert table.current is not None
            assert table.current.id == expected[len(expected) - 1 - table.visible_rows]
    finally:
        console.store.close()


@sync
async def test_paging_ahead_of_the_rows_lands_where_the_keys_said(
    tmp_path: Path, rules: Rules
) -> None:
    console, expected = long_queue(tmp_path, rules)
    try:
        app = console.app(poll_seconds=3600)
        async with app.run_test(size=SIZE) as pilot:
            await settle(pilot)
            app.screen.switch_queue(QueueKey.RECEIVED)
            await settle(pilot)
            table = table_of(pilot)
            screen = table.visible_rows
            table.action_page_down()
            assert not table.fetching
            table.action_page_down()
            assert table.fetching  # asked for while the cursor is still two screens from the end
            await settle(pilot)
            assert len(table.lines) == 200 and table.current == table.lines[2 * screen]
            for _ in range(6):  # faster than any page can load: nothing is waited for here
                table.action_page_down()
            assert table.cursor == len(table.lines) - 1 and table.pending > 0
            await settle(pilot)
            assert table.current is not None
            assert table.current.id == expected[8 * screen]
            for _ in range(8):
                table.action_page_up()
            await settle(pilot)
            assert table.current is not None and table.current.id == expected[0]
    finally:
        console.store.close()


def _common_word(texts: dict[int | None, str], size: int) -> str:
    """A Chinese word of `size` characters found in some of the cases, but not all."""
    counts: dict[str, int] = {}
    for text in texts.values():
        for word in {text[i : i + size] for i in range(len(text) - size + 1)}:
            if all("\u4e00" <= ch <= "\u9fff" for ch in word):
                counts[word] = counts.get(word, 0) + 1
    fitting = [w for w, n in counts.items() if 2 <= n <= len(texts) // 2]
    return max(sorted(fitting), key=lambda w: counts[w])


@sync
async def test_search_finds_one_two_and_longer_chinese_words(console: Console) -> None:
    with console.store.session() as session:
        rows = session.exec(select(CaseRow)).all()
        texts = {r.id: r.title + r.body for r in rows}
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.ALL)
        await settle(pilot)
        one, two, four = (_common_word(texts, n) for n in (1, 2, 4))
        for term in (one, two, four, f"{two} {one}"):
            expected = {i for i, text in texts.items() if all(w in text for w in term.split())}
            assert expected, term
            await pilot.press("slash")
            search = app.screen.query_one("#search")
            search.value = term
            await pilot.press("enter")
            await settle(pilot)
            assert {line.id for line in table_of(pilot).lines} == expected, term
            assert app.screen.shown_count == len(expected)
        await pilot.press("escape")
        await settle(pilot)
        assert len(table_of(pilot).lines) == len(texts)


@sync
async def test_search_and_goto_find_a_case_by_its_number_or_external_id(console: Console) -> None:
    """Citizens quote the case number or the board's id on the phone: `/644` and `:` find it."""
    from caseworker.screens.case import CaseScreen
    from caseworker.screens.goto import GotoScreen
    from caseworker.screens.queue import QueueScreen

    with console.store.session() as session:
        rows = {r.id: r for r in session.exec(select(CaseRow)).all()}
    target = rows[console.ids["c7"]]
    assert target.id is not None and target.external_id
    assert str(target.id) not in target.title + target.body  # found by number, not by text
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        queue.switch_queue(QueueKey.ALL)
        await settle(pilot)
        for term in (str(target.id), f"#{target.id}", target.external_id):
            await pilot.press("slash")
            queue.query_one("#search", Input).value = term
            await pilot.press("enter")
            await settle(pilot)
            assert target.id in {line.id for line in table_of(pilot).lines}, term
        await pilot.press("escape")
        await settle(pilot)

        # `:` asks for a number and opens the case; the palette offers the same.
        for ref in (str(target.id), target.external_id):
            await pilot.press("colon")
            await pilot.pause()
            assert isinstance(app.screen, GotoScreen)
            app.screen.query_one("#ref", Input).value = ref
            await pilot.press("enter")
            await settle(pilot)
            assert isinstance(app.screen, CaseScreen), ref
            assert app.screen.case_id == target.id
            await pilot.press("escape")
            await settle(pilot)
        assert app.screen is queue
        commands = [c.title for c in app.get_system_commands(queue)]
        assert "转到案件" in commands

        # An unknown number: one notice in the clerk's language, still on the queue.
        await pilot.press("colon")
        await pilot.pause()
        app.screen.query_one("#ref", Input).value = "99999"
        await pilot.press("enter")
        await settle(pilot)
        assert app.screen is queue
        from textual.widgets._toast import Toast

        notices = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert notices == ["找不到案件 99999"], notices


@sync
async def test_a_long_case_history_opens_on_its_newest_events_and_scrolls(
    console: Console,
) -> None:
    """At 120x36 a long history ran past the panels' height: the newest events were cut off."""
    from textual.containers import VerticalScroll

    from caseworker.screens.case import CaseScreen

    case_id = console.ids["c3"]
    for n in range(16):  # a much-chased case: sixteen 催办, the newest last
        console.act(
            SUPERVISOR,
            NOW - timedelta(minutes=170 - 10 * n),  # after the fixture's own 催办
            svc.supervise_case,
            case_id,
            level="催办",
            note=f"第{n + 1}次催办",
        )
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.open_case(case_id)
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CaseScreen)
        timeline = screen.query_one("#case-timeline", VerticalScroll)
        assert timeline.max_scroll_y > 0  # more events than the panel holds ...
        assert timeline.scroll_y == timeline.max_scroll_y  # ... and it opens on the newest

        panels = screen_text(app).split("正文")[0]  # the records below the body list 督办 too
        assert "第16次催办" in panels and "第1次催办" not in panels, panels
        timeline.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        assert timeline.scroll_y == 0  # and the oldest can be scrolled to


@sync
async def test_filter_by_channel_and_unit_subtree(console: Console) -> None:
    from caseworker.screens.filter import FilterResult

    with console.store.session() as session:
        rows = session.exec(select(CaseRow)).all()
        board = {r.id for r in rows if r.channel == "leader-board"}
        from caseworker.services.people import find_unit

        city = find_unit(session, "C").id
        housing = find_unit(session, "C-HOUSING").id
        in_city = {r.id for r in rows if r.lead_unit_id == housing}
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.ALL)
        await settle(pilot)
        app.screen._apply_filter(FilterResult("leader-board", None, None, None, None))
        await settle(pilot)
        assert {line.id for line in table_of(pilot).lines} == board
        app.screen._apply_filter(FilterResult(None, None, city, None, None))
        await settle(pilot)
        assert {line.id for line in table_of(pilot).lines} == in_city
        await pilot.press("F")
        await settle(pilot)
        assert len(table_of(pilot).lines) == len(rows)


@sync
async def test_filter_dialog_opens_with_choices_and_applies(console: Console) -> None:
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.ALL)
        await settle(pilot)
        await pilot.press("f")
        await settle(pilot)
        from caseworker.screens.filter import FilterScreen

        assert isinstance(app.screen, FilterScreen)
        assert ("12345热线", "hotline-12345") in app.screen.choices.channels
        app.screen.query_one("#f-urgency", Select).value = "urgent"
        await pilot.click("#apply")
        await settle(pilot)
        assert top(app).filters.urgency == "urgent"
        lines = table_of(pilot).lines
        assert lines and all(line.urgency == "urgent" for line in lines)


@sync
async def test_changes_by_others_appear_without_moving_the_cursor(console: Console) -> None:
    app = console.app(poll_seconds=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.ALL)
        await settle(pilot)
        table = table_of(pilot)
        await pilot.press("down", "down", "down")
        kept = table.current
        assert kept is not None
        before = app.screen.query_one("#queues").counts[QueueKey.ACCEPTED]
        # Another clerk accepts a new case in the meantime, outside this console.
        received = console.ids["c0"]
        console.act(SUPERVISOR, NOW, svc.accept_case, received)

        def seen() -> tuple[int, str]:
            # The sidebar counts and the table's rows are fetched apart: wait for both.
            count = app.screen.query_one("#queues").counts[QueueKey.ACCEPTED]
            line = next(line for line in table.lines if line.id == received)
            return count, line.status

        for _ in range(50):
            await pilot.pause(0.1)
            await settle(pilot)
            if seen() == (before + 1, "accepted"):
                break
        assert seen() == (before + 1, "accepted"), "the other clerk's change never showed"
        assert table.current is not None, "the cursor was lost"
        assert table.current.id == kept.id, "the cursor moved to another case"


@sync
async def test_help_lists_keys_in_context_and_a_remapped_key(console: Console) -> None:
    app = console.app(poll_seconds=3600, keymap={"queue.search": "ctrl+s"})
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        from caseworker.screens.help import HelpScreen

        assert isinstance(app.screen, HelpScreen)
        rows = {binding_id: (keys, does) for keys, does, binding_id in app.screen.rows}
        assert rows["case.assign"] == ("a", "交办")
        assert rows["queue.next"][0] == "n" and rows["queue.filter"][0] == "f"
        assert rows["queue.search"][0] == "^s"  # remapped, and shown as remapped
        await pilot.press("escape")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen.query_one("#search").has_focus


@sync
async def test_palette_offers_and_runs_every_action_of_the_screen(console: Console) -> None:
    app = console.app(lang="en", poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        commands = {c.title: c for c in app.get_system_commands(app.screen)}
        for title in ("assign", "reply", "extension", "supervise", "merge", "back", "help"):
            assert title in commands, title
        assert "search" not in commands  # a queue key, not offered in the case view
        commands["back"].callback()
        await settle(pilot)
        assert app.screen.SCOPE == "queue"


@sync
async def test_palette_built_in_entries_speak_the_clerks_language(console: Console) -> None:
    """Textual's own entries (theme, quit, keys, screenshot) were English under zh."""
    from caseworker.app import BUILT_IN_COMMANDS

    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        commands = {c.title: c.help for c in app.get_system_commands(app.screen)}
        for title in ("配色主题", "退出", "按键说明", "截图", "转到案件"):
            assert title in commands, commands
        assert commands["截图"] == "将当前屏幕保存为 SVG 截图"
        english = {"Theme", "Quit", "Keys", "Screenshot", "Maximize", "Minimize"}
        assert not english & set(commands)
        assert not set(BUILT_IN_COMMANDS) & set(commands.values())  # no English help either


@sync
async def test_a_case_action_key_opens_its_dialog(console: Console) -> None:
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        from textual.screen import ModalScreen

        assert isinstance(app.screen, ModalScreen)


def test_a_row_marks_its_deadline_provisional_only_when_that_deadline_is() -> None:
    from caseworker.domain.calendar import SHANGHAI, WorkCalendar
    from caseworker.store.queue_types import CaseLine
    from caseworker.widgets.case_table import shows_provisional

    calendar = WorkCalendar()  # no bureau notices: 2035 is a year nobody has entered

    def line(due: datetime, provisional: bool) -> CaseLine:
        return CaseLine(
            id=1,
            channel="leader-board",
            title="t",
            category=None,
            lead_unit=None,
            status="received",
            urgency="normal",
            received_at=NOW,
            next_due_at=due,
            warn_at=due,
            provisional=provisional,
            paused=False,
        )

    exact = datetime(2025, 11, 25, 23, 59, 59, tzinfo=SHANGHAI)
    later = datetime(2035, 1, 19, 23, 59, 59, tzinfo=SHANGHAI)
    # The case's close deadline is provisional, the assign deadline the row shows is not.
    assert not shows_provisional(line(exact, provisional=True), calendar)
    assert shows_provisional(line(later, provisional=True), calendar)
    assert not shows_provisional(line(later, provisional=False), calendar)


def test_countdown_texts_and_moods(rules: Rules) -> None:
    from caseworker.i18n.catalog import Catalog
    from caseworker.widgets.countdown import Mood, countdown

    zh, en = Catalog("zh"), Catalog("en")
    cal = rules.calendar
    due = NOW.replace(hour=23, minute=59, second=59) + timedelta(days=5)  # Tue 11-25
    c = countdown(due_at=due, warn_at=due, now=NOW, calendar=cal, catalog=zh)
    assert (c.text, c.mood) == ("剩3工作日", Mood.NORMAL)  # Fri, Mon, Tue
    c = countdown(
        due_at=NOW + timedelta(hours=5, minutes=12),
        warn_at=NOW,
        now=NOW,
        calendar=cal,
        catalog=en,
        urgent=True,
    )
    assert (c.text, c.mood) == ("*5h12m left ⚡", Mood.WARNING)
    c = countdown(
        due_at=NOW - timedelta(days=6),
        warn_at=None,
        now=NOW,
        calendar=cal,
        catalog=zh,
        provisional=True,
    )
    assert (c.text, c.mood) == ("!超期4工作日 ≈", Mood.OVERDUE)
    # A limit in 日 (the 60-day close) counts down in natural days, as docs/console.md says.
    close = datetime(2026, 1, 13, 23, 59, 59, tzinfo=NOW.tzinfo)
    c = countdown(due_at=close, warn_at=None, now=NOW, calendar=cal, catalog=zh, natural_days=True)
    assert (c.text, c.mood) == ("剩54日", Mood.NORMAL)
    c = countdown(
        due_at=NOW - timedelta(days=6),
        warn_at=None,
        now=NOW,
        calendar=cal,
        catalog=en,
        natural_days=True,
    )
    assert (c.text, c.mood) == ("!6 d overdue", Mood.OVERDUE)
    c = countdown(due_at=due, warn_at=None, now=NOW, calendar=cal, catalog=en, paused=True)
    assert c.mood is Mood.PAUSED and "paused" in c.text


def test_every_key_has_text_in_both_languages() -> None:
    from caseworker.i18n.catalog import Catalog
    from caseworker.keys import KEYS

    zh, en = Catalog("zh"), Catalog("en")
    for key in KEYS:
        for catalog in (zh, en):
            assert catalog.has(f"key.{key.id}") and catalog.has(f"keytip.{key.id}"), key.id
    # cli_help.* is in zh.toml only: the English --help is the code's own (help=, docstrings).
    shared = {k for k in zh.names() if not k.startswith(("dialog.", "cli_help."))}
    assert shared == {k for k in en.names() if not k.startswith("dialog.")}


def test_every_extension_state_has_a_label_in_both_languages() -> None:
    """The case view and `case show` name a request's state through the catalog."""
    from caseworker.domain.lifecycle import ExtensionState
    from caseworker.i18n.catalog import Catalog

    for catalog in (Catalog("zh"), Catalog("en")):
        for state in ExtensionState:
            assert catalog.has(f"extension.{state.value}"), (catalog.lang, state)
    assert Catalog("zh").t("extension.lapsed") == "已失效"


def test_each_role_is_offered_the_case_keys_it_may_use() -> None:
    """The footer, help and palette leave out the case keys a role never uses
    (keys.offered_to), read from the same lifecycle rules the dialogs check before they open."""
    from caseworker.keys import CASE_ACTION_RULES, CASE_ACTIONS, offered_to
    from caseworker.screens.case_actions import _specs

    assert set(CASE_ACTION_RULES) == set(CASE_ACTIONS) == set(_specs())
    assert {name: spec.rule for name, spec in _specs().items()} == CASE_ACTION_RULES
    offered = {
        role: {a for a in CASE_ACTIONS if offered_to(role, f"case.{a}")}
        for role in ("clerk", "handler", "supervisor")
    }
    assert offered["handler"] == {"reply", "return", "extend"}
    assert offered["clerk"] == set(CASE_ACTIONS) - {"return", "approve_extension"}
    assert offered["supervisor"] == set(CASE_ACTIONS)
    for unknown in (None, "nobody-knows"):  # not read yet, or not in the store: every key
        assert {a for a in CASE_ACTIONS if offered_to(unknown, f"case.{a}")} == set(CASE_ACTIONS)


def test_keymap_file_is_read_and_bad_entries_are_refused(tmp_path: Path) -> None:
    from caseworker.keys import KeymapError, load_keymap

    good = tmp_path / "keys.toml"
    good.write_text('[keys]\n"case.assign" = "A"\n', encoding="utf-8")
    assert load_keymap(good) == {"case.assign": "A"}
    assert load_keymap(tmp_path / "missing.toml") == {}
    bad = tmp_path / "bad.toml"
    bad.write_text('[keys]\n"case.fly" = "z"\n', encoding="utf-8")
    with pytest.raises(KeymapError, match=r"unknown binding id 'case\.fly'"):
        load_keymap(bad)


def test_keyset_pages_walk_ties_on_the_deadline_both_ways(console: Console) -> None:
    """Closed cases share END_OF_TIME: small pages must step through the tie by id."""
    from caseworker.store import queries
    from caseworker.store.queries import Viewer

    with console.store.session() as session:
        expected = list(
            session.exec(
                select(CaseRow.id).order_by(col(CaseRow.next_due_at), col(CaseRow.id))
            ).all()
        )
        where = queries.queue_condition(QueueKey.ALL, NOW, Viewer(CLERK))
        walked: list[Any] = []
        page = queries.page_after(session, where, None, 2)
        while page:
            walked += page
            page = queries.page_after(session, where, page[-1].key, 2)
        assert [line.id for line in walked] == expected
        back: list[Any] = walked[-2:]
        page = queries.page_before(session, where, back[0].key, 2)
        while page:
            back = page + back
            page = queries.page_before(session, where, page[0].key, 2)
        assert [line.id for line in back] == expected


@sync
async def test_a_search_too_common_to_count_is_paged_but_not_counted(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseworker.services.queues import TOO_MANY
    from caseworker.store import queries

    with console.store.session() as session:
        texts = {r.id: r.title + r.body for r in session.exec(select(CaseRow)).all()}
    word = _common_word(texts, 3)
    expected = {i for i, text in texts.items() if word in text}
    assert len(expected) >= 2
    monkeypatch.setattr(queries, "DENSE_SEARCH", 1)  # as if the word were in 5,000+ cases
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.ALL)
        await pilot.press("slash")
        app.screen.query_one("#search").value = word
        await pilot.press("enter")
        await settle(pilot)
        assert {line.id for line in table_of(pilot).lines} == expected
        assert app.screen.shown_count == TOO_MANY
        title = str(app.screen.query_one("#queue-title").render())
        assert "不逐一计数" in title


@sync
async def test_countdowns_tick_from_memory_without_asking_the_database(console: Console) -> None:
    from sqlalchemy import event

    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.screen.switch_queue(QueueKey.HANDLING)
        await settle(pilot)
        table = table_of(pilot)
        before = [table.render_line(y).text for y in range(1, 4)]
        statements: list[str] = []

        def seen(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
            statements.append(sql)

        event.listen(console.store.engine, "before_cursor_execute", seen)
        try:
            app.settings = app.settings.with_(now=NOW + timedelta(hours=30))  # a day later
            app.screen._tick()  # what the 1-second timer runs
            await pilot.pause()
            after = [table.render_line(y).text for y in range(1, 4)]
        finally:
            event.remove(console.store.engine, "before_cursor_execute", seen)
        assert statements == []
        assert after != before
        first = table.lines[0]
        from caseworker.i18n.catalog import Catalog
        from caseworker.widgets.countdown import countdown

        expected = countdown(
            due_at=first.next_due_at,
            warn_at=first.warn_at,
            now=NOW + timedelta(hours=30),
            calendar=console.rules.calendar,
            catalog=Catalog("zh"),
            urgent=first.urgency == "urgent",
            provisional=first.provisional,
        )
        assert expected.text in after[0]


@sync
async def test_a_switch_is_drawn_with_its_first_page_or_without_it_when_slow(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    from caseworker.screens.queue import QueueScreen

    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        table = table_of(pilot)
        old_rows = list(table.lines)
        assert old_rows

        def title() -> str:
            return str(screen.query_one("#queue-title").render())

        screen.switch_queue(QueueKey.HANDLING)
        # Held: the screen, and the rows the keys act on, are the previous queue's until the
        # first page comes, and then both change together.
        assert table.lines == old_rows and "待交办" in title()
        await settle(pilot)
        assert "办理中" in title() and table.lines and table.lines != old_rows
        assert not screen.held and not table.fetching

        # A first page that does not come: the switch is shown without it (SWITCH_HOLD's timer).
        monkeypatch.setattr(QueueScreen, "load_rows", lambda self, *a, **k: None)
        screen.switch_queue(QueueKey.ALL)
        screen._show_switch(screen.generation)
        assert "全部" in title() and table.lines == [] and table.fetching


@sync
async def test_start_up_objects_leave_the_collector_once_the_counts_are_in(
    console: Console,
) -> None:
    import gc

    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.screen.query_one("#queues").counts
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0  # handed back when the app closes


@sync
async def test_a_unit_handler_sees_and_opens_only_their_units_cases(console: Console) -> None:
    from console_data import real_messages
    from textual.widgets._toast import Toast

    from caseworker.screens.case import CaseScreen
    from caseworker.screens.queue import QueueScreen
    from caseworker.services.people import find_unit
    from caseworker.store.models import CaseClaim, CoUnit

    # Beside the fixture's cases (led by the handler's unit, or not yet assigned): one case
    # of another unit, one another unit leads with the handler's unit helping (协办), and a
    # fresh one of their own (still inside the window to return it).
    made: dict[str, int] = {}
    plans: tuple[tuple[str, str, list[str]], ...] = (
        ("other", "C-EDU", ["C-TRANSPORT"]),
        ("helping", "C-EDU", ["C-HOUSING"]),
        ("fresh", "C-HOUSING", []),
    )
    spare = real_messages()[-3:]  # the fixture fills from the first ones
    for (name, lead, co_units), message in zip(plans, spare, strict=True):
        ext, title, body, _ = message
        at = NOW - timedelta(days=2)
        case_id = console.act(
            CLERK,
            at,
            svc.create_case,
            svc.NewCase(
                channel="leader-board", title=title, body=body, received_at=at, external_id=ext
            ),
        )
        console.act(CLERK, at + timedelta(hours=1), svc.accept_case, case_id)
        console.act(
            CLERK, at + timedelta(hours=2), svc.assign_case, case_id, lead=lead, co_units=co_units
        )
        made[name] = case_id
    with console.store.session() as session:
        housing = find_unit(session, "C-HOUSING").id
        helped = {
            row.case_id
            for row in session.exec(select(CoUnit)).all()
            if row.unit_id == housing and row.released_at is None
        }
        rows = session.exec(select(CaseRow)).all()
        theirs = {r.id for r in rows if r.lead_unit_id == housing or r.id in helped}
        open_ids = {r.id for r in rows if r.status in {s.value for s in OPEN_STATES}}
    assert made["helping"] in theirs and made["other"] not in theirs
    everything = expected_queues(console)
    expected = {key: ids & theirs for key, ids in everything.items()}
    expected[QueueKey.MINE] = open_ids & theirs  # a handler's "mine": their units' open cases
    assert expected[QueueKey.ALL] != everything[QueueKey.ALL]  # some cases are not theirs

    app = console.app(clerk=HANDLER, poll_seconds=3600)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, QueueScreen)
        # The footer offers a handler the unit's keys (reply), not the bureau's (assign, reject);
        # pressed anyway, such a key is refused with the reason.
        keys = {b.binding.key for b in screen.active_bindings.values() if b.binding.show}
        assert "r" in keys and not {"a", "x"} & keys, keys
        await pilot.press("a")
        await settle(pilot)
        notices = [str(toast.render()) for toast in app.screen.query(Toast)]
        # The role is the reason, not the case's state (which would suggest waiting).
        assert len(notices) == 1 and "（承办单位经办人）无权对案件" in notices[0], notices
        assert "执行“交办”" in notices[0] and "当前为" not in notices[0], notices
        app.clear_notifications()
        await settle(pilot)
        # A handler opens on 我的 (their units' open cases), not on 待交办, always empty for them.
        assert expected[QueueKey.MINE] and not expected[QueueKey.ACCEPTED]
        assert screen.queue is QueueKey.MINE
        assert {line.id for line in table_of(pilot).lines} == expected[QueueKey.MINE]
        title = as_text(screen.query_one("#queue-title").render())
        assert title.startswith(f"我的 · {len(expected[QueueKey.MINE])} 件"), title
        counts = screen.query_one("#queues", QueueList).counts
        listed = queues_for(app.role, screen.queue)
        assert counts == {k: len(expected[k]) for k in listed}
        for key in QueueKey:
            screen.switch_queue(key)
            await settle(pilot)
            assert {line.id for line in table_of(pilot).lines} == expected[key], key

        # Another unit's case, asked for by its number: one notice, and back on the queue.
        screen.open_case(made["other"])
        await settle(pilot)
        assert app.screen is screen
        notices = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert len(notices) == 1 and f"{HANDLER}（承办单位经办人）无权查看案件" in notices[0]
        with console.store.session() as session:  # opening it was not recorded as a claim
            assert session.get(CaseClaim, made["other"]) is None

        # The case their unit helps on opens.
        screen.open_case(made["helping"])
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen)
        assert app.screen.detail is not None and app.screen.detail.id == made["helping"]
        await pilot.press("escape")
        await settle(pilot)

        # A case on screen that leaves the unit (here their own 退回): said as news, and back.
        screen.open_case(made["fresh"])
        await settle(pilot)
        assert isinstance(app.screen, CaseScreen) and app.screen.detail is not None
        console.act(HANDLER, NOW, svc.return_case, made["fresh"], reason="不属本单位职责")
        app.screen.load()
        await settle(pilot)
        assert app.screen is screen
        notices = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert f"案件 {made['fresh']} 已不在本单位办理，已返回队列" in notices


def test_keymap_conflicts_are_refused_with_both_binding_ids(tmp_path: Path) -> None:
    """Binding `y` to assign would silently take accept's key: refused at start, naming both."""
    from caseworker.keys import KEYS, KeymapError, conflicts, load_keymap

    assert conflicts({}) == []  # the defaults are free of clashes
    assert conflicts({k.id: k.keys for k in KEYS}) == []
    clash = tmp_path / "keys.toml"
    clash.write_text('[keys]\n"case.assign" = "y"\n', encoding="utf-8")
    with pytest.raises(KeymapError, match=r"'y' is bound to both case\.assign and case\.accept"):
        load_keymap(clash)
    # Swapping two keys is fine; a key used on another screen only is fine too.
    swap = tmp_path / "swap.toml"
    swap.write_text('[keys]\n"case.assign" = "y"\n"case.accept" = "a"\n', encoding="utf-8")
    assert load_keymap(swap) == {"case.assign": "y", "case.accept": "a"}
    assert conflicts({"dashboard.bulletin": "a"}) == []  # a is case.assign, another screen
    assert conflicts({"dashboard.bulletin": "l"}) == [
        "key 'l' is bound to both dashboard.bulletin and dashboard.link_issue"
    ]
    # An app-wide key clashes everywhere.
    assert conflicts({"case.reply": "question_mark"}) == [
        "key 'question_mark' is bound to both case.reply and app.help"
    ]


@sync
async def test_an_idle_console_redraws_only_the_screen_shown_and_only_a_new_minute(
    console: Console,
) -> None:
    """The countdowns and the header show minutes: the one-second tick redraws only when the
    minute changes, and only on the screen shown; a screen shown again catches up at once."""
    from dataclasses import replace

    from caseworker.screens.case import CaseScreen

    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen

        def header() -> str:
            return str(queue.query_one("#header").render())

        queue._tick()
        assert "10:00" in header() and queue.shown_minute == NOW.replace(second=0)
        app.settings = replace(app.settings, now=NOW + timedelta(seconds=30))
        queue._tick()  # the same minute: nothing to redraw
        assert queue.shown_minute == NOW
        app.settings = replace(app.settings, now=NOW + timedelta(minutes=1))
        queue._tick()
        assert "10:01" in header() and queue.shown_minute == NOW + timedelta(minutes=1)

        queue.open_case(console.ids["c3"])
        await settle(pilot)
        case = app.screen
        assert isinstance(case, CaseScreen)
        app.settings = replace(app.settings, now=NOW + timedelta(minutes=2))
        queue._tick()  # under the case view: the queue does not redraw
        assert "10:01" in header()
        case._tick()
        assert case.shown_minute == NOW + timedelta(minutes=2)
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is queue and "10:02" in header()  # caught up on its return


@sync
async def test_the_narrow_queue_bar_marks_queues_out_of_sight_on_either_side(
    console: Console,
) -> None:
    from caseworker.screens.queue import QUEUES

    app = console.app(lang="en", poll_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = app.screen

        def bar() -> str:
            return str(screen.query_one("#queue-bar").render()).rstrip()

        screen.switch_queue(QUEUES[0])
        await settle(pilot)
        assert bar().startswith("[New") and bar().endswith("›"), bar()
        screen.switch_queue(QUEUES[-1])
        await settle(pilot)
        assert bar().startswith("‹") and bar().endswith("]"), bar()
        screen.switch_queue(QUEUES[len(QUEUES) // 2])
        await settle(pilot)
        assert "[" in bar() and bar().endswith("›"), bar()
        assert len(bar()) <= 80


@sync
async def test_english_due_column_keeps_the_urgent_mark_and_footer_keeps_help(
    console: Console,
) -> None:
    """English countdowns are longer than Chinese: the text gives way, never the ⚡ mark; at
    80 columns the footer still offers help."""
    with console.store.session() as session:
        urgent = {r.id for r in session.exec(select(CaseRow)).all() if r.urgency == "urgent"}
    assert urgent
    for size in ((120, 36), (80, 24)):
        app = console.app(lang="en", poll_seconds=3600)
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            app.screen.switch_queue(QueueKey.ALL)
            await settle(pilot)
            table = table_of(pilot)
            seen = 0
            for index, line in enumerate(table.lines[: table.size.height - 1]):
                if line.id in urgent:
                    seen += 1
                    row = table.render_line(index - table.top + 1).text
                    assert "⚡" in row, row
            assert seen
            footer = screen_text(app).splitlines()[-1]
            assert "? help" in footer, footer


@sync
async def test_a_case_changed_here_reaches_the_screens_that_subscribed(
    console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An action from the case view tells the queue under it through the app's case_changed
    signal (no walk of the screen stack): the queue reloads its rows, and a case view of
    another case is left to its poll."""
    from caseworker.screens.case import CaseScreen
    from caseworker.screens.messages import CaseChanged
    from caseworker.screens.queue import QueueScreen

    changed, other = console.ids["c3"], console.ids["c5"]
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        reloaded: list[str] = []
        monkeypatch.setattr(queue, "reload_window", lambda: reloaded.append("queue"))
        app.open_case(other)
        await settle(pilot)
        behind = app.screen
        assert isinstance(behind, CaseScreen)
        monkeypatch.setattr(behind, "load", lambda claim=False: reloaded.append("other case"))
        app.open_case(changed)
        await settle(pilot)
        on_top = app.screen
        assert isinstance(on_top, CaseScreen) and on_top is not behind
        monkeypatch.setattr(on_top, "load", lambda claim=False: reloaded.append("this case"))
        heard: list[int] = []
        app.case_changed.subscribe(on_top, heard.append)
        on_top.post_message(CaseChanged(changed))
        await settle(pilot)
        assert heard == [changed]
        assert sorted(reloaded) == ["queue", "this case"]
