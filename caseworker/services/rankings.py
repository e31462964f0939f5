"""Rankings of units kept as they were computed, so a ranking can be audited (docs/domain.md).

A period's figures move after it ends (a case reopened after 不满意, a late close), so the
ranking a supervisor acted on cannot be computed again later: each one `report rates` computes
is recorded with its figures (every rate's numerator and denominator), the rule version, who
ran it and when, and can be shown again exactly as it was.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import InvalidInput
from caseworker.domain.measures import Period
from caseworker.services.reports import RateRow, RatesReport, unit_rates
from caseworker.services.rules import Rules
from caseworker.store.audit import seal_ranking
from caseworker.store.models import RankingRecord


def _rate_json(row: RateRow) -> dict[str, Any]:
    c, m = row.counts, row.measures
    return {
        "rank": row.rank,
        "unit": row.unit,
        "level": row.level,
        "received": c.received,
        "accepted": c.accepted,
        "closed": c.closed,
        "average_handling_workdays": (
            round(m.average_handling_workdays, 2)
            if m.average_handling_workdays is not None
            else None
        ),
        "handling_workdays": c.handling_workdays,
        "overdue": c.overdue,
        "overdue_workdays": c.overdue_workdays,
        # Imported cases without a source time for acceptance: not in 及时受理率 at all.
        "timely_acceptance_left_out": c.assign_left_out,
        "rates": {
            code: {
                "numerator": rate.numerator,
                "denominator": rate.denominator,
                "value": round(rate.value, 4) if rate.value is not None else None,
            }
            for code, rate in m.rates.items()
        },
    }


def rates_json(report: RatesReport) -> dict[str, Any]:
    return {
        "period": report.period,
        "start": report.start,
        "end": report.end,
        "as_of": report.as_of,
        "rule_version": report.rule_version,
        "level": report.level,
        "definitions": report.definitions,
        "units": [_rate_json(r) for r in report.rows],
        "total": _rate_json(report.total),
    }


def figures_text(report: RatesReport) -> str:
    """The ranking's figures as `report rates --format json` prints and records them."""

    def default(obj: Any) -> Any:
        if isinstance(obj, datetime):
            return obj.astimezone(SHANGHAI).isoformat()
        if isinstance(obj, date):
            return obj.isoformat()
        raise TypeError(type(obj).__name__)

    return json.dumps(rates_json(report), ensure_ascii=False, default=default, indent=2)


def rank_and_record(
    session: Session, rules: Rules, *, period: Period, at: date, now: datetime, clerk: str
) -> tuple[dict[str, Any], int]:
    """Compute a period's ranking as `report rates` does and record it the same way; returns
    its figures (the JSON document) and its number."""
    report = unit_rates(session, rules, period=period, at=at, now=now, level=None)
    figures = figures_text(report)
    number = record_ranking(session, report, figures, clerk, now)
    return json.loads(figures), number


def record_ranking(
    session: Session, report: RatesReport, figures: str, clerk: str, now: datetime
) -> int:
    """Keep `report` with its figures as shown (`figures`: its JSON); returns its number.

    Committed with the caller's session (services: a Session never commits), so a bulletin
    that fails after recording its ranking leaves no ranking behind either.
    """
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
    session.flush()  # its number, and the head the next ranking of this transaction seals to
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
