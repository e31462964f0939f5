"""Print triage figures beside baselines measured in the same run.

- accuracy: the triage model's 5-fold cross-validated top-1 / top-3 on the 495 labelled
  messages (TipDM attachment 2), against a plain TF-IDF (rjieba words) + linear SVM;
- training time at N messages (the real messages of attachments 2-4, repeated with their
  words shuffled to N; a year is 300,000), beside word segmentation alone on the same;
- suggesting for one message (median and worst of 300);
- clustering the 4,326 messages of attachment 3, and a sample both by the inverted index and
  by comparing all pairs;
- peak memory of the process.
Run: .venv/bin/python bench/bench_triage.py [--train 300000] [--sample 2000] [--rows 20000]
"""

from __future__ import annotations

import argparse
import random
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
try:
    import caseworker  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook  # noqa: E402

from caseworker.domain import triage_clusters as tc  # noqa: E402
from caseworker.domain import triage_model  # noqa: E402
from caseworker.domain.triage_model import (  # noqa: E402
    Message,
    TriageModel,
    batched_features,
    cross_validate,
    features,
    fit_idf,
    fit_linear,
    keywords_of,
    weigh,
    weighted,
)
from caseworker.domain.triage_text import words  # noqa: E402
from caseworker.services.triage import category_tree  # noqa: E402

TIPDM = ROOT / "tests" / "data" / "datasets" / "tipdm2020"


def sheet(name: str) -> list[dict[str, Any]]:
    book = load_workbook(TIPDM / name, read_only=True)
    rows = book.active.iter_rows(values_only=True)  # type: ignore[union-attr]
    header = [str(h) for h in next(rows)]
    return [dict(zip(header, r, strict=False)) for r in rows if any(r)]


def when(text: Any) -> datetime:
    text = str(text).strip()
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            pass
    return datetime(2019, 1, 1)


def baseline_cv(messages: list[Message], labels: list[str]) -> tuple[float, float]:
    """TF-IDF over rjieba words + LinearSVC, the same folds as the model's."""
    import numpy as np
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.svm import LinearSVC

    texts = [f"{m.title}\n{m.body}" for m in messages]
    y = np.array(labels)
    top1 = top3 = 0
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, y):
        vectoriser = TfidfVectorizer(tokenizer=words, token_pattern=None, lowercase=False)
        x = vectoriser.fit_transform([texts[i] for i in train])
        model = LinearSVC().fit(x, y[train])
        scores = model.decision_function(vectoriser.transform([texts[i] for i in test]))
        for row, i in zip(np.argsort(-scores, axis=1), test, strict=True):
            best = [model.classes_[k] for k in row[:3]]
            top1 += best[0] == y[i]
            top3 += y[i] in best
    return top1 / len(y), top3 / len(y)


def import_cost(pool: list[Message], rows: int) -> None:
    """The import of `rows` messages (one in twenty a re-post) with the repeat marking and with
    it switched off, each into a fresh database, alternately."""
    import csv
    import tempfile

    from caseworker.clock import FrozenClock
    from caseworker.config import DATA_DIR
    from caseworker.services.cases import Desk
    from caseworker.services.imports import ImportOptions, run_import, runner
    from caseworker.services.people import ensure_first_supervisor
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    rng = random.Random(11)
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "messages.csv"
        with source.open("w", encoding="utf-8", newline="") as handle:
            out = csv.writer(handle)
            out.writerow(["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"])
            for i in range(rows):
                m = pool[rng.randrange(len(pool))] if i % 20 == 0 else pool[i % len(pool)]
                day = 1 + (i * 300 // rows)
                at = datetime(2019, 1, 1) + (datetime(2019, 1, 2) - datetime(2019, 1, 1)) * day
                out.writerow([i + 1, f"U{rng.randrange(rows // 3)}", m.title, at, m.body])
        marking = runner.mark_new
        figures: dict[str, list[float]] = {"with": [], "without": []}
        for attempt in range(4):
            which = "with" if attempt % 2 == 0 else "without"
            runner.mark_new = marking if which == "with" else (lambda *_a, **_k: 0)  # type: ignore[assignment]
            store = open_store(str(Path(folder) / f"db{attempt}.sqlite"))
            with store.session() as session:
                ensure_first_supervisor(session, "bench")
            desk = Desk(
                rules, FrozenClock(datetime.fromisoformat("2020-01-01T10:00+08:00")), "bench"
            )
            started = time.perf_counter()
            summary = run_import(store, desk, source, ImportOptions(rejects=Path(folder) / "r.csv"))
            figures[which].append(summary.imported / (time.perf_counter() - started))
            if which == "with":
                with store.session() as session:
                    marked = (
                        session.connection()
                        .exec_driver_sql(
                            "SELECT count(*) FROM cases WHERE repeat_of_id IS NOT NULL"
                        )
                        .scalar_one()
                    )
            store.close()
        runner.mark_new = marking
    best_with, best_without = max(figures["with"]), max(figures["without"])
    print(
        f"\nimport of {rows:,} messages (best of two each): with repeats marked "
        f"{best_with:,.0f} rows/s ({marked:,} repeats), without {best_without:,.0f} rows/s "
        f"({best_with / best_without:.2f}x)"
    )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", type=int, default=300_000, help="messages to train on")
    parser.add_argument("--sample", type=int, default=2_000, help="all-pairs clustering sample")
    parser.add_argument("--rows", type=int, default=20_000, help="rows imported, with and without")
    args = parser.parse_args()
    if not TIPDM.exists():
        sys.exit("the TipDM 2020 data is missing from tests/data/datasets")
    tree = category_tree()
    labelled = sheet("attachment2-labelled-sample.xlsx")
    votes = sheet("attachment3-messages-with-votes.xlsx")
    replies = sheet("attachment4-messages-with-replies.xlsx")
    messages = [Message(str(r["留言主题"] or ""), str(r["留言详情"] or "")) for r in labelled]
    labels = [str(r["一级分类"]) for r in labelled]

    keywords = keywords_of(tree)
    print("accuracy, 5-fold cross-validation on the 495 labelled messages")
    x = features(messages, keywords)
    started = time.perf_counter()
    cv = cross_validate(x, labels, folds=5, seed=0)
    ours = time.perf_counter() - started
    started = time.perf_counter()
    b1, b3 = baseline_cv(messages, labels)
    base = time.perf_counter() - started
    print(f"  triage model        top-1 {cv.top1:.1%}  top-3 {cv.top3:.1%}  ({ours:.1f} s)")
    print(f"  TF-IDF words + SVM  top-1 {b1:.1%}  top-3 {b3:.1%}  ({base:.1f} s)")
    for seed in (1, 2):
        other = cross_validate(x, labels, seed=seed)
        print(f"  triage model, folds seed {seed}: top-1 {other.top1:.1%}  top-3 {other.top3:.1%}")
    svm_max = triage_model.SVM_MAX_ROWS
    triage_model.SVM_MAX_ROWS = 0  # what SGD would make of so few rows
    sgd = cross_validate(x, labels, seed=0)
    triage_model.SVM_MAX_ROWS = svm_max
    print(
        f"  the same fitted by SGD (why not on few rows): top-1 {sgd.top1:.1%} top-3 {sgd.top3:.1%}"
    )

    # Training at scale: the real messages, labelled by a model of the sample, repeated to N
    # with their body's words shuffled (so no two are the same text).
    idf = fit_idf(x)
    small = TriageModel(keywords, idf, fit_linear(weighted(x, idf), labels), None, {})
    pool = messages + [
        Message(str(r["留言主题"] or ""), str(r["留言详情"] or "")) for r in votes + replies
    ]
    pool_labels = [small.suggest(m)[0][0][0] for m in pool]
    rng = random.Random(7)
    corpus, corpus_labels = [], []
    while len(corpus) < args.train:
        k = rng.randrange(len(pool))
        body = words(pool[k].body)
        rng.shuffle(body)
        corpus.append(Message(pool[k].title, "".join(body)))
        corpus_labels.append(pool_labels[k])
    n = len(corpus)
    started, cpu = time.perf_counter(), time.process_time()
    x = batched_features(corpus, keywords)
    t_features = time.perf_counter() - started
    idf = fit_idf(x)
    weigh(x, idf)
    model = TriageModel(keywords, idf, fit_linear(x, corpus_labels), None, {})
    t_fit = time.perf_counter() - started - t_features
    sample = list(range(0, n, max(1, n // 3_000)))[:3_000]
    cross_validate(x[sample], [corpus_labels[i] for i in sample])
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu
    stored = model.to_bytes()
    fitter = "LinearSVC" if n <= triage_model.SVM_MAX_ROWS else "SGD"
    print(f"\ntraining on {n:,} messages: {total:.1f} s ({cpu:.1f} s of CPU)")
    print(
        f"  features {t_features:.1f} s ({x.nnz / n:.0f} a message, {x.data.nbytes * 2 / 1e6:.0f}"
        f" MB), idf + {fitter} {t_fit:.1f} s, cross-validation on 3,000"
        f" {total - t_features - t_fit:.1f} s; model stored {len(stored) / 1e6:.1f} MB"
    )
    del x
    baseline_n = min(n, 3_000)
    started = time.process_time()
    for m in corpus[:baseline_n]:
        words(f"{m.title} {m.body[:300]}")
    segmenting = (time.process_time() - started) / baseline_n
    print(
        f"  baseline, word segmentation alone (the former model's first step): "
        f"{segmenting * 1e3:.2f} ms a message, {segmenting * n:.0f} s for {n:,}; "
        f"all the features here {t_features / n * 1e3:.2f} ms wall "
        f"({t_features / max(segmenting * n, 1e-9):.1f}x segmentation's time)"
    )

    loaded = TriageModel.from_bytes(stored)
    times = []
    for m in pool[:300]:
        started = time.perf_counter()
        loaded.suggest(m)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"\nsuggest, one message: median {statistics.median(times):.1f} ms, "
        f"worst {max(times):.1f} ms (300 messages)"
    )

    docs = [
        tc.ClusterDoc(
            i + 1,
            str(r["留言编号"]),
            str(r["留言主题"] or ""),
            str(r["留言详情"] or ""),
            str(r["留言用户"]),
            when(r["留言时间"]),
            int(r["点赞数"] or 0),
        )
        for i, r in enumerate(votes)
    ]
    started, cpu = time.perf_counter(), time.process_time()
    found = tc.cluster_messages(docs)
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu
    print(
        f"\nclusters of attachment 3 ({len(docs):,} messages): {elapsed:.2f} s ({cpu:.2f} s of CPU)"
    )
    for rank, c in enumerate(found[:10], 1):
        print(f"  {rank:2d}. {c.label}  {len(c.docs)} messages, {c.citizens} citizens, {c.heat}")
    print(f"  linear in N: 300,000 would take about {elapsed * 300_000 / len(docs):.0f} s")

    sample = docs[: args.sample]
    started = time.perf_counter()
    tc.cluster_messages(sample)
    indexed = time.perf_counter() - started
    started = time.perf_counter()
    vectors = [tc.doc_terms(d) for d in sample]
    pairs = 0
    for i, a in enumerate(vectors):
        sa = set(a)
        for b in vectors[i + 1 :]:
            pairs += bool(sa & set(b))
    allpairs = time.perf_counter() - started
    print(
        f"  sample of {len(sample):,}: inverted index {indexed:.2f} s; "
        f"all pairs compared {allpairs:.2f} s ({allpairs / indexed:.1f}x)"
    )
    import_cost(pool, args.rows)
    print(f"\npeak memory of this run: {peak_mb():.0f} MB")


if __name__ == "__main__":
    main()
