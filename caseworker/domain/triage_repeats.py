"""Repeats (重复留言): the same message posted again, or the same citizen writing again.

Two cheap tests, so the import stays fast:
- the same text: the message with spacing and punctuation removed hashes to the same key
  (a re-post, the commonest repeat on real boards, whoever posts it);
- the same citizen within the window, with nearly the same words: the character pairs of
  title and opening are compared (Jaccard), only against that citizen's own recent messages.

A citizen who writes every few days is compared with a dozen messages each time, and nearly
all of them are about something else. Each message's pairs are summed up in a `Sketch` (their
count and a 1,024-bit map of them, 128 bytes, stored beside its text key), which bounds the
overlap from above without the pairs: only messages it cannot rule out have their pairs built
and compared exactly, so the marks are those of the plain test.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
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


# What a stored signature's text key reads of the body: a re-post repeats its opening too.
SIGNATURE_OPENING = 300


def signature_key(title: str, body: str | None) -> str:
    """A case's text key as stored with its signature (its title and its body's opening)."""
    return text_key(title, (body or "")[:SIGNATURE_OPENING])


def pairs(title: str, body: str) -> frozenset[str]:
    """The character pairs of the title and the opening of the body."""
    text = normalised(title, body[:_OPENING])
    return frozenset(map(add, text, text[1:]))


SKETCH_BITS = 1024  # buckets of a sketch's map: 128 bytes a message
_SKETCH_BYTES = SKETCH_BITS // 8
_SHIFT = 32 - (SKETCH_BITS.bit_length() - 1)


class Sketch(NamedTuple):
    """What bounds two messages' pair overlap without their pairs (see `may_be_near`).

    `pairs`: the character pairs of the compared text, repeats included (its distinct pairs
    number at most this); `bits`: 128 bytes, bit k (little-endian) set when one of its pairs
    falls in bucket k; both as case_signatures stores them (pair_count, pair_bits).
    """

    pairs: int
    bits: bytes


def _bucket(a: str, b: str) -> int:
    # Every character of a normalised text is below U+A000: a pair is exactly 32 bits, and a
    # multiplicative hash's top bits pick its bucket, the same in every process and on disk.
    return (((ord(a) << 16 | ord(b)) * 2654435761) & 0xFFFFFFFF) >> _SHIFT


def sketch(title: str, body: str) -> Sketch:
    """The sketch of one message (the text `pairs` reads)."""
    text = normalised(title, body[:_OPENING])
    bits = 0
    for a, b in pairwise(text):
        bits |= 1 << _bucket(a, b)
    return Sketch(max(len(text) - 1, 0), bits.to_bytes(_SKETCH_BYTES, "little"))


def sketches(texts: Sequence[tuple[str, str]]) -> list[Sketch]:
    """`sketch` of many messages at once (titles and bodies), as arrays: a few microseconds a
    message where one at a time costs tens."""
    import numpy as np

    if not texts:
        return []
    normal = [normalised(title, body[:_OPENING]) for title, body in texts]
    # One array of code points, each text followed by a 0 (never in a normalised text).
    points = np.frombuffer(("\0".join(normal) + "\0").encode("utf-32-le"), dtype=np.uint32)
    first, second = points[:-1], points[1:]
    inside = (first != 0) & (second != 0)
    lengths = np.fromiter(map(len, normal), dtype=np.int64, count=len(normal))
    owner = np.repeat(np.arange(len(normal), dtype=np.int64), lengths + 1)[:-1][inside]
    code = (first[inside].astype(np.uint64) << np.uint64(16)) | second[inside]
    bucket = ((code * np.uint64(2654435761)) & np.uint64(0xFFFFFFFF)) >> np.uint64(_SHIFT)
    marks = np.zeros((len(normal), SKETCH_BITS), dtype=bool)
    marks[owner, bucket.astype(np.int64)] = True
    packed = np.packbits(marks, axis=1, bitorder="little").tobytes()
    size = _SKETCH_BYTES
    return [
        Sketch(max(n - 1, 0), packed[i * size : (i + 1) * size])
        for i, n in enumerate(lengths.tolist())
    ]


def may_be_near(a: Sketch, b: Sketch) -> bool:
    """Whether two messages' sketches allow a pair overlap of NEAR (False: it is below).

    In each bucket both use, the common pairs are at most one plus the smaller of their
    other pairs there, so the common pairs number at most the shared buckets plus the smaller
    of (pairs - buckets used); and each set has at least as many pairs as buckets used. The
    overlap, increasing in the common pairs and decreasing in the sizes, is bounded by putting
    those in; float division keeps that order, so a bound below NEAR is a score below it.
    """
    bits_a, bits_b = int.from_bytes(a.bits, "little"), int.from_bytes(b.bits, "little")
    used_a, used_b = bits_a.bit_count(), bits_b.bit_count()
    common = (bits_a & bits_b).bit_count() + min(a.pairs - used_a, b.pairs - used_b)
    if common <= 0:
        return False
    union = used_a + used_b - common
    return union <= 0 or common / union >= NEAR


def near_pairs(
    authors: Sequence[int],
    times: Sequence[int],
    ids: Sequence[int],
    tested: Sequence[bool],
    keys: Sequence[int],
    counts: Sequence[int | None],
    blobs: Sequence[bytes | None],
) -> list[tuple[int, int]]:
    """Which messages each tested one must be compared with by the same-citizen test.

    Messages by position: author and text key (as numbers), receipt time (microseconds), id,
    and sketch (`Sketch.pairs` and `Sketch.bits`; None where unknown). Gives (i, j) for each
    message j by the same author before a tested message i, (time, id) order, at most WINDOW
    before it, that its sketch does not rule out (or of the same text key, or unsketched):
    all the others cannot be a near repeat, so the answer is `original_of`'s with them left
    out. As arrays, a batch's hundreds of thousands of such pairs at once.
    """
    import numpy as np

    n = len(ids)
    if n < 2:
        return []
    order = np.lexsort(
        (np.asarray(ids, np.int64), np.asarray(times, np.int64), np.asarray(authors, np.int64))
    )
    author = np.asarray(authors, np.int64)[order]
    when = np.asarray(times, np.int64)[order]
    # Each message's author's first position: the candidates of position p are those after
    # it and before p.
    first = np.ones(n, dtype=bool)
    first[1:] = author[1:] != author[:-1]
    start = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    targets = np.flatnonzero(np.asarray(tested, dtype=bool)[order])
    before = targets - start[targets]
    total = int(before.sum())
    if total == 0:
        return []
    p = np.repeat(targets, before)
    q = np.repeat(start[targets] - (np.cumsum(before) - before), before) + np.arange(total)
    window = WINDOW // timedelta(microseconds=1)
    inside = when[p] - when[q] <= window
    p, q = p[inside], q[inside]
    # The sketches stay in their given order (no sorted copy): the pairs are mapped back to it.
    p, q = order[p], order[q]
    key = np.asarray(keys, np.int64)
    known = np.fromiter((b is not None for b in blobs), dtype=bool, count=n)
    empty = bytes(_SKETCH_BYTES)
    bits = np.frombuffer(b"".join(b or empty for b in blobs), dtype="<u8").reshape(n, -1)
    used = np.bitwise_count(bits).sum(axis=1, dtype=np.int64)
    spare = np.fromiter((c or 0 for c in counts), dtype=np.int64, count=n) - used
    kept: list[tuple[int, int]] = []
    for at in range(0, len(p), 1 << 14):  # a few MB of arrays at a time
        a, b = p[at : at + (1 << 14)], q[at : at + (1 << 14)]
        # may_be_near, for every pair at once (float64 division as Python's)
        common = np.bitwise_count(bits[a] & bits[b]).sum(axis=1, dtype=np.int64)
        common += np.minimum(spare[a], spare[b])
        union = used[a] + used[b] - common
        with np.errstate(divide="ignore", invalid="ignore"):
            near = (common > 0) & ((union <= 0) | (common / np.maximum(union, 1) >= NEAR))
        keep = near | ~known[a] | ~known[b] | (key[a] == key[b])
        kept.extend(zip(a[keep].tolist(), b[keep].tolist(), strict=True))
    return kept


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
