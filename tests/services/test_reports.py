"""Supervisor reports on a hand-built bureau across the 2025 National Day holiday.

The 2025 notice: 10-01..10-08 off (国庆 + 中秋), make-up working days Sunday 09-28 and Saturday
10-11. Every expected figure below was counted by hand from that calendar; the comments show
the counting. "wd after X through Y" lists the working days d with X < d <= Y.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from caseworker.clock import FrozenClock
from caseworker.config import DATA_DIR
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.deadlines import Stage
from caseworker.domain.measures import Period, period_bounds
from caseworker.domain.policy import SupervisionThresholds, parse_policy
from caseworker.services import cases as svc
from caseworker.services.people import ensure_first_supervisor, find_unit, import_units, subtree_ids
from caseworker.services.reports import (
    UNASSIGNED,
    counts_by,
    overdue_report,
    supervise_overdue,
    unit_rates,
    volume_by_day,
)
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import EventRow, SupervisionRow

SUPERVISOR = "督查员"
UNITS_CSV = """name,parent,level,code
某市,,city,C
甲区,C,county,A
甲区教育局,A,department,A-EDU
乙区,C,county,B
"""


def at(text: str) -> datetime:
    """A Shanghai time written as MM-DD HH:MM in 2025."""
    return datetime.fromisoformat(f"2025-{text}").replace(tzinfo=SHANGHAI)


def fixture_rules() -> Rules:
    return load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")


def build_bureau(target: Path | str) -> None:
    """Eleven cases C1..C11 through the real services, the clock moved along (see each step).

    Deadlines (default policy: leader-board 3 wd / 10 wd / 60 days; hotline 1 / 5 / 5 wd):
    C1  board   recv 09-25, assigned A-EDU 09-26; reply due 10-15 (09-26,28,29,30,10-09,10,11,
                13,14,15); never replied.                                     -> overdue reply
    C2  hotline recv 09-29, never accepted; assign due 09-30; close due 10-13. -> overdue assign
    C3  hotline recv 09-26, assigned B 09-26, replied 10-09; close due 10-10 (09-28,29,30,10-09,
                10); never closed.                                            -> overdue close
    C4  board   recv 09-25, assigned A 09-26, replied 10-10, closed 10-11 (a make-up Saturday),
                rated 满意.
    C5  board   recv 09-29, assigned A 09-29 (assign due 10-10), paused 10-13; reply due 10-20.
    C6  board   recv 10-09, repeat of C1, assigned B 10-10 (assign due 10-13), replied and
                closed 10-20, rated 基本满意 10-21.
    C7  hotline recv 09-30; assign due 10-09, assigned B only 10-10 (late); reply and close due
                10-14 (10-09,10,11,13,14); never replied.                     -> overdue reply
    C8  hotline recv 10-09, assigned A 10-09 (assign due 10-10); close due 10-15; replied 10-14,
                closed 10-16 (late), rated 不满意.
    C9  hotline recv 10-10, rejected the same day (assign due 10-11).
    C10 board   recv 10-15, assigned A 10-16 (assign due 10-20); reply due 10-29; not replied.
    C11 hotline recv 10-13, assigned B 10-13 (assign due 10-14), replied and closed 10-15
                (close due 10-20), not rated.
    """
    rules = fixture_rules()
    store = open_store(str(target))
    try:
        with store.session() as s:
            ensure_first_supervisor(s, SUPERVISOR)
            import_units(s, UNITS_CSV)

        def step(when: str, *actions: tuple[str, str, dict[str, object]]) -> None:
            desk = svc.Desk(rules=rules, clock=FrozenClock(at(when)), clerk=SUPERVISOR)
            with store.session() as s:
                for name, ref, kwargs in actions:
                    if name == "new":
                        svc.create_case(
                            s,
                            desk,
                            svc.NewCase(
                                channel=str(kwargs["channel"]),
                                title=f"{ref} 留言《标题》[b]",
                                body="市民来信",
                                received_at=desk.now(),
                                external_id=ref,
                                category=str(kwargs.get("category", "城乡建设")),
                                region=str(kwargs.get("region", "A1区")),
                            ),
                        )
                        continue
                    getattr(svc, name)(s, desk, ref, **kwargs)

        def reply(ref: str) -> list[tuple[str, str, dict[str, object]]]:
            return [
                ("draft_reply", ref, {"text": "您好，已办理。", "final": True, "outcome": "支持"}),
                ("publish_reply", ref, {}),
            ]

        board: dict[str, object] = {"channel": "leader-board"}
        hotline: dict[str, object] = {"channel": "hotline-12345"}
        step("09-25T10:00", ("new", "C1", board), ("new", "C4", board))
        step("09-25T11:00", ("accept_case", "C1", {}), ("accept_case", "C4", {}))
        step("09-26T09:00", ("new", "C3", hotline))
        step(
            "09-26T10:00",
            ("assign_case", "C1", {"lead": "A-EDU"}),
            ("assign_case", "C4", {"lead": "A"}),
            ("accept_case", "C3", {}),
            ("assign_case", "C3", {"lead": "B"}),
        )
        step("09-29T15:00", ("new", "C2", hotline), ("new", "C5", board))
        step("09-29T16:00", ("accept_case", "C5", {}), ("assign_case", "C5", {"lead": "A"}))
        step("09-30T09:00", ("new", "C7", hotline))
        step("09-30T10:00", ("accept_case", "C7", {}))
        step("10-09T09:00", ("new", "C8", {**hotline, "category": "交通运输"}))
        step(
            "10-09T10:00",
            ("new", "C6", board),
            ("accept_case", "C8", {}),
            ("assign_case", "C8", {"lead": "A"}),
        )
        step(
            "10-09T11:00",
            *reply("C3"),
            ("accept_case", "C6", {}),
            ("link_repeat", "C6", {"original": "C1"}),
        )
        step("10-10T09:00", ("new", "C9", hotline), ("assign_case", "C7", {"lead": "B"}))
        step("10-10T10:00", ("assign_case", "C6", {"lead": "B"}), *reply("C4"))
        step("10-10T11:00", ("reject_case", "C9", {"reason": "无实质内容"}))
        step("10-11T10:00", ("close_case", "C4", {}))
        step("10-11T11:00", ("rate_case", "C4", {"value": "满意"}))
        step("10-13T09:00", ("new", "C11", {**hotline, "region": "B2区"}))
        step(
            "10-13T10:00",
            ("accept_case", "C11", {}),
            ("assign_case", "C11", {"lead": "B"}),
            ("pause_case", "C5", {"reason": "等待群众补充材料"}),
        )
        step("10-14T10:00", *reply("C8"))
        step("10-15T10:00", ("new", "C10", board))
        step("10-15T11:00", *reply("C11"), ("close_case", "C11", {}))
        step(
            "10-16T10:00",
            ("accept_case", "C10", {}),
            ("assign_case", "C10", {"lead": "A"}),
            ("close_case", "C8", {}),
        )
        step("10-17T10:00", ("rate_case", "C8", {"value": "不满意"}))
        step("10-20T10:00", *reply("C6"), ("close_case", "C6", {}))
        step("10-21T09:00", ("rate_case", "C6", {"value": "基本满意"}))
    finally:
        store.close()


@pytest.fixture(scope="module")
def bureau_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bureau") / "bureau.sqlite"
    build_bureau(path)
    return path


@pytest.fixture
def store(bureau_file: Path, tmp_path: Path) -> Iterator[Store]:
    """A private copy of the bureau, so tests that supervise do not disturb the others."""
    copy = tmp_path / "bureau.sqlite"
    shutil.copy(bureau_file, copy)
    opened = open_store(str(copy))
    yield opened
    opened.close()


def case_ids(store: Store) -> dict[str, int]:
    with store.session() as s:
        return {ref: svc.find_case(s, ref).id or 0 for ref in [f"C{n}" for n in range(1, 12)]}


def test_overdue_report_counts_working_and_natural_days_across_the_holiday(store: Store) -> None:
    rules = fixture_rules()
    ids = case_ids(store)
    with store.session() as s:
        report = overdue_report(s, rules.calendar, as_of=at("10-21T10:00"))
    got = [
        (
            r.external_id,
            r.stage,
            r.lead_unit,
            r.overdue_working_days,
            r.overdue_days,
            r.due_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M:%S"),
            r.repeats,
        )
        for r in report.cases
    ]
    assert got == [
        # C2 assign due 09-30; wd after 09-30 through 10-21: 10-09,10,11,13,14,15,16,17,20,21
        # = 10; natural 10-21 - 09-30 = 21 days. Never assigned, so no lead unit.
        ("C2", "assign", None, 10, 21, "09-30 23:59:59", 0),
        # C3 replied, so its running clock is close, due 10-10: 10-11,13,14,15,16,17,20,21 = 8;
        # natural 11.
        ("C3", "close", "乙区", 8, 11, "10-10 23:59:59", 0),
        # C7 reply and close are both due 10-14; the earlier stage (reply) is shown:
        # 10-15,16,17,20,21 = 5; natural 7.
        ("C7", "reply", "乙区", 5, 7, "10-14 23:59:59", 0),
        # C1 reply due 10-15: 10-16,17,20,21 = 4; natural 6; C6 repeats it.
        ("C1", "reply", "甲区教育局", 4, 6, "10-15 23:59:59", 1),
    ]
    # C5's stored reply deadline (10-20) has passed, but it is paused: not overdue while paused.
    assert ids["C5"] not in {r.id for r in report.cases}
    assert [
        (u.unit, u.overdue, u.max_overdue_working_days, u.total_overdue_working_days)
        for u in report.by_unit
    ] == [(UNASSIGNED, 1, 10, 10), ("乙区", 2, 8, 13), ("甲区教育局", 1, 4, 4)]


def test_overdue_during_the_holiday_is_natural_days_only(store: Store) -> None:
    rules = fixture_rules()
    with store.session() as s:
        report = overdue_report(s, rules.calendar, as_of=at("10-05T12:00"))
    # Only C2 (assign due 09-30) is late on 10-05: 5 natural days, but 10-01..10-05 are all
    # holiday, so 0 working days - and no supervision level is earned yet.
    assert [(r.external_id, r.overdue_working_days, r.overdue_days) for r in report.cases] == [
        ("C2", 0, 5)
    ]
    assert rules.policy.supervision.level_for(0) is None


def test_overdue_filters_unit_subtree_channel_and_stage(store: Store) -> None:
    rules = fixture_rules()
    as_of = at("10-21T10:00")
    with store.session() as s:
        county_a = subtree_ids(s, find_unit(s, "A").id or 0)
        city = subtree_ids(s, find_unit(s, "C").id or 0)

        def refs(**kwargs: object) -> list[str]:
            report = overdue_report(s, rules.calendar, as_of=as_of, **kwargs)  # type: ignore[arg-type]
            return [r.external_id for r in report.cases]

        # 甲区's subtree is 甲区 and 甲区教育局: only C1 (C5 is paused, C10 not yet due).
        assert refs(unit_ids=county_a) == ["C1"]
        # The city holds both counties; the unassigned C2 belongs to no unit.
        assert refs(unit_ids=city) == ["C3", "C7", "C1"]
        assert refs(channel="hotline-12345") == ["C2", "C3", "C7"]
        assert refs(stage=Stage.REPLY) == ["C7", "C1"]
        assert refs(stage=Stage.CLOSE) == ["C3"]


def test_overdue_read_through_sqlite3_alone_is_the_same_report(store: Store) -> None:
    # `report overdue` reads a SQLite file through sqlite3 without SQLAlchemy (store.plain):
    # the same rows, times and lateness as through a Core connection, for every filter, an
    # empty unit list and a time when the paused C5 is on either side of its deadline.
    from caseworker.services.overdue import handler_unit_ids
    from caseworker.store.plain import open_plain

    rules = fixture_rules()
    reader = open_plain(store.url.removeprefix("sqlite:///"))
    assert reader is not None
    with store.session() as s:
        county_a = subtree_ids(s, find_unit(s, "A").id or 0)
    try:
        with store.engine.connect() as core:
            for as_of in (at("10-05T12:00"), at("10-21T10:00"), at("12-01T09:00")):
                for units in (None, county_a, []):
                    for channel in (None, "hotline-12345"):
                        for stage in (None, Stage.REPLY):
                            plain = overdue_report(
                                reader,
                                rules.calendar,
                                as_of=as_of,
                                unit_ids=units,
                                channel=channel,
                                stage=stage,
                            )
                            assert plain == overdue_report(
                                core,
                                rules.calendar,
                                as_of=as_of,
                                unit_ids=units,
                                channel=channel,
                                stage=stage,
                            )
            everything = overdue_report(reader, rules.calendar, as_of=at("10-21T10:00"))
            assert [r.external_id for r in everything.cases] == ["C2", "C3", "C7", "C1"]
            assert all(r.due_at.tzinfo is not None for r in everything.cases)
            assert handler_unit_ids(reader, SUPERVISOR) == handler_unit_ids(core, SUPERVISOR)
            assert handler_unit_ids(reader, "nobody") == handler_unit_ids(core, "nobody") == ()
    finally:
        reader.close()


def test_supervise_overdue_follows_thresholds_and_is_idempotent(store: Store) -> None:
    rules = fixture_rules()
    assert rules.policy.supervision == SupervisionThresholds(remind=1, flag=5, summon=10)

    def run(when: str) -> list[tuple[str, str | None, str]]:
        desk = svc.Desk(rules=rules, clock=FrozenClock(at(when)), clerk=SUPERVISOR)
        with store.session() as s:
            done = supervise_overdue(s, desk)
        return [(d.external_id, d.previous, d.level) for d in done]

    # On 10-21: C1 4 wd -> 催办; C2 10 wd -> 约谈; C3 8 wd and C7 5 wd -> 挂牌督办 (case id
    # order: C1, C3, C2, C7 were created in that order).
    assert run("10-21T10:00") == [
        ("C1", None, "remind"),
        ("C3", None, "flag"),
        ("C2", None, "summon"),
        ("C7", None, "flag"),
    ]
    assert run("10-21T10:00") == []  # the second run adds nothing
    # A week later: C1 (10-16..10-28: 9 wd) earns 挂牌督办; C3 (13 wd) and C7 (10 wd) earn 约谈;
    # C2 already has 约谈, the top level, so nothing is added for it.
    assert run("10-28T10:00") == [
        ("C1", "remind", "flag"),
        ("C3", "flag", "summon"),
        ("C7", "flag", "summon"),
    ]
    assert run("10-28T10:00") == []
    ids = case_ids(store)
    with store.session() as s:
        records = s.exec(select(SupervisionRow)).all()
        events = s.exec(select(EventRow).where(EventRow.action == "supervise")).all()
        report = overdue_report(s, rules.calendar, as_of=at("10-28T10:00"))
    assert len(records) == len(events) == 7
    assert {e.case_id for e in events} == {ids[r] for r in ("C1", "C2", "C3", "C7")}
    assert all(e.actor == SUPERVISOR and e.reason for e in events)
    assert {r.external_id: r.supervision for r in report.cases} == {
        "C1": "flag",
        "C2": "summon",
        "C3": "summon",
        "C7": "summon",
    }


def test_supervision_thresholds_come_from_the_policy_with_defaults() -> None:
    text = (DATA_DIR / "policy.toml").read_text(encoding="utf-8")
    start = text.index("[supervision]")
    without = text[:start] + text[text.index("[channels.leader-board]") :]
    assert parse_policy(without).supervision == SupervisionThresholds()
    custom = parse_policy(text.replace("flag = 5", "flag = 3"))
    assert custom.supervision.level_for(3) == "flag"
    assert custom.supervision.level_for(2) == "remind"
    with pytest.raises(ValueError, match="must rise"):
        parse_policy(text.replace("summon = 10", "summon = 2"))


def test_period_bounds() -> None:
    assert period_bounds(Period.WEEK, date(2025, 10, 1)) == (date(2025, 9, 29), date(2025, 10, 6))
    assert period_bounds(Period.MONTH, date(2025, 12, 9)) == (date(2025, 12, 1), date(2026, 1, 1))
    assert period_bounds(Period.QUARTER, date(2025, 11, 3)) == (date(2025, 10, 1), date(2026, 1, 1))


def figures(row: object) -> dict[str, tuple[int, int]]:
    rates = row.measures.rates  # type: ignore[attr-defined]
    return {code: (rate.numerator, rate.denominator) for code, rate in rates.items()}


def test_october_rates_per_unit(store: Store) -> None:
    rules = fixture_rules()
    with store.session() as s:
        report = unit_rates(
            s, rules, period=Period.MONTH, at=date(2025, 10, 21), now=at("11-03T10:00")
        )
    assert (report.start, report.end) == (date(2025, 10, 1), date(2025, 11, 1))
    assert report.rule_version == "policy 2025-2; measures m2; 满意率 counts 满意+基本满意"
    by_unit = {r.unit: r for r in report.rows}
    # Ranked by 按期办结率: 乙区 1/3 beats 甲区 0/1; 甲区教育局 had no close deadline: last.
    assert [(r.rank, r.unit) for r in report.rows] == [
        (1, "乙区"),
        (2, "甲区"),
        (3, "甲区教育局"),
        (None, UNASSIGNED),
    ]
    b = by_unit["乙区"]
    assert figures(b) == {
        # C6, C7, C11 had assign deadlines in October (10-13, 10-09, 10-14); C7 was assigned
        # on 10-10, a day late.
        "timely_acceptance": (2, 3),
        # received in October: C6 and C11, both accepted and replied.
        "reply_rate": (2, 2),
        # close deadlines in October: C3 10-10 (open), C7 10-14 (open), C11 10-20 (closed 10-15).
        "on_time_close": (1, 3),
        # closed in October: C6 (基本满意, counted) and C11 (not rated).
        "satisfaction": (1, 1),
        "rating_rate": (1, 2),
        # C6 repeats C1.
        "repeat_rate": (1, 2),
    }
    # handling: C6 10-09 -> 10-20 is 8 wd (10,11,13,14,15,16,17,20); C11 10-13 -> 10-15 is 2.
    assert b.measures.average_handling_workdays == 5.0
    # overdue at the period's end (11-01 00:00): C3 due 10-10 -> 16 wd (10-11, 13-17, 20-24,
    # 27-31); C7 due 10-14 -> 13 wd.
    assert (b.counts.overdue, b.counts.overdue_workdays) == (2, 29)

    a = by_unit["甲区"]
    assert figures(a) == {
        # assign deadlines in October: C5 10-10, C8 10-10, C10 10-20; all assigned in time.
        "timely_acceptance": (3, 3),
        # received: C8 (replied) and C10 (not yet).
        "reply_rate": (1, 2),
        # C8 close due 10-15, closed 10-16.
        "on_time_close": (0, 1),
        # closed in October: C4 (满意) and C8 (不满意).
        "satisfaction": (1, 2),
        "rating_rate": (2, 2),
        "repeat_rate": (0, 2),
    }
    # C4 09-25 -> 10-11 is 7 wd (09-26,28,29,30,10-09,10,11); C8 10-09 -> 10-16 is 6.
    assert a.measures.average_handling_workdays == 6.5
    # C10 reply due 10-29: 10-30, 10-31 = 2 wd (11-01 is a Saturday). C5 is paused.
    assert (a.counts.overdue, a.counts.overdue_workdays) == (1, 2)

    edu = by_unit["甲区教育局"]
    assert edu.counts.received == 0
    # C1 reply due 10-15: 10-16,17, 20-24, 27-31 = 12 wd.
    assert (edu.counts.overdue, edu.counts.overdue_workdays) == (1, 12)

    none = by_unit[UNASSIGNED]
    # C9 rejected 10-10 before its 10-11 deadline; C2's close deadline 10-13 passed unassigned.
    assert figures(none)["timely_acceptance"] == (1, 1)
    assert figures(none)["on_time_close"] == (0, 1)
    assert (none.counts.received, none.counts.accepted) == (1, 0)
    # C2 assign due 09-30: 10-09, 10, 11, 13-17, 20-24, 27-31 = 18 wd.
    assert (none.counts.overdue, none.counts.overdue_workdays) == (1, 18)

    total = report.total
    assert figures(total) == {
        "timely_acceptance": (6, 7),
        "reply_rate": (3, 4),
        "on_time_close": (1, 5),
        "satisfaction": (2, 3),
        "rating_rate": (3, 4),
        "repeat_rate": (1, 5),
    }
    assert total.measures.average_handling_workdays == (8 + 2 + 7 + 6) / 4
    assert total.counts.overdue == 5


def test_rates_by_level_roll_up_subtrees_and_follow_the_satisfaction_setting(
    store: Store,
) -> None:
    rules = fixture_rules()
    strict = Rules(
        policy=replace(rules.policy, satisfied_counts_basic=False), calendar=rules.calendar
    )
    with store.session() as s:
        report = unit_rates(
            s,
            strict,
            period=Period.MONTH,
            at=date(2025, 10, 1),
            now=at("11-03T10:00"),
            level="county",
        )
    assert report.rule_version.endswith("满意率 counts 满意")
    assert [(r.rank, r.unit) for r in report.rows] == [(1, "乙区"), (2, "甲区")]
    a = report.rows[1]
    # 甲区 with 甲区教育局: the same figures as 甲区 alone, plus C1's overdue 12 wd.
    assert (a.counts.overdue, a.counts.overdue_workdays) == (2, 14)
    # 基本满意 no longer counts: 乙区's only rating (C6) drops out of the numerator.
    assert figures(report.rows[0])["satisfaction"] == (0, 1)


def test_current_period_counts_only_up_to_now(store: Store) -> None:
    rules = fixture_rules()
    with store.session() as s:
        report = unit_rates(
            s, rules, period=Period.WEEK, at=date(2025, 10, 15), now=at("10-15T12:00")
        )
    # Week 10-13..10-19, counted up to 10-15 12:00: received C11 and C10 only.
    assert report.as_of == at("10-15T12:00")
    assert report.total.counts.received == 2


def test_volume_by_day(store: Store) -> None:
    with store.session() as s:
        volume = volume_by_day(s, now=at("10-21T10:00"), days=30)
    # 30 days up to 10-21 start on 09-22: every case of the fixture.
    assert sum(v.count for v in volume) == 11
    assert (date(2025, 10, 9), "hotline-12345", 1) in [(v.day, v.channel, v.count) for v in volume]
    assert (date(2025, 9, 25), "leader-board", 2) in [(v.day, v.channel, v.count) for v in volume]
    with store.session() as s:
        since, until = at("09-01T00:00"), at("11-01T00:00")
        categories = counts_by(s, "category", since=since, until=until)
        regions = counts_by(s, "region", since=since, until=until)
    # C8 was filed under 交通运输 and C11 in B2区; every other case has the defaults.
    assert [(c.label, c.count) for c in categories] == [("城乡建设", 10), ("交通运输", 1)]
    assert [(r.label, r.count) for r in regions] == [("A1区", 10), ("B2区", 1)]


def test_postgresql_gives_the_same_reports(postgres: Any, store: Store) -> None:
    """The SQL is written for both backends: the same bureau gives the same figures on each."""
    rules = fixture_rules()
    url = postgres.create_database()  # the server and its databases go at session end
    build_bureau(url)
    pg = open_store(url)
    try:
        for backend in (store, pg):
            with backend.session() as s:
                figures_of = (
                    overdue_report(s, rules.calendar, as_of=at("10-21T10:00")),
                    unit_rates(
                        s, rules, period=Period.MONTH, at=date(2025, 10, 1), now=at("11-03T10:00")
                    ),
                    unit_rates(
                        s,
                        rules,
                        period=Period.QUARTER,
                        at=date(2025, 10, 1),
                        now=at("11-03T10:00"),
                        level="county",
                    ),
                    volume_by_day(s, now=at("10-21T10:00")),
                )
            if backend is store:
                expected = figures_of
        assert figures_of == expected
        assert figures_of[0].cases[0].external_id == "C2"
    finally:
        pg.close()
