"""`caseworker triage …` on the real TipDM 2020 messages: accuracy, JSON shapes, clusters, stats."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

Result = Any  # tests/cli/conftest.py's Result: code, out, err
ROOT = Path(__file__).resolve().parents[2]
TIPDM = ROOT / "tests" / "data" / "datasets" / "tipdm2020"
LABELLED = TIPDM / "attachment2-labelled-sample.xlsx"
VOTES = TIPDM / "attachment3-messages-with-votes.xlsx"
needs_data = pytest.mark.skipif(
    not LABELLED.exists() or not VOTES.exists(),
    reason="the TipDM 2020 messages are missing from tests/data/datasets",
)
CATEGORIES = {"城乡建设", "环境保护", "交通运输", "教育文体", "劳动和社会保障"}
CATEGORIES |= {"商贸旅游", "卫生计生"}


@pytest.fixture
def run(cli: Callable[..., Result], tmp_path: Path) -> Callable[..., Result]:
    db = tmp_path / "bureau.sqlite"

    def go(*args: str | Path) -> Result:
        return cli("--db", db, "--clerk", "张敏", "--now", "2020-02-01T10:00", *args)

    assert go("init").code == 0
    return go


def _import(run: Callable[..., Result], path: Path, tmp_path: Path) -> None:
    result = run("import", path, "--rejects", tmp_path / "rejects.csv")
    assert result.code in (0, 3), result.err


def test_too_little_history_suggests_nothing(run: Callable[..., Result]) -> None:
    trained = run("triage", "train")
    assert trained.code == 1
    assert "too little history" in trained.err
    assert run("triage", "suggest", "1").code == 1  # no model: nothing is invented


@needs_data
def test_train_suggest_accept_and_stats(run: Callable[..., Result], tmp_path: Path) -> None:
    _import(run, LABELLED, tmp_path)
    trained = run("triage", "train")
    assert trained.code == 0, trained.err
    assert "cross-validated" in trained.out and "top-1" in trained.out

    shown = run("triage", "suggest", "#1", "#2", "--format", "json")
    items = json.loads(shown.out)
    assert [item["id"] for item in items] == [1, 2]
    for item in items:
        assert set(item) == {"external_id", "id", "categories", "units", "repeats"}
        assert len(item["categories"]) == 3
        assert all(set(c) == {"label", "score"} for c in item["categories"])
        assert {c["label"] for c in item["categories"]} <= CATEGORIES
        scores = [c["score"] for c in item["categories"]]
        assert scores == sorted(scores, reverse=True) and 0 < scores[0] <= 1
        assert item["units"] == []  # no case here has a lead unit to learn from

    lines = run("triage", "suggest", "--file", VOTES, "--format", "jsonl").out.splitlines()
    assert len(lines) == 4326
    first = json.loads(lines[0])
    assert first["id"] is None and first["external_id"] == "188006"
    assert len(first["categories"]) == 3

    accepted = run("triage", "accept", "#3")
    assert accepted.code == 0, accepted.err
    history = run("case", "history", "#3").out
    assert "categorise" in history or "category" in history
    stats = json.loads(run("triage", "stats", "--format", "json").out)
    assert stats["categorised"] == 1 and stats["accepted"] == 1
    assert stats["model"]["category_cases"] == 494
    assert stats["model"]["category_top1"] >= 0.8
    assert run("audit", "verify").code == 0  # the accepted suggestion is on the audit chain


@needs_data
def test_clusters_json_shape_and_heat_order(run: Callable[..., Result], tmp_path: Path) -> None:
    _import(run, VOTES, tmp_path)
    first = run("triage", "clusters", "--top", "10", "--format", "json")
    assert first.code == 0, first.err
    found = json.loads(first.out)["clusters"]
    assert len(found) == 10
    keys = {"id", "label", "size", "heat", "first", "last", "regions", "units", "cases"}
    assert all(set(c) == keys for c in found)
    assert [c["id"] for c in found] == list(range(1, 11))
    heats = [c["heat"] for c in found]
    assert heats == sorted(heats, reverse=True)
    assert all(c["size"] == len(c["cases"]) >= 3 for c in found)
    labels = " ".join(c["label"] for c in found)
    # Matters this city's messages are known to concentrate on (place + problem).
    assert "搅拌站" in labels and "丽发新城" in labels
    assert "捆绑销售" in labels or "车位" in labels
    again = json.loads(run("triage", "clusters", "--top", "10", "--format", "json").out)
    assert again["clusters"] == found  # the same groups, in the same order, every run


@needs_data
def test_a_reposted_message_is_marked_a_repeat_at_import(
    run: Callable[..., Result], tmp_path: Path
) -> None:
    """Message 323149 is message 188416 posted again by another user at the same second."""
    _import(run, VOTES, tmp_path)
    history = run("case", "history", "ext:323149").out
    assert "link_repeat" in history or "repeat" in history
    assert run("audit", "verify").code == 0  # the repeats' events are sealed with the import
    original = run("case", "show", "ext:188416", "--format", "json")
    original_id = json.loads(original.out)["id"]
    _import(run, LABELLED, tmp_path)
    assert run("triage", "train").code == 0
    shown = json.loads(run("triage", "suggest", "ext:323149", "--format", "json").out)[0]
    assert shown["repeats"] == [{"id": original_id, "similarity": 1.0}]
    # The same file read again without importing: each of the two finds both stored copies.
    lines = run("triage", "suggest", "--file", VOTES, "--format", "jsonl").out.splitlines()
    by_external = {item["external_id"]: item for item in map(json.loads, lines)}
    repost_id = json.loads(run("case", "show", "ext:323149", "--format", "json").out)["id"]
    both = [{"id": i, "similarity": 1.0} for i in sorted((original_id, repost_id))]
    assert by_external["323149"]["repeats"] == both == by_external["188416"]["repeats"]


def test_bad_input_is_one_clear_line(run: Callable[..., Result], tmp_path: Path) -> None:
    assert run("triage", "suggest").code == 2  # nothing named
    assert run("triage", "suggest", "1", "--format", "xml").code == 2
    assert run("triage", "clusters", "--min-size", "1").code == 2
    assert run("triage", "clusters", "--since", "yesterday").code == 2
    missing = run("triage", "suggest", "--file", tmp_path / "nope.csv")
    assert missing.code == 1 and missing.err.count("\n") == 1 and "nope.csv" in missing.err
    empty = json.loads(run("triage", "clusters", "--format", "json").out)
    assert empty == {"clusters": []}
