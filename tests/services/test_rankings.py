"""Rankings are kept as computed (docs/domain.md "Measures": numerator, denominator and rule
version with every figure, so a ranking can be audited), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import pytest

from caseworker.commands.common import to_json
from caseworker.commands.reports import rates_json
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import InvalidInput
from caseworker.domain.measures import Period
from caseworker.services.rankings import record_ranking, recorded_ranking, recorded_rankings
from caseworker.services.reports import unit_rates

NOW = datetime(2025, 11, 3, 10, tzinfo=SHANGHAI)


def test_a_recorded_ranking_reads_back_as_it_was_computed(bureau: Any) -> None:
    bureau.receive(datetime(2025, 10, 9, 9, tzinfo=SHANGHAI), external_id="r1")
    with bureau.store.session() as session:
        numbers = []
        for level in (None, "county"):
            report = unit_rates(
                session,
                bureau.rules,
                period=Period.MONTH,
                at=date(2025, 10, 1),
                now=NOW,
                level=level,
            )
            figures = to_json(rates_json(report))
            numbers.append(record_ranking(session, report, figures, bureau.SUPERVISOR, NOW))
    with bureau.store.session() as session:
        listed = recorded_rankings(session)
        assert [r.id for r in listed] == list(reversed(numbers))
        first = recorded_ranking(session, numbers[0])
        assert (first.period, first.period_start, first.period_end, first.level) == (
            "month",
            date(2025, 10, 1),
            date(2025, 11, 1),
            None,
        )
        assert first.as_of == datetime(2025, 11, 1, tzinfo=SHANGHAI)
        assert first.recorded_at == NOW and first.clerk == bureau.SUPERVISOR
        doc = json.loads(first.figures)
        assert doc["rule_version"] == first.rule_version
        assert doc["total"]["received"] == 1
        assert recorded_ranking(session, numbers[1]).level == "county"
        with pytest.raises(InvalidInput, match="no recorded ranking 99"):
            recorded_ranking(session, 99)


def test_recording_a_ranking_commits_with_the_callers_transaction(bureau: Any) -> None:
    """A function that takes a Session never commits: a refusal after the ranking was recorded
    in the same transaction takes the ranking back with it."""
    bureau.receive(datetime(2025, 10, 9, 9, tzinfo=SHANGHAI), external_id="r1")
    with pytest.raises(InvalidInput), bureau.store.session() as session:
        report = unit_rates(
            session, bureau.rules, period=Period.MONTH, at=date(2025, 10, 1), now=NOW, level=None
        )
        record_ranking(session, report, to_json(rates_json(report)), bureau.SUPERVISOR, NOW)
        recorded_ranking(session, 99)  # refused: the transaction rolls back
    with bureau.store.session() as session:
        assert recorded_rankings(session) == []
