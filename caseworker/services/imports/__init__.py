"""Batch import of citizens' messages from files: formats, mapping, rejects, and the runner."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.services.imports.runner import (
    ImportFailed,
    ImportOptions,
    ImportSummary,
    SimulatedInterrupt,
    run_import,
)
from caseworker.store.models import ImportRecord

__all__ = [
    "ImportFailed",
    "ImportInfo",
    "ImportOptions",
    "ImportSummary",
    "SimulatedInterrupt",
    "list_imports",
    "run_import",
    "shown_status",
]


@dataclass(frozen=True)
class ImportInfo:
    """One recorded import, as `caseworker imports list` shows it."""

    id: int
    file_name: str
    sha256: str
    format: str
    channel: str | None
    status: str
    read: int
    imported: int
    duplicates: int
    conflicts: int
    rejected: int
    rejects_path: str | None
    clerk: str
    started_at: datetime
    finished_at: datetime | None


# A running import commits a batch (and its heartbeat) every second or so; one silent this
# long, on a host where its process cannot be asked after, was killed.
STALE_HEARTBEAT = timedelta(minutes=10)


def shown_status(record: ImportRecord, now: datetime | None = None) -> str:
    """The record's status, with a "running" import that can no longer be running shown as
    interrupted: killed with -9 (or the machine stopped), it could not record that itself.

    On the host that ran it, its process is asked after; elsewhere (a shared PostgreSQL
    database) a heartbeat older than STALE_HEARTBEAT says it. Nothing is written: running
    the same import again finishes the job and records the outcome.
    """
    if record.status != "running" or record.host is None:
        return record.status
    here = record.host == socket.gethostname() and record.pid is not None
    if here and not _process_exists(record.pid or 0):
        return "interrupted"
    beat = record.heartbeat_at
    if beat is not None and (now or recorded_now()) - beat > STALE_HEARTBEAT:
        return "interrupted"
    return record.status


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):  # someone else's process, or we cannot tell: alive
        return True
    return True


def list_imports(session: Session, limit: int = 50) -> list[ImportInfo]:
    """The most recent imports first."""
    rows = session.exec(
        select(ImportRecord).order_by(col(ImportRecord.id).desc()).limit(limit)
    ).all()
    now = recorded_now()
    return [
        ImportInfo(
            r.id or 0,
            r.file_name,
            r.sha256,
            r.format,
            r.channel,
            shown_status(r, now),
            r.read,
            r.imported,
            r.duplicates,
            r.conflicts,
            r.rejected,
            r.rejects_path,
            r.clerk,
            r.started_at,
            r.finished_at,
        )
        for r in rows
    ]
