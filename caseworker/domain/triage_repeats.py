"""Repeats (重复留言): the same message posted again, or the same citizen writing again.

Two cheap tests, so the import stays fast:
- the same text: the message with spacing and punctuation removed hashes to the same key
  (a re-post, the commonest repeat on real boards, whoever posts it);
- the same citizen within the window, with nearly the same words: the character pairs of
  title and opening are compared (Jaccard), only against that citizen's own recent messages.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from operator import add
from typing import NamedTuple

from caseworker.domain.triage_text import fold_width

WINDOW = timedelta(days=30)  # a message repeats one received at most this long before it
NEAR = 0.6  # character-pair overlap of a near-exact repeat by the same citizen
_OPENING = 200
_NOT_TEXT = re.compile(r"[^0-9a-z\u3400-\u9fff]+")


def normalised(title: str, body: str) -> str:
    """Title and body without case, spacing and punctuation (what a re-post keeps)."""
    text = fold_width(f"{title}\n{body}").lower()
    return _NOT_TEXT.sub("", text)


def text_key(title: str, body: str) -> str:
    """A short key equal for two messages of the same text (the caller may pass the body's
    opening only: a re-post repeats it too)."""
    return hashlib.blake2b(normalised(title, body).encode(), digest_size=8).hexdigest()


def pairs(title: str, body: str) -> frozenset[str]:
    """The character pairs of the title and the opening of the body."""
    text = normalised(title, body[:_OPENING])
    return frozenset(map(add, text, text[1:]))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)  # the union's size follows: no second set is built
    return common / (len(a) + len(b) - common)


class Seen(NamedTuple):
    """A message already known, as the repeat tests read it (a tuple: the import builds
    thousands a batch)."""

    id: int
    received_at: datetime
    key: str
    author: str | None


def earlier(a: Seen, b: Seen) -> bool:
    """Whether `a` came before `b` (receipt time, then id)."""
    return (a.received_at, a.id) < (b.received_at, b.id)


def could_be_near(a: frozenset[str], b: frozenset[str]) -> bool:
    """Whether two pair sets' sizes allow a similarity of NEAR: the Jaccard of two sets is at
    most the smaller size over the larger, so sets far apart in size need no intersection."""
    small, large = sorted((len(a), len(b)))
    return large > 0 and small / large >= NEAR


def _when(seen: Seen) -> tuple[datetime, int]:
    return seen.received_at, seen.id


def original_of(
    message: Seen, candidates: list[Seen], pairs_of: Callable[[int], frozenset[str]]
) -> tuple[Seen, float] | None:
    """The earliest message `message` repeats within the window, with the similarity
    (`pairs_of` gives a message's character pairs by id, only when they are needed).

    The candidates are tried oldest first, so the first that qualifies is the answer and
    the later ones are not compared at all."""
    for other in sorted(candidates, key=_when):
        if not earlier(other, message):
            break  # the rest are no earlier either
        if message.received_at - other.received_at > WINDOW:
            continue
        if other.key == message.key:
            return other, 1.0
        if message.author and other.author == message.author:
            mine, theirs = pairs_of(message.id), pairs_of(other.id)
            if not could_be_near(mine, theirs):
                continue
            score = similarity(mine, theirs)
            if score >= NEAR:
                return other, round(score, 3)
    return None
