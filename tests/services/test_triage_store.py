"""Repeats marked at import, accepted suggestions and common issues, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sqlmodel import select

from caseworker.clock import FrozenClock
from caseworker.services.cases import Desk, find_case
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.triage import accept_category, record_common_issue, triage_stats
from caseworker.store.models import CommonIssueCase, EventRow, LinkRow

ROWS = [
    ("188416", "A00029753", "请给K3县乡村医生发卫生室执业许可证", "2019-06-20 12:38:47",
     "我们是K3县的乡村医生，卫生室一直没有执业许可证，影响正常行医，请相关部门尽快办理。"),
    ("188500", "A00011111", "A3区某小区门口道路积水", "2019-06-21 08:00:00",
     "每逢下雨小区门口道路积水严重，出行困难。"),
    ("323149", "A1241141", "请给K3县乡村医生发卫生室执业许可证", "2019-06-22 09:00:00",
     "我们是K3县的乡村医生，卫生室一直没有执业许可证，影响正常行医，请相关部门尽快办理！"),
]  # fmt: skip


def _bureau(store: Any, rules: Any, clock: FrozenClock, tmp_path: Path) -> Desk:
    path = tmp_path / "messages.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"])
        out.writerows(ROWS)
    with store.session() as session:
        ensure_first_supervisor(session, "张敏")
    desk = Desk(rules, clock, "张敏")
    summary = run_import(store, desk, path, ImportOptions(rejects=tmp_path / "rejects.csv"))
    assert summary.imported == 3
    return desk


def test_a_repost_is_linked_to_the_first_at_import(
    store: Any, rules: Any, clock: FrozenClock, tmp_path: Path
) -> None:
    _bureau(store, rules, clock, tmp_path)
    with store.session() as session:
        first, other, repost = (find_case(session, f"ext:{r[0]}") for r in ROWS)
        assert repost.repeat_of_id == first.id
        assert first.repeat_of_id is None and other.repeat_of_id is None
        link = session.exec(select(LinkRow)).one()
        assert (link.case_id, link.target_id, link.kind) == (repost.id, first.id, "repeat_of")
        event = session.exec(select(EventRow).where(EventRow.action == "link_repeat")).one()
        assert json.loads(event.detail or "{}")["original"] == first.id


def test_accepted_suggestions_are_counted_and_common_issues_kept(
    store: Any, rules: Any, clock: FrozenClock, tmp_path: Path
) -> None:
    desk = _bureau(store, rules, clock, tmp_path)
    with store.session() as session:
        accept_category(session, desk, "ext:188416", category="卫生计生", score=0.8, model_id=1)
        accept_category(session, desk, "ext:188500", category="城乡建设")  # the clerk's own
        assert find_case(session, "ext:188416").category == "卫生计生"
        figures = triage_stats(session)
        assert (figures.categorised, figures.accepted) == (2, 1)
        ids = [find_case(session, f"ext:{r[0]}").id or 0 for r in (ROWS[0], ROWS[2])]
        issue = record_common_issue(session, desk, title="K3县乡村医生执业许可", case_ids=ids)
        members = session.exec(
            select(CommonIssueCase.case_id).where(CommonIssueCase.issue_id == issue)
        ).all()
        assert sorted(members) == sorted(ids)


def test_train_and_suggest_from_the_store(
    store: Any, rules: Any, clock: FrozenClock, tmp_path: Path
) -> None:
    """The same model on either database: trained from the cases' categories, stored, read."""
    from caseworker.services.cases import NewCase, create_case
    from caseworker.services.triage import latest_model, suggest_cases, train

    desk = _bureau(store, rules, clock, tmp_path)
    topics = {
        "卫生计生": ("医院看病挂号难", "社区医院医生太少，挂号排队一上午，看病难。"),
        "城乡建设": ("小区道路积水", "小区门口道路积水严重，排水管道堵塞，出行困难。"),
        "教育文体": ("学校违规补课", "学校暑假强制学生补课并收取费用，家长负担重。"),
    }
    with store.session() as session:
        for n in range(36):
            category = list(topics)[n % 3]
            title, body = topics[category]
            create_case(
                session,
                desk,
                NewCase(
                    channel="leader-board",
                    external_id=f"T{n}",
                    title=f"{title}{n}",
                    body=f"{body}第{n}次反映。",
                    received_at=clock.now(),
                    category=category,
                ),
            )
    result = train(store, clerk="张敏", now=clock.now(), min_cases=30)
    assert result.model_id is not None and result.category_cases == 36
    assert result.category_cv is not None and result.category_cv.top1 >= 0.9
    with store.session() as session:
        loaded = latest_model(session)
        assert loaded is not None and loaded.id == result.model_id
        found = suggest_cases(session, loaded, ["ext:T4"], clerk="张敏")[0]
        assert found.categories[0]["label"] == "城乡建设"


def test_train_reads_the_year_up_to_the_newest_labelled_case(
    store: Any, rules: Any, clock: FrozenClock, tmp_path: Path, monkeypatch: Any
) -> None:
    """A year back from the newest labelled case; older cases only to make up MIN_HISTORY."""
    from datetime import timedelta

    from caseworker.services import triage
    from caseworker.services.cases import NewCase, create_case

    desk = _bureau(store, rules, clock, tmp_path)
    topics = {
        "卫生计生": ("医院看病挂号难", "社区医院医生太少，挂号排队一上午，看病难。"),
        "城乡建设": ("小区道路积水", "小区门口道路积水严重，排水管道堵塞，出行困难。"),
    }
    with store.session() as session:
        for n in range(40):
            category = list(topics)[n % 2]
            title, body = topics[category]
            days = 400 if n < 10 else n  # ten cases more than a year before the newest
            create_case(
                session,
                desk,
                NewCase(
                    channel="leader-board",
                    external_id=f"Y{n}",
                    title=f"{title}{n}",
                    body=f"{body}第{n}次反映。",
                    received_at=clock.now() - timedelta(days=days),
                    category=category,
                ),
            )
    monkeypatch.setattr(triage, "MIN_HISTORY", 20)
    result = triage.train(store, clerk="张敏", now=clock.now(), min_cases=20)
    assert result.category_cases == 30
    monkeypatch.setattr(triage, "MIN_HISTORY", 35)
    result = triage.train(store, clerk="张敏", now=clock.now(), min_cases=20)
    assert result.category_cases == 35  # the year's 30 and the five newest before it
