"""The functions every writer of caseworker goes through (caseworker.output_safety)."""

from __future__ import annotations

import json

import pytest

from caseworker.output_safety import (
    csv_cell,
    guard_formula,
    json_terminal_safe,
    read_own_cell,
    terminal_safe,
    text_id_cell,
    unguard_formula,
    xlsx_text,
)


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("clear\x1b[2Jscreen", "clear␛[2Jscreen"),
        ("\x1b]0;title\x07", "␛]0;title␇"),
        ("\x1b]52;c;ZXZpbA==\x07", "␛]52;c;ZXZpbA==␇"),
        ("\x1b]8;;http://x\x1b\\a\x1b]8;;\x1b\\", "␛]8;;http://x␛\\a␛]8;;␛\\"),
        ("back\x08space", "back␈space"),
        ("del\x7f", "del␡"),
        ("c1 \x9b31m \x85", "c1 <U+009B>31m <U+0085>"),
        ("bidi \u202egnp.exe", "bidi <U+202E>gnp.exe"),
        ("over\rwrite", "over␍write"),
        ("两行\r\n文字\t制表", "两行\n文字\t制表"),
        ("普通文字 [red]", "普通文字 [red]"),
    ],
)
def test_terminal_safe_shows_control_characters_as_visible_stand_ins(raw: str, shown: str) -> None:
    assert terminal_safe(raw) == shown


def test_terminal_safe_on_one_line_makes_newlines_and_tabs_spaces() -> None:
    assert terminal_safe("a\nb\tc\r\nd\x1b", one_line=True) == "a b c d␛"
    assert terminal_safe(None) == "" and terminal_safe(12) == "12"


def test_json_for_the_terminal_is_the_same_value() -> None:
    value = {"t": "a\x1b[2J\x9b\u202e\x7fz", "n": 1}
    encoded = json_terminal_safe(json.dumps(value, ensure_ascii=False))
    assert json.loads(encoded) == value
    assert not any(ch in encoded for ch in "\x1b\x9b\u202e\x7f")


TRICKY = [
    "=1+1",
    "'=1+1",
    "''=x",
    "'",
    "'plain",
    "plain",
    "+86 138",
    "-5",
    "@SUM(A1)",
    "\tx",
    "\rx",
    '=HYPERLINK("http://x")',
    "",
    "0012345",
    '="0012345"',
    '\'="0012"',
]


@pytest.mark.parametrize("value", TRICKY)
def test_the_formula_guard_is_undone_exactly(value: str) -> None:
    guarded = guard_formula(value)
    assert not guarded.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unguard_formula(guarded) == value
    cell = csv_cell(value)
    assert isinstance(cell, str)
    assert read_own_cell(cell) == value


def test_fragile_ids_take_the_text_form_and_read_back() -> None:
    assert text_id_cell("0012345") == '="0012345"'
    assert text_id_cell("123456789012345678") == '="123456789012345678"'
    assert text_id_cell("2025080212") == "2025080212"  # ten digits survive a spreadsheet
    assert csv_cell("0012345") == '="0012345"'
    assert csv_cell("0012345", text_id=False) == "0012345"
    assert read_own_cell('="0012345"') == "0012345"
    assert csv_cell(None) == "" and csv_cell(True) == "yes" and csv_cell(3) == 3


def test_xlsx_text_replaces_what_xml_cannot_hold() -> None:
    assert xlsx_text("a\x01b\x0bc\x1fd\ufffee") == "a\ufffdb\ufffdc\ufffdd\ufffde"
    assert xlsx_text("keeps\ttab\nnewline\rcr 中文") == "keeps\ttab\nnewline\rcr 中文"
