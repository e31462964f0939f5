"""The service clusters a store in two passes (words streamed in id order, then only the
grouped cases read again) and finds exactly what clustering every message in memory finds:
the same groups, labels, heat and order, on attachment 3's 4,326 real messages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import col

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.triage_clusters import ClusterDoc, cluster_messages
from caseworker.services.cases import Desk
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.triage import _likes, clusters
from caseworker.store.models import CaseRow, Unit

ROOT = Path(__file__).resolve().parents[2]
VOTES = ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment3-messages-with-votes.xlsx"
NOW = datetime(2020, 2, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.mark.skipif(not VOTES.exists(), reason="attachment 3 is not in tests/data/datasets")
def test_two_passes_find_what_all_messages_in_memory_find(
    store: Any, rules: Any, tmp_path: Path
) -> None:
    with store.session() as session:
        ensure_first_supervisor(session, "张敏")
    desk = Desk(rules, FrozenClock(NOW), "张敏")
    run_import(store, desk, VOTES, ImportOptions(rejects=tmp_path / "rejects.csv"))
    with store.session() as session:
        streamed = clusters(session, now=NOW)
        rows = session.execute(
            select(
                col(CaseRow.id),
                col(CaseRow.external_id),
                col(CaseRow.title),
                func.substr(col(CaseRow.body), 1, 200),
                col(CaseRow.author),
                col(CaseRow.received_at),
                col(CaseRow.extra),
                col(CaseRow.region),
                col(Unit.name),
            ).join(Unit, col(Unit.id) == col(CaseRow.lead_unit_id), isouter=True)
        ).all()
    assert len(rows) > 4_000
    docs = [
        ClusterDoc(r[0], r[1], r[2], r[3] or "", r[4], r[5], _likes(r[6]), r[7], r[8]) for r in rows
    ]
    whole = cluster_messages(docs, until=NOW)
    assert len(streamed) == len(whole) >= 10
    for a, b in zip(streamed, whole, strict=True):
        assert (a.label, a.heat, a.terms) == (b.label, b.heat, b.terms)
        assert [d.id for d in a.docs] == [d.id for d in b.docs]
        assert a.docs == b.docs
