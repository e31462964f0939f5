"""Print the memory clustering takes (tracemalloc peak) for N stored cases, two ways in one run:
the service as it runs (two passes: words streamed in id order, then only the grouped cases
read again) and, as the baseline, every case read into memory first and then clustered.

The cases are the real messages of attachments 2-4, repeated to N with the words of title and
body shuffled (no two the same text), imported into a fresh SQLite store.
Run: .venv/bin/python bench/bench_clusters_memory.py [--cases 50000 20000]
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
try:
    import caseworker  # noqa: F401
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(ROOT))

from openpyxl import load_workbook  # noqa: E402
from sqlalchemy import func  # noqa: E402
from sqlalchemy import select as sa_select  # noqa: E402
from sqlmodel import col  # noqa: E402

from caseworker.clock import FrozenClock  # noqa: E402
from caseworker.config import DATA_DIR  # noqa: E402
from caseworker.domain.calendar import SHANGHAI  # noqa: E402
from caseworker.domain.triage_clusters import (  # noqa: E402
    ClusterDoc,
    cluster_messages,
    text_terms,
)
from caseworker.domain.triage_text import words  # noqa: E402
from caseworker.services.cases import Desk  # noqa: E402
from caseworker.services.imports import ImportOptions, run_import  # noqa: E402
from caseworker.services.people import ensure_first_supervisor  # noqa: E402
from caseworker.services.rules import load_rules  # noqa: E402
from caseworker.services.triage import clusters  # noqa: E402
from caseworker.store.engine import open_store  # noqa: E402
from caseworker.store.models import CaseRow  # noqa: E402

TIPDM = ROOT / ".." / "shared" / "datasets" / "tipdm2020"
NOW = datetime(2020, 1, 1, 10, 0, tzinfo=SHANGHAI)


def pool() -> list[tuple[str, str]]:
    out = []
    for name in (
        "attachment2-labelled-sample.xlsx",
        "attachment3-messages-with-votes.xlsx",
        "attachment4-messages-with-replies.xlsx",
    ):
        rows = load_workbook(TIPDM / name, read_only=True).active.iter_rows(values_only=True)  # type: ignore[union-attr]
        header = [str(h) for h in next(rows)]
        for r in rows:
            row = dict(zip(header, r, strict=False))
            out.append((str(row.get("留言主题") or ""), str(row.get("留言详情") or "")))
    return out


def baseline(session: object) -> int:
    """Every case read whole into memory, then clustered (how the service read them before)."""
    query = sa_select(
        col(CaseRow.id),
        col(CaseRow.external_id),
        col(CaseRow.title),
        func.substr(CaseRow.body, 1, 200),
        col(CaseRow.author),
        col(CaseRow.received_at),
    )
    docs = [
        ClusterDoc(r[0], r[1], r[2], r[3] or "", r[4], r[5])
        for r in session.connection().execute(query).all()  # type: ignore[attr-defined]
    ]
    return len(cluster_messages(docs, until=NOW))


def measure(store: object, how: str) -> tuple[float, float, int]:
    tracemalloc.start()
    started = time.perf_counter()
    with store.session() as session:  # type: ignore[attr-defined]
        found = len(clusters(session, now=NOW)) if how == "service" else baseline(session)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return peak, elapsed, found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, nargs="+", default=[50_000, 20_000])
    args = parser.parse_args()
    if not TIPDM.exists():
        sys.exit("the shared TipDM 2020 data is not beside the project")
    messages = pool()
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    for n in args.cases:
        rng = random.Random(5)
        with tempfile.TemporaryDirectory() as folder:
            source = Path(folder) / "messages.csv"
            with source.open("w", encoding="utf-8", newline="") as handle:
                out = csv.writer(handle)
                out.writerow(["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"])
                for i in range(n):
                    title, body = messages[rng.randrange(len(messages))]
                    t, b = words(title), words(body)
                    rng.shuffle(t)
                    rng.shuffle(b)
                    at = datetime(2019, 1, 1) + timedelta(minutes=i * 500_000 // n)
                    out.writerow([i + 1, f"U{rng.randrange(n)}", "".join(t), at, "".join(b)])
            store = open_store(str(Path(folder) / "bench.sqlite"))
            with store.session() as session:
                ensure_first_supervisor(session, "bench")
            desk = Desk(rules, FrozenClock(NOW), "bench")
            run_import(store, desk, source, ImportOptions(rejects=Path(folder) / "r.csv"))
            # The segmenter's dictionary and scipy load once, before either is measured.
            text_terms("热身", "分词词典先载入，两种读法都不为它付出")
            import scipy.sparse  # noqa: F401

            ours = measure(store, "service")
            base = measure(store, "baseline")
            print(
                f"{n:,} cases: two passes {ours[0]:.1f} MB peak ({ours[1]:.1f} s, {ours[2]} "
                f"clusters); all read first {base[0]:.1f} MB peak ({base[1]:.1f} s, {base[2]})"
            )
            store.close()


if __name__ == "__main__":
    main()
