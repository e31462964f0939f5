"""`caseworker import` and `imports list` speak the run's language: with --lang zh the summary
line, the refusals of files that cannot be read, the option checks and the list of imports are
in Chinese (the English lines are pinned by test_transfer_cli.py)."""

from __future__ import annotations

import csv
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


# `cw` and `real_rows` come from conftest.py.
Process = Callable[..., subprocess.CompletedProcess[str]]
Rows = Callable[[int], tuple[list[str], list[list[object]]]]


@pytest.fixture
def cw_options() -> tuple[str, ...]:
    """Every `cw` run, `init` included, in Chinese."""
    return ("--lang", "zh")


def chinese_only(text: str, *data: str | Path) -> bool:
    """No English word left once the data the line quotes (paths, options) is taken out."""
    for item in data:
        text = text.replace(str(item), "")
    formats = r"\b(?:caseworker|csv|jsonl|xlsx|xls|open311|toml|utf|gb18030)\b"
    text = re.sub(r"--[a-z-]+|" + formats, "", text, flags=re.IGNORECASE)
    return LATIN_WORD.search(text) is None


def refused(
    done: subprocess.CompletedProcess[str], code: int, fragment: str, *data: str | Path
) -> None:
    assert done.returncode == code, done
    assert done.stderr.startswith("caseworker: ") and done.stderr.count("\n") == 1, done.stderr
    assert fragment in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert chinese_only(done.stderr.removeprefix("caseworker: "), *data), done.stderr


def test_import_reports_in_chinese(cw: Process, tmp_path: Path, real_rows: Rows) -> None:
    header, rows = real_rows(8)
    rows[2][3] = "not a date"
    rows[5][2] = rows[5][4] = ""
    changed = list(rows[0])
    changed[4] = "改过的正文"
    path = tmp_path / "留言.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows([header, *rows, changed])
    done = cw("import", path)
    assert done.returncode == 3, done.stderr
    rejects = tmp_path / "留言.rejects.csv"
    assert done.stdout == (
        f"留言.csv：读取 9 / 导入 6 / 重复 0 / 冲突 1 / 拒收 2；其中 6 件到达时已超期；"
        f"1 件留言时间早于 10 年前，请核对日期；拒收行见 {rejects}\n"
    )
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        reasons = [r["reject_reason"] for r in csv.DictReader(handle)]
    assert reasons == [
        "留言时间：'not a date' 不是时间",
        "既无标题也无正文",
        f"冲突：前面一行已使用编号 leader-board/{rows[0][0]}，内容不同；未覆盖",
    ]
    dry = cw("import", path, "--dry-run")
    assert dry.stdout.startswith("留言.csv：读取 9 / 可导入 0 / 重复 6 / 冲突 1 / 拒收 2")

    listed = cw("imports", "list")
    assert listed.returncode == 0, listed.stderr
    head, first = listed.stdout.splitlines()[:2]
    assert head.split() == [
        "编号",
        "时间",
        "文件",
        "状态",
        "读取",
        "导入",
        "重复",
        "冲突",
        "拒收",
        "操作人",
        "SHA-256",
    ]
    assert "留言.csv" in first and " 完成 " in first


def test_files_that_cannot_be_read_are_refused_in_chinese(
    cw: Process, tmp_path: Path, real_rows: Rows
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    refused(cw("import", empty), 1, "empty.csv 是空文件", empty.name)

    notes = tmp_path / "notes.txt"
    notes.write_text("随便写的一段话\n没有表头\n", encoding="utf-8")
    refused(
        cw("import", notes),
        1,
        "notes.txt：没有适合这些列的映射（随便写的一段话）",
        notes.name,
        "--mapping",
        "文件.toml",
        "data/mappings/",
    )

    refused(cw("import", tmp_path / "missing.csv"), 1, "没有这个文件：", tmp_path / "missing.csv")
    binary = tmp_path / "table.xls"
    binary.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 64)
    refused(cw("import", binary), 1, "table.xls 是旧版二进制 .xls 工作簿", binary.name)

    mapping = tmp_path / "bad.toml"
    mapping.write_text('[fields]\ntitle = "主题"\n', encoding="utf-8")
    header, rows = real_rows(2)
    good = tmp_path / "good.csv"
    with good.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    refused(
        cw("import", good, "--mapping", mapping),
        1,
        "映射文件 bad.toml 须映射 received_at 以及 title 或 body",
        mapping.name,
        "received_at",
        "title",
        "body",
    )


def test_import_options_are_checked_in_chinese(
    cw: Process, tmp_path: Path, real_rows: Rows
) -> None:
    header, rows = real_rows(2)
    good = tmp_path / "good.csv"
    with good.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([header, *rows])
    refused(cw("import", good, "--format", "pdf"), 2, "--format 只能是 csv、jsonl、xlsx 或 open311")
    refused(
        cw("import", good, good, "--rejects", tmp_path / "r.csv"),
        2,
        "导入多个文件时，--rejects 须是文件夹",
    )
    unknown = cw("import", good, "--channel", "pigeon")
    refused(unknown, 1, "未知渠道 pigeon；可用：", "pigeon", *_channels())
    refused(cw("import", good, "--encoding", "klingon"), 1, "未知编码 klingon", "klingon")


def _channels() -> list[str]:
    import tomllib

    policy = tomllib.loads((ROOT / "data" / "policy.toml").read_text(encoding="utf-8"))
    channels = policy.get("channels", {})
    names = list(channels) if isinstance(channels, dict) else [c["code"] for c in channels]
    return sorted(names, key=len, reverse=True)
