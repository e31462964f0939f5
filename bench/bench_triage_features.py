"""Print what hashed character-run features would cost beside today's triage features, in one run.

A candidate for training on a year of cases (300,000): the characters of title and opening in
runs of one to three, the title's in runs of one and two, the category tree's keywords and the
origin, each hashed into fixed columns and computed by numpy over a whole batch of messages at
once (no word segmentation, no vocabulary, no Python loop over characters). Printed:

- feature extraction per message, CPU and wall, on N messages of attachments 2-4: today's
  `analyse` + `encode` against the hashed features, same run;
- with --cv, 5-fold cross-validated top-1 / top-3 on the 495 labelled messages (attachment 2):
  the hashed features (idf-weighted) with LinearSVC beside today's model, same folds.

Not yet the model `triage train` uses: see README "Triage" (what is left).
Run: .venv/bin/python bench/bench_triage_features.py [--messages 20000] [--cv]
"""

from __future__ import annotations

import argparse
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[1]
try:
    import caseworker  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_triage import sheet  # noqa: E402

from caseworker.domain.triage_model import Message, analyse, cross_validate, encode  # noqa: E402
from caseworker.domain.triage_text import KeywordTree  # noqa: E402
from caseworker.services.triage import category_tree  # noqa: E402

BODY_CHARS = 300
CHAR_BITS = 18
TITLE_BITS = 16
META_BITS = 12
Matrix = Any

_MASK = (1 << 64) - 1
_BASE = 0x100000001B3 | 1  # the polynomial hash's base (odd: invertible modulo 2**64)
_BASE_INV = pow(_BASE, -1, 1 << 64)
_MIX = np.uint64(0x9E3779B97F4A7C15)


def _dropped_table() -> npt.NDArray[np.bool_]:
    """Code points left out of the text: whitespace of every kind and control characters."""
    table = np.zeros(0x3001, dtype=bool)
    for cp in range(0x3001):
        table[cp] = cp < 0x20 or cp == 0x7F or chr(cp).isspace()
    return table


_DROPPED = _dropped_table()


def _codepoints(segments: Sequence[str]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]:
    """The segments' characters as code points, each segment ended by a 0, whitespace and
    control characters left out, full-width letters and digits as ASCII (Ａ１ as A1); and the
    segment of each position."""
    lengths = np.fromiter(map(len, segments), dtype=np.int64, count=len(segments)) + 1
    joined = "\x00".join(segments) + "\x00"
    cp = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(
        np.int64
    )
    seg = np.repeat(np.arange(len(segments), dtype=np.int64), lengths)
    small = cp < len(_DROPPED)
    drop = np.zeros(len(cp), dtype=bool)
    drop[small] = _DROPPED[cp[small]]
    ends = np.cumsum(lengths) - 1
    drop[ends] = False
    keep = ~drop
    cp, seg = cp[keep], seg[keep]
    wide = (
        ((cp >= 0xFF10) & (cp <= 0xFF19))
        | ((cp >= 0xFF21) & (cp <= 0xFF3A))
        | ((cp >= 0xFF41) & (cp <= 0xFF5A))
    )
    cp[wide] -= 0xFEE0
    return cp.astype(np.uint64), seg


_POWERS: list[npt.NDArray[np.uint64]] = []


def _powers(n: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """BASE**i and BASE**-i modulo 2**64 for i < n (kept, grown as needed)."""
    if not _POWERS or len(_POWERS[0]) < n:
        size = max(n, 1 << 16)
        up = np.full(size, _BASE, dtype=np.uint64)
        down = np.full(size, _BASE_INV, dtype=np.uint64)
        up[0] = down[0] = 1
        _POWERS[:] = [np.cumprod(up), np.cumprod(down)]
    return _POWERS[0][:n], _POWERS[1][:n]


class _Runs:
    """Hashes of every run of L characters inside a segment, for any L, from prefix sums:
    hash(i, L) = Σ (c[j] + 1) · BASE**(i+L-1-j) over j in [i, i+L), modulo 2**64."""

    def __init__(self, cp: npt.NDArray[np.uint64]) -> None:
        n = len(cp)
        up, down = _powers(n)
        self.n = n
        self.up = up
        with np.errstate(over="ignore"):
            self.sums = np.concatenate(
                [np.zeros(1, dtype=np.uint64), np.cumsum((cp + np.uint64(1)) * down)]
            )
        self.ends = np.concatenate([np.zeros(1, dtype=np.int64), np.cumsum(cp == 0)])

    def of(self, length: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.bool_]]:
        """Each position's run of `length` (positions 0 … n - length) and whether it stays
        inside one segment."""
        n = self.n
        if n < length:
            return np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=bool)
        with np.errstate(over="ignore"):
            hashes = (self.sums[length:] - self.sums[: n - length + 1]) * self.up[length - 1 :]
        inside = (self.ends[length:] - self.ends[: n - length + 1]) == 0
        return hashes, inside


def _bucket(hashes: npt.NDArray[np.uint64], length: int, bits: int) -> npt.NDArray[np.int64]:
    """A run's hash (and its length) mixed and cut to `bits` bits: its column in a block."""
    with np.errstate(over="ignore"):
        mixed = (hashes ^ np.uint64(length * 0x51ED27)) * _MIX
        mixed ^= mixed >> np.uint64(31)
        mixed = mixed * _MIX
    return (mixed >> np.uint64(64 - bits)).astype(np.int64)


def _string_hash(text: str) -> int:
    """`_Runs`' hash of a whole string (a keyword)."""
    value = 0
    for ch in text:
        value = (value * _BASE + ord(ch) + 1) & _MASK
    return value


_FILTER_BITS = 22


@dataclass(frozen=True)
class Keywords:
    """The category tree's keywords, one column each, found in a text by their runs' hashes."""

    terms: tuple[str, ...]

    @cached_property
    def by_length(self) -> dict[int, tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]]:
        """For each keyword length: the sorted hashes and each one's column."""
        out: dict[int, tuple[npt.NDArray[np.uint64], npt.NDArray[np.int64]]] = {}
        lengths = sorted({len(t) for t in self.terms if t})
        for length in lengths:
            cols = [i for i, t in enumerate(self.terms) if len(t) == length]
            hashes = np.array([_string_hash(self.terms[i]) for i in cols], dtype=np.uint64)
            order = np.argsort(hashes, kind="stable")
            out[length] = (hashes[order], np.array(cols, dtype=np.int64)[order])
        return out

    @cached_property
    def filter(self) -> npt.NDArray[np.bool_]:
        """A bit per value of a hash's top bits: most runs are no keyword, and one lookup says
        so."""
        table = np.zeros(1 << _FILTER_BITS, dtype=bool)
        for hashes, _ in self.by_length.values():
            table[(hashes >> np.uint64(64 - _FILTER_BITS)).astype(np.int64)] = True
        return table

    def found(
        self, runs: _Runs, seg: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """(segment, column) of every keyword found, once per segment."""
        segs, cols = [], []
        for length, (hashes, columns) in self.by_length.items():
            values, inside = runs.of(length)
            if not len(values):
                continue
            maybe = np.flatnonzero(
                self.filter[(values >> np.uint64(64 - _FILTER_BITS)).astype(np.int64)] & inside
            )
            if not len(maybe):
                continue
            at = np.searchsorted(hashes, values[maybe])
            at = np.minimum(at, len(hashes) - 1)
            hit = hashes[at] == values[maybe]
            segs.append(seg[maybe[hit]])
            cols.append(columns[at[hit]])
        if not segs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pairs = np.unique(np.stack([np.concatenate(segs), np.concatenate(cols)]), axis=1)
        return pairs[0], pairs[1]


def keywords_of(tree: KeywordTree | None) -> Keywords:
    """Every keyword of the tree once (a keyword of two categories is one column: the model
    learns what it says)."""
    if tree is None:
        return Keywords(())
    return Keywords(tuple(sorted({k for found in tree.keywords.values() for k in found})))


@dataclass(frozen=True)
class Layout:
    """Where each block's columns start."""

    keywords: int

    @property
    def sizes(self) -> dict[str, int]:
        return {
            "char": 1 << CHAR_BITS,
            "title": 1 << TITLE_BITS,
            "keyword": self.keywords,
            "meta": 1 << META_BITS,
        }

    @property
    def offsets(self) -> dict[str, int]:
        out, at = {}, 0
        for name, size in self.sizes.items():
            out[name] = at
            at += size
        return out

    @property
    def width(self) -> int:
        return sum(self.sizes.values())


_META_CACHE: dict[str, int] = {}


def _meta_column(token: str) -> int:
    found = _META_CACHE.get(token)
    if found is None:
        if len(_META_CACHE) > 100_000:
            _META_CACHE.clear()
        found = _META_CACHE[token] = zlib.crc32(token.encode("utf-8")) >> (32 - META_BITS)
    return found


def features(messages: Sequence[Message], keywords: Keywords) -> Matrix:
    """The messages' features as a CSR matrix (float32, one row a message): each block's counts
    weighted 1 + ln(count) and normalised to unit length."""
    from scipy.sparse import coo_matrix

    n = len(messages)
    layout = Layout(len(keywords.terms))
    offsets = layout.offsets
    segments: list[str] = []
    for m in messages:
        segments.append(m.title or "")
        segments.append((m.body or "")[:BODY_CHARS])
    cp, seg = _codepoints(segments)
    runs = _Runs(cp)
    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    for length in (1, 2, 3):
        hashes, inside = runs.of(length)
        at = seg[: len(hashes)]
        rows.append(at[inside] // 2)
        cols.append(_bucket(hashes[inside], length, CHAR_BITS))
        if length <= 2:
            title = inside & (at % 2 == 0)
            rows.append(at[title] // 2)
            cols.append(offsets["title"] + _bucket(hashes[title], length, TITLE_BITS))
    kw_seg, kw_col = keywords.found(runs, seg)
    if len(kw_seg):
        pairs = np.unique(np.stack([kw_seg // 2, kw_col]), axis=1)
        rows.append(pairs[0])
        cols.append(offsets["keyword"] + pairs[1])
    meta_rows, meta_cols = [], []
    for i, m in enumerate(messages):
        for name, value in (
            ("region", m.region),
            ("addressee", m.addressee),
            ("channel", m.channel),
        ):
            if value:
                meta_rows.append(i)
                meta_cols.append(offsets["meta"] + _meta_column(f"{name}:{value}"))
    rows.append(np.array(meta_rows, dtype=np.int64))
    cols.append(np.array(meta_cols, dtype=np.int64))
    r, c = np.concatenate(rows), np.concatenate(cols)
    counts = coo_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(n, layout.width)
    ).tocsr()
    return _weighted(counts, layout)


def _weighted(counts: Matrix, layout: Layout) -> Matrix:
    """1 + ln(count), each block of a row scaled to unit length."""
    counts.data = 1.0 + np.log(counts.data)
    starts = np.array(list(layout.offsets.values()), dtype=np.int64)
    block = np.searchsorted(starts, counts.indices, side="right") - 1
    row = np.repeat(np.arange(counts.shape[0], dtype=np.int64), np.diff(counts.indptr))
    key = row * len(starts) + block
    norms = np.sqrt(
        np.bincount(key, weights=np.square(counts.data, dtype=np.float64),
                    minlength=counts.shape[0] * len(starts))
    )  # fmt: skip
    counts.data = (counts.data / norms[key]).astype(np.float32)
    return counts


def batched(messages: list[Message], keywords: Keywords, size: int = 5_000) -> list[Matrix]:
    return [features(messages[s : s + size], keywords) for s in range(0, len(messages), size)]


def timed(work: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def hashed_cv(x: Matrix, labels: list[str], seed: int) -> tuple[float, float]:
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    y = np.array(labels)
    top1 = top3 = 0
    for train, test in StratifiedKFold(5, shuffle=True, random_state=seed).split(x, y):
        df = np.bincount(x[train].indices, minlength=x.shape[1])
        idf = (np.log((1 + len(train)) / (1 + df)) + 1).astype(np.float32)
        a, b = x[train].copy(), x[test].copy()
        a.data *= idf[a.indices]
        b.data *= idf[b.indices]
        model = LinearSVC(C=3.0, random_state=0).fit(a, y[train])
        best = model.classes_[np.argsort(-model.decision_function(b), axis=1)[:, :3]]
        top1 += int((best[:, 0] == y[test]).sum())
        top3 += int((best == y[test][:, None]).any(axis=1).sum())
    return top1 / len(y), top3 / len(y)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--cv", action="store_true", help="also the cross-validated accuracy")
    args = parser.parse_args()
    tree = category_tree()
    keywords = keywords_of(tree)
    rows = [
        r
        for name in (
            "attachment2-labelled-sample.xlsx",
            "attachment3-messages-with-votes.xlsx",
            "attachment4-messages-with-replies.xlsx",
        )
        for r in sheet(name)
    ]
    pool = [Message(str(r["留言主题"] or ""), str(r["留言详情"] or "")) for r in rows]
    corpus = [pool[i % len(pool)] for i in range(args.messages)]
    features(corpus[:10], keywords)  # imports and tables, not counted
    ours = timed(lambda: batched(corpus, keywords))
    today = timed(lambda: encode(analyse(m, tree) for m in corpus))
    n = len(corpus)
    print(f"features of {n:,} messages (attachments 2-4 repeated), per message:")
    for name, (wall, cpu) in (
        ("hashed, batches of 5,000", ours),
        ("today (analyse + encode)", today),
    ):
        print(f"  {name}  {cpu / n * 1e3:.3f} ms CPU  ({wall / n * 1e3:.3f} ms wall)")
    print(f"  ratio (CPU): {today[1] / max(ours[1], 1e-9):.1f}x")
    hashed_300k, today_300k = ours[1] * 300_000 / n, today[1] * 300_000 / n
    print(f"  at 300,000: {hashed_300k:.0f} s CPU hashed, {today_300k:.0f} s today")
    single = []
    for m in pool[:300]:
        started = time.perf_counter()
        features([m], keywords)
        single.append((time.perf_counter() - started) * 1e3)
    single.sort()
    print(f"  one message (suggest): median {single[150]:.2f} ms, worst {single[-1]:.2f} ms")
    if not args.cv:
        return
    labelled = sheet("attachment2-labelled-sample.xlsx")
    messages = [Message(str(r["留言主题"] or ""), str(r["留言详情"] or "")) for r in labelled]
    labels = [str(r["一级分类"]) for r in labelled]
    x = features(messages, keywords)
    print("accuracy, 5-fold cross-validation on the 495 labelled messages")
    for seed in (0, 1, 2):
        h1, h3 = hashed_cv(x, labels, seed)
        cv = cross_validate([analyse(m, tree) for m in messages], labels, folds=5, seed=seed)
        print(
            f"  seed {seed}: hashed + LinearSVC top-1 {h1:.1%} top-3 {h3:.1%}; "
            f"today's model {cv.top1:.1%} / {cv.top3:.1%}"
        )


if __name__ == "__main__":
    main()
