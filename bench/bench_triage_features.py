"""Print what the triage model's features cost beside the former model's first steps, in one run.

The model's features (caseworker.domain.triage_model.features): the characters of title and
opening in runs of one to three, the title's in runs of one and two, the category tree's
keywords and the origin, hashed into fixed columns and computed by numpy over a whole batch of
messages at once. The baseline is what the former model did first for every message: cut the
text into words (rjieba) and look for the category tree's keywords (KeywordTree.hits), one
message at a time. Printed: per message, CPU and wall, on N messages of attachments 2-4; what
300,000 (a year) would take; and suggesting's features for one message.

Run: .venv/bin/python bench/bench_triage_features.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
try:
    import caseworker  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_triage import sheet  # noqa: E402

from caseworker.domain.triage_model import (  # noqa: E402
    BODY_CHARS,
    Message,
    batched_features,
    features,
    keywords_of,
)
from caseworker.domain.triage_text import clean, words  # noqa: E402
from caseworker.services.triage import category_tree  # noqa: E402


def timed(work: Any) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
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
    words("预热")

    def baseline() -> None:
        for m in corpus:
            text = f"{clean(m.title)} {clean(m.body)[:BODY_CHARS]}"
            words(text)
            tree.hits(text)

    ours = timed(lambda: batched_features(corpus, keywords))
    before = timed(baseline)
    n = len(corpus)
    print(f"features of {n:,} messages (attachments 2-4 repeated), per message:")
    for name, (wall, cpu) in (
        ("hashed, batches of 5,000", ours),
        ("baseline: words + keywords", before),
    ):
        print(f"  {name}  {cpu / n * 1e3:.3f} ms CPU  ({wall / n * 1e3:.3f} ms wall)")
    print(f"  ratio (CPU): {before[1] / max(ours[1], 1e-9):.1f}x")
    print(
        f"  at 300,000: {ours[1] * 300_000 / n:.0f} s CPU hashed, "
        f"{before[1] * 300_000 / n:.0f} s baseline"
    )
    single = []
    for m in pool[:300]:
        started = time.perf_counter()
        features([m], keywords)
        single.append((time.perf_counter() - started) * 1e3)
    single.sort()
    print(f"  one message (suggest): median {single[150]:.2f} ms, worst {single[-1]:.2f} ms")


if __name__ == "__main__":
    main()
