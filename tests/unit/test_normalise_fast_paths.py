"""The shortcuts preparing a row takes give what the plain way gives."""

from __future__ import annotations

import json

import pytest

from caseworker.services.imports.normalise import clean_text
from caseworker.services.imports.prepare import _extra_json


@pytest.mark.parametrize(
    "extra",
    [{"likes": 1}, {"likes": True}, {"likes": 1.0}, {"likes": "1"}, {"likes": 1},
     {"likes": 0, "dislikes": 2}, {"tags": ["a", "b"]}, {"geo": {"lat": 1.5}}],
)
def test_remembered_extra_json_is_the_json_of_that_very_row(extra: dict[str, object]) -> None:
    assert _extra_json(extra) == json.dumps(extra, ensure_ascii=False)
    assert _extra_json(extra) == json.dumps(extra, ensure_ascii=False)  # from memory too


@pytest.mark.parametrize(
    ("text", "expected"),
    [("小区  噪音", "小区 噪音"), ("a\t\tb", "a b"), ("a\u00a0\u00a0b", "a b"),
     ("一句话", "一句话"), ("  两边  ", "两边"),
     ("第一段\n\n\t第二段  末尾", "第一段\n第二段 末尾")],
)
def test_blank_runs_are_squeezed_with_or_without_the_regex(text: str, expected: str) -> None:
    assert clean_text(text) == expected
