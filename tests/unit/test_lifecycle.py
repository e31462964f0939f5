"""The lifecycle table: every action from every state, by every role, for own and other units.

The tests are generated from `RULES` and, separately, checked against a hand-written copy of
the table, so a wrong edit of `RULES` fails here instead of silently changing what is allowed.
"""

from __future__ import annotations

import itertools

import pytest

from caseworker.domain.errors import DomainError, IllegalTransition, NotPermitted
from caseworker.domain.lifecycle import (
    RULES,
    Action,
    Actor,
    Role,
    Status,
    allowed_actions,
    check_action,
)

S = Status
OPEN = {S.RECEIVED, S.ACCEPTED, S.ASSIGNED, S.ACKNOWLEDGED, S.REPLIED}
HANDLING = {S.ASSIGNED, S.ACKNOWLEDGED}
BUREAU = {Role.CLERK, Role.SUPERVISOR}
UNIT = {Role.HANDLER, Role.SUPERVISOR}
ANYONE = set(Role)

# action: (states it may start from, state it leads to or None for "unchanged", roles that may)
EXPECTED: dict[Action, tuple[set[Status], Status | None, set[Role]]] = {
    Action.ACCEPT: ({S.RECEIVED}, S.ACCEPTED, BUREAU),
    Action.REJECT: ({S.RECEIVED, S.ACCEPTED}, S.REJECTED, BUREAU),
    Action.ASSIGN: ({S.ACCEPTED}, S.ASSIGNED, BUREAU),
    Action.ACKNOWLEDGE: ({S.ASSIGNED}, S.ACKNOWLEDGED, UNIT),
    Action.RETURN: (HANDLING, S.ACCEPTED, UNIT),
    Action.DRAFT_REPLY: (HANDLING | {S.REPLIED}, None, ANYONE),
    Action.SUBMIT_REPLY: (HANDLING | {S.REPLIED}, None, ANYONE),
    Action.SEND_BACK: (HANDLING | {S.REPLIED}, None, BUREAU),
    Action.PUBLISH: (HANDLING | {S.REPLIED}, S.REPLIED, BUREAU),
    Action.CLOSE: ({S.REPLIED}, S.CLOSED, BUREAU),
    Action.RATE: ({S.REPLIED, S.CLOSED}, None, BUREAU),
    Action.REOPEN: ({S.REPLIED, S.CLOSED}, S.ACKNOWLEDGED, BUREAU),
    Action.REQUEST_EXTENSION: (HANDLING, None, ANYONE),
    Action.APPROVE_EXTENSION: (HANDLING | {S.REPLIED}, None, {Role.SUPERVISOR}),
    Action.DENY_EXTENSION: (HANDLING | {S.REPLIED}, None, {Role.SUPERVISOR}),
    Action.SUPERVISE: (OPEN, None, BUREAU),
    Action.INSTRUCT: (OPEN | {S.CLOSED}, None, BUREAU),
    Action.PAUSE: (OPEN - {S.REPLIED}, None, BUREAU),
    # A case paused while handling can get its final reply; it must still be resumable then.
    Action.RESUME: (OPEN, None, BUREAU),
    Action.MERGE: ({S.RECEIVED, S.ACCEPTED, S.ASSIGNED, S.ACKNOWLEDGED}, S.MERGED, BUREAU),
    Action.LINK_REPEAT: (OPEN | {S.CLOSED}, None, BUREAU),
}

LEAD_UNIT, CO_UNIT, OTHER_UNIT = 10, 11, 12
LABEL = "42 (LB-2025-0042)"

ALLOWED = [(a, s) for a, rule in RULES.items() for s in sorted(rule.sources)]
REFUSED = [(a, s) for a, rule in RULES.items() for s in Status if s not in rule.sources]


def actor_for(role: Role) -> Actor:
    """A clerk of the role; a handler belongs to the case's lead unit."""
    unit_id = LEAD_UNIT if role is Role.HANDLER else None
    return Actor(name=f"a {role.value}", role=role, unit_id=unit_id)


def check(action: Action, status: Status, actor: Actor) -> Status:
    return check_action(
        action,
        case_label=LABEL,
        status=status,
        actor=actor,
        lead_unit_id=LEAD_UNIT,
        co_unit_ids=[CO_UNIT],
    )


# ---------------------------------------------------------------- the table itself


def test_rules_match_the_hand_written_table() -> None:
    assert set(RULES) == set(EXPECTED)
    for action, (sources, target, roles) in EXPECTED.items():
        rule = RULES[action]
        assert set(rule.sources) == sources, action
        assert rule.target == target, action
        assert set(rule.roles) == roles, action


def test_every_action_but_receive_has_a_rule() -> None:
    # Receiving creates the case; every other action starts from some state.
    assert set(Action) - set(RULES) == {Action.RECEIVE}
    assert all(rule.sources for rule in RULES.values())


def test_terminal_states_allow_nothing() -> None:
    assert allowed_actions(S.REJECTED) == []
    assert allowed_actions(S.MERGED) == []


def test_allowed_actions_lists_exactly_the_table_in_rule_order() -> None:
    for status in Status:
        expected = [a for a in EXPECTED if status in EXPECTED[a][0]]
        assert allowed_actions(status) == expected, status


def test_the_main_path_is_reachable_from_received_to_closed() -> None:
    status = S.RECEIVED
    for action in (Action.ACCEPT, Action.ASSIGN, Action.ACKNOWLEDGE, Action.PUBLISH, Action.CLOSE):
        status = check(action, status, actor_for(Role.SUPERVISOR))
    assert status is S.CLOSED


# ---------------------------------------------------------------- states


@pytest.mark.parametrize(("action", "status"), ALLOWED, ids=[f"{a}-{s}" for a, s in ALLOWED])
def test_allowed_from_its_source_states(action: Action, status: Status) -> None:
    role = next(iter(sorted(RULES[action].roles)))
    target = check(action, status, actor_for(role))
    expected_target = EXPECTED[action][1]
    assert target is (expected_target if expected_target is not None else status)


@pytest.mark.parametrize(("action", "status"), REFUSED, ids=[f"{a}-{s}" for a, s in REFUSED])
def test_refused_from_every_other_state(action: Action, status: Status) -> None:
    # Even a supervisor (who may do most things) is refused: the state decides first.
    with pytest.raises(IllegalTransition) as refused:
        check(action, status, actor_for(Role.SUPERVISOR))
    message = str(refused.value)
    assert LABEL in message
    assert f"is {status.value}" in message
    assert f"cannot {action.value}" in message
    allowed = [a.value for a in allowed_actions(status)]
    assert f"allowed now: {', '.join(allowed) or 'nothing'}" in message


def test_a_refusal_lists_only_what_the_clerk_could_do_now() -> None:
    """A handler refused on a case being handled is told of the unit's actions (return, reply,
    extension), not of the bureau's (publish, supervise) nor the supervisor's (approval)."""
    with pytest.raises(IllegalTransition) as refused:
        check(Action.ACKNOWLEDGE, S.ACKNOWLEDGED, actor_for(Role.HANDLER))
    assert str(refused.value).endswith(
        "allowed now: return, draft_reply, submit_reply, request_extension"
    )
    assert refused.value.params["allowed"] == allowed_actions(S.ACKNOWLEDGED, Role.HANDLER)
    with pytest.raises(IllegalTransition) as refused:
        check(Action.RETURN, S.RECEIVED, actor_for(Role.HANDLER))
    assert str(refused.value).endswith("allowed now: nothing")


def test_a_role_that_never_takes_the_action_is_told_so_before_the_state() -> None:
    """A handler pressing 交办 is refused for the role, not told the case's state forbids it
    (which would suggest waiting for another state)."""
    for status in (S.ASSIGNED, S.ACCEPTED):  # whether or not the state would allow it
        with pytest.raises(NotPermitted) as refused:
            check(Action.ASSIGN, status, actor_for(Role.HANDLER))
        assert refused.value.key == "refused.not_permitted"
        assert "may not assign" in str(refused.value) and "needs: clerk, supervisor" in str(
            refused.value
        )


def test_refused_transition_is_a_domain_error_with_a_readable_message() -> None:
    with pytest.raises(
        DomainError,
        match=r"case 42 \(LB-2025-0042\) is closed: cannot assign; "
        r"allowed now: rate, reopen, instruct, link_repeat",
    ):
        check(Action.ASSIGN, S.CLOSED, actor_for(Role.CLERK))


# ---------------------------------------------------------------- roles

ROLE_REFUSALS = [
    (a, s, r)
    for a, rule in RULES.items()
    for s, r in itertools.product(sorted(rule.sources), Role)
    if r not in rule.roles
]


@pytest.mark.parametrize(
    ("action", "status", "role"),
    ROLE_REFUSALS,
    ids=[f"{a}-{s}-{r}" for a, s, r in ROLE_REFUSALS],
)
def test_roles_without_the_right_are_refused(action: Action, status: Status, role: Role) -> None:
    with pytest.raises(NotPermitted) as refused:
        check(action, status, actor_for(role))
    message = str(refused.value)
    assert f"a {role.value} ({role.value}) may not {action.value} case {LABEL}" in message
    assert "needs: " + ", ".join(sorted(r.value for r in RULES[action].roles)) in message


ROLE_GRANTS = [
    (a, s, r) for a, rule in RULES.items() for s in sorted(rule.sources) for r in sorted(rule.roles)
]


@pytest.mark.parametrize(
    ("action", "status", "role"), ROLE_GRANTS, ids=[f"{a}-{s}-{r}" for a, s, r in ROLE_GRANTS]
)
def test_roles_with_the_right_may(action: Action, status: Status, role: Role) -> None:
    check(action, status, actor_for(role))


@pytest.mark.parametrize("decision", [Action.APPROVE_EXTENSION, Action.DENY_EXTENSION])
def test_only_a_supervisor_decides_an_extension(decision: Action) -> None:
    for role in (Role.CLERK, Role.HANDLER):
        with pytest.raises(NotPermitted):
            check(decision, S.ACKNOWLEDGED, actor_for(role))
    check(decision, S.ACKNOWLEDGED, actor_for(Role.SUPERVISOR))


# ---------------------------------------------------------------- units

HANDLER_ACTIONS = [
    (a, s) for a, rule in RULES.items() if Role.HANDLER in rule.roles for s in sorted(rule.sources)
]


@pytest.mark.parametrize(
    ("action", "status"), HANDLER_ACTIONS, ids=[f"{a}-{s}" for a, s in HANDLER_ACTIONS]
)
def test_handlers_are_refused_on_another_units_case(action: Action, status: Status) -> None:
    other = Actor(name="钱教育", role=Role.HANDLER, unit_id=OTHER_UNIT)
    refusal = r"钱教育 \(handler\) may not .* not assigned to their unit"
    with pytest.raises(NotPermitted, match=refusal):
        check(action, status, other)


@pytest.mark.parametrize(
    ("action", "status"), HANDLER_ACTIONS, ids=[f"{a}-{s}" for a, s in HANDLER_ACTIONS]
)
def test_co_unit_handlers_may_only_draft(action: Action, status: Status) -> None:
    co = Actor(name="孙交通", role=Role.HANDLER, unit_id=CO_UNIT)
    if action is Action.DRAFT_REPLY:
        assert check(action, status, co) is status
    else:
        with pytest.raises(NotPermitted, match="not assigned to their unit"):
            check(action, status, co)


def test_handler_without_a_unit_is_refused() -> None:
    loose = Actor(name="无单位", role=Role.HANDLER, unit_id=None)
    with pytest.raises(NotPermitted):
        check(Action.ACKNOWLEDGE, S.ASSIGNED, loose)


def test_handler_is_refused_on_an_unassigned_case() -> None:
    handler = actor_for(Role.HANDLER)
    with pytest.raises(NotPermitted):
        check_action(
            Action.DRAFT_REPLY,
            case_label=LABEL,
            status=S.ACKNOWLEDGED,
            actor=handler,
            lead_unit_id=None,
        )


def test_supervisors_are_not_bound_to_a_unit() -> None:
    boss = Actor(name="王督查", role=Role.SUPERVISOR, unit_id=OTHER_UNIT)
    assert check(Action.ACKNOWLEDGE, S.ASSIGNED, boss) is S.ACKNOWLEDGED
