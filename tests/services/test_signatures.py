"""Every case has a text key (table case_signatures): one entered with `case new` is found as
the original of a later import's re-post, and the backfill keys the cases that have none; on
SQLite and PostgreSQL."""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from caseworker.clock import FrozenClock
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.triage_repeats import signature_key
from caseworker.services.cases import Desk, NewCase, create_case, find_case
from caseworker.services.imports import ImportOptions, run_import
from caseworker.services.people import ensure_first_supervisor
from caseworker.store.signatures import backfill_signatures, backfill_sketches

TITLE = "请给K3县乡村医生发卫生室执业许可证"
BODY = "我们是K3县的乡村医生，卫生室一直没有执业许可证，影响正常行医，请相关部门尽快办理。"


def _by_hand(store: Any, rules: Any, clock: FrozenClock, n: int = 1) -> list[int]:
    with store.session() as session:
        ensure_first_supervisor(session, "张敏")
    desk = Desk(rules, clock, "张敏")
    ids = []
    for k in range(n):
        with store.session() as session:
            ids.append(
                create_case(
                    session,
                    desk,
                    NewCase(
                        channel="leader-board",
                        title=TITLE if k == 0 else f"{TITLE}（{k}）",
                        body=BODY,
                        author="网友甲",
                        received_at=datetime(2019, 6, 20, 12, 38, tzinfo=SHANGHAI),
                        external_id=f"hand-{k}",
                    ),
                )
            )
    return ids


def _keys(store: Any) -> dict[int, tuple[str, str | None]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT case_id, text_key, author FROM case_signatures")
        ).all()
    return {int(r[0]): (r[1], r[2]) for r in rows}


def _sketches(store: Any) -> dict[int, tuple[int | None, bytes | None]]:
    with store.engine.connect() as connection:
        rows = connection.execute(
            text("SELECT case_id, pair_count, pair_bits FROM case_signatures")
        ).all()
    return {int(r[0]): (r[1], r[2]) for r in rows}


def test_a_case_entered_by_hand_is_the_original_of_a_later_repost(
    store: Any, rules: Any, clock: FrozenClock, tmp_path: Path
) -> None:
    (hand,) = _by_hand(store, rules, clock)
    assert _keys(store) == {hand: (signature_key(TITLE, BODY), "网友甲")}
    path = tmp_path / "messages.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"])
        out.writerow(["323149", "A1241141", TITLE, "2019-06-22 09:00:00", BODY + "！"])
    desk = Desk(rules, clock, "张敏")
    summary = run_import(store, desk, path, ImportOptions(rejects=tmp_path / "rejects.csv"))
    assert summary.imported == 1
    with store.session() as session:
        repost = find_case(session, "ext:323149")
        assert repost.repeat_of_id == hand
        assert find_case(session, hand).repeat_of_id is None  # by hand: never marked itself


def test_the_backfill_keys_every_case_without_one_once(
    store: Any, rules: Any, clock: FrozenClock
) -> None:
    ids = _by_hand(store, rules, clock, n=7)
    recorded, sketched = _keys(store), _sketches(store)
    assert all(count is not None for count, _ in sketched.values())
    with store.engine.begin() as connection:  # as before signatures were kept
        connection.execute(
            text("DELETE FROM case_signatures WHERE case_id <> :keep"), {"keep": ids[3]}
        )
    with store.engine.begin() as connection:
        assert backfill_signatures(connection, batch=2) == 6  # several batches
    assert _keys(store) == recorded
    assert _sketches(store) == sketched  # the same sketches as the cases' own
    with store.engine.begin() as connection:
        assert backfill_signatures(connection) == 0


def test_signatures_backfilled_without_sketches_get_them_later(
    store: Any, rules: Any, clock: FrozenClock
) -> None:
    """A backfill before the sketch columns existed (migration 0016) left them empty; the
    later backfill gives each the sketch its case's text has, and then has nothing left."""
    _by_hand(store, rules, clock, n=5)
    recorded, sketched = _keys(store), _sketches(store)
    with store.engine.begin() as connection:
        connection.execute(text("DELETE FROM case_signatures"))
        assert backfill_signatures(connection, sketched=False) == 5
    assert _keys(store) == recorded
    assert all(pair is None and bits is None for pair, bits in _sketches(store).values())
    with store.engine.begin() as connection:
        assert backfill_sketches(connection, batch=2) == 5
    assert _sketches(store) == sketched
    with store.engine.begin() as connection:
        assert backfill_sketches(connection) == 0
