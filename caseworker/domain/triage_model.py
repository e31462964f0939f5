"""The triage model: which category a message is, and which unit should lead on it.

A linear model over four kinds of features, each weighted 1 + ln(count) and normalised to
unit length on its own, then weighted by idf and the whole row scaled to unit length: the
characters of title and opening (the body's first 300 characters) in runs of one to three, the
title's characters in runs of one and two, the category tree's keywords found in the text, and
where it came from (region, addressee, channel). Character runs and origins are hashed into
fixed columns, so no vocabulary is built, and a batch of messages' features comes from a few
numpy operations over all of them at once: no word segmentation, no Python loop over
characters (about 0.2 ms a message, where words and a vocabulary took 2 ms). On the 495
labelled messages of the shared sample that reaches about 86% top-1 (98% within three) where
words alone reach 75-79% (bench/bench_triage.py).

Training uses scikit-learn's LinearSVC up to SVM_MAX_ROWS messages and a linear SVM fitted by
stochastic gradient descent (SGDClassifier, hinge loss) above: LinearSVC's time grows faster
than the rows and would not fit a year of cases in two minutes, while on many rows SGD reaches
as good a model in two passes (on 495 rows it does not: too few steps; README "Triage"). The
trained model is kept as plain arrays (keywords, idf, sparse weights) in an .npz read with
`allow_pickle=False`, so loading a model runs no code from the database, and suggesting needs
numpy alone (`one_row`; importing scikit-learn would cost the console a second, scipy a tenth).
"""

from __future__ import annotations

import io
import json
import zlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from caseworker.domain.triage_text import KeywordTree

FEATURES_VERSION = "triage-features-2"
BODY_CHARS = 300  # what a message says first is what it is about; the rest costs time
CHAR_BITS = 18  # 262,144 columns for the character runs of title and opening
TITLE_BITS = 16
META_BITS = 12
SVM_C = 10.0
# Above this many rows, SGD instead of LinearSVC (see the module's docstring).
SVM_MAX_ROWS = 10_000
SGD_ALPHA = 2e-6
SGD_PASSES = 2
SCORE_SHARPNESS = 2.0  # margins to scores: softmax(2 × margin) reads like a probability
UNIT_WEIGHTS_KEPT = 4_000  # per unit: its strongest weights (a bureau may have 1,000 units)
BATCH = 5_000  # messages whose features are computed at once

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]
Matrix = Any  # a scipy.sparse CSR matrix (scipy ships with scikit-learn; no stubs)

_MASK = (1 << 64) - 1
_BASE = 0x100000001B3 | 1  # the polynomial hash's base (odd: invertible modulo 2**64)
_BASE_INV = pow(_BASE, -1, 1 << 64)
_MIX = np.uint64(0x9E3779B97F4A7C15)


@dataclass(frozen=True)
class Message:
    """What the model reads of a case or a file's row."""

    title: str
    body: str
    region: str | None = None
    addressee: str | None = None
    channel: str | None = None


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


def _positions(
    messages: Sequence[Message], keywords: Keywords
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], Layout]:
    """(row, column) of every feature occurrence of the messages, and the columns' layout."""
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
    return np.concatenate(rows), np.concatenate(cols), layout


def features(messages: Sequence[Message], keywords: Keywords) -> Matrix:
    """The messages' features as a CSR matrix (float32, one row a message): each block's counts
    weighted 1 + ln(count) and normalised to unit length."""
    from scipy.sparse import coo_matrix

    r, c, layout = _positions(messages, keywords)
    counts = coo_matrix(
        (np.ones(len(r), dtype=np.float32), (r, c)), shape=(len(messages), layout.width)
    ).tocsr()
    return _weighted(counts, layout)


@dataclass
class OneRow:
    """One message's features as CSR arrays, without scipy (suggesting imports numpy alone)."""

    indptr: npt.NDArray[np.int64]
    indices: npt.NDArray[np.int64]
    data: FloatArray

    @property
    def shape(self) -> tuple[int, int]:
        return (1, int(self.indices.max(initial=0)) + 1)


def one_row(message: Message, keywords: Keywords) -> OneRow:
    """`features` of one message, the same values, by numpy alone."""
    _, c, layout = _positions([message], keywords)
    cols, counts = np.unique(c, return_counts=True)
    row = OneRow(np.array([0, len(cols)], dtype=np.int64), cols, counts.astype(np.float32))
    _weighted(row, layout)
    return row


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


def batched_features(messages: Sequence[Message], keywords: Keywords) -> Matrix:
    """`features` of many messages, BATCH at a time (memory follows a batch, not all)."""
    from scipy.sparse import csr_matrix, vstack

    if not messages:
        return csr_matrix((0, Layout(len(keywords.terms)).width), dtype=np.float32)
    parts = [features(messages[s : s + BATCH], keywords) for s in range(0, len(messages), BATCH)]
    return parts[0] if len(parts) == 1 else vstack(parts, format="csr", dtype=np.float32)


def fit_idf(x: Matrix) -> FloatArray:
    """Smoothed inverse document frequency of every column, from the rows of x."""
    df = np.bincount(x.indices, minlength=x.shape[1])
    idf: FloatArray = (np.log((1 + x.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
    return idf


def weigh(x: Matrix, idf: FloatArray) -> Matrix:
    """x's values multiplied by their column's idf, each row then scaled to unit length (in
    place: a year's matrix is not copied). Unit rows let the SVM converge in a few passes."""
    n = len(x.indptr) - 1
    for first in range(0, n, 4 * BATCH):  # a slice at a time: a year's temporaries stay small
        last = min(n, first + 4 * BATCH)
        at, end = int(x.indptr[first]), int(x.indptr[last])
        data = x.data[at:end]
        data *= idf[x.indices[at:end]]
        lengths = np.diff(x.indptr[first : last + 1])
        row = np.repeat(np.arange(len(lengths)), lengths)
        norms = np.sqrt(
            np.bincount(row, weights=np.square(data, dtype=np.float64), minlength=len(lengths))
        )
        norms[norms == 0] = 1.0
        data /= norms[row].astype(np.float32)
    return x


def weighted(x: Matrix, idf: FloatArray) -> Matrix:
    """`weigh` on a copy of x."""
    return weigh(x.copy(), idf)


@dataclass
class LinearScores:
    """A linear model's weights by feature (compressed columns), for a few features at a time."""

    labels: list[str]
    indptr: IntArray  # n_features + 1
    rows: IntArray  # label index of each weight
    weights: FloatArray
    intercept: FloatArray

    def scores(self, idx: IntArray, val: FloatArray) -> FloatArray:
        """Each label's margin for a message's features."""
        starts, ends = self.indptr[idx], self.indptr[idx + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        out = self.intercept.astype(np.float64)
        if total:
            shift = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
            picks = shift + np.arange(total)
            contrib = self.weights[picks] * np.repeat(val, lengths)
            out = out + np.bincount(self.rows[picks], weights=contrib, minlength=len(self.labels))
        return out.astype(np.float32)

    def margins(self, x: Matrix) -> npt.NDArray[np.float64]:
        """Every row's margins at once (cross-validation)."""
        from scipy.sparse import csc_matrix

        width = len(self.indptr) - 1
        weights = csc_matrix(
            (self.weights, self.rows, self.indptr), shape=(len(self.labels), width)
        )
        return np.asarray((x @ weights.T).toarray(), dtype=np.float64) + self.intercept


def ranked(labels: list[str], margins: FloatArray, top: int) -> list[tuple[str, float]]:
    """The `top` labels by margin with softmax scores (summing to 1 over every label)."""
    z = margins.astype(np.float64) * SCORE_SHARPNESS
    z = np.exp(z - z.max())
    z /= z.sum()
    order = np.argsort(-margins, kind="stable")[:top]
    return [(labels[i], round(float(z[i]), 4)) for i in order]


@dataclass
class TriageModel:
    """The keywords, the idf of every column and the two linear models, as stored."""

    keywords: Keywords
    idf: FloatArray
    category: LinearScores | None
    unit: LinearScores | None
    info: dict[str, Any]

    def features(self, message: Message) -> tuple[IntArray, FloatArray]:
        x = weigh(one_row(message, self.keywords), self.idf)
        return x.indices.astype(np.int32), x.data.astype(np.float32)

    def suggest(
        self, message: Message, top: int = 3
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The top categories and top unit codes for one message, with scores."""
        idx, val = self.features(message)
        cats = (
            ranked(self.category.labels, self.category.scores(idx, val), top)
            if self.category
            else []
        )
        units = ranked(self.unit.labels, self.unit.scores(idx, val), top) if self.unit else []
        return cats, units

    def to_bytes(self) -> bytes:
        """The model as an .npz of plain arrays (no pickled objects)."""
        arrays: dict[str, Any] = {
            "info": np.array(json.dumps(self.info, ensure_ascii=False)),
            "keywords": np.array(self.keywords.terms, dtype=np.str_),
            "idf": self.idf.astype(np.float32),
        }
        for which, model in (("category", self.category), ("unit", self.unit)):
            if model is None:
                continue
            arrays[f"{which}_labels"] = np.array(model.labels, dtype=np.str_)
            arrays[f"{which}_indptr"] = model.indptr
            arrays[f"{which}_rows"] = model.rows
            arrays[f"{which}_weights"] = model.weights
            arrays[f"{which}_intercept"] = model.intercept
        out = io.BytesIO()
        np.savez_compressed(out, **arrays)
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> TriageModel:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            info = json.loads(str(npz["info"]))
            keywords = Keywords(tuple(str(t) for t in npz["keywords"].tolist()))
            idf = npz["idf"].astype(np.float32)
            linear: dict[str, LinearScores | None] = {}
            for which in ("category", "unit"):
                if f"{which}_labels" not in npz:
                    linear[which] = None
                    continue
                linear[which] = LinearScores(
                    labels=[str(t) for t in npz[f"{which}_labels"].tolist()],
                    indptr=npz[f"{which}_indptr"].astype(np.int32),
                    rows=npz[f"{which}_rows"].astype(np.int32),
                    weights=npz[f"{which}_weights"].astype(np.float32),
                    intercept=npz[f"{which}_intercept"].astype(np.float32),
                )
        return cls(keywords, idf, linear["category"], linear["unit"], info)


# ---------------------------------------------------------------- training (scikit-learn)


@dataclass(frozen=True)
class CrossValidation:
    """How often the right label was first, and within the first three, on unseen folds."""

    top1: float
    top3: float
    rows: int
    folds: int


def fit_linear(x: Matrix, y: Sequence[str], keep: int | None = None) -> LinearScores:
    """A one-vs-rest linear SVM (LinearSVC, or SGD above SVM_MAX_ROWS rows); `keep` keeps
    only each label's strongest weights."""
    from scipy.sparse import csc_matrix, csr_matrix

    labels_in = np.array(list(y))
    if x.shape[0] <= SVM_MAX_ROWS:
        from sklearn.svm import LinearSVC

        model: Any = LinearSVC(C=SVM_C, random_state=0)  # the same model from the same cases
        model.fit(x, labels_in)
    else:
        from sklearn.linear_model import SGDClassifier

        model = SGDClassifier(loss="hinge", alpha=SGD_ALPHA, random_state=0)
        classes = np.unique(labels_in)
        order = np.random.default_rng(0).permutation(x.shape[0])
        for _ in range(SGD_PASSES):  # a batch at a time: scikit-learn copies it to float64
            for s in range(0, len(order), 4 * BATCH):
                part = np.sort(order[s : s + 4 * BATCH])
                model.partial_fit(x[part], labels_in[part], classes=classes)
    coef = np.asarray(model.coef_, dtype=np.float32)
    intercept = np.asarray(model.intercept_, dtype=np.float32)
    labels = [str(c) for c in model.classes_]
    if len(labels) == 2:  # a binary SVM has one row: the second label's margin
        coef = np.vstack([-coef[0], coef[0]])
        intercept = np.array([-intercept[0], intercept[0]], dtype=np.float32)
    if keep is not None and coef.shape[1] > keep:
        threshold = -np.partition(-np.abs(coef), keep - 1, axis=1)[:, keep - 1 : keep]
        coef = np.where(np.abs(coef) >= threshold, coef, 0.0).astype(np.float32)
    by_feature = csc_matrix(csr_matrix(coef))
    by_feature.eliminate_zeros()
    return LinearScores(
        labels=labels,
        indptr=by_feature.indptr.astype(np.int32),
        rows=by_feature.indices.astype(np.int32),
        weights=by_feature.data.astype(np.float32),
        intercept=intercept,
    )


def cross_validate(
    x: Matrix,
    y: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    keep: int | None = None,
) -> CrossValidation:
    """Stratified k-fold over the rows of `features` (not yet idf-weighted): idf and weights
    learnt on the other folds only."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.array(list(y))
    counts = Counter(labels.tolist())
    folds = max(2, min(folds, min(counts.values())))
    top1 = top3 = 0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        idf = fit_idf(x[train])
        model = fit_linear(weighted(x[train], idf), labels[train].tolist(), keep)
        margins = model.margins(weighted(x[test], idf))
        best = np.array(model.labels)[np.argsort(-margins, axis=1, kind="stable")[:, :3]]
        top1 += int((best[:, 0] == labels[test]).sum())
        top3 += int((best == labels[test][:, None]).any(axis=1).sum())
    n = len(labels)
    return CrossValidation(top1 / n, top3 / n, n, folds)


def trainable(y: Sequence[str], min_cases: int, min_per_label: int = 2) -> list[int]:
    """The positions of the examples whose label has enough examples to learn from."""
    counts = Counter(y)
    if sum(counts.values()) < min_cases:
        return []
    kept = [i for i, label in enumerate(y) if counts[label] >= min_per_label]
    return kept if len({y[i] for i in kept}) >= 2 else []
