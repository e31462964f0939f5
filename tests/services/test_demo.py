"""The demo bureau: every state and clock condition present, histories legal, deterministic."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import Session, SQLModel, col, select

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import ClockState
from caseworker.domain.lifecycle import Action, Actor, Role, Status, check_action, check_reopen
from caseworker.domain.policy import Kind, Urgency
from caseworker.services.clocks import case_clocks, load_records
from caseworker.services.demo.build import (
    DemoExists,
    NotADemo,
    build_demo,
    demo_info,
    reset_demo,
)
from caseworker.services.demo.texts import CATEGORIES, KINDERGARTEN_ESTATE
from caseworker.services.rules import Rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import (
    CaseRow,
    ClerkRow,
    EventRow,
    ExtensionRow,
    InstructionRow,
    RatingRow,
    ReplyRow,
    SupervisionRow,
    Unit,
)

# A Monday morning late in the year: 60-day deadlines reach into 2027, a year nobody has
# entered yet, so provisional deadlines must show up too.
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Iterator[Store]:
    """The default demo (2,000 cases), built once for the whole session."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    store = open_store(str(path))
    build_demo(store, rules, seed=1, cases=2000, now=NOW)
    try:
        yield store
    finally:
        store.close()


def _cases(store: Store) -> list[CaseRow]:
    with store.session() as session:
        return list(session.exec(select(CaseRow).order_by(col(CaseRow.id))).all())


def test_every_state_channel_category_kind_and_urgency_is_present(
    demo_store: Store, rules: Rules
) -> None:
    cases = _cases(demo_store)
    assert len(cases) == 2000
    assert {c.status for c in cases} == {s.value for s in Status}
    assert {c.channel for c in cases} == set(rules.policy.channels)
    assert {c.category for c in cases} == set(CATEGORIES)
    assert {c.kind for c in cases} == {k.value for k in Kind}
    assert {c.urgency for c in cases} == {u.value for u in Urgency}
    assert all(json.loads(c.extra or "{}").get("demo") is True for c in cases)


def test_every_clock_condition_is_present(demo_store: Store, rules: Rules) -> None:
    """Overdue, due today, warning, paused and provisional, as the services compute them."""
    conditions: Counter[str] = Counter()
    today = NOW.date()
    with demo_store.session() as session:
        for case in session.exec(select(CaseRow)).all():
            if Status(case.status) not in {
                Status.RECEIVED,
                Status.ACCEPTED,
                Status.ASSIGNED,
                Status.ACKNOWLEDGED,
                Status.REPLIED,
            }:
                continue
            assert case.id is not None
            clocks = case_clocks(
                case, load_records(session, case.id, case.clock_started_at), rules, NOW
            )
            running = [c for c in clocks if c.state is not ClockState.STOPPED]
            if any(c.is_overdue(NOW) for c in running):
                conditions["overdue"] += 1
                days = max(c.overdue_working_days(NOW, rules.calendar) for c in running)
                if 1 <= days <= 5:
                    conditions["a few working days overdue"] += 1
            if any(
                c.due_at.astimezone(SHANGHAI).date() == today and c.due_at > NOW for c in running
            ):
                conditions["due today"] += 1
            if any(c.needs_warning(NOW) for c in running):
                conditions["warning"] += 1
            if any(c.state is ClockState.PAUSED for c in running):
                conditions["paused"] += 1
            if case.provisional:
                conditions["provisional"] += 1
            if case.received_at.astimezone(SHANGHAI).date() == today:
                conditions["new this morning"] += 1
    for wanted in (
        "overdue",
        "a few working days overdue",
        "due today",
        "warning",
        "paused",
        "provisional",
        "new this morning",
    ):
        assert conditions[wanted] > 0, f"no case is {wanted}: {dict(conditions)}"


def test_the_records_of_a_working_bureau_are_present(demo_store: Store) -> None:
    with demo_store.session() as session:
        actions = Counter(session.exec(select(EventRow.action)).all())
        replies = Counter(session.exec(select(ReplyRow.state)).all())
        ratings = Counter(session.exec(select(RatingRow.value)).all())
        follow_ups = session.exec(select(RatingRow.id).where(RatingRow.follow_up == True)).all()  # noqa: E712
        extensions = Counter(session.exec(select(ExtensionRow.state)).all())
        supervisions = Counter(session.exec(select(SupervisionRow.level)).all())
        instructions = session.exec(select(InstructionRow.owner)).all()
        repeats = session.exec(
            select(CaseRow.id).where(col(CaseRow.repeat_of_id).is_not(None))
        ).all()
        common = [
            json.loads(e or "{}").get("common_issue")
            for e in session.exec(select(CaseRow.extra)).all()
        ]
        levels = set(session.exec(select(Unit.level)).all())
        roles = set(session.exec(select(ClerkRow.role)).all())
        unit_names = set(session.exec(select(Unit.name)).all())
    for action in Action:
        assert actions[action.value] > 0, f"no {action.value} event"
    assert replies["submitted"] > 0 and replies["published"] > 0 and replies["draft"] > 0
    assert ratings["不满意"] > 0 and ratings["满意"] > 0 and ratings["基本满意"] > 0
    assert follow_ups
    assert extensions["approved"] > 0 and extensions["requested"] > 0
    assert extensions["denied"] > 0 and extensions["lapsed"] > 0
    assert set(supervisions) == {"remind", "flag", "summon"}
    assert True in instructions and False in instructions
    assert len(repeats) > 20
    issues = Counter(c for c in common if c)
    assert issues and max(issues.values()) >= 24  # dozens of kindergarten messages
    assert levels == {"province", "city", "county", "township", "department"}
    assert roles == {r.value for r in Role}
    for dept in (
        "教育局",
        "住房和城乡建设局",
        "人力资源和社会保障局",
        "交通运输局",
        "卫生健康委员会",
        "生态环境局",
        "自然资源和规划局",
        "公安局交通警察支队",
        "城市管理综合执法局",
        "市场监督管理局",
        "信访局",
        "供电公司",
        "街道办事处",
    ):
        assert any(name.endswith(dept) for name in unit_names), dept


def test_no_extension_request_waits_on_an_ended_case(demo_store: Store) -> None:
    """A request still pending when its case was closed, rejected or merged lapsed with it, as
    the services settle it: by the clerk who ended the case, then, named in that event."""
    ended = {Status.CLOSED.value, Status.REJECTED.value, Status.MERGED.value}
    with demo_store.session() as session:
        rows = session.exec(
            select(ExtensionRow, CaseRow).join(CaseRow, col(CaseRow.id) == ExtensionRow.case_id)
        ).all()
        clerks = {c.id: c.name for c in session.exec(select(ClerkRow)).all()}
        lapsing: dict[int, EventRow] = {}
        for event in session.exec(
            select(EventRow).where(col(EventRow.detail).contains("lapsed_extensions"))
        ).all():
            for ext_id in json.loads(event.detail or "{}")["lapsed_extensions"]:
                lapsing[ext_id] = event
    waiting = [ext.id for ext, case in rows if ext.state == "requested" and case.status in ended]
    assert waiting == []
    assert any(ext.state == "requested" for ext, _ in rows)  # open cases still have some
    lapsed = [ext for ext, _ in rows if ext.state == "lapsed"]
    assert lapsed and {ext.id for ext in lapsed} == set(lapsing)
    for ext in lapsed:
        assert ext.id is not None
        event = lapsing[ext.id]
        assert event.action in ("close", "reject", "merge")
        assert (ext.decided_at, clerks[ext.decided_by_id]) == (event.effective_at, event.actor)


def _replay(
    session: Session,
    case: CaseRow,
    events: list[EventRow],
    clerks: dict[str, ClerkRow],
    units: dict[str, int],
) -> None:
    """Walk a case's history through the lifecycle rules, as the real commands would."""
    assert events[0].action == "receive" and events[0].to_status == Status.RECEIVED.value
    status = Status.RECEIVED
    lead: int | None = None
    co: list[int] = []
    rating: str | None = None  # the newest since receipt or the last reopening
    previous = events[0].effective_at
    for event in events[1:]:
        assert previous <= event.effective_at <= NOW, f"case {case.id}: time runs backwards"
        previous = event.effective_at
        clerk = clerks[event.actor]
        actor = Actor(clerk.name, Role(clerk.role), clerk.unit_id)
        assert event.from_status == status.value, f"case {case.id} event {event.id}"
        target = check_action(
            Action(event.action),
            case_label=str(case.id),
            status=status,
            actor=actor,
            lead_unit_id=lead,
            co_unit_ids=co,
        )
        detail: dict[str, Any] = json.loads(event.detail) if event.detail else {}
        if event.action == "rate":
            rating = detail["rating"]
        if event.action == "reopen":  # only after the citizen's 不满意
            check_reopen(case_label=str(case.id), latest_rating=rating)
            rating = None
        if event.action == "publish" and not detail.get("final"):
            target = status  # an interim reply leaves the case where it is
        if event.action == "assign":
            lead = units[detail["lead"]]
            co = [units[name] for name in detail["co_units"]]
        if event.action == "return":
            lead, co = None, []
        assert event.to_status == target.value, f"case {case.id} event {event.id}"
        status = target
    assert case.status == status.value
    assert case.lead_unit_id == lead


def test_every_history_is_legal_and_the_clocks_match_the_services(
    demo_store: Store, rules: Rules
) -> None:
    with demo_store.session() as session:
        clerks = {c.name: c for c in session.exec(select(ClerkRow)).all()}
        units = {u.name: u.id for u in session.exec(select(Unit)).all() if u.id is not None}
        by_case: dict[int, list[EventRow]] = {}
        for event in session.exec(select(EventRow).order_by(col(EventRow.id))).all():
            by_case.setdefault(event.case_id, []).append(event)
        for case in session.exec(select(CaseRow)).all():
            assert case.id is not None
            _replay(session, case, by_case[case.id], clerks, units)
            assert case.version == len(by_case[case.id])
            expected = CaseRow(**case.model_dump())
            from caseworker.services.clocks import apply_clocks

            apply_clocks(
                expected,
                case_clocks(
                    case, load_records(session, case.id, case.clock_started_at), rules, NOW
                ),
            )
            for column in (
                "assign_due_at",
                "reply_due_at",
                "close_due_at",
                "next_due_at",
                "provisional",
            ):
                assert getattr(case, column) == getattr(expected, column), (case.id, column)


def test_texts_are_varied_chinese_without_placeholders(demo_store: Store) -> None:
    with demo_store.session() as session:
        cases = session.exec(select(CaseRow.title, CaseRow.body, CaseRow.contact)).all()
        replies = session.exec(select(ReplyRow.text)).all()
    bodies = [body for _, body, _ in cases]
    assert len(set(bodies)) >= 0.95 * len(bodies)
    assert min(map(len, bodies)) < 80 < max(map(len, bodies))
    for title, body, contact in cases:
        for value in (title, body):
            assert "{" not in value and "}" not in value
            assert not re.search(r"[A-Za-z]{4,}", value), value
        assert contact is None or re.fullmatch(r"1[3589]\d\*{4}00\d\d", contact), contact
    for reply in replies:
        assert "{" not in reply and "lorem" not in reply.lower()
        assert "0000-5550" in reply or "办理" in reply


def test_titles_are_as_distinct_as_a_real_message_board(demo_store: Store) -> None:
    """Real 留言板 titles are 97-98% distinct; the demo's must read like them, not like copies."""
    with demo_store.session() as session:
        titles = session.exec(select(CaseRow.title)).all()
    assert len(set(titles)) >= 0.9 * len(titles), len(set(titles)) / len(titles)
    assert max(Counter(titles).values()) <= 6, Counter(titles).most_common(3)


def test_the_common_issue_reads_as_many_citizens_on_one_matter(demo_store: Store) -> None:
    with demo_store.session() as session:
        rows = session.exec(
            select(CaseRow.title, CaseRow.body, CaseRow.author, CaseRow.extra).where(
                col(CaseRow.extra).contains("common_issue")
            )
        ).all()
    assert len(rows) >= 20
    matters = {json.loads(extra)["common_issue"] for _, _, _, extra in rows if extra}
    assert len(matters) == 1  # one estate's kindergarten places
    estate = KINDERGARTEN_ESTATE
    assert estate in next(iter(matters))
    for title, body, _, _ in rows:
        assert estate in title and ("幼儿园" in title or "入园" in title), title
        assert estate in body and "幼儿园" in body, body
    titles = [title for title, _, _, _ in rows]
    bodies = [body for _, body, _, _ in rows]
    assert len(set(titles)) >= 0.8 * len(titles)
    assert len(set(bodies)) == len(bodies)
    # Written in many voices: no opening sentence stands first in most of them.
    firsts = Counter(re.split(r"[。！？]", body)[0][:12] for body in bodies)
    assert firsts.most_common(1)[0][1] <= len(bodies) // 4, firsts.most_common(3)
    assert len({author for _, _, author, _ in rows}) >= 0.8 * len(rows)


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    store = open_store(str(path))
    try:
        with store.session() as session:
            out: dict[str, list[tuple[Any, ...]]] = {}
            for table in SQLModel.metadata.sorted_tables:
                keys = ", ".join(c.name for c in table.primary_key.columns)
                rows = session.execute(text(f"SELECT * FROM {table.name} ORDER BY {keys}"))
                out[table.name] = [tuple(row) for row in rows]
            return out
    finally:
        store.close()


def test_same_seed_size_and_now_give_identical_databases(tmp_path: Path, rules: Rules) -> None:
    for name in ("a", "b", "c"):
        store = open_store(str(tmp_path / f"{name}.sqlite"))
        build_demo(store, rules, seed=7 if name != "c" else 8, cases=300, now=NOW)
        store.close()
    first, second, other = (_dump(tmp_path / f"{n}.sqlite") for n in ("a", "b", "c"))
    assert first == second
    assert sum(len(rows) for rows in first.values()) > 2000
    assert first["cases"] != other["cases"]


def test_it_refuses_a_database_with_real_cases(tmp_path: Path, rules: Rules) -> None:
    from caseworker.clock import FrozenClock
    from caseworker.services.cases import Desk, NewCase, create_case
    from caseworker.services.people import add_clerk

    path = tmp_path / "bureau.sqlite"
    store = open_store(str(path))
    with store.session() as session:
        add_clerk(session, "李受理", "clerk")
        create_case(
            session,
            Desk(rules, FrozenClock(NOW), "李受理"),
            NewCase(
                channel="leader-board",
                title="小区道路积水",
                body="每逢下雨门口积水。",
                received_at=NOW - timedelta(hours=3),
            ),
        )
    with pytest.raises(NotADemo):
        build_demo(store, rules, seed=1, cases=50, now=NOW)
    store.close()
    with pytest.raises(NotADemo):
        reset_demo(str(path))
    assert path.exists()


def test_a_built_demo_is_rebuilt_only_after_a_reset(tmp_path: Path, rules: Rules) -> None:
    path = tmp_path / "demo.sqlite"
    store = open_store(str(path))
    build_demo(store, rules, seed=1, cases=60, now=NOW)
    with pytest.raises(DemoExists):
        build_demo(store, rules, seed=1, cases=60, now=NOW)
    store.close()
    reset_demo(str(path))
    store = open_store(str(path))
    report = build_demo(store, rules, seed=2, cases=80, now=NOW)
    with store.session() as session:
        info = demo_info(session)
        count = len(session.exec(select(CaseRow.id)).all())
    store.close()
    assert report.cases == count == 80
    assert info is not None and info["seed"] == 2


def test_worker_processes_write_the_same_rows(
    tmp_path: Path, rules: Rules, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large demos are simulated in a process pool; the rows must not depend on it."""
    from caseworker.services.demo import build

    monkeypatch.setattr(build, "BATCH", 100)
    for name, workers in (("one", 1), ("two", 2)):
        store = open_store(str(tmp_path / f"{name}.sqlite"))
        build_demo(store, rules, seed=5, cases=350, now=NOW, workers=workers)
        store.close()
    assert _dump(tmp_path / "one.sqlite") == _dump(tmp_path / "two.sqlite")


def test_the_bulk_load_leaves_the_schema_and_search_index_as_a_fresh_store(
    tmp_path: Path, rules: Rules
) -> None:
    """Indexes and the search trigger are set aside during the load; all must come back."""
    import sqlite3

    open_store(str(tmp_path / "fresh.sqlite")).close()
    store = open_store(str(tmp_path / "demo.sqlite"))
    build_demo(store, rules, seed=1, cases=200, now=NOW)
    store.close()
    query = "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name"
    with (
        sqlite3.connect(tmp_path / "fresh.sqlite") as fresh,
        sqlite3.connect(tmp_path / "demo.sqlite") as demo,
    ):
        assert fresh.execute(query).fetchall() == demo.execute(query).fetchall()
        found = demo.execute("SELECT count(*) FROM cases_fts WHERE cases_fts MATCH '幼儿园'")
        expected = demo.execute(
            "SELECT count(*) FROM cases WHERE title LIKE '%幼儿园%' OR body LIKE '%幼儿园%'"
        )
        assert found.fetchone() == expected.fetchone() != (0,)
        assert demo.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_opening_the_demo_recomputes_nothing(tmp_path: Path, rules: Rules) -> None:
    """The demo records the calendar its deadlines used, as the services would have."""
    from caseworker.services.clocks import recompute_if_calendar_changed

    store = open_store(str(tmp_path / "demo.sqlite"))
    build_demo(store, rules, seed=1, cases=150, now=NOW)
    with store.session() as session:
        assert recompute_if_calendar_changed(session, rules, NOW) == 0
    store.close()


def test_the_bulletin_has_intake_per_capita_urgent_minutes_and_every_case_a_text_key(
    demo_store: Store,
) -> None:
    """The demo fills the bulletin's per-10,000 table (its cities and counties have residents)
    and its urgent-lane table (urgent cases assigned within minutes to a couple of hours), and
    an import into it finds re-posts of its cases (each has its text key)."""
    from caseworker.services.documents import intake_per_capita, urgent_assignment_times

    start, end = NOW - timedelta(days=90), NOW
    with demo_store.session() as session:
        per_capita = intake_per_capita(session, start, end)
        assert len(per_capita) == 13  # three cities, ten districts and counties
        assert all(r.population >= 300_000 and r.intake > 0 for r in per_capita)
        urgent = urgent_assignment_times(session, start, end)
        assert urgent and sum(u.count for u in urgent) >= 10
        minutes = [
            (c.assigned_at - c.received_at).total_seconds() / 60
            for c in _cases(demo_store)
            if c.urgency == "urgent" and c.assigned_at is not None
        ]
        # A first assignment to a wrong unit is returned and reassigned: its clock still ran.
        assert min(minutes) < 30 and sum(m < 60 for m in minutes) >= len(minutes) // 5
        assert sorted(minutes)[len(minutes) // 2] < 180  # the same day, most within hours
        unkeyed = session.execute(
            text(
                "SELECT count(*) FROM cases c LEFT JOIN case_signatures s ON s.case_id = c.id "
                "WHERE s.case_id IS NULL"
            )
        ).scalar_one()
        assert unkeyed == 0
