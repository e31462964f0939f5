"""The demo, training and export commands speak the run's language: refusals, option checks and
what they report, in Chinese with --lang zh (English stays as the other tests pin it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

NOW = "2026-11-23T09:30"


# `cli` (conftest.py): the real entry point in this process, no traceback allowed.
Run = Callable[..., Any]
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def words(text: str, *data: str | Path) -> str:
    """`text` without the data it quotes (paths, option names, commands), to look for English."""
    for item in data:
        text = text.replace(str(item), "")
    return re.sub(r"--[a-z-]+|`[^`]*`|\b(?:caseworker|jsonl|csv|xlsx|zh|en|ISO)\b", "", text)


def refused_in_chinese(result: Any, code: int, fragment: str, *data: str | Path) -> None:
    assert result.code == code, result
    assert result.err.startswith("caseworker: ") and result.err.count("\n") == 1, result.err
    assert fragment in result.err, result.err
    assert LATIN_WORD.search(words(result.err.removeprefix("caseworker: "), *data)) is None


@pytest.fixture
def demo(cli: Run, tmp_path: Path) -> Path:
    target = tmp_path / "demo.sqlite"
    built = cli("--lang", "zh", "demo", "--db", target, "--cases", "40", "--now", NOW, "--no-open")
    assert built.code == 0, built.err
    assert built.err.startswith("正在建立演示机构：40 件案件，时间截至 2026-11-23T09:30+08:00")
    assert built.out.startswith(f"演示库已就绪：{target}，40 件案件、")
    assert "条办理记录" in built.out and "每秒" in built.out
    return target


def test_demo_reports_and_refuses_in_chinese(cli: Run, demo: Path, real_bureau: Path) -> None:
    again = cli("--lang", "zh", "demo", "--db", demo, "--no-open")
    assert again.code == 0, again.err
    assert (
        again.out
        == f"演示库在 {demo}（种子 1，40 件案件，时间截至 2026-11-23T09:30+08:00）；加 --reset 可重建\n"  # noqa: E501
    )
    assert again.err.startswith("以演示工作人员 ") and "--clerk" in again.err

    refused_in_chinese(
        cli("--lang", "zh", "demo", "--cases", "0", "--no-open"),
        2,
        "--cases 须在 1 到 1,000,000 之间",
    )
    refused_in_chinese(
        cli("--lang", "zh", "demo", "--now", "明天", "--no-open"),
        2,
        "--now 的值 明天 不是 ISO 8601 时间",
    )
    refused_in_chinese(
        cli("--lang", "zh", "--now", "明天", "report", "overdue"),
        2,
        "--now 的值 明天 不是 ISO 8601 时间",
    )

    real = real_bureau
    refused_in_chinese(
        cli("--lang", "zh", "--db", real, "demo", "--no-open"),
        1,
        "存有真实案件，不是演示库；演示数据不会写入其中",
        real,
    )
    # Raised by the demo service itself, then said by the command's guard in the run's language.
    refused_in_chinese(
        cli("--lang", "zh", "--db", real, "demo", "--no-open", "--reset"),
        1,
        "存有机构自己的数据，并非演示生成",
        real,
    )
    refused_in_chinese(
        cli("--lang", "zh", "--db", real, "train", "check", "reject-duplicate"),
        1,
        "此数据库没有练习 reject-duplicate 所需的案件",
        "reject-duplicate",
    )


def test_train_check_speaks_its_language(cli: Run, demo: Path, tmp_path: Path) -> None:
    check = cli("train", "check", "reject-duplicate", "--db", demo, "--lang", "zh")
    assert check.code == 1
    assert "在演示库上操作：caseworker --db" in check.out and "已完成 1/3 步" in check.out
    statuses = [s for s in re.findall(r"\[([^\]\s]+)\]", check.out) if s != "x"]
    assert statuses and all(re.search(r"[\u4e00-\u9fff]", s) for s in statuses), statuses

    # The exercise's --lang governs its refusals too, whatever the run's language.
    unknown = cli("--lang", "en", "train", "check", "no-such", "--db", demo, "--lang", "zh")
    refused_in_chinese(
        unknown,
        1,
        "没有名为 no-such 的练习；现有：assign-urgent、",
        "no-such",
        "assign-urgent",
        "draft-publish",
        "reject-duplicate",
        "request-extension",
    )
    english = cli("train", "check", "no-such", "--db", demo)
    assert english.code == 1 and "unknown scenario 'no-such'; known: assign-urgent, " in english.err

    refused_in_chinese(
        cli("--lang", "zh", "train", "check", "reject-duplicate", "--lang", "fr", "--db", demo),
        2,
        "--lang 须为 zh 或 en",
    )
    missing = tmp_path / "nowhere.sqlite"
    refused_in_chinese(
        cli("train", "check", "reject-duplicate", "--lang", "zh", "--db", missing),
        1,
        "处没有演示库；请先运行 `caseworker demo`",
        missing,
    )


def test_export_reports_and_refuses_in_chinese(cli: Run, demo: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.csv"
    done = cli("--lang", "zh", "--db", demo, "export", out)
    assert done.code == 0, done.err
    assert done.out == f"已导出 40 件案件到 {out}（csv）\n"
    assert done.err.startswith(f"注意：{out} 含有个人信息") and "--redact" in done.err
    masked = cli("--lang", "zh", "--db", demo, "export", tmp_path / "out.jsonl", "--redact")
    assert masked.code == 0 and masked.err == ""

    refused_in_chinese(
        cli("--lang", "zh", "--db", demo, "export", tmp_path / "out.pdf"),
        2,
        "请用 --format 指定 jsonl、csv 或 xlsx",
    )
    refused_in_chinese(
        cli("--lang", "zh", "--db", demo, "export", out, "--status", "lost"),
        2,
        "--status 只能是 accepted、",
        "lost",
        "accepted",
        "acknowledged",
        "assigned",
        "closed",
        "merged",
        "received",
        "rejected",
        "replied",
    )
    refused_in_chinese(
        cli("--lang", "zh", "--db", demo, "export", out, "--since", "昨天"),
        2,
        "--since 的值 昨天 不是 ISO 8601 时间",
    )
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    unwritable = cli("--lang", "zh", "--db", demo, "export", blocked / "out.csv")
    assert unwritable.code == 1 and unwritable.err.startswith(f"caseworker: 无法写入 {blocked}")
