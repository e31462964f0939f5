"""Repeat tests: a re-post within the window, the same citizen again, and what is no repeat."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caseworker.domain.triage_repeats import Seen, original_of, pairs, text_key

T0 = datetime(2025, 3, 1, 9, tzinfo=UTC)
TEXTS = {
    1: ("小区门口道路积水严重", "每逢下雨，小区门口道路积水严重，出行困难，请尽快修缮排水设施。"),
    2: ("小区门口道路积水严重！", "每逢下雨， 小区门口道路积水严重，出行困难，请尽快修缮排水设施"),
    3: ("再次反映小区门口积水", "每逢下雨小区门口道路积水严重，出行困难，请尽快修缮排水设施。谢谢"),
    4: ("学校周边交通拥堵", "上下学高峰期学校门口车辆乱停，交通拥堵，存在安全隐患。"),
}


def seen(i: int, days: float, author: str | None) -> Seen:
    return Seen(i, T0 + timedelta(days=days), text_key(*TEXTS[i]), author)


def pairs_of(i: int) -> frozenset[str]:
    return pairs(*TEXTS[i])


def test_a_repost_by_anyone_within_the_window_repeats_the_first() -> None:
    first, repost = seen(1, 0, "A1"), seen(2, 3, "B7")  # spacing and punctuation differ
    assert first.key == repost.key
    assert original_of(repost, [first, repost], pairs_of) == (first, 1.0)
    assert original_of(first, [first, repost], pairs_of) is None  # the first repeats nothing
    late = seen(2, 31, "B7")
    assert original_of(late, [first, late], pairs_of) is None  # outside the 30 days


def test_the_same_citizen_with_nearly_the_same_words_repeats_and_others_do_not() -> None:
    first, again = seen(1, 0, "A1"), seen(3, 5, "A1")
    found = original_of(again, [first, again], pairs_of)
    assert found is not None and found[0] == first and 0.6 <= found[1] < 1.0
    stranger = seen(3, 5, "C2")
    assert original_of(stranger, [first, stranger], pairs_of) is None
    other_matter = seen(4, 2, "A1")
    assert original_of(other_matter, [first, other_matter], pairs_of) is None
