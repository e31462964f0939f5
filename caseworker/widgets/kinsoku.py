"""Wrapping Chinese text for a terminal the way Chinese is set in print (避头尾, kinsoku).

A line may not start with closing punctuation (，。、；：？！）」』】》… and the like) nor end with
opening punctuation (（「『【《…). When a break would fall there, the character before the
closing mark moves down with it, and an opening mark moves down to the text it opens: every line
still fits the width, which a terminal cannot exceed. Latin words and numbers stay whole when
they fit on a line, as in any wrapping. Pure text in, lines out: no markup is read or made.
"""

from __future__ import annotations

import re

from rich.cells import cell_len, get_character_cell_size

# May not start a line: closing brackets and quotes, stops, commas, the ellipsis and dash halves,
# iteration marks and small kana, in full and half width.
NO_START = frozenset(
    "，。、；：？！）」』】》〉〕〗〙〛｝］’”・…‥—～ー々〻ゝゞヽヾぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
    ",.;:?!)]}%％℃°‰·"
)
# May not end a line: opening brackets and quotes.
NO_END = frozenset("（「『【《〈〔〖〘〚｛［‘“([{$￥＄")

ZWJ = "\u200d"  # joins emoji into one picture (👨‍👩‍👧)

# A run of characters that wraps as one word (Latin letters, digits and their punctuation),
# or one character of anything else; whitespace runs apart.
_WORD = r"[0-9A-Za-z\u00c0-\u024f]+"
_TOKEN = re.compile(rf"[ \t\u3000]+|{_WORD}(?:[-'.,:/@_%+]{_WORD})*|.", re.DOTALL)


def wrap_cjk(text: str, width: int) -> list[str]:
    """`text` broken into lines of at most `width` cells, each paragraph (newline) apart.

    Spaces at a break are dropped; a word or a run of punctuation wider than a whole line is cut
    by characters, as nothing else fits.
    """
    if width < 1:
        return text.split("\n")
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(_wrap_paragraph(paragraph, width))
    return lines


def _units(paragraph: str) -> list[str]:
    """The paragraph as pieces that must stay on one line: a closing mark is glued to what it
    closes and an opening mark to what it opens."""
    units: list[str] = []
    pending = ""  # opening marks waiting for the text they open
    for token in _TOKEN.findall(paragraph):
        if units and (cell_len(token) == 0 or units[-1].endswith(ZWJ)):
            units[-1] += token  # a joiner, a combining or variation mark, or what it joins
        elif token.isspace():
            if pending:
                units.append(pending)
                pending = ""
            units.append(token)
        elif token[0] in NO_START and units and not units[-1].isspace() and not pending:
            units[-1] += token
        elif token[-1] in NO_END:
            pending += token
        else:
            units.append(pending + token)
            pending = ""
    if pending:
        units.append(pending)
    return units


def _wrap_paragraph(paragraph: str, width: int) -> list[str]:
    lines: list[str] = []
    line, used = "", 0
    for unit in _units(paragraph):
        size = cell_len(unit)
        if unit.isspace():
            if line and used + size <= width:
                line, used = line + unit, used + size
            elif line:  # the break falls on the space: it goes
                lines.append(line.rstrip())
                line, used = "", 0
            elif not lines:  # indentation at the start of the paragraph stays
                line, used = unit[:width], min(size, width)
            continue
        if used + size <= width:
            line, used = line + unit, used + size
            continue
        if line:
            lines.append(line.rstrip())
            line, used = "", 0
        while size > width:  # nothing else fits: cut by characters
            head, head_size = _fit(unit, width)
            lines.append(head)
            unit, size = unit[len(head) :], size - head_size
        line, used = unit, size
    lines.append(line.rstrip() if lines else line)
    return lines


def _fit(unit: str, width: int) -> tuple[str, int]:
    """The longest start of `unit` that fits `width` cells (at least one character), cut back
    further so that the rest does not start with a closing mark nor the start end with an
    opening one, where that leaves anything."""
    used, cut = 0, len(unit)
    for index, char in enumerate(unit):
        size = get_character_cell_size(char)
        if used + size > width and index:
            cut = index
            break
        used += size
    else:
        return unit, used
    while cut > 1 and (unit[cut] in NO_START or unit[cut - 1] in NO_END):
        cut -= 1
    head = unit[:cut]
    return head, cell_len(head)
