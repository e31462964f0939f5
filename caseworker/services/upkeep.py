"""Keeping a store sound: verifying the audit chain, an online backup, and `check`.

Each function owns its own transaction (it takes the Store) and returns plain dataclasses.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col, select

from caseworker.domain.deadlines import Pause
from caseworker.domain.errors import InvalidInput
from caseworker.services.clocks import CaseRecords, case_clocks
from caseworker.services.rules import Rules
from caseworker.store.audit import AuditReport, verify
from caseworker.store.engine import Store


class NotForPostgres(InvalidInput):
    """An action only SQLite's own file allows (a PostgreSQL bureau uses its own tools)."""


def verify_audit(store: Store, *, head_upto: int | None = None) -> AuditReport:
    """Walk every chain of the history in one read transaction."""
    with store.engine.connect() as connection, connection.begin():
        if connection.dialect.name == "postgresql":
            # One snapshot for the whole walk, so events written meanwhile do not half-appear.
            connection.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        return verify(connection, head_upto=head_upto)


@dataclass(frozen=True)
class BackupReport:
    path: Path
    bytes: int
    cases: int
    events: int


def backup_store(store: Store, target: Path) -> BackupReport:
    """A consistent copy of a SQLite store while clerks keep working (SQLite's backup API).

    The copy is read from one snapshot (WAL lets writers go on meanwhile), written beside the
    target under a temporary name and renamed into place only once checked, so a failed or
    interrupted backup never leaves a file that looks like a good one. Created private (0600):
    it holds citizens' messages.
    """
    if store.engine.dialect.name != "sqlite":
        raise NotForPostgres(
            "backup copies a SQLite file; on PostgreSQL use pg_dump (e.g. pg_dump -Fc -f FILE DB)",
            key="refused.backup_postgres",
        )
    target = target.expanduser()
    if target.exists():
        raise InvalidInput(
            f"{target} already exists; choose a new file name",
            key="refused.backup_exists",
            path=str(target),
        )
    if not target.parent.is_dir():
        raise InvalidInput(
            f"no folder {target.parent} for the backup",
            key="refused.backup_no_folder",
            path=str(target.parent),
        )
    partial = target.with_name(f".{target.name}.partial")
    try:
        partial.unlink(missing_ok=True)
        os.close(os.open(partial, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise InvalidInput(
            f"cannot write the backup in {target.parent}: {exc.strerror}",
            key="refused.backup_cannot_write",
            path=str(target.parent),
            reason=str(exc.strerror),
        ) from None
    try:
        raw = store.engine.raw_connection()
        try:
            source = raw.driver_connection
            assert isinstance(source, sqlite3.Connection)
            copy = sqlite3.connect(partial)
            try:
                source.backup(copy)
                check = copy.execute("PRAGMA quick_check").fetchone()[0]
                cases = copy.execute("SELECT count(*) FROM cases").fetchone()[0]
                events = copy.execute("SELECT count(*) FROM events").fetchone()[0]
                # One file, no -wal beside it: the copy stands alone.
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            raw.close()
        if check != "ok":
            raise InvalidInput(
                f"the copy failed its check ({check}); nothing was written",
                key="refused.backup_bad_copy",
                reason=str(check),
            )
        os.replace(partial, target)
    except sqlite3.Error as exc:  # the disk filled, or the copy could not be written
        partial.unlink(missing_ok=True)
        raise InvalidInput(
            f"cannot write the backup in {target.parent}: {exc}; nothing was written",
            key="refused.backup_cannot_write",
            path=str(target.parent),
            reason=str(exc),
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupReport(path=target, bytes=target.stat().st_size, cases=cases, events=events)


@dataclass(frozen=True)
class CheckLine:
    """One part of `check`: its name, whether it passed, and what it found."""

    part: str  # integrity / audit / deadlines / extensions
    ok: bool
    key: str  # the catalog key of the line
    params: dict[str, object] = field(default_factory=dict)


def check_integrity(store: Store) -> CheckLine:
    """SQLite's own integrity_check; PostgreSQL checks its pages itself."""
    if store.engine.dialect.name != "sqlite":
        return CheckLine("integrity", True, "check.integrity_postgres")
    with store.engine.connect() as connection:
        rows = [str(r[0]) for r in connection.exec_driver_sql("PRAGMA integrity_check(20)")]
    if rows == ["ok"]:
        return CheckLine("integrity", True, "check.integrity_ok")
    return CheckLine(
        "integrity", False, "check.integrity_bad", {"count": len(rows), "first": rows[0]}
    )


def check_audit(store: Store) -> CheckLine:
    report = verify_audit(store)
    if report.ok:
        return CheckLine(
            "audit",
            True,
            "check.audit_ok",
            {"events": report.events, "cases": report.cases, "rankings": report.rankings},
        )
    assert report.first is not None
    return CheckLine(
        "audit",
        False,
        "check.audit_bad",
        {
            "count": report.mismatches,
            "table": report.first.table,
            "id": report.first.id,
            "case": report.first.case_id,
        },
    )


@dataclass(frozen=True)
class DeadlineMismatch:
    case_id: int
    stage: str
    stored: datetime
    computed: datetime


@dataclass
class DeadlineCheck:
    compared: int = 0
    paused: int = 0  # left out: a paused case's deadlines move every day until it resumes
    differing: int = 0  # cases with a stored deadline the rules do not give
    first: DeadlineMismatch | None = None


def recheck_deadlines(
    session: Session, rules: Rules, now: datetime, *, page: int = 2000
) -> DeadlineCheck:
    """Recompute every case's three deadlines from the rules and compare with the stored ones."""
    from caseworker.store.models import CaseRow, ExtensionRow, PauseRow

    result = DeadlineCheck()
    last = 0
    while True:
        cases = session.exec(
            select(CaseRow).where(col(CaseRow.id) > last).order_by(col(CaseRow.id)).limit(page)
        ).all()
        if not cases:
            return result
        last = cases[-1].id or 0
        ids = [c.id for c in cases]
        pauses: dict[int, list[Pause]] = {}
        for p in session.exec(select(PauseRow).where(col(PauseRow.case_id).in_(ids))).all():
            pauses.setdefault(p.case_id, []).append(
                Pause(started_at=p.started_at, ended_at=p.ended_at)
            )
        extensions: dict[int, list[ExtensionRow]] = {}
        for e in session.exec(
            select(ExtensionRow).where(
                col(ExtensionRow.case_id).in_(ids), ExtensionRow.state == "approved"
            )
        ).all():
            extensions.setdefault(e.case_id, []).append(e)
        for case in cases:
            assert case.id is not None
            if case.paused_since is not None:
                result.paused += 1
                continue
            days = sum(
                e.days
                for e in extensions.get(case.id, [])
                if e.decided_at is not None and e.decided_at >= case.clock_started_at
            )
            records = CaseRecords(pauses=pauses.get(case.id, []), approved_extension_days=days)
            result.compared += 1
            stored = (case.assign_due_at, case.reply_due_at, case.close_due_at)
            for clock, was in zip(case_clocks(case, records, rules, now), stored, strict=True):
                if clock.due_at != was:
                    result.differing += 1
                    if result.first is None:
                        result.first = DeadlineMismatch(
                            case.id, clock.stage.value, was, clock.due_at
                        )
                    break


def check_deadlines(store: Store, rules: Rules, now: datetime) -> CheckLine:
    with Session(store.engine) as session:
        result = recheck_deadlines(session, rules, now)
    first = result.first
    if first is None:
        return CheckLine(
            "deadlines",
            True,
            "check.deadlines_ok",
            {"cases": result.compared, "paused": result.paused},
        )
    return CheckLine(
        "deadlines",
        False,
        "check.deadlines_bad",
        {
            "count": result.differing,
            "case": first.case_id,
            "stage": first.stage,
            "stored": first.stored.isoformat(timespec="seconds"),
            "computed": first.computed.isoformat(timespec="seconds"),
        },
    )


def check_extensions(store: Store) -> CheckLine:
    """No extension request may still await a decision on a case that has ended (closing,
    rejecting or merging lapses it; migration 0018 settled older ones): one that does came
    from outside the services, e.g. the restore of an older release's export."""
    from sqlalchemy import func

    from caseworker.domain.lifecycle import ENDED_STATES, ExtensionState
    from caseworker.store.models import CaseRow, ExtensionRow

    waiting = ExtensionRow.state == ExtensionState.REQUESTED.value
    with Session(store.engine) as session:
        pending = session.exec(select(func.count()).where(waiting)).one()
        count, first = session.exec(
            select(func.count(), func.min(CaseRow.id))
            .select_from(ExtensionRow)
            .join(CaseRow, col(CaseRow.id) == ExtensionRow.case_id)
            .where(waiting, col(CaseRow.status).in_([s.value for s in ENDED_STATES]))
        ).one()
    if not count:
        return CheckLine("extensions", True, "check.extensions_ok", {"pending": pending})
    return CheckLine("extensions", False, "check.extensions_bad", {"count": count, "case": first})


def check_store(store: Store, rules: Rules, now: datetime) -> Sequence[CheckLine]:
    """Every part of `check`, each with its one-line result, even when the store is damaged."""
    parts: list[tuple[str, Callable[[], CheckLine]]] = [
        ("integrity", lambda: check_integrity(store)),
        ("audit", lambda: check_audit(store)),
        ("deadlines", lambda: check_deadlines(store, rules, now)),
        ("extensions", lambda: check_extensions(store)),
    ]
    lines = []
    for part, run in parts:
        try:
            lines.append(run())
        except (DBAPIError, sqlite3.Error) as exc:
            reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
            lines.append(CheckLine(part, False, "check.unreadable", {"reason": reason}))
    return lines
