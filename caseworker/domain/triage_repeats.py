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


def original_of(
    message: Seen, candidates: list[Seen], pairs_of: Callable[[int], frozenset[str]]
) -> tuple[Seen, float] | None:
    """The earliest message `message` repeats within the window, with the similarity
    (`pairs_of` gives a message's character pairs by id, only when they are needed)."""
    best: tuple[Seen, float] | None = None
    for other in candidates:
        if other.id == message.id or not earlier(other, message):
            continue
        if message.received_at - other.received_at > WINDOW:
            continue
        if other.key == message.key:
            score = 1.0
        elif message.author and other.author == message.author:
            score = similarity(pairs_of(message.id), pairs_of(other.id))
            if score < NEAR:
                continue
        else:
            continue
        if best is None or earlier(other, best[0]):
            best = (other, round(score, 3))
    return best
