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
from array import array
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
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


def doc_terms(doc: ClusterDoc) -> list[str]:
    """The words a message is compared by: its title's twice, then the start of its body."""
    title = content_words(clean(doc.title))
    return title + title + content_words(clean(doc.body)[:BODY_CHARS])


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


def cluster_messages(
    docs: Sequence[ClusterDoc],
    *,
    min_size: int = 3,
    until: datetime | None = None,
    progress: Callable[[str, float], None] | None = None,
    terms_of: Callable[[ClusterDoc], list[str]] = doc_terms,
) -> list[Cluster]:
    """The groups of at least `min_size` messages, hottest first (ties: larger, then older).

    Memory stays near 150 bytes a message beyond the messages themselves: each message's
    distinct words as ids in one flat array, its strongest few in a sparse matrix, and only
    the pairs that pass the threshold, found a block of rows at a time.
    """
    import numpy as np

    if not docs:
        return []
    docs = sorted(docs, key=lambda d: d.id)
    n = len(docs)
    step = max(1, n // 20)
    vocab: dict[str, int] = {}
    ids = array("i")
    tfs = array("B")
    offsets = array("q", [0])
    for i, doc in enumerate(docs):
        for term, k in Counter(terms_of(doc)).items():
            ids.append(vocab.setdefault(term, len(vocab)))
            tfs.append(min(k, 255))
        offsets.append(len(ids))
        if progress is not None and i % step == 0:
            progress("words", i / n)
    terms = np.frombuffer(ids, dtype=np.int32) if ids else np.zeros(0, dtype=np.int32)
    starts = np.frombuffer(offsets, dtype=np.int64)
    doc_of = np.repeat(np.arange(n, dtype=np.int32), np.diff(starts))
    df = np.bincount(terms, minlength=len(vocab))
    vectors = _top_vectors(n, doc_of, terms, np.frombuffer(tfs, dtype=np.uint8), df, len(vocab))
    del tfs
    pairs = _similar_pairs(vectors, progress)
    groups = _grow(n, pairs)
    when = until or max(d.received_at for d in docs)
    words = list(vocab)
    out: list[Cluster] = []
    for members in groups:
        if len(members) < min_size:
            continue
        chosen = [docs[i] for i in members]
        within = [terms[starts[i] : starts[i + 1]] for i in members]
        label_terms = _label_terms(within, df, n, words)
        titles = [clean(d.title) for d in chosen]
        out.append(
            Cluster(_label(_joined(label_terms, titles)), chosen, heat(chosen, when), label_terms)
        )
    out.sort(key=lambda c: (-c.heat, -len(c.docs), c.docs[0].id))
    return out


def _top_vectors(n: int, doc_of: Any, terms: Any, tfs: Any, df: Any, width: int) -> Any:
    """Each message's TERMS_KEPT strongest words (TF-IDF, of unit length) as a CSR matrix;
    words in one message only, or in more than POSTING_LIMIT, are no matter's words."""
    import numpy as np
    from scipy.sparse import csr_matrix

    useful = (df[terms] >= 2) & (df[terms] <= POSTING_LIMIT)
    doc_of, terms, tfs = doc_of[useful], terms[useful], tfs[useful]
    weights = (1.0 + np.log(tfs.astype(np.float64))) * np.log(n / df[terms])
    order = np.lexsort((terms, -weights, doc_of))  # by message, strongest first
    doc_of, terms, weights = doc_of[order], terms[order], weights[order]
    first = np.searchsorted(doc_of, doc_of, side="left")
    kept = (np.arange(len(doc_of)) - first) < TERMS_KEPT
    doc_of, terms, weights = doc_of[kept], terms[kept], weights[kept]
    norms = np.sqrt(np.bincount(doc_of, weights=weights * weights, minlength=n))
    weights = weights / np.where(norms > 0, norms, 1.0)[doc_of]
    return csr_matrix(
        (weights.astype(np.float32), (doc_of, terms)), shape=(n, width), dtype=np.float32
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


def _label_terms(members: Sequence[Any], df: Any, n: int, words: list[str]) -> list[str]:
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
