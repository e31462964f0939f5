"""The console's queues as plain types: which queue, its filters, who looks, and one row.

Both sides use them: the store's queries fill them, the services hand them on, the screens and
widgets draw them. They import nothing but the standard library, so the queue screen can be
built and its first page drawn before the ORM's models are imported (a tenth of a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

PAGE_SIZE = 100  # rows in one keyset page

# Open cases with no running clock sort after every real deadline; a NOT NULL key keeps the
# queue's keyset paging on one plain index.
END_OF_TIME = datetime(9999, 12, 31, tzinfo=UTC)


class QueueKey(StrEnum):
    """The console's queues, in sidebar order."""

    RECEIVED = "received"  # 待受理
    ACCEPTED = "accepted"  # 待交办
    HANDLING = "handling"  # 办理中
    REVIEW = "review"  # 待审核: a submitted draft reply waits for the bureau
    REPLIED = "replied"  # 已答复
    DUE_SOON = "due_soon"  # 即将到期: >= 80% of a running limit used
    OVERDUE = "overdue"  # 已超期
    SUPERVISED = "supervised"  # 督办件: open and under supervision
    # 待批延期: a unit's extension request awaits a supervisor's decision (the sidebar shows it
    # to supervisors, who alone decide; services.cases.pending_extensions lists the same cases)
    EXTENSIONS = "extensions"
    MINE = "mine"  # 我的
    CLOSED = "closed"  # 已办结
    ALL = "all"  # 全部


@dataclass(frozen=True)
class Filters:
    """Narrowing a queue: every field set must match (unit_ids: the unit and its subtree)."""

    channel: str | None = None
    category: str | None = None
    unit_ids: tuple[int, ...] = ()
    region: str | None = None
    urgency: str | None = None
    search: str = ""
    # A named set of cases (a common issue's, from the supervisor screen): only these, and
    # what the queue's title calls them.
    case_ids: tuple[int, ...] = ()
    case_set: str = ""
    unassigned: bool = False  # only cases no unit leads yet (the dashboard's （未交办） row)

    def active(self) -> bool:
        return any(
            (
                self.channel,
                self.category,
                self.unit_ids,
                self.region,
                self.urgency,
                self.search,
                self.case_ids,
                self.unassigned,
            )
        )


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a unit handler (unit_ids set) sees only the cases their units lead or
    help on, and "mine" is those still open; for the bureau, "mine" is the cases I touched."""

    clerk: str
    unit_ids: tuple[int, ...] = ()  # a handler's unit and its subtree; empty for the bureau
    # The units hold a large share of the cases: walk a queue in order and test each case
    # against their set, rather than look their cases up one by one (store.queries.viewer_scope).
    wide: bool = False
    cases: int = 0  # how many cases the units lead or help on, when the viewer was made


@dataclass(frozen=True)
class CaseLine:
    """One row of a queue, with what the countdown needs to tick without the database."""

    id: int
    channel: str
    title: str
    category: str | None
    lead_unit: str | None
    status: str
    urgency: str
    received_at: datetime
    next_due_at: datetime
    warn_at: datetime
    provisional: bool
    paused: bool
    repeat_of: int | None = None  # the original this case repeats (重复件), shown in the row

    @property
    def key(self) -> tuple[datetime, int]:
        return (self.next_due_at, self.id)


@dataclass(frozen=True)
class ClerkBadge:
    """The clerk's name, their role (clerk / handler / supervisor) and, if any, their unit;
    role and unit are None for a name the store does not know."""

    name: str
    role: str | None = None
    unit: str | None = None
