"""The repeats an import marks are exactly those the plain pairwise test finds: on a file where
a few citizens write again and again within the window with nearly the same words, imported
in many small batches (so earlier batches' messages are compared again), with the pair sets
kept across batches and with nearly none kept; on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from caseworker.clock import FrozenClock
from caseworker.domain.triage_repeats import NEAR, WINDOW, pairs, signature_key, similarity
from caseworker.services.cases import Desk
from caseworker.services.imports import ImportOptions, run_import, runner
from caseworker.services.people import ensure_first_supervisor
from caseworker.services.repeats import PairCache

HEADER = ["留言编号", "留言用户", "留言主题", "留言时间", "留言详情"]
WORDS = "小区物业停车收费噪音施工扰民道路积水路灯损坏学校招生医保报销公交线路垃圾清运供暖不足"


def _messages(count: int = 240) -> list[tuple[str, str, str, datetime, str]]:
    """Messages of five frequent writers (and a few one-off ones) over 90 days, each a
    variant of one of their own few texts with a random share of its characters changed,
    so their overlap falls on both sides of NEAR; now and then a re-post by someone else."""
    chance = random.Random(20261202)
    start = datetime(2024, 9, 1, 8, 0)  # before the frozen clock
    authors = ["A100", "A200", "A300", "A400", "A500"]
    bases = {
        a: [
            ("".join(chance.choices(WORDS, k=16)), "".join(chance.choices(WORDS, k=220)))
            for _ in range(3)
        ]
        for a in authors
    }
    rows: list[tuple[str, str, str, datetime, str]] = []
    for i in range(count):
        when = start + timedelta(minutes=i * 541)  # 90 days, no two at the same minute
        if i % 17 == 5 and rows:  # a re-post of an earlier message by another citizen
            _, _, title, _, body = rows[chance.randrange(len(rows))]
            rows.append((f"R{i:05d}", f"B{i}", title, when, body))
            continue
        author = authors[chance.randrange(len(authors))] if i % 11 else ""
        title, body = chance.choice(bases[author] if author else bases["A100"])
        changed = list(body)
        for _ in range(chance.randrange(0, 60)):
            changed[chance.randrange(len(changed))] = chance.choice(WORDS)
        rows.append((f"R{i:05d}", author, title, when, "".join(changed)))
    return rows


def _expected(rows: list[tuple[str, str, str, datetime, str]]) -> tuple[dict[str, str], int]:
    """Each repeat's original by the plain test: every earlier message in the window, the
    earliest of the same text or, by the same citizen, of overlap NEAR or more; a repeat of a
    repeat is marked a repeat of the first. With how many were found by overlap alone."""
    found: dict[str, str] = {}
    near_only = 0
    for i, (ext, author, title, when, body) in enumerate(rows):
        mine = pairs(title, body)
        for other, o_author, o_title, o_when, o_body in rows[:i]:
            if when - o_when > WINDOW:
                continue
            same = signature_key(title, body) == signature_key(o_title, o_body)
            near = bool(author) and author == o_author
            if same or (near and similarity(mine, pairs(o_title, o_body)) >= NEAR):
                found[ext] = found.get(other, other)
                near_only += not same
                break
    return found, near_only


@pytest.mark.parametrize("kept", [4_096, 3], ids=["kept", "nearly-none-kept"])
def test_the_marks_are_those_of_the_plain_pairwise_test(
    store: Any,
    rules: Any,
    clock: FrozenClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    kept: int,
) -> None:
    monkeypatch.setattr(runner, "PairCache", lambda: PairCache(kept))
    rows = _messages()
    path = tmp_path / "messages.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for ext, author, title, when, body in rows:
            out.writerow([ext, author, title, when.strftime("%Y-%m-%d %H:%M:%S"), body])
    with store.session() as session:
        ensure_first_supervisor(session, "张敏")
    summary = run_import(
        store,
        Desk(rules, clock, "张敏"),
        path,
        ImportOptions(rejects=tmp_path / "rejects.csv", batch_size=20),
    )
    assert summary.imported == len(rows), summary.line()
    with store.engine.connect() as connection:
        marked = connection.execute(
            text(
                "SELECT c.external_id, o.external_id FROM cases c "
                "JOIN cases o ON o.id = c.repeat_of_id"
            )
        ).all()
        links = connection.execute(
            text("SELECT count(*) FROM case_links WHERE kind = 'repeat_of'")
        ).scalar_one()
    expected, near_only = _expected(rows)
    assert near_only > 50  # the file does exercise the same-citizen test
    assert len(expected) < len(rows) - 50  # and many are compared and found no repeat
    assert {(ext, orig) for ext, orig in marked} == set(expected.items())
    assert links == len(expected)
