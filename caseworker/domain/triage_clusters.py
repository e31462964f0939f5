"""Common issues (共性问题): the groups of messages about one matter, ranked by heat.

A matter is a place and a problem ("伊景园滨河苑 + 车位捆绑销售"), so two messages are about the
same matter when they share their rarest, most telling words. Each message keeps its few
strongest words (TF-IDF over the title, counted twice, and the start of the body); only
messages sharing one of those words are ever compared (an inverted index, never all pairs),
and pairs whose cosine similarity passes a threshold are joined. A group is then the set of
messages joined to one another, grown greedily from the most similar pairs with a limit on
how far a group may drift from its first members (no chains of one word each).
"""

from __future__ import annotations

import math
import re
import zlib
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from caseworker.domain.triage_text import clean, content_words

TERMS_KEPT = 8  # per message: its strongest words
BODY_CHARS = 160
SIMILARITY = 0.3  # two messages about one matter
POSTING_LIMIT = 400  # a word in more messages than this names no single matter
LABEL_WORDS = 4
# Words that name a place: an estate, a road, a school, a village, a company …
_PLACE = re.compile(
    r"(小区|花园|苑|园|城|府|庭|湾|郡|公馆|大厦|广场|中心|路|街|大道|村|镇|乡|组|社区|学院|学校|中学|"
    r"小学|幼儿园|大学|医院|公司|集团|厂|站|市场|公园|项目|工地|楼盘|[0-9]期)$"
)


@dataclass(frozen=True)
class ClusterDoc:
    """What clustering reads of a case."""

    id: int
    external_id: str
    title: str
    body: str
    author: str | None
    received_at: datetime
    likes: int = 0
    region: str | None = None
    unit: str | None = None


@dataclass
class Cluster:
    """One group of messages about one matter."""

    label: str
    docs: list[ClusterDoc]
    heat: float
    terms: list[str] = field(default_factory=list)

    @property
    def first(self) -> datetime:
        return min(d.received_at for d in self.docs)

    @property
    def last(self) -> datetime:
        return max(d.received_at for d in self.docs)

    @property
    def citizens(self) -> int:
        return len({d.author or f"#{d.id}" for d in self.docs})


def text_terms(title: str, body: str) -> list[str]:
    """The words a message is compared by: its title's twice, then the start of its body."""
    words = content_words(clean(title))
    return words + words + content_words(clean(body)[:BODY_CHARS])


def doc_terms(doc: ClusterDoc) -> list[str]:
    return text_terms(doc.title, doc.body)


def heat(docs: Sequence[ClusterDoc], until: datetime) -> float:
    """How hot a matter is: its messages and distinct citizens, its support (点赞), and how
    recently it was raised (a matter quiet for half a year counts about 0.68 of a live one)."""
    citizens = len({d.author or f"#{d.id}" for d in docs})
    likes = sum(max(0, d.likes) for d in docs)
    days = max(0.0, (until - max(d.received_at for d in docs)).total_seconds() / 86400)
    recency = 0.5 + 0.5 * math.exp(-days / 180)
    # One citizen writing thirty times is one voice: a repeat counts a quarter of a citizen.
    voices = citizens + 0.25 * (len(docs) - citizens)
    return round((2 * voices + 2 * math.log1p(likes)) * recency, 2)


@dataclass
class Grouping:
    """The groups found among messages, by case id, with what their labels need: the words of
    each group's members (as word ids) and every word's document frequency. The words
    themselves are not kept: a word id is the rank of its 32-bit hash among the hashes seen
    (`hashes`), and the labels find their words again in the grouped messages' text."""

    groups: list[list[int]]  # case ids, each group at least min_size, by its first case
    within: list[list[Any]]  # per group, per member: its distinct word ids
    df: Any
    n: int
    hashes: Any  # sorted distinct word hashes: word id i is hashes[i]


def word_hash(term: str) -> int:
    """A word's 32-bit id before ranking: CRC-32 of its UTF-8, the same in every process."""
    return zlib.crc32(term.encode("utf-8"))


def group_terms(
    items: Iterable[tuple[int, list[str]]],
    *,
    min_size: int = 3,
    total: int | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> Grouping:
    """Group messages given as (case id, words), in id order, one at a time: nothing of a
    message is kept but its distinct words as 32-bit hashes in one flat array (no vocabulary
    of strings), its strongest few in a sparse matrix, and only the pairs that pass the
    threshold, found a block of rows at a time. `total` (how many) paces the progress."""
    import numpy as np

    step = max(1, (total or 0) // 20)
    case_ids = array("q")
    ids = array("I")
    tfs = array("B")
    offsets = array("q", [0])
    for i, (case_id, words) in enumerate(items):
        case_ids.append(case_id)
        for term, k in Counter(words).items():
            ids.append(word_hash(term))
            tfs.append(min(k, 255))
        offsets.append(len(ids))
        if progress is not None and total and i % step == 0:
            progress("words", i / total)
    n = len(case_ids)
    if n == 0:
        return Grouping([], [], np.zeros(0, dtype=np.int64), 0, np.zeros(0, dtype=np.uint32))
    hashed = np.frombuffer(ids, dtype=np.uint32) if ids else np.zeros(0, dtype=np.uint32)
    # The distinct hashes, then each hash replaced by its rank in place, a chunk at a time:
    # no sorted copy nor second array of every word is ever held.
    chunk = 1 << 20
    hashes = np.unique(
        np.concatenate(
            [np.unique(hashed[at : at + chunk]) for at in range(0, len(hashed), chunk)]
            or [np.zeros(0, dtype=np.uint32)]
        )
    )
    terms = hashed.view(np.int32)
    for at in range(0, len(hashed), chunk):
        terms[at : at + chunk] = np.searchsorted(hashes, hashed[at : at + chunk])
    df = np.bincount(terms, minlength=len(hashes))
    starts = np.frombuffer(offsets, dtype=np.int64)
    vectors = _top_vectors(n, starts, terms, np.frombuffer(tfs, dtype=np.uint8), df, len(hashes))
    del tfs
    pairs = _similar_pairs(vectors, progress)
    del vectors
    groups = [m for m in _grow(n, pairs) if len(m) >= min_size]
    return Grouping(
        groups=[[case_ids[i] for i in members] for members in groups],
        within=[[terms[starts[i] : starts[i + 1]] for i in members] for members in groups],
        df=df,
        n=n,
        hashes=hashes,
    )


def clusters_of(
    grouping: Grouping,
    docs: Mapping[int, ClusterDoc],
    until: datetime,
    *,
    terms_of: Callable[[ClusterDoc], list[str]] = doc_terms,
) -> list[Cluster]:
    """The groups as clusters, hottest first (ties: larger, then older), from their members'
    cases (`docs`, read again by id: only the grouped messages are ever held whole). Their
    words are found again from their text (`terms_of`, as the grouping read them)."""
    out: list[Cluster] = []
    for members, within in zip(grouping.groups, grouping.within, strict=True):
        chosen = [docs[i] for i in members]
        words = _words_of(chosen, grouping.hashes, terms_of)
        label_terms = _label_terms(within, grouping.df, grouping.n, words)
        titles = [clean(d.title) for d in chosen]
        out.append(
            Cluster(_label(_joined(label_terms, titles)), chosen, heat(chosen, until), label_terms)
        )
    out.sort(key=lambda c: (-c.heat, -len(c.docs), c.docs[0].id))
    return out


def _words_of(
    docs: Sequence[ClusterDoc], hashes: Any, terms_of: Callable[[ClusterDoc], list[str]]
) -> dict[int, str]:
    """The group's words by word id, from its messages' text (two words of one hash, rare at
    32 bits: the first in code-point order names it)."""
    import numpy as np

    words: dict[int, str] = {}
    for doc in docs:
        for term in set(terms_of(doc)):
            h = word_hash(term)
            at = int(np.searchsorted(hashes, h))
            known = at < len(hashes) and int(hashes[at]) == h
            if known and (at not in words or term < words[at]):
                words[at] = term
    return words


def cluster_messages(
    docs: Sequence[ClusterDoc],
    *,
    min_size: int = 3,
    until: datetime | None = None,
    progress: Callable[[str, float], None] | None = None,
    terms_of: Callable[[ClusterDoc], list[str]] = doc_terms,
) -> list[Cluster]:
    """The groups of at least `min_size` messages, hottest first (ties: larger, then older),
    of messages all in memory (group_terms and clusters_of read them from a store in two
    passes instead)."""
    if not docs:
        return []
    docs = sorted(docs, key=lambda d: d.id)
    grouping = group_terms(
        ((d.id, terms_of(d)) for d in docs), min_size=min_size, total=len(docs), progress=progress
    )
    when = until or max(d.received_at for d in docs)
    return clusters_of(grouping, {d.id: d for d in docs}, when, terms_of=terms_of)


def _top_vectors(
    n: int, starts: Any, terms: Any, tfs: Any, df: Any, width: int, chunk: int = 20_000
) -> Any:
    """Each message's TERMS_KEPT strongest words (TF-IDF, of unit length) as a CSR matrix;
    words in one message only, or in more than POSTING_LIMIT, are no matter's words.

    Worked out `chunk` messages at a time: the sort and the weights cost about 30 bytes a word
    while they last, so only a chunk's words pay it at once, not every message's."""
    import numpy as np
    from scipy.sparse import csr_matrix

    rows, cols, vals = [], [], []
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo, hi = int(starts[a]), int(starts[b])
        t, f = terms[lo:hi], tfs[lo:hi]
        d = np.repeat(np.arange(a, b, dtype=np.int32), np.diff(starts[a : b + 1]))
        useful = (df[t] >= 2) & (df[t] <= POSTING_LIMIT)
        d, t, f = d[useful], t[useful], f[useful]
        weights = (1.0 + np.log(f.astype(np.float64))) * np.log(n / df[t])
        order = np.lexsort((t, -weights, d))  # by message, strongest first
        d, t, weights = d[order], t[order], weights[order]
        first = np.searchsorted(d, d, side="left")
        kept = (np.arange(len(d)) - first) < TERMS_KEPT
        d, t, weights = d[kept], t[kept], weights[kept]
        norms = np.sqrt(np.bincount(d - a, weights=weights * weights, minlength=b - a))
        weights = weights / np.where(norms > 0, norms, 1.0)[d - a]
        rows.append(d)
        cols.append(t)
        vals.append(weights.astype(np.float32))
    return csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n, width),
        dtype=np.float32,
    )


def _similar_pairs(
    vectors: Any, progress: Callable[[str, float], None] | None, block: int = 1024
) -> tuple[Any, Any, Any]:
    """The pairs of messages at least SIMILARITY alike, most alike first, as three arrays
    (similarity, i, j with i < j): the products of a block of rows with every row, so no more
    than a block's products are held at once."""
    import numpy as np

    n = vectors.shape[0]
    by_term = vectors.T.tocsr()
    sims, firsts, seconds = [], [], []
    for start in range(0, n, block):
        product = (vectors[start : start + block] @ by_term).tocoo()
        rows = product.row.astype(np.int32) + start
        keep = (product.col > rows) & (product.data >= SIMILARITY - 1e-6)
        sims.append(np.round(product.data[keep], 5))
        firsts.append(rows[keep])
        seconds.append(product.col[keep].astype(np.int32))
        if progress is not None:
            progress("pairs", min(1.0, (start + block) / n))
    sim, first, second = (np.concatenate(a) for a in (sims, firsts, seconds))
    order = np.lexsort((second, first, -sim))
    return sim[order], first[order], second[order]


def _grow(n: int, pairs: tuple[Any, Any, Any]) -> list[list[int]]:
    """Groups from the pairs, most similar first; two groups join only when the joining pair
    is strong or the groups are small, so one shared word cannot chain two matters together."""
    parent = list(range(n))
    size = [1] * n

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    links: dict[int, int] = defaultdict(int)  # pairs seen between the two roots' groups
    for sim, i, j in _each(pairs):
        a, b = root(i), root(j)
        if a == b:
            continue
        small = min(size[a], size[b])
        key = min(a, b) * n + max(a, b)
        links[key] += 1
        # A big group takes a newcomer on one good pair; two groups of several messages each
        # join only when enough of their members agree.
        if small > 2 and links[key] < max(2, small // 3) and sim < 2 * SIMILARITY:
            continue
        if size[a] < size[b]:
            a, b = b, a
        parent[b] = a
        size[a] += size[b]
    members: dict[int, list[int]] = defaultdict(list)
    for i in range(n):
        members[root(i)].append(i)
    return sorted(members.values(), key=lambda m: m[0])


def _each(pairs: tuple[Any, Any, Any], chunk: int = 65_536) -> Iterator[tuple[float, int, int]]:
    """The pairs one at a time, converted to Python numbers a chunk at a time."""
    sims, firsts, seconds = pairs
    for at in range(0, len(sims), chunk):
        yield from zip(
            sims[at : at + chunk].tolist(),
            firsts[at : at + chunk].tolist(),
            seconds[at : at + chunk].tolist(),
            strict=True,
        )


def _label_terms(members: Sequence[Any], df: Any, n: int, words: Mapping[int, str]) -> list[str]:
    """The group's words that most set it apart: in many of its messages, rare elsewhere."""
    within: Counter[int] = Counter()
    for ids in members:
        within.update(ids.tolist())
    size = len(members)
    scored = {
        words[t]: (k / size) * math.log(n / int(df[t]))
        for t, k in within.items()
        if k >= max(2, size // 4) or size <= 3
    }
    return [t for t, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]


def _joined(terms: list[str], titles: Sequence[str]) -> list[str]:
    """Words the segmenter split that the titles write together, joined again: 魅力 + 之城
    is 魅力之城 when most titles of the group say so."""
    out = list(terms)
    changed = True
    while changed:
        changed = False
        for a in out:
            for b in out:
                if a == b:
                    continue
                together = sum(1 for t in titles if a + b in t)
                if together * 3 >= len(titles):
                    out = [a + b if t == a else t for t in out if t != b]
                    changed = True
                    break
            if changed:
                break
    return out


def _label(terms: list[str]) -> str:
    """A few words a supervisor recognises: the place first, then the problem."""
    places = [t for t in terms if _PLACE.search(t)][:2]
    rest = [t for t in terms if t not in places]
    chosen: list[str] = []
    for t in [*places, *rest]:
        if any(t in c or c in t for c in chosen):
            continue
        chosen.append(t)
        if len(chosen) == LABEL_WORDS:
            break
    return " ".join(chosen)
