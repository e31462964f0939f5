"""The triage model: which category a message is, and which unit should lead on it.

A linear model over five kinds of features, each TF-IDF weighted and normalised on its own:
the message's words and word pairs (rjieba), its characters in runs of one to three, the
title's characters in runs of one and two, the category tree's keywords found in it, and
where it came from (region, addressee, channel). On the 495 labelled messages of the shared
sample that reaches about 86% top-1 (98% within three) where words alone reach 75-79%
(bench/bench_triage.py).

Training uses scikit-learn's LinearSVC; the trained model is kept as plain arrays (vocabulary,
idf, sparse weights) in an .npz read with `allow_pickle=False`, so loading a model runs no
code from the database, and suggesting needs numpy alone (importing scikit-learn would cost
the console a second).
"""

from __future__ import annotations

import io
import itertools
import json
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from caseworker.domain.triage_text import KeywordTree, clean, words

FEATURES_VERSION = "triage-features-1"
BODY_CHARS = 300  # what a message says first is what it is about; the rest costs time
BLOCKS = ("word", "char", "title", "keyword", "meta")
MAX_FEATURES = {"word": 60_000, "char": 80_000, "title": 20_000, "keyword": 5_000, "meta": 5_000}
MIN_DF = {"word": 1, "char": 2, "title": 1, "keyword": 1, "meta": 1}
SVM_C = 3.0
SCORE_SHARPNESS = 2.0  # margins to scores: softmax(2 × margin) reads like a probability
UNIT_WEIGHTS_KEPT = 4_000  # per unit: its strongest weights (a bureau may have 1,000 units)

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int32]


@dataclass(frozen=True)
class Message:
    """What the model reads of a case or a file's row."""

    title: str
    body: str
    region: str | None = None
    addressee: str | None = None
    channel: str | None = None


def analyse(message: Message, tree: KeywordTree | None) -> dict[str, list[str]]:
    """The message's tokens, by feature block."""
    title = clean(message.title)
    text = f"{title} {clean(message.body)[:BODY_CHARS]}"
    found = words(text)
    dense = text.replace(" ", "")
    meta = [
        f"{name}:{value}"
        for name, value in (
            ("region", message.region),
            ("addressee", message.addressee),
            ("channel", message.channel),
        )
        if value
    ]
    return {
        "word": found + [f"{a} {b}" for a, b in itertools.pairwise(found)],
        "char": [dense[i : i + n] for n in (1, 2, 3) for i in range(len(dense) - n + 1)],
        "title": [title[i : i + n] for n in (1, 2) for i in range(len(title) - n + 1)],
        "keyword": tree.hits(text) if tree is not None else [],
        "meta": meta,
    }


@dataclass
class Vocabulary:
    """One block's terms and their inverse document frequencies."""

    terms: list[str]
    idf: FloatArray
    index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.index = {term: i for i, term in enumerate(self.terms)}


def fit_vocabulary(docs: Sequence[list[str]], max_features: int, min_df: int) -> Vocabulary:
    """The block's most frequent terms (by document frequency) and their smoothed idf."""
    df: Counter[str] = Counter()
    for tokens in docs:
        df.update(set(tokens))
    kept = [(t, n) for t, n in df.items() if n >= min_df]
    kept.sort(key=lambda item: (-item[1], item[0]))
    kept = kept[:max_features]
    n = len(docs)
    idf = np.array([math.log((1 + n) / (1 + d)) + 1.0 for _, d in kept], dtype=np.float32)
    return Vocabulary([t for t, _ in kept], idf)


def vectorise(
    blocks: dict[str, list[str]], vocabularies: dict[str, Vocabulary], offsets: dict[str, int]
) -> tuple[IntArray, FloatArray]:
    """One message as (feature indices, values): sublinear tf × idf, each block of unit length."""
    all_idx: list[IntArray] = []
    all_val: list[FloatArray] = []
    for name in BLOCKS:
        vocab = vocabularies[name]
        counts = Counter(i for i in map(vocab.index.get, blocks[name]) if i is not None)
        if not counts:
            continue
        idx = np.fromiter(counts.keys(), dtype=np.int32, count=len(counts))
        tf = np.fromiter(counts.values(), dtype=np.float32, count=len(counts))
        val = (1.0 + np.log(tf)) * vocab.idf[idx]
        norm = float(np.sqrt(np.dot(val, val)))
        if norm > 0:
            val /= norm
        all_idx.append(idx + offsets[name])
        all_val.append(val.astype(np.float32))
    if not all_idx:
        return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.float32)
    return np.concatenate(all_idx), np.concatenate(all_val)


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


def ranked(labels: list[str], margins: FloatArray, top: int) -> list[tuple[str, float]]:
    """The `top` labels by margin with softmax scores (summing to 1 over every label)."""
    z = margins.astype(np.float64) * SCORE_SHARPNESS
    z = np.exp(z - z.max())
    z /= z.sum()
    order = np.argsort(-margins, kind="stable")[:top]
    return [(labels[i], round(float(z[i]), 4)) for i in order]


@dataclass
class TriageModel:
    """The vocabularies and the two linear models (category, lead unit), as stored."""

    vocabularies: dict[str, Vocabulary]
    category: LinearScores | None
    unit: LinearScores | None
    info: dict[str, Any]

    @property
    def offsets(self) -> dict[str, int]:
        out, at = {}, 0
        for name in BLOCKS:
            out[name] = at
            at += len(self.vocabularies[name].terms)
        return out

    def features(self, message: Message, tree: KeywordTree | None) -> tuple[IntArray, FloatArray]:
        return vectorise(analyse(message, tree), self.vocabularies, self.offsets)

    def suggest(
        self, message: Message, tree: KeywordTree | None, top: int = 3
    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The top categories and top unit codes for one message, with scores."""
        idx, val = self.features(message, tree)
        cats = (
            ranked(self.category.labels, self.category.scores(idx, val), top)
            if self.category
            else []
        )
        units = ranked(self.unit.labels, self.unit.scores(idx, val), top) if self.unit else []
        return cats, units

    def to_bytes(self) -> bytes:
        """The model as an .npz of plain arrays (no pickled objects)."""
        arrays: dict[str, Any] = {"info": np.array(json.dumps(self.info, ensure_ascii=False))}
        for name in BLOCKS:
            vocab = self.vocabularies[name]
            arrays[f"terms_{name}"] = np.array(vocab.terms, dtype=np.str_)
            arrays[f"idf_{name}"] = vocab.idf
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
            vocabularies = {
                name: Vocabulary(
                    [str(t) for t in npz[f"terms_{name}"].tolist()],
                    npz[f"idf_{name}"].astype(np.float32),
                )
                for name in BLOCKS
            }
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
        return cls(vocabularies, linear["category"], linear["unit"], info)


# ---------------------------------------------------------------- training (scikit-learn)


@dataclass(frozen=True)
class CrossValidation:
    """How often the right label was first, and within the first three, on unseen folds."""

    top1: float
    top3: float
    rows: int
    folds: int


def fit_vocabularies(analysed: Sequence[dict[str, list[str]]]) -> dict[str, Vocabulary]:
    return {
        name: fit_vocabulary([a[name] for a in analysed], MAX_FEATURES[name], MIN_DF[name])
        for name in BLOCKS
    }


def _block_csr(n: int, lengths: Any, ids: Any, vocab: Vocabulary) -> Any:
    """One block's features of n messages, from their tokens' feature ids (-1: not kept)."""
    from scipy.sparse import csr_matrix, diags

    rows = np.repeat(np.arange(n), lengths)
    kept = ids >= 0
    counts = csr_matrix(
        (np.ones(int(kept.sum()), dtype=np.float32), (rows[kept], ids[kept])),
        shape=(n, len(vocab.terms)),
    )
    counts.sum_duplicates()
    counts.data = (1.0 + np.log(counts.data)) * vocab.idf[counts.indices]
    norms = np.sqrt(np.asarray(counts.multiply(counts).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return diags(1.0 / norms) @ counts


def matrix(analysed: Sequence[dict[str, list[str]]], vocabularies: dict[str, Vocabulary]) -> Any:
    """The messages' features as a scipy CSR matrix (training only): the same values as
    `vectorise`, computed a block at a time over every message at once."""
    from scipy.sparse import hstack

    n = len(analysed)
    blocks = []
    for name in BLOCKS:
        get = vocabularies[name].index.get
        docs = [a[name] for a in analysed]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n)
        ids = np.fromiter(
            (get(t, -1) for d in docs for t in d), dtype=np.int64, count=int(lengths.sum())
        )
        blocks.append(_block_csr(n, lengths, ids, vocabularies[name]))
    return hstack(blocks, format="csr", dtype=np.float32)


@dataclass
class EncodedCorpus:
    """Many messages' tokens as ids of each block's terms: a few bytes a token where the
    token strings took fifty, so a year of cases fits in memory while the model is fitted."""

    terms: dict[str, dict[str, int]]
    docs: dict[str, list[array[int]]]
    df: dict[str, Counter[int]]
    pruned: Counter[str] = field(default_factory=Counter)
    next_id: Counter[str] = field(default_factory=Counter)  # ids are never reused

    @property
    def size(self) -> int:
        return len(self.docs[BLOCKS[0]])


PRUNE_EVERY = 2_000  # messages between two sweeps of the terms seen in one message only


def encode(analysed: Iterable[dict[str, list[str]]]) -> EncodedCorpus:
    """Messages' tokens (from `analyse`, one message at a time) as term ids.

    Most character runs and word pairs occur in one message only and can never be kept (a
    block's terms are chosen by how many messages use them); every PRUNE_EVERY messages the
    terms seen once so far are forgotten, so memory follows the useful terms, not all of them.
    A term forgotten and met again starts counting afresh: a rare term may be undercounted,
    which only matters at the edge of MAX_FEATURES.
    """
    corpus = EncodedCorpus(
        {b: {} for b in BLOCKS}, {b: [] for b in BLOCKS}, {b: Counter() for b in BLOCKS}
    )
    for k, blocks in enumerate(analysed, 1):
        for name in BLOCKS:
            ids = corpus.terms[name]
            fresh = corpus.next_id[name]
            encoded = array("i")
            for term in blocks[name]:
                found = ids.get(term)
                if found is None:
                    found = ids[term] = fresh
                    fresh += 1
                encoded.append(found)
            corpus.next_id[name] = fresh
            corpus.docs[name].append(encoded)
            corpus.df[name].update(set(encoded))
        if k % PRUNE_EVERY == 0:
            for name in ("word", "char", "title"):
                df = corpus.df[name]
                once = {i for i, d in df.items() if d == 1}
                if not once:
                    continue
                for i in once:
                    del df[i]
                # Ids stay unique: a term met again later gets a new one.
                corpus.terms[name] = {t: i for t, i in corpus.terms[name].items() if i not in once}
                corpus.pruned[name] += len(once)
    return corpus


def fit_encoded(corpus: EncodedCorpus) -> tuple[dict[str, Vocabulary], Any]:
    """The vocabularies (as `fit_vocabularies` chooses them) and the feature matrix."""
    from scipy.sparse import hstack

    n = corpus.size
    vocabularies: dict[str, Vocabulary] = {}
    blocks = []
    for name in BLOCKS:
        words = {i: t for t, i in corpus.terms[name].items()}
        kept = [(i, d) for i, d in corpus.df[name].items() if d >= MIN_DF[name] and i in words]
        kept.sort(key=lambda item: (-item[1], words[item[0]]))
        kept = kept[: MAX_FEATURES[name]]
        idf = np.array([math.log((1 + n) / (1 + d)) + 1.0 for _, d in kept], dtype=np.float32)
        vocab = Vocabulary([words[i] for i, _ in kept], idf)
        vocabularies[name] = vocab
        docs = corpus.docs[name]
        lengths = np.fromiter((len(d) for d in docs), dtype=np.int64, count=n)
        flat = (
            np.concatenate([np.frombuffer(d, dtype=np.int32) for d in docs if len(d)])
            if int(lengths.sum())
            else np.zeros(0, dtype=np.int32)
        )
        # Term id to feature index through the sorted kept ids (no table as long as every id).
        kept_ids = np.array([i for i, _ in kept], dtype=np.int64)
        order = np.argsort(kept_ids)
        sorted_ids = kept_ids[order]
        at = np.clip(np.searchsorted(sorted_ids, flat), 0, max(len(sorted_ids) - 1, 0))
        found = (sorted_ids[at] == flat) if len(sorted_ids) else np.zeros(len(flat), dtype=bool)
        features = np.where(found, order[at] if len(sorted_ids) else -1, -1)
        blocks.append(_block_csr(n, lengths, features, vocab))
    return vocabularies, hstack(blocks, format="csr", dtype=np.float32)


def fit_linear(x: Any, y: Sequence[str], keep: int | None = None) -> LinearScores:
    """A one-vs-rest linear SVM; `keep` keeps only each label's strongest weights."""
    from scipy.sparse import csc_matrix, csr_matrix
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=SVM_C, random_state=0)  # the same model from the same cases
    model.fit(x, list(y))
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
    analysed: Sequence[dict[str, list[str]]],
    y: Sequence[str],
    *,
    folds: int = 5,
    seed: int = 0,
    keep: int | None = None,
    fit: Callable[..., LinearScores] = fit_linear,
) -> CrossValidation:
    """Stratified k-fold: vocabularies and weights learnt on the other folds only."""
    from sklearn.model_selection import StratifiedKFold

    labels = np.array(list(y))
    counts = Counter(labels.tolist())
    folds = max(2, min(folds, min(counts.values())))
    top1 = top3 = 0
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(np.zeros(len(labels)), labels):
        vocabularies = fit_vocabularies([analysed[i] for i in train])
        x = matrix([analysed[i] for i in train], vocabularies)
        model = fit(x, labels[train].tolist(), keep)
        offsets, at = {}, 0
        for name in BLOCKS:
            offsets[name] = at
            at += len(vocabularies[name].terms)
        for i in test:
            idx, val = vectorise(analysed[i], vocabularies, offsets)
            margins = model.scores(idx, val)
            order = np.argsort(-margins, kind="stable")[:3]
            best = [model.labels[j] for j in order]
            top1 += best[0] == labels[i]
            top3 += labels[i] in best
    n = len(labels)
    return CrossValidation(top1 / n, top3 / n, n, folds)


def trainable(y: Sequence[str], min_cases: int, min_per_label: int = 2) -> list[int]:
    """The positions of the examples whose label has enough examples to learn from."""
    counts = Counter(y)
    if sum(counts.values()) < min_cases:
        return []
    kept = [i for i, label in enumerate(y) if counts[label] >= min_per_label]
    return kept if len({y[i] for i in kept}) >= 2 else []
