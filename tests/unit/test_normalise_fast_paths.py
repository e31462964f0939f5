"""The shortcuts preparing a row takes give what the plain way gives."""

from __future__ import annotations

import json
from datetime import datetime

import pytest

from caseworker.services.imports.normalise import BadValue, clean_text, parse_time
from caseworker.services.imports.prepare import _extra_json


@pytest.mark.parametrize(
    "extra",
    [
        {"likes": 1},
        {"likes": True},
        {"likes": 1.0},
        {"likes": "1"},
        {"likes": 1},
        {"likes": 0, "dislikes": 2},
        {"tags": ["a", "b"]},
        {"geo": {"lat": 1.5}},
    ],
)
def test_remembered_extra_json_is_the_json_of_that_very_row(extra: dict[str, object]) -> None:
    assert _extra_json(extra) == json.dumps(extra, ensure_ascii=False)
    assert _extra_json(extra) == json.dumps(extra, ensure_ascii=False)  # from memory too


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区  噪音", "小区 噪音"),
        ("a\t\tb", "a b"),
        ("a\u00a0\u00a0b", "a b"),
        ("一句话", "一句话"),
        ("  两边  ", "两边"),
        ("第一段\n\n\t第二段  末尾", "第一段\n第二段 末尾"),
    ],
)
def test_blank_runs_are_squeezed_with_or_without_the_regex(text: str, expected: str) -> None:
    assert clean_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2019-04-25 09:32:09",
        "2019/04/25 09:32:09",
        "2019-04-25T09:32:09",
        "2019/04/25T09:32:09",
        "1988-07-01 12:00:00",  # Shanghai kept summer time then: the zone, not a fixed +08:00
        "2024-02-29 23:59:59",
        "2025-02-30 08:00:00",
        "2025/13/01 08:00:00",
        "2025-01-01 24:00:00",
        "２０２５-01-01 08:00:00",
        "2025-01/01 08:00:00",
        "2025-01-01 08:00:0Z",
    ],
)
def test_the_common_time_shape_reads_as_the_long_way_reads_it(text: str) -> None:
    def read(value: str) -> object:
        try:
            return parse_time(value)
        except BadValue as exc:
            return ("refused", exc.key, str(exc))

    # Padded, the same text is not the 19-character shape and takes the long way.
    fast, slow = read(text), read(f" {text} ")
    assert fast == slow
    if isinstance(fast, datetime):
        assert isinstance(slow, datetime)
        assert fast.tzinfo is slow.tzinfo and fast.utcoffset() == slow.utcoffset()
