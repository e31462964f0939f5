"""Training exercises: `check_scenario` on a fresh demo, then after doing the steps for real."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import InvalidInput
from caseworker.services import cases as services
from caseworker.services.demo.build import build_demo, demo_info
from caseworker.services.rules import Rules
from caseworker.services.training import (
    ScenarioError,
    check_scenario,
    list_scenarios,
    load_scenario,
    parse_scenario,
)
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow, ClerkRow

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
CLERK, SUPERVISOR = "陈受理", "赵督查"


@pytest.fixture
def demo(tmp_path: Path, rules: Rules) -> Iterator[Store]:
    store = open_store(str(tmp_path / "demo.sqlite"))
    build_demo(store, rules, seed=3, cases=300, now=NOW)
    try:
        yield store
    finally:
        store.close()


def _roles(store: Store, scenario: str) -> dict[str, list[int]]:
    with store.session() as session:
        info = demo_info(session)
    assert info is not None
    roles: dict[str, list[int]] = info["training"][scenario]
    return roles


def _act(store: Store, rules: Rules, clerk: str, action: Any, *args: Any, **kw: Any) -> Any:
    with store.session() as session:
        return action(session, services.Desk(rules, FrozenClock(NOW), clerk), *args, **kw)


def _handler_of(store: Store, case_id: int) -> str:
    with store.session() as session:
        case = session.get(CaseRow, case_id)
        assert case is not None and case.lead_unit_id is not None
        query = select(ClerkRow.name).where(ClerkRow.unit_id == case.lead_unit_id)
        name = session.exec(query).first()
    assert name is not None
    return name


def _check(store: Store, key: str, lang: str = "en") -> list[bool]:
    with store.session() as session:
        report = check_scenario(session, load_scenario(key), lang)
    return [step.done for step in report.steps]


def test_the_shipped_scenarios_parse_in_both_languages() -> None:
    scenarios = {s.key: s for s in list_scenarios()}
    assert set(scenarios) == {
        "assign-urgent",
        "reject-duplicate",
        "draft-publish",
        "request-extension",
    }
    for scenario in scenarios.values():
        for step in scenario.steps:
            assert step.text["zh"] and step.text["en"]


def test_a_scenario_without_a_language_or_with_an_unknown_check_is_refused() -> None:
    step = '[[steps]]\ncheck = "{}"\nrole = "case"\ntext = {{zh = "a", en = "a"}}'
    with pytest.raises(ScenarioError, match="en text"):
        parse_scenario(
            "x", 'title.zh = "标题"\nbrief = {zh = "b", en = "b"}\n' + step.format("reply")
        )
    with pytest.raises(ScenarioError, match="unknown check"):
        parse_scenario(
            "x",
            'title = {zh = "t", en = "t"}\nbrief = {zh = "b", en = "b"}\n' + step.format("magic"),
        )
    with pytest.raises(InvalidInput, match="unknown scenario"):
        load_scenario("no-such-exercise")


def test_assign_urgent_is_incomplete_then_partly_then_fully_done(demo: Store, rules: Rules) -> None:
    urgent = _roles(demo, "assign-urgent")["urgent"]
    assert len(urgent) == 3
    with demo.session() as session:
        for cid in urgent:
            case = session.get(CaseRow, cid)
            assert case is not None and case.urgency == "urgent"
            assert case.received_at.astimezone(SHANGHAI).date() == NOW.date()
    assert _check(demo, "assign-urgent") == [False, False, False]
    for cid in urgent:
        with demo.session() as session:
            status = session.get(CaseRow, cid).status  # type: ignore[union-attr]
        if status == "received":
            _act(demo, rules, CLERK, services.accept_case, cid)
    assert _check(demo, "assign-urgent") == [True, False, False]
    for cid in urgent[:2]:
        _act(demo, rules, CLERK, services.assign_case, cid, lead="JN01-D05")
    assert _check(demo, "assign-urgent", "zh") == [True, False, False]
    _act(demo, rules, CLERK, services.assign_case, urgent[2], lead="JN01-D05")
    assert _check(demo, "assign-urgent") == [True, True, True]


def test_reject_duplicate(demo: Store, rules: Rules) -> None:
    roles = _roles(demo, "reject-duplicate")
    copy, original = roles["copy"][0], roles["original"][0]
    assert _check(demo, "reject-duplicate") == [False, False, True]
    _act(demo, rules, CLERK, services.link_repeat, copy, original=original)
    assert _check(demo, "reject-duplicate") == [True, False, True]
    _act(demo, rules, CLERK, services.reject_case, copy, reason="重复留言，原件正在办理")
    assert _check(demo, "reject-duplicate") == [True, True, True]


def test_draft_and_publish_a_reply(demo: Store, rules: Rules) -> None:
    case = _roles(demo, "draft-publish")["case"][0]
    assert _check(demo, "draft-publish") == [False, False, False, False]
    handler = _handler_of(demo, case)
    _act(
        demo,
        rules,
        handler,
        services.draft_reply,
        case,
        text="网友您好！配套小学已立项，过渡期可就近入学。",
        final=True,
        outcome="支持",
    )
    assert _check(demo, "draft-publish") == [True, False, False, False]
    _act(demo, rules, handler, services.submit_reply, case)
    _act(demo, rules, CLERK, services.publish_reply, case)
    assert _check(demo, "draft-publish") == [True, True, True, True]


def test_request_and_approve_an_extension(demo: Store, rules: Rules) -> None:
    case = _roles(demo, "request-extension")["case"][0]
    assert _check(demo, "request-extension") == [False, False]
    handler = _handler_of(demo, case)
    _act(
        demo,
        rules,
        handler,
        services.request_extension,
        case,
        days=30,
        reason="需会同自然资源部门核实土地出让金缴纳情况",
    )
    assert _check(demo, "request-extension") == [True, False]
    _act(demo, rules, SUPERVISOR, services.approve_extension, case)
    assert _check(demo, "request-extension") == [True, True]


def test_a_database_without_training_material_is_told_so(tmp_path: Path) -> None:
    store = open_store(str(tmp_path / "empty.sqlite"))
    try:
        with store.session() as session, pytest.raises(ScenarioError, match="caseworker demo"):
            check_scenario(session, load_scenario("assign-urgent"), "zh")
    finally:
        store.close()


@pytest.mark.parametrize(
    "now",
    [
        datetime(2026, 11, 22, 15, 0, tzinfo=SHANGHAI),  # a Sunday afternoon
        datetime(2026, 10, 3, 10, 0, tzinfo=SHANGHAI),  # the National Day holiday
        datetime(2026, 2, 24, 8, 5, tzinfo=SHANGHAI),  # the first morning after Spring Festival
    ],
)
def test_each_exercise_starts_where_its_brief_says_whatever_the_day(
    tmp_path: Path, rules: Rules, now: datetime
) -> None:
    store = open_store(str(tmp_path / "demo.sqlite"))
    try:
        build_demo(store, rules, seed=11, cases=120, now=now)
        with store.session() as session:
            info = demo_info(session)
            assert info is not None
            status = {
                (scenario, role): [
                    session.get(CaseRow, cid).status  # type: ignore[union-attr]
                    for cid in ids
                ]
                for scenario, roles in info["training"].items()
                for role, ids in roles.items()
            }
    finally:
        store.close()
    handling = {"assigned", "acknowledged"}
    assert set(status[("assign-urgent", "urgent")]) <= {"received", "accepted"}
    assert status[("reject-duplicate", "copy")] == ["received"]
    assert set(status[("reject-duplicate", "original")]) <= handling
    assert set(status[("draft-publish", "case")]) <= handling
    assert set(status[("request-extension", "case")]) <= handling
