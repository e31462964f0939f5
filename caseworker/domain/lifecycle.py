"""Which action may move a case from which state, and who may perform it.

The rules are those of docs/domain.md "Lifecycle".
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from caseworker.domain.errors import IllegalTransition, NotPermitted


class Status(StrEnum):
    """Where a case is in its life."""

    RECEIVED = "received"  # 待受理
    ACCEPTED = "accepted"  # 待交办
    ASSIGNED = "assigned"  # 已交办
    ACKNOWLEDGED = "acknowledged"  # 已签收 / 办理中
    REPLIED = "replied"  # 已答复
    CLOSED = "closed"  # 已办结
    REJECTED = "rejected"  # 不予受理 (terminal)
    MERGED = "merged"  # 已合并 (terminal)


class ExtensionState(StrEnum):
    """Where a unit's extension request (延期申请) stands."""

    REQUESTED = "requested"  # 待批准
    APPROVED = "approved"  # 已批准
    DENIED = "denied"  # 未批准
    LAPSED = "lapsed"  # 已失效: its case ended before a supervisor decided


class Role(StrEnum):
    """What a clerk is allowed to do in the bureau."""

    CLERK = "clerk"  # 受理/交办人员
    HANDLER = "handler"  # 承办单位经办人
    SUPERVISOR = "supervisor"  # 督查/领导


class Action(StrEnum):
    """Everything a clerk can do to a case; each one is recorded as an event."""

    RECEIVE = "receive"
    ACCEPT = "accept"
    REJECT = "reject"
    ASSIGN = "assign"
    ACKNOWLEDGE = "acknowledge"
    RETURN = "return"
    DRAFT_REPLY = "draft_reply"
    SUBMIT_REPLY = "submit_reply"
    SEND_BACK = "send_back"
    PUBLISH = "publish"
    CLOSE = "close"
    RATE = "rate"
    REOPEN = "reopen"
    REQUEST_EXTENSION = "request_extension"
    APPROVE_EXTENSION = "approve_extension"
    DENY_EXTENSION = "deny_extension"
    SUPERVISE = "supervise"
    INSTRUCT = "instruct"
    PAUSE = "pause"
    RESUME = "resume"
    MERGE = "merge"
    LINK_REPEAT = "link_repeat"


OPEN_STATES: frozenset[Status] = frozenset(
    {Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED, Status.ACKNOWLEDGED, Status.REPLIED}
)
TERMINAL_STATES: frozenset[Status] = frozenset({Status.REJECTED, Status.MERGED})
# A case that ends (办结, 不予受理, 合并) settles the extension requests still awaiting a
# decision: they lapse, by whoever ended the case, and stay lapsed if it is reopened (the unit
# asks again). Left pending, a request would wait forever on a case nobody can decide it on.
ENDED_STATES: frozenset[Status] = TERMINAL_STATES | {Status.CLOSED}
HANDLING_STATES: frozenset[Status] = frozenset({Status.ASSIGNED, Status.ACKNOWLEDGED})

# Who acts for a unit: a handler only for the case's own lead unit (or a co-unit where noted).
_BUREAU = frozenset({Role.CLERK, Role.SUPERVISOR})
_UNIT = frozenset({Role.HANDLER, Role.SUPERVISOR})
_ANYONE = frozenset(Role)


@dataclass(frozen=True)
class Rule:
    """The states an action starts from, the state it leads to (None: unchanged), and who may."""

    sources: frozenset[Status]
    target: Status | None
    roles: frozenset[Role]
    co_units_may: bool = False


RULES: dict[Action, Rule] = {
    Action.ACCEPT: Rule(frozenset({Status.RECEIVED}), Status.ACCEPTED, _BUREAU),
    Action.REJECT: Rule(frozenset({Status.RECEIVED, Status.ACCEPTED}), Status.REJECTED, _BUREAU),
    Action.ASSIGN: Rule(frozenset({Status.ACCEPTED}), Status.ASSIGNED, _BUREAU),
    Action.ACKNOWLEDGE: Rule(frozenset({Status.ASSIGNED}), Status.ACKNOWLEDGED, _UNIT),
    Action.RETURN: Rule(HANDLING_STATES, Status.ACCEPTED, _UNIT),
    Action.DRAFT_REPLY: Rule(HANDLING_STATES | {Status.REPLIED}, None, _ANYONE, co_units_may=True),
    Action.SUBMIT_REPLY: Rule(HANDLING_STATES | {Status.REPLIED}, None, _ANYONE),
    Action.SEND_BACK: Rule(HANDLING_STATES | {Status.REPLIED}, None, _BUREAU),
    # Publishing a final reply moves the case to "replied"; an interim one leaves it where it is.
    Action.PUBLISH: Rule(HANDLING_STATES | {Status.REPLIED}, Status.REPLIED, _BUREAU),
    Action.CLOSE: Rule(frozenset({Status.REPLIED}), Status.CLOSED, _BUREAU),
    Action.RATE: Rule(frozenset({Status.REPLIED, Status.CLOSED}), None, _BUREAU),
    Action.REOPEN: Rule(frozenset({Status.REPLIED, Status.CLOSED}), Status.ACKNOWLEDGED, _BUREAU),
    Action.REQUEST_EXTENSION: Rule(HANDLING_STATES, None, _ANYONE),
    Action.APPROVE_EXTENSION: Rule(
        HANDLING_STATES | {Status.REPLIED}, None, frozenset({Role.SUPERVISOR})
    ),
    # A supervisor's no to a request is a decision like a yes: from the same states, by the
    # same role, recorded with the reason the unit is told.
    Action.DENY_EXTENSION: Rule(
        HANDLING_STATES | {Status.REPLIED}, None, frozenset({Role.SUPERVISOR})
    ),
    Action.SUPERVISE: Rule(OPEN_STATES, None, _BUREAU),
    Action.INSTRUCT: Rule(OPEN_STATES | {Status.CLOSED}, None, _BUREAU),
    Action.PAUSE: Rule(OPEN_STATES - {Status.REPLIED}, None, _BUREAU),
    # A case paused while handling may get its final reply; it must stay resumable then.
    Action.RESUME: Rule(OPEN_STATES, None, _BUREAU),
    Action.MERGE: Rule(
        frozenset({Status.RECEIVED, Status.ACCEPTED, Status.ASSIGNED, Status.ACKNOWLEDGED}),
        Status.MERGED,
        _BUREAU,
    ),
    Action.LINK_REPEAT: Rule(OPEN_STATES | {Status.CLOSED}, None, _BUREAU),
}


@dataclass(frozen=True)
class Actor:
    """The clerk performing an action: their name, role and (for handlers) unit."""

    name: str
    role: Role
    unit_id: int | None = None


def allowed_actions(status: Status, role: Role | None = None) -> list[Action]:
    """The actions that may start from this state (by a clerk of `role`, if given), in a stable
    order for messages and menus."""
    return [
        action
        for action, rule in RULES.items()
        if status in rule.sources and (role is None or role in rule.roles)
    ]


def check_action(
    action: Action,
    *,
    case_label: str,
    status: Status,
    actor: Actor,
    lead_unit_id: int | None,
    co_unit_ids: Collection[int] = (),
) -> Status:
    """Return the state the action leads to, or raise why it is refused.

    A handler acts only for the unit the case is assigned to: a case of another unit is refused
    even when the state would allow it, so one unit never touches another's work.
    """
    rule = RULES[action]
    # The role first: a clerk whose role never takes this action is told so, not that the
    # case's state forbids it (which would suggest waiting for another state).
    if actor.role not in rule.roles:
        needed = sorted(rule.roles, key=lambda r: r.value)
        roles = ", ".join(r.value for r in needed)
        raise NotPermitted(
            f"{actor.name} ({actor.role.value}) may not {action.value} case {case_label}; "
            f"needs: {roles}",
            key="refused.not_permitted",
            clerk=actor.name,
            role=actor.role,
            action=action,
            case=case_label,
            roles=needed,
        )
    if status not in rule.sources:
        # What this clerk could do now: a handler is not told of the bureau's actions.
        possible = allowed_actions(status, actor.role)
        allowed = ", ".join(a.value for a in possible) or "nothing"
        raise IllegalTransition(
            f"case {case_label} is {status.value}: cannot {action.value}; allowed now: {allowed}",
            key="refused.illegal_transition",
            case=case_label,
            state=status,
            action=action,
            allowed=possible,
        )
    if actor.role is Role.HANDLER:
        units = {lead_unit_id} | (set(co_unit_ids) if rule.co_units_may else set())
        if actor.unit_id is None or actor.unit_id not in units:
            raise NotPermitted(
                f"{actor.name} (handler) may not {action.value} case {case_label}: "
                "it is not assigned to their unit",
                key="refused.not_their_unit",
                clerk=actor.name,
                action=action,
                case=case_label,
            )
    return rule.target if rule.target is not None else status


# 重办 follows the citizen's 不满意 (docs/domain.md "Lifecycle": reopened after 不满意).
REOPEN_RATING = "不满意"


def check_reopen(*, case_label: str, latest_rating: str | None) -> None:
    """Refuse to reopen a case unless the citizen's latest rating of its answer is 不满意.

    `latest_rating` is the newest rating given since the case was received or last reopened
    (None: none since). A 不满意 from an earlier round has already had its reopening, so a case
    answered again must be rated again before it can be reopened again.
    """
    if latest_rating == REOPEN_RATING:
        return
    if latest_rating is None:
        raise IllegalTransition(
            f"case {case_label} cannot be reopened: it has no rating since it was received or "
            f"last reopened; only a {REOPEN_RATING} rating reopens a case",
            key="refused.reopen_not_rated",
            case=case_label,
            rating=REOPEN_RATING,
        )
    raise IllegalTransition(
        f"case {case_label} cannot be reopened: its latest rating is {latest_rating}; "
        f"only a {REOPEN_RATING} rating reopens a case",
        key="refused.reopen_not_dissatisfied",
        case=case_label,
        latest=latest_rating,
        rating=REOPEN_RATING,
    )


def check_reply_edit(
    *,
    case_label: str,
    reply_state: str,
    reply_unit_id: int | None,
    reply_unit: str,
    actor: Actor,
    lead_unit_id: int | None,
    reply_author: Actor | None = None,
) -> None:
    """Refuse drafting over the case's open reply when it is not the actor's to edit.

    A submitted reply is with the bureau for review: review publishes it as the unit wrote it
    or sends it back (退回), and only then can it be edited again, by anyone. A handler edits
    only a reply written for their own unit, so a co-unit never rewrites the lead unit's answer;
    the lead unit's handler may take up a co-unit's draft, because the lead answers for the case
    and alone submits its reply (a co-unit's draft is its contribution to that reply). The
    bureau's clerks and supervisors may edit a reply that is not under review, unless a unit's
    handler wrote it: the bureau's word on a unit's draft is review (退回 with a note), so the
    handler never finds someone else's text in their draft.
    """
    if reply_state == "submitted":
        raise IllegalTransition(
            f"case {case_label}: its reply is awaiting the bureau's review and cannot be edited; "
            "it can be edited again once review sends it back",
            key="refused.reply_under_review",
            case=case_label,
        )
    if actor.role is not Role.HANDLER:
        if reply_author is not None and reply_author.role is Role.HANDLER:
            raise NotPermitted(
                f"{actor.name} ({actor.role.value}) may not rewrite the reply {reply_author.name} "
                f"of {reply_unit} drafted for case {case_label}; send it back with a note instead",
                key="refused.reply_of_unit_author",
                clerk=actor.name,
                role=actor.role,
                author=reply_author.name,
                unit=reply_unit,
                case=case_label,
            )
        return
    if reply_unit_id == actor.unit_id:
        return
    if actor.unit_id is not None and actor.unit_id == lead_unit_id:
        return
    raise NotPermitted(
        f"{actor.name} (handler) may not edit the reply of case {case_label}: "
        f"it was written for {reply_unit}",
        key="refused.reply_of_other_unit",
        clerk=actor.name,
        case=case_label,
        unit=reply_unit,
    )
