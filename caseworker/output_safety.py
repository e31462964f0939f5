"""What caseworker writes can neither drive the terminal that shows it nor run in a spreadsheet.

Citizen text is data. Printed to a terminal, an escape sequence in a title could clear the
screen, retitle the window, write the clipboard (OSC 52) or hide a link (OSC 8); opened in a
spreadsheet, a cell starting with `=` could run a formula. Every writer of caseworker goes
through one of the functions here:

- `terminal_safe`: control characters shown as visible stand-ins, for every line the command
  line prints (the console draws through `widgets.safe`, which strips them instead);
- `guard_formula` / `unguard_formula`: the leading `'` of a CSV cell, and its exact undoing
  when caseworker reads its own file back;
- `xlsx_text`: the characters an XLSX file cannot hold, replaced (never fatal);
- `text_id_cell` / `read_text_id`: long or zero-padded numbers kept as text in CSV (`="0012"`).

No imports beyond the standard library: the commands, the services and the console share it.
"""

from __future__ import annotations

import re

# ---------------------------------------------------------------- the terminal

# Bidirectional overrides and isolates: they reorder what a reader sees (a file name shown
# backwards, a title hiding its end), so they are shown, not obeyed.
BIDI_CONTROLS = (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))


def _stand_in(code: int) -> str:
    """The visible form of one control character: its Unicode control picture (␛ for ESC,
    ␇ for BEL, ␈ for backspace, ␍ for a lone carriage return, ␡ for DEL) when it has one,
    otherwise its code point in angle brackets (<U+009B> for the 8-bit CSI)."""
    if code < 0x20:
        return chr(0x2400 + code)
    if code == 0x7F:
        return "\u2421"
    return f"<U+{code:04X}>"


_TERMINAL = {code: _stand_in(code) for code in range(0x20) if code not in (0x09, 0x0A)}
_TERMINAL |= {code: _stand_in(code) for code in (0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS)}
_ONE_LINE = _TERMINAL | {0x09: " ", 0x0A: " "}
_UNSAFE = {
    one_line: re.compile("[" + "".join(re.escape(chr(c)) for c in sorted(table)) + "]")
    for one_line, table in ((False, _TERMINAL), (True, _ONE_LINE))
}


def terminal_safe(text: object, *, one_line: bool = False) -> str:
    """`text` as the command line may print it: no control character reaches the terminal.

    ESC (and with it every CSI, OSC and other escape sequence), BEL, backspace, carriage return
    and the other C0 controls, DEL, the C1 controls (U+0080-U+009F) and the bidirectional
    overrides are replaced by visible stand-ins (see `_stand_in`): `\\x1b[2J` prints as `␛[2J`,
    harmless and still telling. Newlines and tabs stay, unless `one_line` makes them spaces
    (for table cells). A CRLF line end reads as a newline.
    """
    value = "" if text is None else str(text)
    # The common case: nothing to replace (a report of many lines is not copied for its
    # newlines, which the terminal may have).
    if _UNSAFE[one_line].search(value) is None:
        return value
    value = value.replace("\r\n", "\n")
    return value.translate(_ONE_LINE if one_line else _TERMINAL)


# Characters JSON leaves raw but a terminal may obey: DEL, the C1 controls, bidi overrides.
_JSON_RAW = re.compile(
    "[" + "".join(chr(c) for c in (0x7F, *range(0x80, 0xA0), *BIDI_CONTROLS)) + "]"
)


def json_terminal_safe(encoded: str) -> str:
    """JSON text with the characters `json.dumps(ensure_ascii=False)` leaves raw but a terminal
    would obey written as `\\uXXXX` escapes: the same JSON value, safe to print.

    (`json.dumps` escapes the C0 controls itself; these characters can only occur inside strings,
    where the escape means the same character.)
    """
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


# ---------------------------------------------------------------- spreadsheets

# A cell starting with one of these may be read as a formula (tab and CR: Excel skips them).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
GUARD = "'"


def guard_formula(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula: a leading `'` before a
    formula start, and before a leading `'` too, so that `unguard_formula` undoes it exactly
    (`'=x` is written `''=x` and reads back `'=x`)."""
    return GUARD + value if value.startswith((*FORMULA_START, GUARD)) else value


def unguard_formula(value: str) -> str:
    """The cell as it was before `guard_formula`: one leading `'` taken away.

    Only for files caseworker wrote itself, where every leading `'` is a guard.
    """
    return value[1:] if value.startswith(GUARD) else value


# Every character XML 1.0 cannot hold (so neither can XLSX): the C0 controls but tab, newline
# and CR, the surrogates, and U+FFFE/U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
XLSX_REPLACEMENT = "\ufffd"


def xlsx_text(value: str) -> str:
    """`value` as an XLSX cell can hold it: each character XML cannot carry becomes U+FFFD."""
    return _XML_ILLEGAL.sub(XLSX_REPLACEMENT, value)


# A number a spreadsheet would mangle: a leading zero it drops, or more digits than the 15 it
# keeps (an 18-digit id turns into 1.23457E+17).
_FRAGILE_NUMBER = re.compile(r"0[0-9]+|[0-9]{12,}")
_TEXT_ID = re.compile(r'="([0-9]+)"')


def is_fragile_number(value: str) -> bool:
    """Whether a spreadsheet opening `value` would change it (leading zeros, long digits)."""
    return _FRAGILE_NUMBER.fullmatch(value) is not None


def text_id_cell(value: str) -> str:
    """An id cell for CSV: `="0012345"` when a spreadsheet would read it as a number and change
    it (Excel and LibreOffice show the text as is), the value itself otherwise."""
    return f'="{value}"' if is_fragile_number(value) else value


def read_text_id(value: str) -> str:
    """The id a `text_id_cell` stands for (`="0012345"` reads `0012345`); others unchanged."""
    match = _TEXT_ID.fullmatch(value)
    return match.group(1) if match else value


def read_own_cell(value: str) -> str:
    """A cell of a CSV caseworker wrote, as it was meant: the `="…"` id form read, otherwise
    the formula guard undone (the inverse of `text_id_cell` and `guard_formula`)."""
    text_id = read_text_id(value)
    return text_id if text_id != value else unguard_formula(value)


def csv_cell(value: object, *, text_id: bool = True) -> object:
    """A value as a CSV cell of ours: numbers stay numbers, True/False read yes/no, text is
    guarded against formulas, and (with `text_id`) a number-like text a spreadsheet would
    change takes the `="…"` form."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return text_id_cell(value) if text_id and is_fragile_number(value) else guard_formula(value)
    return value
