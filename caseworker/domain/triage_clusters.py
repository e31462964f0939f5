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
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
    """The groups of at least `min_size` messages, hottest first (ties: larger, then older)."""
    if not docs:
        return []
    docs = sorted(docs, key=lambda d: d.id)
    n = len(docs)
    step = max(1, n // 20)
    counts: list[Counter[str]] = []
    for i, doc in enumerate(docs):
        counts.append(Counter(terms_of(doc)))
        if progress is not None and i % step == 0:
            progress("words", i / n)
    df: Counter[str] = Counter()
    for c in counts:
        df.update(c.keys())
    vectors: list[dict[str, float]] = []
    for c in counts:
        weights = {
            t: (1 + math.log(k)) * math.log(n / df[t])
            for t, k in c.items()
            if df[t] >= 2 and df[t] <= POSTING_LIMIT
        }
        top = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:TERMS_KEPT]
        norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
        vectors.append({t: w / norm for t, w in top})
    postings: dict[str, list[int]] = defaultdict(list)
    for i, v in enumerate(vectors):
        for t in v:
            postings[t].append(i)
    pairs: dict[tuple[int, int], float] = {}
    for i, v in enumerate(vectors):
        seen: set[int] = set()
        for t in v:
            for j in postings[t]:
                if j <= i or j in seen:
                    continue
                seen.add(j)
                other = vectors[j]
                sim = sum(w * other.get(term, 0.0) for term, w in v.items())
                if sim >= SIMILARITY:
                    pairs[(i, j)] = sim
        if progress is not None and i % step == 0:
            progress("pairs", i / n)
    groups = _grow(n, pairs)
    when = until or max(d.received_at for d in docs)
    out: list[Cluster] = []
    for members in groups:
        if len(members) < min_size:
            continue
        chosen = [docs[i] for i in members]
        terms = _label_terms([counts[i] for i in members], df, n)
        titles = [clean(d.title) for d in chosen]
        out.append(Cluster(_label(_joined(terms, titles)), chosen, heat(chosen, when), terms))
    out.sort(key=lambda c: (-c.heat, -len(c.docs), c.docs[0].id))
    return out


def _grow(n: int, pairs: dict[tuple[int, int], float]) -> list[list[int]]:
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
    for (i, j), sim in sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])):
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


def _label_terms(counts: Sequence[Counter[str]], df: Counter[str], n: int) -> list[str]:
    """The group's words that most set it apart: in many of its messages, rare elsewhere."""
    within: Counter[str] = Counter()
    for c in counts:
        within.update(c.keys())
    size = len(counts)
    scored = {
        t: (k / size) * math.log(n / df[t])
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
