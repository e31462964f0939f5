"""Rankings of units kept as they were computed, so a ranking can be audited (DOMAIN.md).

A period's figures move after it ends (a case reopened after 不满意, a late close), so the
ranking a supervisor acted on cannot be computed again later: each one `report rates` computes
is recorded with its figures (every rate's numerator and denominator), the rule version, who
ran it and when, and can be shown again exactly as it was.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from caseworker.domain.errors import InvalidInput
from caseworker.services.reports import RatesReport
from caseworker.store.audit import seal_ranking
from caseworker.store.models import RankingRecord


def record_ranking(
    session: Session, report: RatesReport, figures: str, clerk: str, now: datetime
) -> int:
    """Keep `report` with its figures as shown (`figures`: its JSON); returns its number."""
    row = RankingRecord(
        period=report.period,
        period_start=report.start,
        period_end=report.end,
        level=report.level,
        as_of=report.as_of,
        rule_version=report.rule_version,
        figures=figures,
        clerk=clerk,
        recorded_at=now,
    )
    row.hash = seal_ranking(session.connection(), row.model_dump())
    session.add(row)
    session.commit()
    assert row.id is not None
    return row.id


def recorded_rankings(session: Session, limit: int = 50) -> list[RankingRecord]:
    """The most recently recorded rankings first."""
    query = select(RankingRecord).order_by(col(RankingRecord.id).desc()).limit(limit)
    return list(session.exec(query).all())


def recorded_ranking(session: Session, number: int) -> RankingRecord:
    row = session.get(RankingRecord, number)
    if row is None:
        raise InvalidInput(
            f"no recorded ranking {number}; `report rankings` lists them",
            key="refused.no_ranking",
            number=number,
        )
    return row
