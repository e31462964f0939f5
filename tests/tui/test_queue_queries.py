"""The queue queries on SQLite and PostgreSQL alike: counts, keyset pages, search, take-next."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from console_data import CLERK, HANDLER, NOW, SUPERVISOR, populate_bureau
from sqlmodel import select

from caseworker.clock import FrozenClock
from caseworker.domain.errors import NotPermitted
from caseworker.domain.lifecycle import OPEN_STATES
from caseworker.services import cases as svc
from caseworker.services import queues
from caseworker.services.people import add_clerk, find_unit
from caseworker.services.rules import Rules
from caseworker.store import queries
from caseworker.store.models import CaseRow
from caseworker.store.opening import opening_page
from caseworker.store.queries import Filters, QueueKey, Viewer

TITLES = ["小区门口道路积水严重", "噪音扰民", "水", "幼儿园学位不足", "路灯不亮 100%_折扣"]


def _fill(store: Any, rules: Rules) -> list[int]:
    populate_bureau(store)
    ids = []
    for n, title in enumerate(TITLES):
        received = NOW - timedelta(days=n * 2, hours=n)
        desk = svc.Desk(rules=rules, clock=FrozenClock(received), clerk=CLERK)
        with store.session() as session:
            ids.append(
                svc.create_case(
                    session,
                    desk,
                    svc.NewCase(
                        channel="hotline-12345" if n % 2 else "leader-board",
                        title=title,
                        body=f"{title}，请尽快处理。",
                        received_at=received,
                        external_id=f"q-{n}",
                        region="A市",
                        category="城乡建设",
                    ),
                )
            )
    later = svc.Desk(rules=rules, clock=FrozenClock(NOW - timedelta(hours=1)), clerk=CLERK)
    with store.session() as session:
        svc.accept_case(session, later, ids[1])
        svc.accept_case(session, later, ids[3])
        svc.assign_case(session, later, ids[3], lead="C-HOUSING")
    return ids


def test_queues_pages_and_search_agree_on_both_databases(store: Any, rules: Rules) -> None:
    ids = _fill(store, rules)
    viewer = Viewer(clerk=CLERK)
    with store.session() as session:
        counts = queues.queue_counts(session, NOW, viewer)
        assert counts[QueueKey.ALL] == 5
        assert counts[QueueKey.RECEIVED] == 3 and counts[QueueKey.ACCEPTED] == 1
        assert counts[QueueKey.HANDLING] == 1 and counts[QueueKey.MINE] == 5
        handler = queues.viewer_for(session, HANDLER)
        assert queues.queue_counts(session, NOW, handler)[QueueKey.MINE] == 1

        where = queries.where_of(session, QueueKey.ALL, NOW, viewer, Filters())
        walked = []
        page = queries.page_after(session, where, None, 2)
        while page:
            walked += page
            page = queries.page_after(session, where, page[-1].key, 2)
        assert sorted(line.id for line in walked) == sorted(ids)
        assert [line.key for line in walked] == sorted(line.key for line in walked)
        back = queries.page_before(session, where, walked[-1].key, 10)
        assert [line.id for line in back] == [line.id for line in walked[:-1]]

        def found(text: str) -> set[int]:
            filters = Filters(search=text)
            lines = queues.queue_page(session, QueueKey.ALL, NOW, viewer, filters).lines
            assert queues.filtered_count(session, QueueKey.ALL, NOW, viewer, filters) == len(lines)
            return {line.id for line in lines}

        assert found("水") == {ids[0], ids[2]}  # one character
        assert found("噪音") == {ids[1]}  # two
        assert found("幼儿园学位") == {ids[3]}  # a trigram search
        assert found("道路积水 小区") == {ids[0]}  # every word must be there
        assert found("100%_") == {ids[4]}  # LIKE wildcards are text
        assert found("不存在的词") == set()
        hotline = Filters(channel="hotline-12345")
        assert {
            line.id for line in queues.queue_page(session, QueueKey.ALL, NOW, viewer, hotline).lines
        } == {ids[1], ids[3]}


def test_a_set_of_cases_narrows_a_queue_and_pages_by_keyset(store: Any, rules: Rules) -> None:
    """A common issue's cases (the supervisor screen's matter) as a filter: the queue's order,
    its keyset pages, its count, and the other filters still apply."""
    ids = _fill(store, rules)
    viewer = Viewer(clerk=CLERK)
    chosen = (ids[0], ids[1], ids[3], ids[4])
    matter = Filters(case_ids=chosen, case_set="某小区")
    assert matter.active()
    with store.session() as session:
        every = queues.queue_page(session, QueueKey.ALL, NOW, viewer, Filters()).lines
        expected = [line.id for line in every if line.id in chosen]
        walked: list[int] = []
        page = queues.queue_page(session, QueueKey.ALL, NOW, viewer, matter, limit=3)
        walked += [line.id for line in page.lines]
        assert not page.at_end
        page = queues.queue_page(
            session, QueueKey.ALL, NOW, viewer, matter, after=page.lines[-1].key, limit=3
        )
        walked += [line.id for line in page.lines]
        assert page.at_end and walked == expected
        assert queues.filtered_count(session, QueueKey.ALL, NOW, viewer, matter) == 4
        received = queues.queue_page(session, QueueKey.RECEIVED, NOW, viewer, matter).lines
        assert {line.id for line in received} == {ids[0], ids[4]}
        hotline = Filters(channel="hotline-12345", case_ids=chosen)
        lines = queues.queue_page(session, QueueKey.ALL, NOW, viewer, hotline).lines
        assert {line.id for line in lines} == {ids[1], ids[3]}


def test_opening_page_in_plain_sql_is_the_queues_own_first_page(store: Any, rules: Rules) -> None:
    ids = _fill(store, rules)
    later = svc.Desk(rules=rules, clock=FrozenClock(NOW - timedelta(minutes=30)), clerk=CLERK)
    with store.session() as session:
        for case_id in (ids[0], ids[2], ids[4]):
            svc.accept_case(session, later, case_id)
    viewer = Viewer(clerk=CLERK)
    for limit in (3, 100):
        key, lines, count = opening_page(store.engine, limit, CLERK)
        assert key is QueueKey.ACCEPTED
        with store.session() as session:
            page = queues.queue_page(
                session, QueueKey.ACCEPTED, NOW, viewer, Filters(), limit=limit
            )
            assert (
                count
                == queues.filtered_count(session, QueueKey.ACCEPTED, NOW, viewer, Filters())
                == 4
            )
        assert lines == page.lines and len(lines) == min(limit, 4)


def test_take_next_skips_what_another_clerk_opened_recently(store: Any, rules: Rules) -> None:
    _fill(store, rules)
    me, other = Viewer(clerk=CLERK), Viewer(clerk=SUPERVISOR)
    with store.session() as session:
        first = queues.take_next(session, QueueKey.RECEIVED, NOW, me, Filters())
        assert first is not None
        queues.claim(session, first, SUPERVISOR, NOW - timedelta(minutes=5))
    with store.session() as session:
        mine = queues.take_next(session, QueueKey.RECEIVED, NOW, me, Filters())
        theirs = queues.take_next(session, QueueKey.RECEIVED, NOW, other, Filters())
        stale = queues.take_next(
            session, QueueKey.RECEIVED, NOW + queues.CLAIM_WINDOW, me, Filters()
        )
    assert mine != first and mine is not None
    assert theirs == first  # their own claim does not hide it from them
    assert stale == first  # after the window the claim lapses


# ---------------------------------------------------------------- a unit handler's scope

TRANSPORT, EDUCATION, CITY = "孙交通", "钱教育", "周市府"  # handlers of C-TRANSPORT, C-EDU, C


def _fill_units(store: Any, rules: Rules) -> dict[str, int]:
    """Cases of every kind of ownership: unassigned, led, helped on (协办), returned, closed."""
    populate_bureau(store)
    with store.session() as session:
        add_clerk(session, TRANSPORT, "handler", "C-TRANSPORT")
        add_clerk(session, EDUCATION, "handler", "C-EDU")
        add_clerk(session, CITY, "handler", "C")

    def act(clerk: str, at: Any, action: Any, *args: Any, **kwargs: Any) -> Any:
        with store.session() as session:
            desk = svc.Desk(rules=rules, clock=FrozenClock(at), clerk=clerk)
            return action(session, desk, *args, **kwargs)

    plans = {  # name: (lead, co-units); None: not assigned
        "received": None,
        "accepted": None,
        "own": ("C-HOUSING", []),
        "helping": ("C-EDU", ["C-HOUSING"]),
        "others": ("C-EDU", ["C-TRANSPORT"]),
        "education": ("C-EDU", []),
        "returned": ("C-EDU", ["C-HOUSING"]),
        "closed": ("C-HOUSING", []),
    }
    ids: dict[str, int] = {}
    for n, (name, plan) in enumerate(plans.items()):
        at = NOW - timedelta(days=6, hours=n)
        ids[name] = act(
            CLERK,
            at,
            svc.create_case,
            svc.NewCase(
                channel="leader-board",
                title=f"小区道路积水 {name}",
                body="每逢下雨积水严重。",
                received_at=at,
                external_id=f"u-{name}",
            ),
        )
        if name == "received":
            continue
        act(CLERK, at + timedelta(hours=1), svc.accept_case, ids[name])
        if plan is None:
            continue
        lead, co_units = plan
        act(
            CLERK, at + timedelta(hours=2), svc.assign_case, ids[name], lead=lead, co_units=co_units
        )
    later = NOW - timedelta(days=5)
    act(EDUCATION, later, svc.return_case, ids["returned"], reason="不属本单位职责")
    act(HANDLER, later, svc.draft_reply, ids["closed"], text="已处理。", final=True, outcome="支持")
    act(HANDLER, later, svc.submit_reply, ids["closed"])
    act(CLERK, later, svc.publish_reply, ids["closed"])
    act(CLERK, later + timedelta(hours=1), svc.close_case, ids["closed"])
    for name in ("own", "education"):
        act(SUPERVISOR, later, svc.supervise_case, ids[name], level="催办", note="请尽快办理")
    return ids


def test_a_unit_handler_sees_only_their_units_cases_in_every_queue(
    store: Any, rules: Rules
) -> None:
    ids = _fill_units(store, rules)
    named = {case_id: name for name, case_id in ids.items()}
    visible = {  # lead or current co-unit, their unit and the units below it
        HANDLER: {"own", "helping", "closed"},  # not "returned": the return released C-HOUSING
        TRANSPORT: {"others"},
        EDUCATION: {"helping", "others", "education"},
        CITY: {"own", "helping", "others", "education", "closed"},  # 市政府 and its departments
    }
    everyone = Viewer(clerk=CLERK)
    search = Filters(search="道路积水")
    with store.session() as session:
        open_ids = {
            row.id
            for row in session.exec(select(CaseRow)).all()
            if row.status in {s.value for s in OPEN_STATES}
        }

        def seen(key: QueueKey, viewer: Viewer, filters: Filters | None = None) -> set[int]:
            filters = filters or Filters()
            lines = queues.queue_page(session, key, NOW, viewer, filters).lines
            assert len(lines) == queues.filtered_count(session, key, NOW, viewer, filters)
            return {line.id for line in lines}

        # The bureau sees every case, unassigned and returned ones too.
        assert seen(QueueKey.ALL, everyone) == set(ids.values())
        assert queues.queue_counts(session, NOW, everyone)[QueueKey.ALL] == len(ids)

        for clerk, names in visible.items():
            mine = {ids[name] for name in names}
            found = queues.viewer_for(session, clerk)
            for wide in (False, True):  # both ways of testing the scope (queries.viewer_scope)
                viewer = replace(found, wide=wide)
                counts = queues.queue_counts(session, NOW, viewer)
                for key in QueueKey:
                    expected = seen(key, everyone) & mine
                    if key is QueueKey.MINE:  # a handler's "mine": their units' open cases
                        expected = mine & open_ids
                    got = seen(key, viewer)
                    assert got == expected, (clerk, wide, key, sorted(named[i] for i in got))
                    assert counts[key] == len(expected), (clerk, wide, key)
                assert seen(QueueKey.ALL, viewer, search) == mine
                assert seen(QueueKey.ALL, viewer, Filters(search="水")) == mine
                walked, page = (
                    [],
                    queries.page_after(
                        session,
                        queries.where_of(session, QueueKey.ALL, NOW, viewer, Filters()),
                        None,
                        1,
                    ),
                )
                while page:  # one row a page: the keyset walk stays in scope
                    walked += page
                    page = queries.page_after(
                        session,
                        queries.where_of(session, QueueKey.ALL, NOW, viewer, Filters()),
                        page[-1].key,
                        1,
                    )
                assert {line.id for line in walked} == mine
                taken = queues.take_next(session, QueueKey.ALL, NOW, viewer, Filters())
                assert taken in mine
        # A unit filter narrows a handler's own cases, never widens them.
        handler = queues.viewer_for(session, HANDLER)
        edu = Filters(unit_ids=(find_unit(session, "C-EDU").id or 0,))
        assert seen(QueueKey.ALL, handler, edu) == {ids["helping"]}

        # Opening a case by its number: refused outside the scope, for detail and history.
        for clerk, names in visible.items():
            for name, case_id in ids.items():
                if name in names:
                    detail = svc.case_detail(session, rules, NOW, case_id, clerk=clerk)
                    assert detail.id == case_id
                    assert svc.case_history(session, case_id, clerk=clerk)
                    continue
                with pytest.raises(NotPermitted, match="may not see case") as refusal:
                    svc.case_detail(session, rules, NOW, case_id, clerk=clerk)
                assert refusal.value.key == "refused.not_their_case"
                with pytest.raises(NotPermitted, match="may not see case"):
                    svc.case_history(session, f"ext:u-{name}", clerk=clerk)
        for clerk in (CLERK, SUPERVISOR):
            for case_id in ids.values():
                assert svc.case_detail(session, rules, NOW, case_id, clerk=clerk).id == case_id


@pytest.mark.parametrize("tie_rows", [1, 1000])
def test_a_wide_handlers_pages_walk_ties_both_ways(store: Any, rules: Rules, tie_rows: int) -> None:
    """A wide handler's next page tests the rows sharing its deadline one by one when they are
    few (queries.page_after's `ties`), and by the case set when they are many: either way,
    one row a page, both ways, the walk is their cases in queue order."""
    _fill_units(store, rules)
    with store.session() as session:
        every = queues.queue_page(session, QueueKey.ALL, NOW, Viewer(clerk=CLERK), Filters()).lines
        dues = [line.next_due_at for line in every]
        assert len(set(dues)) < len(dues), "the fixture has cases sharing a deadline"
        for clerk in (HANDLER, CITY):
            viewer = replace(queues.viewer_for(session, clerk), wide=True, cases=40 * tie_rows)
            assert queries.tie_rows(viewer) == tie_rows
            theirs = [
                line.id
                for line in every
                if line.id
                in {
                    x.id
                    for x in queues.queue_page(session, QueueKey.ALL, NOW, viewer, Filters()).lines
                }
            ]

            def step(viewer: Viewer = viewer, **keyset: Any) -> list[Any]:
                return queues.queue_page(
                    session, QueueKey.ALL, NOW, viewer, Filters(), limit=1, **keyset
                ).lines

            walked = step()
            while page := step(after=walked[-1].key):
                walked += page
            assert [line.id for line in walked] == theirs, clerk
            back = walked[-1:]
            while page := step(before=back[0].key):
                back = page + back
            assert [line.id for line in back] == theirs, clerk


def test_a_handler_opens_on_their_own_open_cases(store: Any, rules: Rules) -> None:
    """A clerk opens on 待交办; a unit handler, for whom 待交办 is always empty (those cases
    have no unit yet), on 我的: the same rows and count as the queue's own query."""
    ids = _fill_units(store, rules)
    with store.session() as session:
        handler = queues.viewer_for(session, HANDLER)
        mine = {
            line.id
            for line in queues.queue_page(session, QueueKey.MINE, NOW, handler, Filters()).lines
        }
        assert not queues.queue_page(session, QueueKey.ACCEPTED, NOW, handler, Filters()).lines
    assert mine, "the fixture gives the handler's units open cases"
    for clerk, queue, expected in (
        (CLERK, QueueKey.ACCEPTED, {ids["accepted"], ids["returned"]}),
        (HANDLER, QueueKey.MINE, mine),
    ):
        for limit in (1, 100):
            key, lines, count = opening_page(store.engine, limit, clerk)
            with store.session() as session:
                viewer = queues.viewer_for(session, clerk)
                page = queues.queue_page(session, queue, NOW, viewer, Filters(), limit=limit)
                assert count == queues.filtered_count(session, queue, NOW, viewer, Filters())
            assert key is queue and lines == page.lines
            assert {line.id for line in lines} <= expected and count == len(expected)
