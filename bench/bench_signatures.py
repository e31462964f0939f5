"""Print what giving every stored case its signature costs, beside a baseline measured in the
same run: reading the same columns of every case without keying.

A demo bureau of --seed-cases is built once and its cases copied (new ids, new external ids)
up to --cases; the signatures are then dropped and backfilled as the migrations do: text keys
without sketches (0016), then the sketches (0019); then dropped again and backfilled with
their sketches at once (what the demo does).
Run: .venv/bin/python bench/bench_signatures.py [--cases 100000] [--seed-cases 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

try:
    from caseworker.domain.calendar import SHANGHAI
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from caseworker.domain.calendar import SHANGHAI

from sqlalchemy import text

from caseworker.config import DATA_DIR
from caseworker.domain.triage_repeats import SIGNATURE_OPENING
from caseworker.services.demo.build import build_demo
from caseworker.services.rules import load_rules
from caseworker.store.engine import open_store
from caseworker.store.signatures import backfill_signatures, backfill_sketches

NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--seed-cases", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.sqlite"
        store = open_store(f"sqlite:///{path}")
        rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
        build_demo(store, rules, seed=1, cases=args.seed_cases, now=NOW, workers=1)
        with store.engine.begin() as conn:
            columns = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(cases)").all()]
            top = int(conn.exec_driver_sql("SELECT max(id) FROM cases").scalar_one())
            copies = [c for c in columns if c not in ("id", "external_id")]
            n = 1
            while top * n < args.cases:
                names = ", ".join(copies)
                conn.exec_driver_sql(
                    f"INSERT INTO cases (id, external_id, {names}) "
                    f"SELECT id + {top * n}, external_id || '~{n}', {names} FROM cases "
                    f"WHERE id <= {min(top, args.cases - top * n)}"
                )
                n += 1
            conn.exec_driver_sql("DELETE FROM case_signatures")
            total = int(conn.exec_driver_sql("SELECT count(*) FROM cases").scalar_one())
        with store.engine.begin() as conn:
            started = time.perf_counter()
            conn.execute(
                text(
                    f"SELECT id, title, substr(body, 1, {SIGNATURE_OPENING}), author, received_at "
                    "FROM cases ORDER BY id"
                )
            ).all()
            read = time.perf_counter() - started
        print(f"cases: {total:,}")
        for label, step in (
            ("text keys (0016)", lambda conn: backfill_signatures(conn, sketched=False)),
            ("their sketches (0019)", backfill_sketches),
            ("signatures with sketches at once", None),
        ):
            with store.engine.begin() as conn:
                if step is None:
                    conn.exec_driver_sql("DELETE FROM case_signatures")
                    step = backfill_signatures
                started = time.perf_counter()
                cpu = time.process_time()
                done = step(conn)
                wall, cpu = time.perf_counter() - started, time.process_time() - cpu
            print(f"{label}: {done:,} in {wall:.2f} s ({cpu:.2f} s CPU), {done / wall:,.0f}/s")
        print(f"baseline, reading the same columns without keying: {read:.2f} s")
        store.engine.dispose()


if __name__ == "__main__":
    main()
