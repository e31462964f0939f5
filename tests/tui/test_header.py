"""The header names the acting clerk with their role, and a unit handler's unit, in zh and en;
names are data, and the header still reads right for a name the store does not know."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from console_data import CLERK, HANDLER, SUPERVISOR, Console
from textual.pilot import Pilot
from textual.widgets import Static

from caseworker.domain.queues import ClerkBadge
from caseworker.services.people import add_clerk, list_clerks
from caseworker.store.clerk_badge import clerk_badge


async def _header(console: Console, lang: str, clerk: str) -> str:
    app = console.app(lang=lang, clerk=clerk, poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await _settle(pilot)
        header = app.screen.query_one("#header", Static)
        return str(header.render())


async def _settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


@pytest.mark.parametrize(
    ("lang", "clerk", "shown"),
    [
        ("zh", CLERK, f"caseworker · {CLERK}（受理员）"),
        ("zh", SUPERVISOR, f"caseworker · {SUPERVISOR}（督查）"),
        ("zh", HANDLER, f"caseworker · {HANDLER}（市住房和城乡建设局 经办人）"),
        ("en", CLERK, f"caseworker · {CLERK} (clerk)"),
        ("en", HANDLER, f"caseworker · {HANDLER} (unit handler, 市住房和城乡建设局)"),
        ("en", "陌生人", "caseworker · 陌生人   2025-11-20"),
    ],
)
def test_the_header_says_who_is_acting(console: Console, lang: str, clerk: str, shown: str) -> None:
    assert shown in asyncio.run(_header(console, lang, clerk))


def test_a_name_that_looks_like_markup_is_shown_as_it_is(console: Console) -> None:
    with console.store.session() as session:
        add_clerk(session, "[b]李[/b]", "handler", "C-HOUSING")
    text = asyncio.run(_header(console, "zh", "[b]李[/b]"))
    assert "[b]李[/b]（市住房和城乡建设局 经办人）" in text


def test_the_badge_reads_what_the_clerk_list_says(console: Console) -> None:
    with console.store.session() as session:
        listed = {c.name: (c.role, c.unit) for c in list_clerks(session)}
    for name, (role, unit) in listed.items():
        assert clerk_badge(console.store.engine, name) == ClerkBadge(name, role, unit)
    assert clerk_badge(console.store.engine, "无此人") == ClerkBadge("无此人")
