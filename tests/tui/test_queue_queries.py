"""The queue queries on SQLite and PostgreSQL alike: counts, keyset pages, search, take-next."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from console_data import CLERK, HANDLER, NOW, SUPERVISOR, populate_bureau

from caseworker.clock import FrozenClock
from caseworker.services import cases as svc
from caseworker.services import queues
from caseworker.services.rules import Rules
from caseworker.store import queries
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
            ids.append(svc.create_case(session, desk, svc.NewCase(
                channel="hotline-12345" if n % 2 else "leader-board", title=title,
                body=f"{title}，请尽快处理。", received_at=received, external_id=f"q-{n}",
                region="A市", category="城乡建设")))
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
            assert queues.filtered_count(session, QueueKey.ALL, NOW, viewer, filters) == len(
                lines)
            return {line.id for line in lines}

        assert found("水") == {ids[0], ids[2]}  # one character
        assert found("噪音") == {ids[1]}  # two
        assert found("幼儿园学位") == {ids[3]}  # a trigram search
        assert found("道路积水 小区") == {ids[0]}  # every word must be there
        assert found("100%_") == {ids[4]}  # LIKE wildcards are text
        assert found("不存在的词") == set()
        hotline = Filters(channel="hotline-12345")
        assert {line.id for line in queues.queue_page(
            session, QueueKey.ALL, NOW, viewer, hotline).lines} == {ids[1], ids[3]}


def test_opening_page_in_plain_sql_is_the_queues_own_first_page(
    store: Any, rules: Rules
) -> None:
    ids = _fill(store, rules)
    later = svc.Desk(rules=rules, clock=FrozenClock(NOW - timedelta(minutes=30)), clerk=CLERK)
    with store.session() as session:
        for case_id in (ids[0], ids[2], ids[4]):
            svc.accept_case(session, later, case_id)
    viewer = Viewer(clerk=CLERK)
    for limit in (3, 100):
        lines, count = opening_page(store.engine, limit)
        with store.session() as session:
            page = queues.queue_page(
                session, QueueKey.ACCEPTED, NOW, viewer, Filters(), limit=limit)
            assert count == queues.filtered_count(
                session, QueueKey.ACCEPTED, NOW, viewer, Filters()) == 4
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
            session, QueueKey.RECEIVED, NOW + queues.CLAIM_WINDOW, me, Filters())
    assert mine != first and mine is not None
    assert theirs == first  # their own claim does not hide it from them
    assert stale == first  # after the window the claim lapses
