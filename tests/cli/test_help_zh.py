"""`--help` speaks the run's language: under zh (`--lang zh`, CASEWORKER_LANG=zh or a Chinese
locale) the Chinese of zh.toml's [cli_help], Typer's panel titles and its `--help` line included;
otherwise the English written in the code, exactly as before."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from typer.core import TyperCommand, TyperGroup
from typer.main import get_command

from caseworker.cli import app
from caseworker.commands.help_text import PREFIX, help_keys
from caseworker.i18n.catalog import Catalog

Run = Callable[..., Any]
LABELS = {"zh": ("选项", "显示本帮助并退出。"), "en": ("Options", "Show this message and exit.")}


@pytest.fixture
def run(cli: Run, monkeypatch: pytest.MonkeyPatch) -> Run:
    """`cli` (conftest.py) with no language from the environment, and wide enough that no help
    text is wrapped."""
    for name in ("CASEWORKER_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return cli


def tree() -> TyperGroup:
    """The Click command tree as `caseworker` builds it, in English."""
    root = get_command(app)
    assert isinstance(root, TyperGroup)
    return root


def shown(path: str) -> dict[str, list[str]]:
    """The help `PATH --help` shows in each language, paragraph by paragraph: the command's own,
    its options' and arguments', and the first paragraph of each subcommand's."""
    zh = Catalog("zh")
    depth = path.count(" ") + 1
    texts: dict[str, list[str]] = {"en": [], "zh": []}
    for key, holder in help_keys(tree()).items():
        if key != path and not (key.startswith(path + " ") and key.count(" ") == depth):
            continue
        last = 1 if key != path and isinstance(holder, TyperCommand | TyperGroup) else None
        texts["en"] += str(holder.help).split("\n\n")[:last]
        texts["zh"] += zh.t(PREFIX + key).split("\n\n")[:last]
    return texts


def assert_help(out: str, path: str, language: str) -> None:
    """`out` is `PATH --help` in `language`, and nothing of it in the other."""
    texts = shown(path)
    other = "en" if language == "zh" else "zh"
    assert texts[language]
    for text in texts[language]:
        assert text in out, text
    for text in set(texts[other]) - set(texts[language]):  # 满意 / 基本满意 / 不满意 is both
        assert text not in out, text
    for label, unsaid in zip(LABELS[language], LABELS[other], strict=True):
        assert label in out and unsaid not in out


def test_every_help_text_has_its_chinese_and_no_chinese_is_left_over() -> None:
    keys = set(help_keys(tree()))
    zh = Catalog("zh")
    chinese = {k.removeprefix(PREFIX) for k in zh.names() if k.startswith(PREFIX)}
    assert sorted(keys - chinese) == [], "help text without a Chinese entry in zh.toml"
    assert sorted(chinese - keys) == [], "zh.toml [cli_help] names no such command or option"
    for key in chinese:
        text = zh.t(PREFIX + key)
        assert re.search(r"[\u4e00-\u9fff]", text) and "[" not in text, key


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("--lang", "zh", "--help"), "caseworker"),
        (("--lang=zh", "--help"), "caseworker"),
        (("--lang", "zh", "import", "--help"), "caseworker import"),
        (("--clerk", "李受理", "--lang", "zh", "import", "--help"), "caseworker import"),
        (("--lang", "zh", "case", "--help"), "caseworker case"),
        (("--lang", "zh", "case", "reject", "--help"), "caseworker case reject"),
        (("--lang", "zh", "report", "overdue", "--help"), "caseworker report overdue"),
        (("--lang", "zh", "imports", "list", "--help"), "caseworker imports list"),
    ],
)
def test_help_is_chinese_under_lang_zh(run: Run, args: tuple[str, ...], path: str) -> None:
    done = run(*args)
    assert done.code == 0, done.err
    assert_help(done.out, path, "zh")


def test_panels_are_titled_in_chinese(run: Run) -> None:
    out = run("--lang", "zh", "--help").out
    assert "命令" in out and "Commands" not in out
    out = run("--lang", "zh", "import", "--help").out
    assert "参数" in out and "Arguments" not in out


@pytest.mark.parametrize(
    ("args", "path"),
    [
        (("--lang", "en", "--help"), "caseworker"),
        (("--lang", "en", "import", "--help"), "caseworker import"),
        (("import", "--help"), "caseworker import"),  # no language anywhere: English
        (("--lang", "en", "case", "--help"), "caseworker case"),
        # `train check --lang` is the exercise's language, not the run's.
        (("train", "check", "--lang", "zh", "--help"), "caseworker train check"),
    ],
)
def test_help_is_english_otherwise(run: Run, args: tuple[str, ...], path: str) -> None:
    done = run(*args)
    assert done.code == 0, done.err
    assert_help(done.out, path, "en")


def test_help_follows_caseworker_lang_and_the_locale(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert_help(run("import", "--help").out, "caseworker import", "zh")
    monkeypatch.setenv("CASEWORKER_LANG", "en")  # the variable outranks the locale
    assert_help(run("import", "--help").out, "caseworker import", "en")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.setenv("CASEWORKER_LANG", "zh")
    assert_help(run("--help").out, "caseworker", "zh")
    assert_help(run("import", "--help").out, "caseworker import", "zh")
    assert_help(run("--lang", "en", "import", "--help").out, "caseworker import", "en")


def test_no_chinese_help_is_cut_off_in_80_columns(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panels wrap only at spaces and cut a longer run of Chinese with "…"."""
    monkeypatch.setenv("COLUMNS", "80")
    for path, holder in help_keys(tree()).items():
        if isinstance(holder, TyperCommand | TyperGroup):
            out = run("--lang", "zh", *path.split()[1:], "--help").out
            assert "…" not in out, out
