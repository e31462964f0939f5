"""The tables of the case store. Nothing is ever deleted: history lives in `events`."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlmodel import Field, SQLModel

from caseworker.store.queue_types import OPEN_SQL as OPEN_SQL  # the partial indexes' WHERE
from caseworker.store.types import END_OF_TIME, UTCDateTime

_REPEATS_SQL = "repeat_of_id IS NOT NULL"

_VERSION = Column("version", Integer, nullable=False)


def _when(*, nullable: bool = False, index: bool = False) -> datetime:
    """A timezone-aware time column (stored as naive UTC)."""
    return Field(  # type: ignore[no-any-return]
        default=None if nullable else ...,
        sa_column=Column(UTCDateTime(), nullable=nullable, index=index),
    )


class Unit(SQLModel, table=True):
    """A unit in the tree: province, city, county, township, or a department under one."""

    __tablename__ = "units"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=64)
    name: str = Field(index=True, max_length=200)
    level: str = Field(max_length=16)
    parent_id: int | None = Field(default=None, foreign_key="units.id", index=True)
    active: bool = True
    # Residents of the unit's area, for the bulletin's intake per 10,000 (optional).
    population: int | None = None


class ClerkRow(SQLModel, table=True):
    """A person who acts in the bureau; every event names one."""

    __tablename__ = "clerks"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True, max_length=100)
    role: str = Field(max_length=16)
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    active: bool = True


class ClerkLogin(SQLModel, table=True):
    """A login that may act as a clerk: an operating-system login on SQLite, a database role
    on PostgreSQL. A clerk may have several logins, a login several clerks."""

    __tablename__ = "clerk_logins"

    clerk_id: int = Field(foreign_key="clerks.id", primary_key=True)
    login: str = Field(primary_key=True, max_length=100, index=True)


class AdminRecord(SQLModel, table=True):
    """One change to the units, the clerks or their logins: who, when, before and after.

    Each record carries a SHA-256 over its content and the previous record's hash, so a record
    edited or removed afterwards breaks the chain (services.admin.verify_admin_history).
    """

    __tablename__ = "admin_history"

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(max_length=100)
    action: str = Field(max_length=32)
    subject: str = Field(max_length=200)
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    recorded_at: datetime = _when()
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class CaseRow(SQLModel, table=True):
    """A citizen's message and where it stands; clock columns are kept current by the services."""

    __tablename__ = "cases"
    __mapper_args__ = {"version_id_col": _VERSION}
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_cases_channel_external_id"),
        Index("ix_cases_status_due", "status", "next_due_at", "id"),
        Index("ix_cases_external_id", "external_id"),
        Index("ix_cases_unit_status_due", "lead_unit_id", "status", "next_due_at", "id"),
        Index("ix_cases_channel_status_due", "channel", "status", "next_due_at", "id"),
        Index(
            "ix_cases_open_due",
            "next_due_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        # Console queues (migration 0003): all cases by deadline, warnings, "last touched by me".
        Index("ix_cases_due", "next_due_at", "id"),
        Index(
            "ix_cases_open_warn",
            "next_due_at",
            "warn_at",
            "id",
            sqlite_where=text(OPEN_SQL),
            postgresql_where=text(OPEN_SQL),
        ),
        Index("ix_cases_touched_due", "updated_by", "next_due_at", "id"),
        # The assignment dialog's 按期办结率: close deadlines of the last 90 days by unit, read
        # from the index alone (migration 0009; 2.8 s -> 50 ms at 1,000,000 cases).
        Index("ix_cases_close_due", "close_due_at", "lead_unit_id", "status", "closed_at"),
        # Only repeats (重复件) are ever looked up by it (migration 0007): an index of a million
        # NULLs cost every new case an insert.
        Index(
            "ix_cases_repeat_of_id",
            "repeat_of_id",
            sqlite_where=text(_REPEATS_SQL),
            postgresql_where=text(_REPEATS_SQL),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=40)
    external_id: str = Field(max_length=100)
    addressee: str | None = Field(default=None, max_length=100)
    author: str | None = Field(default=None, max_length=200)
    contact: str | None = Field(default=None, max_length=200)
    title: str = Field(sa_column=Column(Text, nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = _when(index=True)
    region: str | None = Field(default=None, max_length=100)
    category: str | None = Field(default=None, max_length=100, index=True)
    kind: str | None = Field(default=None, max_length=16)
    urgency: str = Field(default="normal", max_length=16)
    status: str = Field(max_length=16)
    lead_unit_id: int | None = Field(default=None, foreign_key="units.id")
    # Facts the clocks are computed from.
    assign_started_at: datetime = _when()  # receipt, or the unit's return (退回)
    clock_started_at: datetime = _when()  # receipt, or the reopening after 不满意
    assigned_at: datetime | None = _when(nullable=True)
    replied_at: datetime | None = _when(nullable=True)  # first published reply since start
    closed_at: datetime | None = _when(nullable=True)  # closed, rejected or merged
    # An imported history whose source had no time for the acceptance and assignment: the
    # import dated those steps itself, so 及时受理率 leaves the case out (migration 0010).
    assign_imported: bool = Field(
        default=False,
        sa_column=Column(Boolean, nullable=False, default=False, server_default=false()),
    )
    paused_since: datetime | None = _when(nullable=True)
    # Current deadlines, denormalised so queues and reports are one indexed query.
    assign_due_at: datetime = _when()
    reply_due_at: datetime = _when()
    close_due_at: datetime = _when()
    provisional: bool = False  # some deadline depends on a year nobody has entered yet
    next_due_at: datetime = Field(
        default=END_OF_TIME, sa_column=Column(UTCDateTime(), nullable=False)
    )
    # When the nearest running clock reaches 80% of its limit (END_OF_TIME when none runs);
    # kept current with next_due_at so 即将到期 is one indexed range.
    warn_at: datetime = Field(
        default=END_OF_TIME,
        sa_column=Column(
            UTCDateTime(), nullable=False, server_default="9999-12-31 00:00:00.000000"
        ),
    )
    repeat_of_id: int | None = Field(default=None, foreign_key="cases.id")
    merged_into_id: int | None = Field(default=None, foreign_key="cases.id")
    extra: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    # The source's text cells exactly as the file had them, by column, where the import's
    # cleaning (padding, CRLF, blank lines) changed them (JSON; migration 0010).
    source_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Optimistic concurrency: every UPDATE says "WHERE version = what I read" and bumps it.
    version: int = Field(default=1, sa_column=_VERSION)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    updated_by: str = Field(max_length=100)


class CoUnit(SQLModel, table=True):
    """A unit that helps the lead unit on a case (协办); released, never deleted, on a return."""

    __tablename__ = "case_co_units"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    unit_id: int = Field(foreign_key="units.id", index=True)
    assigned_at: datetime = _when()
    released_at: datetime | None = _when(nullable=True)


class MetaRow(SQLModel, table=True):
    """Facts about the store itself, e.g. the calendar its deadlines were computed with."""

    __tablename__ = "store_meta"

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(sa_column=Column(Text, nullable=False))


class ReplyRow(SQLModel, table=True):
    """A reply to the citizen: drafted by a unit, reviewed and published by the bureau."""

    __tablename__ = "replies"
    __table_args__ = (Index("ix_replies_state_case", "state", "case_id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    state: str = Field(max_length=16)  # draft / submitted / published / sent_back
    final: bool = False
    outcome: str | None = Field(default=None, max_length=16)  # 支持 / 解释说明 / 不支持
    text: str = Field(sa_column=Column(Text, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="clerks.id")
    unit_id: int | None = Field(default=None, foreign_key="units.id")
    created_at: datetime = _when()
    updated_at: datetime = _when()
    published_at: datetime | None = _when(nullable=True)
    review_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class RatingRow(SQLModel, table=True):
    """The citizen's rating (满意度评价) or a later follow-up comment (追评)."""

    __tablename__ = "ratings"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    value: str | None = Field(default=None, max_length=16)  # 满意 / 基本满意 / 不满意
    comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    follow_up: bool = False
    rated_at: datetime = _when()
    recorded_by_id: int | None = Field(default=None, foreign_key="clerks.id")


class ExtensionRow(SQLModel, table=True):
    """A unit's request for more time; it moves the close deadline once approved."""

    __tablename__ = "extensions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    days: int
    reason: str = Field(sa_column=Column(Text, nullable=False))
    state: str = Field(max_length=16)  # requested / approved / denied / lapsed (ExtensionState)
    requested_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    requested_at: datetime = _when()
    decided_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    decided_at: datetime | None = _when(nullable=True)


class SupervisionRow(SQLModel, table=True):
    """A record that a case is being chased: 催办, 挂牌督办 or 约谈."""

    __tablename__ = "supervisions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    level: str = Field(max_length=16)  # remind / flag / summon
    note: str = Field(sa_column=Column(Text, nullable=False))
    created_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    created_at: datetime = _when()


class InstructionRow(SQLModel, table=True):
    """A leader's written instruction on a case (领导批示), or a leader owning it (包案)."""

    __tablename__ = "instructions"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    leader: str = Field(max_length=100)
    text: str = Field(sa_column=Column(Text, nullable=False))
    owner: bool = False
    created_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    created_at: datetime = _when()


class PauseRow(SQLModel, table=True):
    """A stretch of time when a case's clocks stood still (a hearing, awaiting materials)."""

    __tablename__ = "pauses"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    started_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True)
    started_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    ended_by_id: int | None = Field(default=None, foreign_key="clerks.id")


class LinkRow(SQLModel, table=True):
    """A link between cases: a repeat of an original, or a case merged into another."""

    __tablename__ = "case_links"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    target_id: int = Field(foreign_key="cases.id", index=True)
    kind: str = Field(max_length=16)  # repeat_of / merged_into
    created_by_id: int | None = Field(default=None, foreign_key="clerks.id")
    created_at: datetime = _when()


class EventRow(SQLModel, table=True):
    """One action on a case, append-only: who, what, from which state to which, why, and when."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case", "case_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="cases.id")
    actor: str = Field(max_length=100)  # clerk name, or "import:<file>" for batch work
    action: str = Field(max_length=32)
    from_status: str | None = Field(default=None, max_length=16)
    to_status: str | None = Field(default=None, max_length=16)
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    effective_at: datetime = _when(index=True)  # the (possibly frozen) clock's now
    recorded_at: datetime = _when()  # the real time it was written
    # SHA-256 of the case's previous event's hash and this event's content (store/audit.py).
    hash: str | None = Field(default=None, max_length=64)


class ImportRecord(SQLModel, table=True):
    """One run of `caseworker import` on one file: what it read, what it did, and who ran it."""

    __tablename__ = "imports"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(sa_column=Column(Text, nullable=False))
    sha256: str = Field(max_length=64, index=True)
    format: str = Field(max_length=16)
    channel: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=16)  # running / done / interrupted / failed
    read: int = 0
    imported: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    rejects_path: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    clerk: str = Field(max_length=100)
    started_at: datetime = _when()
    finished_at: datetime | None = _when(nullable=True)
    # Where a running import runs, and when it last committed a batch (real time): a record
    # still "running" whose process is gone was killed (services.imports.liveness).
    host: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    pid: int | None = None
    heartbeat_at: datetime | None = _when(nullable=True)


class RankingRecord(SQLModel, table=True):
    """A ranking of units as `report rates` computed it, kept as shown so it can be audited.

    The figures change as cases move (a reopened case, a late close), so a ranking read again
    next month is not the one a supervisor used: this is. `figures` is the JSON of
    `report rates --format json`: every rate with its numerator and denominator.
    """

    __tablename__ = "rankings"

    id: int | None = Field(default=None, primary_key=True)
    period: str = Field(max_length=16)
    period_start: date
    period_end: date  # the first day after the period
    level: str | None = Field(default=None, max_length=16)
    as_of: datetime = _when()
    rule_version: str = Field(max_length=200)
    figures: str = Field(sa_column=Column(Text, nullable=False))
    clerk: str = Field(max_length=100)
    recorded_at: datetime = _when()
    # SHA-256 of the previous ranking's hash and these figures (store/audit.py).
    hash: str | None = Field(default=None, max_length=64)


class DocumentNumber(SQLModel, table=True):
    """A 发文字号 given to one document: numbers run by kind and year, and the same document
    (`subject`, e.g. the 交办函 of case 12) printed again keeps the number it was given."""

    __tablename__ = "document_numbers"
    __table_args__ = (
        UniqueConstraint("kind", "year", "number", name="uq_document_numbers_kind_year_number"),
        UniqueConstraint("kind", "subject", name="uq_document_numbers_kind_subject"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)  # assign / supervise / approval / brief / bulletin
    year: int
    number: int
    subject: str = Field(max_length=200)
    case_id: int | None = Field(default=None, foreign_key="cases.id", index=True)
    issued_by: str = Field(max_length=100)
    issued_at: datetime = _when()


class CaseClaim(SQLModel, table=True):
    """Who last opened a case in the console and when: "take next" skips cases others are on."""

    __tablename__ = "case_claims"

    case_id: int = Field(foreign_key="cases.id", primary_key=True)
    clerk: str = Field(max_length=100)
    opened_at: datetime = _when()


class TriageModelRow(SQLModel, table=True):
    """A trained triage model (category and lead unit), kept with how well it did.

    `model` is an .npz of plain arrays the store itself wrote (domain.triage_model): loading
    it runs no code. The newest row is the one that suggests.
    """

    __tablename__ = "triage_models"

    id: int | None = Field(default=None, primary_key=True)
    features: str = Field(max_length=64)  # the feature set's version
    trained_at: datetime = _when()
    trained_by: str = Field(max_length=100)
    category_cases: int = 0
    unit_cases: int = 0
    category_top1: float | None = None  # cross-validated
    category_top3: float | None = None
    unit_top1: float | None = None
    unit_top3: float | None = None
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))  # JSON
    model: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class CommonIssueRow(SQLModel, table=True):
    """A common issue (共性问题): many citizens' cases about one matter, kept for a brief (专报)."""

    __tablename__ = "common_issues"

    id: int | None = Field(default=None, primary_key=True)
    title: str = Field(sa_column=Column(Text, nullable=False))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_by: str = Field(max_length=100)
    created_at: datetime = _when()


class CommonIssueCase(SQLModel, table=True):
    """One case counted in a common issue; a case may belong to several issues."""

    __tablename__ = "common_issue_cases"
    __table_args__ = (UniqueConstraint("issue_id", "case_id", name="uq_common_issue_case"),)

    id: int | None = Field(default=None, primary_key=True)
    issue_id: int = Field(foreign_key="common_issues.id", index=True)
    case_id: int = Field(foreign_key="cases.id", index=True)
    added_by: str = Field(max_length=100)
    added_at: datetime = _when()


class CaseSignature(SQLModel, table=True):
    """What the repeat tests read of a case (domain.triage_repeats): its text key and author,
    and the sketch of its character pairs.

    Written at import, so a re-post is found by one index lookup, never by reading the texts
    of every case, and a citizen's earlier messages are ruled out as near repeats by their
    sketches, without building their pairs (NULL on rows from before migration 0017: those
    are compared the long way).
    """

    __tablename__ = "case_signatures"
    __table_args__ = (
        Index("ix_case_signatures_text_key", "text_key"),
        Index("ix_case_signatures_author", "author", "received_at"),
    )

    case_id: int = Field(
        sa_column=Column(Integer, ForeignKey("cases.id"), primary_key=True, autoincrement=False)
    )
    received_at: datetime = _when()
    author: str | None = Field(default=None, max_length=200)
    text_key: str = Field(max_length=16)
    pair_count: int | None = Field(default=None)
    pair_bits: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
