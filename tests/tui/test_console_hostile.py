"""Citizen text is data: markup, escapes, control characters, huge bodies, emoji, rare CJK."""

from __future__ import annotations

import asyncio
from typing import Any

from console_data import CLERK, NOW, Console
from textual.pilot import Pilot

from caseworker.services import cases as svc
from caseworker.store.queries import QueueKey
from caseworker.widgets.case_table import CaseTable
from caseworker.widgets.message_text import MessageText

MARKUP = "[bold red]紧急[/] [link=https://evil.example/x]点此[/link] [/]"
ANSI = "\x1b[31m红字\x1b[0m\x1b]8;;https://evil.example\x07链接\x1b]8;;\x07"
CONTROLS = "铃\x07空\x00退\x08格\x7f\x9b结束"
EMOJI_RARE = "👨‍👩‍👧 𠮷野家 𪚥 龘"
LONG_BODY = ("道路积水严重，" * 2858) + "末尾标记"  # 20,010 characters


def test_hostile_texts_show_literally_in_queue_and_case_view(console: Console) -> None:
    asyncio.run(_run(console))


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


async def _run(console: Console) -> None:
    titles = [MARKUP, ANSI, CONTROLS, EMOJI_RARE]
    ids = []
    for n, title in enumerate(titles):
        body = LONG_BODY if n == 0 else f"{title}\n正文：{MARKUP}{ANSI}{CONTROLS}"
        ids.append(
            console.act(
                CLERK,
                NOW,
                svc.create_case,
                svc.NewCase(
                    channel="leader-board",
                    title=title,
                    body=body,
                    received_at=NOW,
                    external_id=f"hostile-{n}",
                    author=MARKUP,
                    region=ANSI,
                    category=CONTROLS,
                ),
            )
        )
    assert len(LONG_BODY) > 20_000
    app = console.app(poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await _settle(pilot)
        app.screen.switch_queue(QueueKey.RECEIVED)
        await _settle(pilot)
        table = app.screen.query_one(CaseTable)
        shown = {line.id for line in table.lines}
        assert set(ids) <= shown
        drawn = "\n".join(table.render_line(y).text for y in range(table.size.height))
        assert "[bold red]紧急[/]" in drawn
        assert "红字" in drawn and "\x1b" not in drawn
        assert not any(ch in drawn for ch in "\x00\x07\x08\x7f\x9b")
        assert "👨‍👩‍👧" in drawn and "𠮷野家" in drawn
        for case_id, title in zip(ids, titles, strict=True):
            while table.current is None or table.current.id != case_id:
                table.action_cursor_down()
            await pilot.press("enter")
            await _settle(pilot)
            screen = app.screen
            head = screen.query_one("#case-head").render()
            message = screen.query_one("#case-message", MessageText)
            lines = [message.render_line(y).text for y in range(message.size.height)]
            text = _plain(head) + "\n" + "".join(line.rstrip() for line in lines)
            assert "\x1b" not in text and "\x00" not in text and "\x07" not in text
            if title == MARKUP:
                assert "[link=https://evil.example/x]点此[/link]" in text
                assert text.count("道路积水严重") == 2858 and "末尾标记" in text
            else:
                assert MARKUP in text  # the body repeats the markup literally
            await pilot.press("escape")
            await _settle(pilot)


def _plain(visual: Any) -> str:
    """The characters a Static shows (its Rich renderable's plain text)."""
    renderable = getattr(visual, "_renderable", visual)
    plain = getattr(renderable, "plain", None)
    assert isinstance(plain, str), type(renderable)
    return plain
