"""Batch import of citizens' messages from files: formats, mapping, rejects, and the runner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

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


def list_imports(session: Session, limit: int = 50) -> list[ImportInfo]:
    """The most recent imports first."""
    rows = session.exec(
        select(ImportRecord).order_by(col(ImportRecord.id).desc()).limit(limit)
    ).all()
    return [
        ImportInfo(
            r.id or 0,
            r.file_name,
            r.sha256,
            r.format,
            r.channel,
            r.status,
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
