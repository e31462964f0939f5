"""Every command and option, fed bad values: one line on stderr, exit 1 or 2, nothing half-written.

The commands and their options are read from the Typer app itself, so a command added later is
fuzzed without anyone listing it here. Each option (and argument) in turn gets every value of
the corpus while the others keep a good value; the run goes through the real entry point
(`caseworker.cli.main`) in this process, which keeps the whole sweep to seconds.
"""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.main import get_command

from caseworker.cli import app, main

UNITS_CSV = (Path(__file__).resolve().parents[1] / "data" / "small_bureau_units.csv").read_text(
    encoding="utf-8"
)
SUPERVISOR = "王督查"

# Bad values of every kind a clerk, a script or a hostile file may hand a command.
CORPUS: tuple[str, ...] = (
    "",
    "x" * 5_000,
    "a\x00b",
    "\x1b[2J\x1b]0;owned\x07",
    "0001-01-01",
    "9999-12-31T23:59:59-14:00",
    "99999999999999999999",
    "-1",
    "1e309",
    "²",
    "١٢٣",
    "１２３",
)
# Text that was never UTF-8 (`--note $'\xff'`): Python hands such bytes over as lone surrogates.
NOT_UTF8 = "\udcff"


@dataclass(frozen=True)
class Run:
    argv: tuple[str, ...]
    code: int
    out: str
    err: str


def commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, click command) for every leaf command of the app."""

    def walk(group: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        for name, command in sorted(group.commands.items()):
            if hasattr(command, "commands"):
                yield from walk(command, (*path, name))
            else:
                yield (*path, name), command

    yield from walk(get_command(app), ())


@pytest.fixture
def bureau(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Run]:
    """A small bureau with two cases, and a runner of `caseworker --db … ARGS` in tmp_path."""
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "fuzz.sqlite")

    def run(*args: str, stdin: bytes = b"", root: tuple[str, ...] | None = None) -> Run:
        options = ("--db", db, "--clerk", SUPERVISOR, "--now", "2025-11-20T10:00")
        argv = (*(options if root is None else root), *args)
        monkeypatch.setattr(sys, "argv", ["caseworker", *argv])
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8"))
        out, err = io.StringIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdout", out)
        monkeypatch.setattr(sys, "stderr", err)
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        except Exception as exc:  # what would have reached the terminal as a traceback
            code = -1
            err.write(f"Traceback (escaped main): {type(exc).__name__}: {str(exc)[:200]}\n")
        else:  # pragma: no cover - main() always exits
            code = -1
        return Run(argv, code, out.getvalue(), err.getvalue())

    units = tmp_path / "units.csv"
    units.write_text(UNITS_CSV, encoding="utf-8")
    for args in (
        ("init",),
        ("units", "import", str(units)),
        ("clerks", "add", "李受理", "--role", "clerk"),
    ):
        assert run(*args).code == 0, args
    for number in (1, 2):
        doc = {
            "channel": "leader-board",
            "external_id": f"LB-{number}",
            "title": "路灯不亮",
            "body": "建设路路灯坏了两周。",
            "received_at": "2025-11-18T09:00:00+08:00",
        }
        made = run("case", "new", stdin=json.dumps(doc, ensure_ascii=False).encode())
        assert made.code == 0, made.err
    return run


# A good value for each option or argument, by its name; "x" for anything else.
GOOD: dict[str, str] = {
    "ref": "1",
    "into": "2",
    "repeat_of": "2",
    "unit": "C-HOUSING",
    "co_unit": "C-TRANSPORT",
    "role": "clerk",
    "name": "新同事",
    "value": "满意",
    "level": "催办",
    "outcome": "支持",
    "days": "10",
    "fmt": "json",
    "status": "received",
    "channel": "leader-board",
    "since": "2025-01-01",
    "until": "2025-12-31",
    "as_of": "2025-11-20T10:00",
    "at": "2025-11-20",
    "period": "month",
    "stage": "close",
    "recorded": "1",
    "limit": "5",
    "seed": "1",
    "cases": "1",
    "now": "2025-11-20T10:00",
    "scenario": "assign-urgent",
    "lang": "en",
    "encoding": "utf-8",
}
# Options whose good value depends on the command.
GOOD_IN: dict[tuple[str, str], str] = {
    ("export", "fmt"): "csv",
    ("supervise", "fmt"): "json",
    ("case show", "fmt"): "json",
    ("case history", "fmt"): "json",
    ("report overdue", "fmt"): "json",
    ("report rates", "fmt"): "json",
    ("import", "fmt"): "csv",
}


def good_value(command: str, name: str, tmp: Path) -> str:
    if (command, name) in GOOD_IN:
        return GOOD_IN[(command, name)]
    if name in ("path", "output"):
        return str(
            tmp / "out" / f"{command.replace(' ', '-')}.{'csv' if 'export' in command else 'json'}"
        )
    if name in ("paths", "file"):
        return str(tmp / "in.csv")
    if name == "db":
        return str(tmp / "demo.sqlite")
    if name in ("rejects", "mapping"):
        return str(tmp / "out" / f"{name}.csv")
    return GOOD.get(name, "x")


def argv_for(
    command: str, params: list[Any], tmp: Path, bad: tuple[str, str] | None = None
) -> list[str]:
    """The command line with every value good, except `bad` = (parameter name, value)."""
    arguments: list[str] = []
    options: list[str] = []
    for param in params:
        if getattr(param, "is_flag", False):
            continue
        value = good_value(command, param.name, tmp)
        if bad is not None and bad[0] == param.name:
            value = bad[1]
        elif not param.required and param.name not in _ALWAYS:
            continue
        if param.param_type_name == "argument":
            arguments.append(value)
        else:
            options += [param.opts[-1], value]
    if command == "demo":
        options.append("--no-open")
    return [*command.split(), *options, *(["--"] if arguments else []), *arguments]


# Optional options always given, so the command does its real work with them.
_ALWAYS = frozenset({"fmt", "output", "db", "cases"})


def fingerprint(db: Path) -> tuple[Any, ...]:
    """What a command may change: every table's row count and the cases' versions."""
    with sqlite3.connect(db) as connection:
        tables = [
            r[0]
            for r in connection.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                "AND name NOT LIKE 'search%' AND name != 'store_meta' ORDER BY name"
            )
        ]
        counts = tuple(
            connection.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables
        )
        versions = connection.execute("SELECT group_concat(version) FROM cases").fetchone()
    return counts, versions


def check(
    run: Run, before: tuple[Any, ...], after: tuple[Any, ...], written: list[Path]
) -> str | None:
    """Why the run misbehaved, or None."""
    if "Traceback" in run.err or "Traceback" in run.out:
        return f"traceback: {run.err[-300:]!r}"
    if run.code == 0:
        return None
    if run.code not in (1, 2, 3):
        return f"exit {run.code}"
    lines = run.err.strip().splitlines()
    if len(lines) != 1 or not lines[0].startswith("caseworker: "):
        return f"stderr is not one line: {run.err[:300]!r}"
    if run.code in (1, 2) and before != after:
        return f"a refused run changed the database: {before} -> {after}"
    if run.code in (1, 2) and written:
        return f"a refused run left files: {written}"
    return None


def test_every_option_refuses_bad_values_in_one_line(
    bureau: Callable[..., Run], tmp_path: Path
) -> None:
    (tmp_path / "in.csv").write_text(
        "留言编号,留言用户,留言主题,留言时间,留言详情\n9,A,路灯,2025-11-18 09:00:00,坏了\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    out.mkdir()
    db = tmp_path / "fuzz.sqlite"
    problems: list[str] = []
    runs = 0
    for path, command in commands():
        name = " ".join(path)
        params = [p for p in command.params if not getattr(p, "is_flag", False)]
        for param in params:
            for value in CORPUS:
                argv = argv_for(name, command.params, tmp_path, (param.name, value))
                for leftover in out.iterdir():
                    leftover.unlink()
                before = fingerprint(db)
                # The demo acts only as a clerk of its own bureau: it picks its first clerk.
                root = ("--db", str(db), "--now", "2025-11-20T10:00") if name == "demo" else None
                result = bureau(*argv, root=root)
                runs += 1
                written = sorted(out.iterdir())
                why = check(result, before, fingerprint(db), written)
                if why:
                    problems.append(f"{name} {param.name}={value[:30]!r}: {why}")
    assert runs > 500
    assert not problems, "\n".join(problems[:40]) + f"\n({len(problems)} in all)"


def test_root_options_refuse_bad_values(bureau: Callable[..., Run], tmp_path: Path) -> None:
    db = tmp_path / "fuzz.sqlite"
    good = {"--db": str(db), "--clerk": SUPERVISOR, "--now": "2025-11-20T10:00", "--lang": "en"}
    problems: list[str] = []
    for option in (*good, "--calendar", "--policy"):
        for value in CORPUS:
            root = tuple(x for k, v in {**good, option: value}.items() for x in (k, v))
            before = fingerprint(db)
            result = bureau("clerks", "list", root=root)
            why = check(result, before, fingerprint(db), [])
            if why:
                problems.append(f"{option}={value[:30]!r}: {why}")
    assert not problems, "\n".join(problems)


def test_text_that_is_not_utf8_is_refused_before_anything_runs(
    bureau: Callable[..., Run], tmp_path: Path
) -> None:
    db = tmp_path / "fuzz.sqlite"
    before = fingerprint(db)
    result = bureau("case", "accept", "1", "--note", NOT_UTF8)
    assert result.code == 2 and result.err.count("\n") == 1, result
    position = result.argv.index(NOT_UTF8) + 1
    assert f"argument {position} is not valid UTF-8" in result.err
    assert fingerprint(db) == before


@pytest.mark.parametrize(
    "stdin",
    [
        b"\xff\xfe{",
        b'{"channel": "leader-board", "title": "\xff", "received_at": "2025-11-18T09:00"}',
        b'{"channel": "leader-board", "title": "\\ud800", "received_at": "2025-11-18T09:00"}',
        b'{"channel": "leader-board", "title": "t", "received_at": "0001-01-01"}',
        b'{"channel": "leader-board", "title": "t", "received_at": "9999-12-31"}',
        b'{"channel": "leader-board", "title": "t", "received_at": 12345}',
        b'{"channel": "leader-board", "title": "t", "received_at": "2025-11-18", '
        b'"external_id": ["a"]}',
        b'{"a": ' + b"1" * 5000 + b"}",
        b"[" * 100_000,
        b"",
        b"\x00",
    ],
    ids=lambda b: repr(b[:24]),
)
def test_case_new_refuses_bad_stdin_in_one_line(
    bureau: Callable[..., Run], tmp_path: Path, stdin: bytes
) -> None:
    db = tmp_path / "fuzz.sqlite"
    before = fingerprint(db)
    result = bureau("case", "new", stdin=stdin)
    assert check(result, before, fingerprint(db), []) is None, result
    assert result.code in (1, 2), result


@pytest.mark.parametrize("ref", ["١٢٣", "１", "²", "#١", "1" * 25, "#" + "9" * 25])
def test_other_scripts_digits_never_address_a_case(bureau: Callable[..., Run], ref: str) -> None:
    """Case 1 exists; `١` is an Arabic-Indic one and must not reach it (int() would)."""
    result = bureau("case", "show", ref, "--format", "json")
    assert result.code == 1, result
    assert "unknown case" in result.err


def test_a_postgresql_server_that_cannot_be_reached_is_one_line(
    bureau: Callable[..., Run],
) -> None:
    """Host, database and the server's reason; PostgreSQL's own message spans two lines."""
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://clerk@127.0.0.1:1/bureau"
    result = bureau("clerks", "list", root=("--db", url))
    assert result.code == 1 and result.err.count("\n") == 1, result
    line = result.err
    assert "127.0.0.1:1/bureau" in line and "Connection refused" in line, line


HOSTILE_FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank.csv": b" \n\n",
    "nul.csv": b"a,b\n\x00\x00\x00\n",
    "binary.csv": bytes(range(256)) * 8,
    "utf16.csv": "留言编号,留言主题\n1,路灯\n".encode("utf-16"),
    "header-only.csv": "留言编号,留言用户,留言主题,留言时间,留言详情\n".encode(),
    "quote.csv": '留言编号,留言主题\n1,"路灯\n'.encode(),
    "bracket.json": b"[",
    "brace.jsonl": b"{",
    "deep.json": b"[" * 100_000 + b"]" * 100_000,
    "deep.jsonl": b'{"a": ' + b"[" * 100_000 + b"}\n",
    "digits.json": b"[" + b"9" * 5_000 + b"]",
    "scalar.json": b"[1, 2, 3]",
    "not-zip.xlsx": b"PK\x03\x04" + b"\x00" * 100,
    "xls.xls": b"\xd0\xcf\x11\xe0" + b"\x00" * 100,
}


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_import_of_a_hostile_file_is_one_line_and_loses_nothing(
    bureau: Callable[..., Run], tmp_path: Path, name: str
) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE_FILES[name])
    result = bureau("import", str(path), "--channel", "leader-board")
    assert "Traceback" not in result.err, result.err
    assert result.code in (0, 1, 3), result
    if result.code == 1:
        assert result.err.count("\n") == 1 and result.err.startswith("caseworker: "), result.err


@pytest.mark.parametrize(
    "args",
    [
        ("case", "history", "1", "--format", "xml"),
        ("case", "show", "1", "--format", "xml"),
        ("export", "x.csv", "--status", "bogus"),
        ("report", "rates", "--recorded", "99999999999999999999"),
        ("case", "extend", "1", "--days", "99999999999", "--reason", "x"),
    ],
    ids=["history-format", "show-format", "export-status", "recorded", "days"],
)
def test_an_unknown_choice_or_a_number_out_of_range_is_a_usage_error(
    bureau: Callable[..., Run], tmp_path: Path, args: tuple[str, ...]
) -> None:
    result = bureau(*args)
    assert result.code == 2 and result.err.count("\n") == 1, result
    assert result.out == "" and not (tmp_path / "x.csv").exists()


def test_case_new_reads_a_whole_number_as_an_external_id_but_never_as_a_time(
    bureau: Callable[..., Run],
) -> None:
    doc = {"channel": "leader-board", "title": "路灯", "received_at": "2025-11-18T09:00"}
    made = bureau("case", "new", stdin=json.dumps(doc | {"external_id": 10231}).encode())
    assert made.code == 0, made
    shown = bureau("case", "show", "ext:10231", "--format", "json")
    assert json.loads(shown.out)["external_id"] == "10231"
    late = bureau("case", "new", stdin=json.dumps(doc | {"received_at": 1763427600}).encode())
    assert late.code == 2 and "received_at must be text" in late.err
