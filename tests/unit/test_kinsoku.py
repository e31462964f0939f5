"""Wrapping citizens' messages for the case view: no line starts with closing punctuation or
ends with opening punctuation, every line fits, and no character is lost or invented."""

from __future__ import annotations

import itertools
import re

import pytest
from rich.cells import cell_len

from caseworker.widgets.kinsoku import NO_END, NO_START, wrap_cjk

# Messages as citizens write them (the demo's and the source articles' cases).
KINDERGARTEN = (
    "我家在大丰高堆片区，小区附近的学校规划修建多年（据说2019年就已规划），至今仍未动工。"
    "新楼盘入住了两千多户，孩子上幼儿园要跑到5公里外，一年学费34,000元！请问：“什么时候”"
    "能建好？谢谢……"
)
WAGES = (
    "尊敬的领导：您好！我在A3区某工地干活，老板拖欠工资九万元至今未付。"
    "我们多次讨要，对方都说“再等等”。《保障农民工工资支付条例》规定……请帮帮我们！！！"
)
MIXED = (
    "12345热线工单号 GD-2025-11-0031 反映：小区消防通道被占用（见附图），"
    "物业说 “不归我们管”。Email: resident@example.com，电话 138****5678。"
)
TEXTS = (KINDERGARTEN, WAGES, MIXED)


def dropped_spaces(text: str) -> str:
    return re.sub(r"[ \u3000]", "", text)


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("width", [8, 9, 10, 11, 12, 17, 20, 33, 40, 58, 80, 118])
def test_lines_fit_keep_every_character_and_respect_the_punctuation_rules(
    text: str, width: int
) -> None:
    lines = wrap_cjk(text, width)
    assert all(cell_len(line) <= width for line in lines), lines
    assert dropped_spaces("".join(lines)) == dropped_spaces(text)
    for before, after in itertools.pairwise(lines):
        assert after[:1] not in NO_START, (before, after)
        assert before[-1:] not in NO_END, (before, after)


def test_a_closing_mark_takes_the_character_before_it_to_the_next_line() -> None:
    # At 10 cells "年" would end a line and "，" start the next: "年" comes down with it.
    assert wrap_cjk("小区附近的学校修建多年，至今未动工。", 10) == [
        "小区附近的",
        "学校修建多",
        "年，至今未",
        "动工。",
    ]
    assert wrap_cjk("我们多次讨要，对方都说再等等。", 12) == [
        "我们多次讨",
        "要，对方都说",
        "再等等。",
    ]


def test_an_opening_mark_goes_down_to_the_text_it_opens() -> None:
    assert wrap_cjk("依照国务院的《保障农民工工资支付条例》", 12) == [
        "依照国务院的",
        "《保障农民工",
        "工资支付条",
        "例》",
    ]
    assert wrap_cjk("物业说“不归我们管”", 8) == ["物业说", "“不归我", "们管”"]


def test_runs_of_closing_marks_stay_together_and_with_their_word() -> None:
    assert wrap_cjk("请帮帮我们！！！谢谢", 10) == ["请帮帮我", "们！！！谢", "谢"]
    assert wrap_cjk("能建好？谢谢……", 8) == ["能建好？", "谢谢……"]


def test_latin_words_and_numbers_are_not_cut_when_they_fit() -> None:
    lines = wrap_cjk(MIXED, 20)
    assert any(line.startswith("GD-2025-11-0031") for line in lines)
    assert "“不归我们管”。Email:" in lines
    # Too wide with its comma: cut by characters, but never before the comma.
    assert lines[-3:] == ["resident@example.co", "m，电话 138****", "5678。"]
    assert wrap_cjk("学费34,000元一年", 8) == ["学费", "34,000元", "一年"]


def test_paragraphs_indentation_and_the_widest_words() -> None:
    assert wrap_cjk("第一段。\n\n　　第二段。", 20) == ["第一段。", "", "　　第二段。"]
    assert wrap_cjk("https://evil.example/very/long/path", 10) == [
        "https://",
        "evil.examp",
        "le/very/lo",
        "ng/path",
    ]
    assert wrap_cjk("", 10) == [""]
    assert wrap_cjk("一二三", 0) == ["一二三"]


def test_markup_and_emoji_are_plain_characters() -> None:
    text = "[bold red]紧急[/]：👨‍👩‍👧 一家人被困，𠮷野家旁"
    lines = wrap_cjk(text, 12)
    assert dropped_spaces("".join(lines)) == dropped_spaces(text)
    assert any("👨‍👩‍👧" in line for line in lines)  # a joined emoji is never split
