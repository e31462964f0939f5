"""Replies under review, replies of other units, reopening after 不满意, and the 答复率 of a
reopened case, through the real services on SQLite and PostgreSQL.

Times are Shanghai wall-clock times in November 2025 (no holiday near): the leader board's
first reply is due 10 工作日 after receipt, so a case received Monday 11-03 is due Monday 11-17.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
from sqlmodel import select

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import IllegalTransition, NotPermitted
from caseworker.domain.measures import Period
from caseworker.i18n.catalog import Catalog
from caseworker.services import cases as svc
from caseworker.services.reports import overdue_report, unit_rates
from caseworker.store.models import EventRow, ReplyRow

HOUSING, TRANSPORT = "市住房和城乡建设局", "市交通运输局"


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def replies(bureau: Any, case_id: int) -> list[tuple[str, str, str | None, str | None]]:
    """(state, text, unit, author) of each reply of the case, oldest first."""
    with bureau.store.session() as session:
        detail = svc.case_detail(session, bureau.rules, sh(2025, 11, 30), case_id, clerk=None)
    return [(r.state, r.text, r.unit, r.author) for r in detail.replies]


def event_count(bureau: Any, case_id: int) -> int:
    with bureau.store.session() as session:
        return len(session.exec(select(EventRow).where(EventRow.case_id == case_id)).all())


def assigned(bureau: Any, external_id: str, *, co_unit: bool = True) -> int:
    """A case received Monday 11-03 09:00, accepted and assigned to 住建局 (with 交通局)."""
    b = bureau
    case_id = b.receive(sh(2025, 11, 3, 9), external_id=external_id)
    b.act(b.CLERK, sh(2025, 11, 3, 10), svc.accept_case, case_id)
    b.act(
        b.CLERK,
        sh(2025, 11, 3, 11),
        svc.assign_case,
        case_id,
        lead="C-HOUSING",
        co_units=["C-TRANSPORT"] if co_unit else [],
    )
    return int(case_id)


def closed(bureau: Any, external_id: str) -> int:
    """An assigned case answered (final reply published 11-05) and closed 11-06."""
    b = bureau
    case_id = assigned(b, external_id, co_unit=False)
    b.act(
        b.HANDLER,
        sh(2025, 11, 4, 9),
        svc.draft_reply,
        case_id,
        text="已派人清理积水。",
        final=True,
        outcome="支持",
    )
    b.act(b.HANDLER, sh(2025, 11, 4, 10), svc.submit_reply, case_id)
    b.act(b.CLERK, sh(2025, 11, 5, 9), svc.publish_reply, case_id)
    b.act(b.CLERK, sh(2025, 11, 6, 9), svc.close_case, case_id)
    return case_id


def both_languages(exc: Exception) -> tuple[str, str]:
    """The refusal as the console says it in zh, and in en (which is what the CLI prints)."""
    zh, en = Catalog("zh").refusal(exc), Catalog("en").refusal(exc)
    assert en == str(exc)
    return zh, en


# ---------------------------------------------------------------- a reply under review


def test_a_submitted_reply_cannot_be_rewritten_by_anyone_until_review_sends_it_back(
    bureau: Any,
) -> None:
    b = bureau
    case_id = assigned(b, "REVIEW-LOCK")
    b.act(
        b.HANDLER,
        sh(2025, 11, 4, 9),
        svc.draft_reply,
        case_id,
        text="住建局答复全文",
        final=True,
        outcome="支持",
    )
    b.act(b.HANDLER, sh(2025, 11, 4, 10), svc.submit_reply, case_id)
    before = event_count(b, case_id)

    # The audit's case: the co-unit's handler "drafts" its opinion over the submitted reply.
    for clerk in (b.CO_HANDLER, b.HANDLER, b.CLERK, b.SUPERVISOR):
        with pytest.raises(IllegalTransition) as refused:
            b.act(clerk, sh(2025, 11, 4, 11), svc.draft_reply, case_id, text="交通局补充意见")
        assert refused.value.key == "refused.reply_under_review"
    zh, en = both_languages(refused.value)
    assert "答复正在等待审核，不能修改；审核退回后才能再次修改" in zh
    assert "its reply is awaiting the bureau's review and cannot be edited" in en
    assert replies(b, case_id) == [("submitted", "住建局答复全文", HOUSING, b.HANDLER)]
    assert event_count(b, case_id) == before

    # Sent back (退回), the unit edits it again and submits; review publishes what it submitted.
    b.act(b.CLERK, sh(2025, 11, 5, 9), svc.send_back_reply, case_id, note="请写明完成时间")
    b.act(
        b.HANDLER,
        sh(2025, 11, 5, 10),
        svc.draft_reply,
        case_id,
        text="住建局答复全文，11月10日前完成。",
        final=True,
        outcome="支持",
    )
    b.act(b.HANDLER, sh(2025, 11, 5, 11), svc.submit_reply, case_id)
    b.act(b.CLERK, sh(2025, 11, 5, 15), svc.publish_reply, case_id)
    assert replies(b, case_id) == [
        ("published", "住建局答复全文，11月10日前完成。", HOUSING, b.HANDLER),
    ]


def test_a_co_unit_handler_cannot_overwrite_the_lead_units_reply(bureau: Any) -> None:
    b = bureau
    case_id = assigned(b, "CO-UNIT")
    b.act(b.HANDLER, sh(2025, 11, 4, 9), svc.draft_reply, case_id, text="住建局初稿")
    with pytest.raises(NotPermitted) as refused:
        b.act(b.CO_HANDLER, sh(2025, 11, 4, 10), svc.draft_reply, case_id, text="交通局补充意见")
    assert refused.value.key == "refused.reply_of_other_unit"
    zh, en = both_languages(refused.value)
    assert f"{b.CO_HANDLER}（承办单位经办人）不能修改案件" in zh and f"这是{HOUSING}的答复稿" in zh
    assert en.endswith(f"it was written for {HOUSING}")
    assert replies(b, case_id) == [("draft", "住建局初稿", HOUSING, b.HANDLER)]

    # Sent back to the lead unit, it is still the lead unit's to rewrite.
    b.act(b.HANDLER, sh(2025, 11, 4, 11), svc.submit_reply, case_id)
    b.act(b.CLERK, sh(2025, 11, 4, 15), svc.send_back_reply, case_id, note="请补充")
    with pytest.raises(NotPermitted, match=f"written for {HOUSING}"):
        b.act(b.CO_HANDLER, sh(2025, 11, 5, 9), svc.draft_reply, case_id, text="交通局意见")
    assert [r[:2] for r in replies(b, case_id)] == [("sent_back", "住建局初稿")]


def test_the_lead_unit_takes_up_a_co_units_draft_and_the_bureau_may_edit_a_draft(
    bureau: Any,
) -> None:
    b = bureau
    case_id = assigned(b, "TAKE-UP")
    first = b.act(b.CO_HANDLER, sh(2025, 11, 4, 9), svc.draft_reply, case_id, text="交通局意见")
    assert replies(b, case_id) == [("draft", "交通局意见", TRANSPORT, b.CO_HANDLER)]
    # The lead unit answers for the case: it works the co-unit's draft into its own reply.
    same = b.act(
        b.HANDLER,
        sh(2025, 11, 4, 10),
        svc.draft_reply,
        case_id,
        text="交通局意见已采纳：已安排排查。",
    )
    assert same == first
    assert replies(b, case_id) == [
        ("draft", "交通局意见已采纳：已安排排查。", HOUSING, b.HANDLER),
    ]
    # Now it is the lead unit's reply, the co-unit may not rewrite it.
    with pytest.raises(NotPermitted, match=f"written for {HOUSING}"):
        b.act(b.CO_HANDLER, sh(2025, 11, 4, 11), svc.draft_reply, case_id, text="交通局意见")
    # A bureau clerk does not rewrite a unit's draft: the handler would find someone else's
    # text in it. The bureau's word on it is review (退回 with a note).
    for clerk in (b.CLERK, b.SUPERVISOR):
        with pytest.raises(NotPermitted) as refused:
            b.act(clerk, sh(2025, 11, 4, 12), svc.draft_reply, case_id, text="受理员改写")
        assert refused.value.key == "refused.reply_of_unit_author"
    zh, en = both_languages(refused.value)
    assert f"不能改写{HOUSING}的{b.HANDLER}为案件" in zh and "请审核退回并写明意见" in zh
    assert en.endswith("send it back with a note instead")
    assert replies(b, case_id) == [
        ("draft", "交通局意见已采纳：已安排排查。", HOUSING, b.HANDLER),
    ]


def test_the_bureau_drafts_where_no_unit_has_and_edits_its_own_draft(bureau: Any) -> None:
    b = bureau
    case_id = assigned(b, "BUREAU-DRAFT")
    b.act(b.CLERK, sh(2025, 11, 4, 9), svc.draft_reply, case_id, text="局里代拟")
    b.act(b.SUPERVISOR, sh(2025, 11, 4, 10), svc.draft_reply, case_id, text="局里代拟，已核实。")
    assert [r[:2] for r in replies(b, case_id)] == [("draft", "局里代拟，已核实。")]


# ---------------------------------------------------------------- reopening after 不满意


def test_reopening_needs_a_dissatisfied_latest_rating(bureau: Any) -> None:
    b = bureau
    case_id = closed(b, "REOPEN-RULE")
    before, events = b.case(case_id), event_count(b, case_id)

    with pytest.raises(IllegalTransition) as unrated:
        b.act(b.CLERK, sh(2025, 11, 7, 9), svc.reopen_case, case_id, reason="群众来电")
    assert unrated.value.key == "refused.reopen_not_rated"
    zh, en = both_languages(unrated.value)
    assert "不能重办：自收到或上次重办以来尚无评价；只有评价为“不满意”的案件才能重办" in zh
    assert "cannot be reopened: it has no rating since it was received or last reopened" in en

    b.act(b.CLERK, sh(2025, 11, 7, 10), svc.rate_case, case_id, value="满意")
    with pytest.raises(IllegalTransition) as satisfied:
        b.act(b.CLERK, sh(2025, 11, 7, 11), svc.reopen_case, case_id, reason="重办")
    assert satisfied.value.key == "refused.reopen_not_dissatisfied"
    zh, en = both_languages(satisfied.value)
    assert "最近一次评价为“满意”；只有评价为“不满意”的案件才能重办" in zh
    assert "its latest rating is 满意; only a 不满意 rating reopens a case" in en

    # 不满意, then a follow-up 基本满意 (追评): the latest rating decides.
    b.act(b.CLERK, sh(2025, 11, 8, 9), svc.rate_case, case_id, value="不满意")
    b.act(b.CLERK, sh(2025, 11, 8, 10), svc.rate_case, case_id, value="基本满意")
    with pytest.raises(IllegalTransition, match="latest rating is 基本满意"):
        b.act(b.CLERK, sh(2025, 11, 8, 11), svc.reopen_case, case_id, reason="重办")
    after = b.case(case_id)
    assert (after.status, after.clock_started_at, after.replied_at) == (
        "closed",
        before.clock_started_at,
        before.replied_at,
    )
    assert event_count(b, case_id) == events + 3  # the three ratings, no reopening

    b.act(b.CLERK, sh(2025, 11, 9, 9), svc.rate_case, case_id, value="不满意", comment="没修好")
    b.act(b.CLERK, sh(2025, 11, 10, 9), svc.reopen_case, case_id, reason="群众不满意，重办")
    assert b.case(case_id).status == "acknowledged"

    # Answered and closed again: the 不满意 of the first round has had its reopening.
    b.act(
        b.HANDLER,
        sh(2025, 11, 11, 9),
        svc.draft_reply,
        case_id,
        text="已返工。",
        final=True,
        outcome="支持",
    )
    b.act(b.CLERK, sh(2025, 11, 11, 10), svc.publish_reply, case_id)
    b.act(b.CLERK, sh(2025, 11, 12, 9), svc.close_case, case_id)
    with pytest.raises(IllegalTransition) as stale:
        b.act(b.CLERK, sh(2025, 11, 13, 9), svc.reopen_case, case_id, reason="再次重办")
    assert stale.value.key == "refused.reopen_not_rated"
    b.act(b.CLERK, sh(2025, 11, 14, 9), svc.rate_case, case_id, value="不满意")
    b.act(b.CLERK, sh(2025, 11, 14, 10), svc.reopen_case, case_id, reason="再次重办")
    assert b.case(case_id).status == "acknowledged"


def test_a_replied_case_rated_dissatisfied_may_be_reopened_before_it_is_closed(
    bureau: Any,
) -> None:
    b = bureau
    case_id = assigned(b, "REOPEN-REPLIED", co_unit=False)
    b.act(
        b.HANDLER,
        sh(2025, 11, 4, 9),
        svc.draft_reply,
        case_id,
        text="答复。",
        final=True,
        outcome="解释说明",
    )
    b.act(b.CLERK, sh(2025, 11, 4, 10), svc.publish_reply, case_id)
    with pytest.raises(IllegalTransition, match="no rating"):
        b.act(b.CLERK, sh(2025, 11, 5, 9), svc.reopen_case, case_id, reason="重办")
    b.act(b.CLERK, sh(2025, 11, 5, 10), svc.rate_case, case_id, value="不满意")
    b.act(b.CLERK, sh(2025, 11, 5, 11), svc.reopen_case, case_id, reason="重办")
    assert b.case(case_id).status == "acknowledged"


# ---------------------------------------------------------------- 答复率 after a reopening


def test_a_reopened_case_keeps_its_published_reply_in_the_reply_rate(bureau: Any) -> None:
    b = bureau
    reopened = closed(b, "RATE-REOPENED")
    b.act(b.CLERK, sh(2025, 11, 7, 9), svc.rate_case, reopened, value="不满意")
    b.act(b.CLERK, sh(2025, 11, 10, 9), svc.reopen_case, reopened, reason="群众不满意，重办")
    closed(b, "RATE-ANSWERED")
    waiting = assigned(b, "RATE-WAITING", co_unit=False)  # no reply yet
    b.act(b.HANDLER, sh(2025, 11, 4, 9), svc.draft_reply, waiting, text="初稿")  # a draft only

    with b.store.session() as session:
        report = unit_rates(
            session, b.rules, period=Period.MONTH, at=date(2025, 11, 1), now=sh(2025, 11, 20, 12)
        )
    (housing,) = [r for r in report.rows if r.unit == HOUSING]
    rate = housing.measures.rates["reply_rate"]
    # The reopened case's reply of 11-05 is still published and on record: 2 of 3 replied.
    assert (rate.numerator, rate.denominator) == (2, 3)
    total = report.total.measures.rates["reply_rate"]
    assert (total.numerator, total.denominator) == (2, 3)

    # The first-reply clock is what a reopening restarts: due 10 工作日 after Monday 11-10,
    # Monday 11-24, the reopened case is overdue on its reply stage again afterwards.
    with b.store.session() as session:
        late = overdue_report(session, b.rules.calendar, as_of=sh(2025, 11, 25, 9))
    stages = {row.external_id: row.stage for row in late.cases}
    assert stages["RATE-REOPENED"] == "reply"
    with b.store.session() as session:
        published = session.exec(select(ReplyRow.state).where(ReplyRow.case_id == reopened)).all()
    assert list(published) == ["published"]
