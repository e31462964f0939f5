"""The supervisor screen: its figures are the reports' figures, and a unit drills down to the
queue of that unit's overdue cases. Snapshots at 120x36 and 80x24, Chinese and English.

Each snapshot was looked at before it was accepted (rendered to PNG: bars in line with their
Chinese unit names, the 30-day axis ending today, the ranking's numerators and denominators).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

import pytest
from console_data import CLERK, NOW, Console, real_messages
from rich.text import Text
from textual.pilot import Pilot
from textual.widgets import DataTable

from caseworker.domain.measures import Period
from caseworker.widgets.charts import fit

SIZES = [(120, 36), (80, 24)]


def add_other_units(console: Console) -> dict[str, int]:
    """Late cases led by two more units, so the screen ranks three units and the unassigned.

    Received 12 to 19 days before NOW and assigned the same day, none replied: every reply
    clock has run out by NOW, so each is overdue in its reply stage.
    """
    from caseworker.services import cases as svc

    ids: dict[str, int] = {}
    messages = real_messages()
    plan = [("C-EDU", 19), ("C-EDU", 16), ("C-EDU", 12), ("C-TRANSPORT", 18)]
    for n, (unit, days) in enumerate(plan):
        ext, title, body, category = messages[24 + n]
        received = NOW - timedelta(days=days, hours=3)
        case_id = console.act(
            CLERK,
            received,
            svc.create_case,
            svc.NewCase(
                channel="hotline-12345",
                title=title,
                body=body,
                received_at=received,
                external_id=ext,
                author=f"B{n}",
                contact="139****0000",
                region="A市B区",
                category=category,
                kind="complaint",
                urgency="normal",
                addressee="市长",
            ),
        )
        console.act(CLERK, received + timedelta(hours=1), svc.accept_case, case_id)
        console.act(
            CLERK,
            received + timedelta(hours=2),
            svc.assign_case,
            case_id,
            lead=unit,
            co_units=[],
            note="请按时答复",
        )
        ids[f"{unit}-{n}"] = case_id
    return ids


def sync(test: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async Pilot test on its own event loop (no async plugin needed)."""

    @functools.wraps(test)
    def run(*args: Any, **kwargs: Any) -> None:
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(pilot: Pilot[Any]) -> None:
    for _ in range(3):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()


def table_rows(table: DataTable[Any]) -> list[list[str]]:
    return [
        [str(getattr(c, "plain", c)) for c in table.get_row_at(r)] for r in range(table.row_count)
    ]


async def open_dashboard(pilot: Pilot[Any]) -> None:
    await settle(pilot)
    await pilot.press("D")
    await settle(pilot)


def expected_overdue(console: Console, unassigned: str, workdays: str) -> list[list[str]]:
    from caseworker.services.reports import overdue_report

    with console.store.session() as session:
        report = overdue_report(session, console.rules.calendar, as_of=NOW)
    return [
        [
            fit(u.unit if u.unit_id is not None else unassigned, 16),
            str(u.overdue),
            workdays.format(n=u.max_overdue_working_days),
            workdays.format(n=u.total_overdue_working_days),
        ]
        for u in report.by_unit
    ]


def expected_rankings(console: Console, period: Period) -> list[list[str]]:
    from caseworker.services.reports import unit_rates

    with console.store.session() as session:
        rates = unit_rates(session, console.rules, period=period, at=NOW.date(), now=NOW)
    out = []
    for row in [*rates.rows, rates.total]:
        name = (
            "合计"
            if row is rates.total
            else (row.unit if row.unit_id is not None else "（未交办）")
        )
        cells = ["" if row.rank is None else str(row.rank), fit(name, 24), str(row.counts.received)]
        for code in ("on_time_close", "satisfaction", "timely_acceptance"):
            rate = row.measures.rates[code]
            cells.append(
                rate.percent()
                + (f" {rate.numerator}/{rate.denominator}" if rate.denominator else "")
            )
        cells.append(str(row.counts.overdue))
        out.append(cells)
    return out


def static_rows(widget: Any) -> list[tuple[str, str]]:
    table = widget.content
    first, second = (list(c._cells) for c in table.columns)
    return [(str(a), str(b)) for a, b in zip(first, second, strict=True)]


@sync
async def test_dashboard_figures_and_drill_down(console: Console) -> None:
    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.screens.queue import QueueScreen
    from caseworker.services.reports import counts_by, overdue_cases, volume_by_day
    from caseworker.store.queries import QueueKey
    from caseworker.widgets.case_table import CaseTable
    from caseworker.widgets.charts import BarChart, StackedDays

    added = add_other_units(console)
    app = console.app(lang="zh", poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dashboard(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)

        # Overdue by unit: the table and the bars show the report's summary, worst first.
        overdue = expected_overdue(console, "（未交办）", "{n}")
        shown = table_rows(screen.query_one("#overdue-units", DataTable))
        assert shown == overdue
        units = [row[0] for row in shown]
        # The fixture's own facts: the four late cases of add_other_units are all overdue.
        late_units = ("市教育局", "市交通运输局", "市住房和城乡建设局", "（未交办）")
        assert set(units) == {fit(name, 16) for name in late_units}
        assert "市住房和城乡建…" in units  # long names are cut to fit the panel
        assert shown[units.index("市教育局")][1] == "3"
        assert shown[units.index("市交通运输局")][1] == "1"
        bars = screen.query_one("#overdue-bars", BarChart)
        assert bars.values == [(fit(row[0]), int(row[1])) for row in overdue]

        # The ranking for this month, every rate with its numerator and denominator.
        assert table_rows(screen.query_one("#rankings", DataTable)) == expected_rankings(
            console, Period.MONTH
        )

        # Volume by day and channel, the last 30 days up to today.
        with console.store.session() as session:
            volume = volume_by_day(session, now=NOW, days=30)
            since = NOW.replace(hour=0) - timedelta(days=29)
            categories = counts_by(
                session, "category", since=since, until=NOW.replace(hour=0) + timedelta(days=1)
            )
        chart = screen.query_one("#volume", StackedDays)
        assert chart.days[-1] == NOW.date() and len(chart.days) == 30
        assert sum(sum(s.counts) for s in chart.series) == sum(v.count for v in volume) > 0
        by_channel: dict[str, int] = {}
        for v in volume:
            by_channel[app.channel_label(v.channel)] = (
                by_channel.get(app.channel_label(v.channel), 0) + v.count
            )
        assert {s.name: sum(s.counts) for s in chart.series} == by_channel
        received = sum(c.count for c in categories)
        assert received == sum(v.count for v in volume)  # the same 30 days
        assert static_rows(screen.query_one("#categories")) == [
            (c.label or "（未分类）", f"{c.count} {100 * c.count / received:.0f}%")
            for c in categories
        ]

        # The period key moves on to the quarter.
        await pilot.press("p")
        await settle(pilot)
        assert table_rows(screen.query_one("#rankings", DataTable)) == expected_rankings(
            console, Period.QUARTER
        )

        # The unassigned line opens 已超期 narrowed to the cases no unit leads yet, named so;
        # Escape goes back to the dashboard, and the queue is as it was before.
        table = screen.query_one("#overdue-units", DataTable)
        table.focus()
        table.move_cursor(row=units.index("（未交办）"))
        before = app.screen_stack[-2]
        assert isinstance(before, QueueScreen)
        left = (before.queue, before.filters)
        await pilot.press("enter")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen) and queue.queue is QueueKey.OVERDUE
        with console.store.session() as session:
            late_all = overdue_cases(session, console.rules.calendar, as_of=NOW)
        unassigned = {r.id for r in late_all if r.lead_unit_id is None}
        assert unassigned and {line.id for line in queue.query_one(CaseTable).lines} == unassigned
        title = str(queue.query_one("#queue-title").render())
        assert "（未交办）" in title and "单位" not in title, title
        await pilot.press("escape")
        await settle(pilot)
        dashboard = app.screen
        assert isinstance(dashboard, DashboardScreen)
        assert (queue.queue, queue.filters, queue.unit_name) == (*left, None)

        # Drill down: enter on 市教育局 opens 已超期 narrowed to its own overdue cases.
        table = dashboard.query_one("#overdue-units", DataTable)
        table.focus()
        table.move_cursor(row=units.index("市教育局"))
        await pilot.press("enter")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen)
        assert queue.queue is QueueKey.OVERDUE
        title = str(queue.query_one("#queue-title").render())
        assert "市教育局" in title and "单位1个" not in title, title  # the unit, by name
        with console.store.session() as session:
            from sqlmodel import select

            from caseworker.store.models import Unit

            edu = session.exec(select(Unit.id).where(Unit.code == "C-EDU")).one()
            late = overdue_cases(session, console.rules.calendar, as_of=NOW, unit_ids=[edu])
        assert queue.filters.unit_ids == (edu,)
        rows = queue.query_one(CaseTable).lines
        assert sorted(line.id for line in rows) == sorted(r.id for r in late)
        assert {line.id for line in rows} == {v for k, v in added.items() if k.startswith("C-EDU")}
        assert all(line.lead_unit == "市教育局" for line in rows)


@sync
async def test_dashboard_key_back_and_ranking_drill_down(console: Console) -> None:
    from sqlmodel import select

    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.screens.queue import QueueScreen
    from caseworker.services.reports import overdue_cases
    from caseworker.store.models import Unit
    from caseworker.store.queries import QueueKey
    from caseworker.widgets.case_table import CaseTable

    app = console.app(lang="en", poll_seconds=3600)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_dashboard(pilot)
        assert isinstance(app.screen, DashboardScreen)
        bindings = {b.binding.id for b in app.screen.active_bindings.values()}
        assert {"dashboard.drill", "dashboard.period", "dashboard.back"} <= bindings
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, QueueScreen)

        # The ranking drills down too: its 住建 line opens that unit's overdue cases.
        await open_dashboard(pilot)
        ranking = app.screen.query_one("#rankings", DataTable)
        ranking.focus()
        names = [row[1] for row in table_rows(ranking)]
        ranking.move_cursor(row=names.index("市住房和城乡建设局"))
        await pilot.press("enter")
        await settle(pilot)
        queue = app.screen
        assert isinstance(queue, QueueScreen) and queue.queue is QueueKey.OVERDUE
        with console.store.session() as session:
            housing = session.exec(select(Unit.id).where(Unit.code == "C-HOUSING")).one()
            late = overdue_cases(session, console.rules.calendar, as_of=NOW, unit_ids=[housing])
        assert queue.filters.unit_ids == (housing,)
        assert late and sorted(line.id for line in queue.query_one(CaseTable).lines) == sorted(
            r.id for r in late
        )


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_snapshot(console: Console, snap_compare: Any, lang: str, size: Any) -> None:
    add_other_units(console)
    app = console.app(lang=lang, poll_seconds=3600)
    assert snap_compare(app, terminal_size=size, run_before=open_dashboard)


@sync
async def test_unit_names_and_categories_are_shown_literally(console: Console) -> None:
    """Names that look like markup or carry escape codes are data: shown as typed, minus codes."""
    from caseworker.screens.dashboard import DashboardScreen
    from caseworker.services import cases as svc
    from caseworker.services.people import import_units
    from caseworker.widgets.charts import BarChart

    name = "[bold red]市[/]水务\x1b[31m局"
    with console.store.session() as session:
        import_units(session, f'name,parent,level,code\n"{name}",市政府,department,C-WATER\n')
    ext, title, body, _ = real_messages()[30]
    received = NOW - timedelta(days=15)
    case_id = console.act(
        CLERK,
        received,
        svc.create_case,
        svc.NewCase(
            channel="hotline-12345",
            title=title,
            body=body,
            received_at=received,
            external_id=ext,
            author="C1",
            contact="",
            region="[link=x]A市[/link]",
            category="[i]水务[/i]",
            kind="complaint",
            urgency="normal",
            addressee="市长",
        ),
    )
    console.act(CLERK, received + timedelta(hours=1), svc.accept_case, case_id)
    console.act(
        CLERK,
        received + timedelta(hours=2),
        svc.assign_case,
        case_id,
        lead="C-WATER",
        co_units=[],
        note="",
    )
    app = console.app(lang="zh", poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dashboard(pilot)
        screen = app.screen
        assert isinstance(screen, DashboardScreen)
        shown = "[bold red]市[/]水务局"  # the escape code is dropped, the brackets stay
        units = [row[0] for row in table_rows(screen.query_one("#overdue-units", DataTable))]
        assert fit(shown, 16) in units and fit(shown, 16) != shown  # cut, but literally
        bars = screen.query_one("#overdue-bars", BarChart)
        drawn = bars.render()
        assert isinstance(drawn, Text)
        assert "\x1b" not in drawn.plain and "┤" in drawn.plain
        assert any(line.lstrip().startswith("[bold red]") for line in drawn.plain.split("\n"))
        labels = [label for label, _ in bars.values]
        assert any(label.startswith("[bold red]") for label in labels)
        categories = [label for label, _ in static_rows(screen.query_one("#categories"))]
        regions = [label for label, _ in static_rows(screen.query_one("#regions"))]
        assert "[i]水务[/i]" in categories and "[link=x]A市[/link]" in regions


@sync
async def test_nothing_to_show_says_so(console: Console) -> None:
    """Two months before any case: no overdue bars, no volume, and the screen says so."""
    from caseworker.app import make_app
    from caseworker.config import Settings
    from caseworker.widgets.charts import BarChart, StackedDays

    settings = Settings(
        database=str(console.path), clerk=CLERK, language="en", now=NOW - timedelta(days=60)
    )
    app = make_app(settings, console.store, console.rules, poll_seconds=3600)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_dashboard(pilot)
        screen = app.screen
        assert screen.query_one("#overdue-units", DataTable).row_count == 0
        bars = screen.query_one("#overdue-bars", BarChart)
        volume = screen.query_one("#volume", StackedDays)
        assert not bars.has_data() and not volume.has_data()
        assert str(bars.render()) == "nothing overdue" and str(volume.render()) == "no data"
        # Only the total line is ranked, with nothing due: every rate reads —.
        assert table_rows(screen.query_one("#rankings", DataTable)) == [
            ["", "Total", "0", "—", "—", "—", "0"]
        ]
        await pilot.press("enter")  # no unit to drill into: nothing happens
        await settle(pilot)
        assert app.screen is screen
