"""The two rules beyond state and role: who may rewrite a case's open reply, and when a case
may be reopened (重办), as pure functions of what the services read."""

from __future__ import annotations

import pytest

from caseworker.domain.errors import IllegalTransition, NotPermitted
from caseworker.domain.lifecycle import Actor, Role, check_reopen, check_reply_edit

LEAD, CO, OTHER_CO = 10, 11, 12
LABEL = "42 (LB-2025-0042)"
UNIT_NAMES = {LEAD: "市住房和城乡建设局", CO: "市交通运输局", OTHER_CO: "市教育局"}

LEAD_HANDLER = Actor("赵住建", Role.HANDLER, LEAD)
CO_HANDLER = Actor("孙交通", Role.HANDLER, CO)
CLERK = Actor("李受理", Role.CLERK)
SUPERVISOR = Actor("王督查", Role.SUPERVISOR)
EVERYONE = [LEAD_HANDLER, CO_HANDLER, CLERK, SUPERVISOR]


def edit(actor: Actor, state: str, unit: int) -> None:
    check_reply_edit(
        case_label=LABEL,
        reply_state=state,
        reply_unit_id=unit,
        reply_unit=UNIT_NAMES[unit],
        actor=actor,
        lead_unit_id=LEAD,
    )


@pytest.mark.parametrize("actor", EVERYONE, ids=lambda a: a.role.value + str(a.unit_id))
@pytest.mark.parametrize("unit", [LEAD, CO])
def test_nobody_rewrites_a_reply_under_review(actor: Actor, unit: int) -> None:
    with pytest.raises(IllegalTransition) as refused:
        edit(actor, "submitted", unit)
    assert refused.value.key == "refused.reply_under_review"
    assert str(refused.value) == (
        f"case {LABEL}: its reply is awaiting the bureau's review and cannot be edited; "
        "it can be edited again once review sends it back"
    )


@pytest.mark.parametrize("state", ["draft", "sent_back"])
def test_a_co_unit_handler_edits_only_its_own_units_reply(state: str) -> None:
    edit(CO_HANDLER, state, CO)
    for unit in (LEAD, OTHER_CO):
        with pytest.raises(NotPermitted) as refused:
            edit(CO_HANDLER, state, unit)
        assert refused.value.key == "refused.reply_of_other_unit"
        assert refused.value.params["unit"] == UNIT_NAMES[unit]
        assert str(refused.value).endswith(f"it was written for {UNIT_NAMES[unit]}")


@pytest.mark.parametrize("state", ["draft", "sent_back"])
def test_the_lead_unit_and_the_bureau_may_edit_any_reply_not_under_review(state: str) -> None:
    for actor in (LEAD_HANDLER, CLERK, SUPERVISOR):
        for unit in (LEAD, CO, OTHER_CO):
            edit(actor, state, unit)


@pytest.mark.parametrize("state", ["draft", "sent_back"])
def test_the_bureau_does_not_rewrite_a_draft_a_units_handler_wrote(state: str) -> None:
    for actor in (CLERK, SUPERVISOR):
        with pytest.raises(NotPermitted) as refused:
            check_reply_edit(
                case_label=LABEL,
                reply_state=state,
                reply_unit_id=LEAD,
                reply_unit=UNIT_NAMES[LEAD],
                actor=actor,
                lead_unit_id=LEAD,
                reply_author=LEAD_HANDLER,
            )
        assert refused.value.key == "refused.reply_of_unit_author"
        assert refused.value.params["author"] == LEAD_HANDLER.name
        # A draft the bureau wrote itself stays the bureau's to edit; the lead unit may too.
        for editor in (actor, LEAD_HANDLER):
            check_reply_edit(
                case_label=LABEL,
                reply_state=state,
                reply_unit_id=LEAD,
                reply_unit=UNIT_NAMES[LEAD],
                actor=editor,
                lead_unit_id=LEAD,
                reply_author=CLERK,
            )


def test_only_a_dissatisfied_latest_rating_reopens() -> None:
    check_reopen(case_label=LABEL, latest_rating="不满意")
    with pytest.raises(IllegalTransition) as unrated:
        check_reopen(case_label=LABEL, latest_rating=None)
    assert unrated.value.key == "refused.reopen_not_rated"
    for rating in ("满意", "基本满意"):
        with pytest.raises(IllegalTransition) as refused:
            check_reopen(case_label=LABEL, latest_rating=rating)
        assert refused.value.key == "refused.reopen_not_dissatisfied"
        assert f"its latest rating is {rating};" in str(refused.value)
