"""Print how fast `caseworker demo` builds its bureau, against the per-case services, measured
together in one run.

The demo simulates each case's life in memory and bulk-writes the rows; the baseline walks the
same kind of life (receive, accept, assign, acknowledge, draft, submit, publish, close) through
the services one action and one transaction at a time, as the commands would.
Run: .venv/bin/python bench/bench_demo.py [--cases 100000] [--baseline-cases 1000]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

try:
    from caseworker.clock import FrozenClock
except ModuleNotFoundError:  # run from a checkout without the package installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from caseworker.clock import FrozenClock

from caseworker.config import DATA_DIR
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as services
from caseworker.services.demo.build import build_demo
from caseworker.services.people import add_clerk, import_units
from caseworker.services.rules import Rules, load_rules
from caseworker.store.engine import open_store

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)

UNITS = """name,parent,level,code
省政府,,province,P
市政府,P,city,C
市教育局,C,department,C-EDU
"""


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def demo_build(folder: Path, rules: Rules, cases: int) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds and events of one demo build."""
    store = open_store(str(folder / "demo.sqlite"))
    wall, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    report = build_demo(store, rules, seed=1, cases=cases, now=NOW)
    wall = time.perf_counter() - wall
    cpu = time.process_time() - cpu + _children_cpu() - children  # worker processes included
    store.close()
    return wall, cpu, report.events


def service_build(folder: Path, rules: Rules, cases: int) -> tuple[float, float]:
    """Wall and CPU seconds to take `cases` cases through a whole life via the services."""
    store = open_store(str(folder / "services.sqlite"))
    with store.session() as session:
        import_units(session, UNITS)
        add_clerk(session, "陈受理", "clerk")
        add_clerk(session, "吴经办", "handler", "C-EDU")

    def act(clerk: str, at: datetime, action: object, *args: object, **kw: object) -> object:
        with store.session() as session:
            desk = services.Desk(rules, FrozenClock(at), clerk)
            return action(session, desk, *args, **kw)  # type: ignore[operator]

    wall, cpu = time.perf_counter(), time.process_time()
    for n in range(cases):
        at = NOW - timedelta(days=30, minutes=n)
        cid = act(
            "陈受理",
            at,
            services.create_case,
            services.NewCase(
                channel="leader-board",
                title=f"小区门口路灯不亮（{n}）",
                body="路灯坏了两周。",
                received_at=at,
                external_id=f"B{n}",
            ),
        )
        act("陈受理", at + timedelta(hours=1), services.accept_case, cid)
        act("陈受理", at + timedelta(hours=2), services.assign_case, cid, lead="C-EDU")
        act("吴经办", at + timedelta(hours=3), services.acknowledge_case, cid)
        act(
            "吴经办",
            at + timedelta(days=2),
            services.draft_reply,
            cid,
            text="已修复。",
            final=True,
            outcome="支持",
        )
        act("吴经办", at + timedelta(days=2, hours=1), services.submit_reply, cid)
        act("陈受理", at + timedelta(days=3), services.publish_reply, cid)
        act("陈受理", at + timedelta(days=4), services.close_case, cid)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    store.close()
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--baseline-cases", type=int, default=1000)
    args = parser.parse_args()
    rules = load_rules(DATA_DIR / "policy.toml", DATA_DIR / "calendar.toml")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        base_wall, base_cpu = service_build(folder, rules, args.baseline_cases)
        wall, cpu, events = demo_build(folder, rules, args.cases)
    base_rate = args.baseline_cases / base_wall
    rate = args.cases / wall
    print(
        f"baseline: {args.baseline_cases:,} cases through the services in {base_wall:.1f} s "
        f"wall, {base_cpu:.1f} s CPU: {base_rate:,.0f} cases/s"
    )
    print(
        f"demo:     {args.cases:,} cases ({events:,} events) in {wall:.1f} s wall, "
        f"{cpu:.1f} s CPU in all processes: {rate:,.0f} cases/s"
    )
    print(f"machine:  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end")
    print(
        f"ratio:    {rate / base_rate:,.1f}x the services' rate "
        f"({(args.cases / cpu) / (args.baseline_cases / base_cpu):,.1f}x by CPU time)"
    )


if __name__ == "__main__":
    main()
