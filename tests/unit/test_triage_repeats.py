"""Repeat tests: a re-post within the window, the same citizen again, and what is no repeat."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from caseworker.domain.triage_repeats import (
    NEAR,
    WINDOW,
    Seen,
    may_be_near,
    near_pairs,
    original_of,
    pairs,
    similarity,
    sketch,
    sketches,
    text_key,
)

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


WORDS = "小区物业停车收费噪音施工扰民道路积水路灯损坏学校招生ＡＢ１２ab  ，。！"


def _variants(count: int) -> list[tuple[str, str]]:
    """Texts and variants of them with a random share of characters changed, so that their
    overlap falls on both sides of NEAR; an empty one and one of a single character."""
    chance = random.Random(20261202)
    out: list[tuple[str, str]] = [("", ""), ("路", "")]
    while len(out) < count:
        title = "".join(chance.choices(WORDS, k=chance.randrange(0, 20)))
        body = "".join(chance.choices(WORDS, k=chance.randrange(0, 300)))
        out.append((title, body))
        changed = list(body)
        for _ in range(chance.randrange(0, 80)):
            if changed:
                changed[chance.randrange(len(changed))] = chance.choice(WORDS)
        out.append((title, "".join(changed)))
    return out


def test_a_sketch_never_rules_out_a_near_repeat() -> None:
    texts = _variants(600)
    found = sketches(texts)
    assert found == [sketch(*t) for t in texts]  # one at a time as many at once
    sets = [pairs(*t) for t in texts]
    near = ruled_out = 0
    for i in range(len(texts)):
        for j in range(i + 1, min(i + 6, len(texts))):
            if similarity(sets[i], sets[j]) >= NEAR:
                near += 1
                assert may_be_near(found[i], found[j]), (texts[i], texts[j])
            else:
                ruled_out += not may_be_near(found[i], found[j])
    assert near > 50 and ruled_out > 500  # both sides are exercised


def test_near_pairs_keeps_what_the_plain_loop_would_compare() -> None:
    """Every earlier message of the same author in the window that the sketches, a shared key
    or a missing sketch leave in; nothing else."""
    chance = random.Random(7)
    texts = _variants(300)
    found = sketches(texts)
    n = len(texts)
    authors = [chance.randrange(4) for _ in range(n)]
    times = [chance.randrange(0, 90 * 86_400) * 1_000_000 for _ in range(n)]
    times[5] = times[6] - WINDOW // timedelta(microseconds=1)  # exactly the window apart
    authors[5] = authors[6]
    ids = list(range(1000, 1000 + n))
    chance.shuffle(ids)
    tested = [chance.random() < 0.5 for _ in range(n)]
    keys = [chance.randrange(3) for _ in range(n)]
    known = [chance.random() < 0.9 for _ in range(n)]
    counts = [s.pairs if k else None for s, k in zip(found, known, strict=True)]
    blobs = [s.bits if k else None for s, k in zip(found, known, strict=True)]
    got = set(near_pairs(authors, times, ids, tested, keys, counts, blobs))
    window = WINDOW // timedelta(microseconds=1)
    expected = {
        (i, j)
        for i in range(n)
        if tested[i]
        for j in range(n)
        if authors[j] == authors[i]
        and (times[j], ids[j]) < (times[i], ids[i])
        and times[i] - times[j] <= window
        and (not known[i] or not known[j] or keys[i] == keys[j] or may_be_near(found[i], found[j]))
    }
    assert got == expected
    assert len(expected) > 100
