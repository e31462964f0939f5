"""The span of times and the ids caseworker can hold (domain.bounds)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from caseworker.domain.bounds import LARGEST_ID, case_id_of, time_in_bounds


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("123", 123),
        (str(LARGEST_ID), LARGEST_ID),
        (str(LARGEST_ID + 1), None),  # past what SQLite and PostgreSQL hold: not an id
        ("0", None),
        ("١٢٣", None),  # Arabic-Indic digits: int() reads 123, a clerk did not mean it
        ("１２３", None),  # full-width
        ("²", None),  # int() refuses it, isdigit() accepts it
        ("-1", None),
        ("", None),
    ],
)
def test_only_ascii_digits_of_a_storable_size_name_an_id(text: str, number: int | None) -> None:
    assert case_id_of(text) == number


def test_times_from_1970_to_2199_are_held_and_the_edges_of_datetime_are_not() -> None:
    assert time_in_bounds(datetime(2025, 11, 14, tzinfo=UTC))
    assert not time_in_bounds(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=8))))
    assert not time_in_bounds(datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=14))))
    assert not time_in_bounds(datetime(1969, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert time_in_bounds(datetime(2199, 12, 31, 23, 59, 59, tzinfo=UTC))
