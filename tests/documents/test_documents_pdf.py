"""Every document through the real command line, as Word and as PDF: the PDF's text read back
with pdftotext and its Chinese fonts embedded (pdffonts); without LibreOffice, exit 1 with the
install line and nothing written or numbered.

Runs on the hand-built October 2025 bureau of tests/services/test_reports.py: case C1 is
assigned to 甲区教育局 and late for its first reply on 10-21, and C6 is a repeat of it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from caseworker.cli import main
from caseworker.documents import pdf

SERVICES_TEST = Path(__file__).resolve().parents[1] / "services" / "test_reports.py"
NOW = "2025-10-21T10:00"
CJK_FONT = re.compile(r"CJK|Han|Hei|Song|Fang|Kai|Ming|WenQuanYi", re.IGNORECASE)


@pytest.fixture(scope="module")
def october_file(tmp_path_factory: pytest.TempPathFactory, bind_clerks: Callable[..., str]) -> Path:
    import importlib.util

    spec = importlib.util.spec_from_file_location("report_fixture_pdf", SERVICES_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    path = tmp_path_factory.mktemp("october") / "bureau.sqlite"
    module.build_bureau(path)
    bind_clerks(path)
    return path


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


@pytest.fixture
def cw(
    october_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[..., Result]:
    """`caseworker --db COPY --clerk 督查员 --now NOW --lang en ARGS…` through the real entry
    point (refusals become one line and an exit code there)."""
    db = tmp_path / "bureau.sqlite"
    shutil.copy(october_file, db)
    root = ["--db", str(db), "--clerk", "督查员", "--now", NOW, "--lang", "en"]

    def run(*args: str | Path) -> Result:
        monkeypatch.setattr(sys, "argv", ["caseworker", *root, *map(str, args)])
        capsys.readouterr()
        try:
            main()
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
        out, err = capsys.readouterr()
        assert "Traceback" not in err
        return Result(code, out, err)

    return run


DOCUMENTS = [
    (("letter", "assign", "C1"), "江信交〔2025〕1号", "关于交办网民留言"),
    (("letter", "supervise", "C1"), "江信督〔2025〕1号", "已超期"),
    (
        ("letter", "approval", "C1", "--proposal", "拟请甲区教育局办理"),
        "江信呈〔2025〕1号",
        "拟请甲区教育局办理",
    ),
    (("brief", "C6"), "江信专〔2025〕1号", "问题的专报"),
    (
        ("report", "bulletin", "--period", "month", "--at", "2025-10-15"),
        "江信通〔2025〕1号",
        "2025年10月网上群众工作月通报",
    ),
]


NO_PDF = pdf.missing() or (
    None
    if shutil.which("pdftotext") and shutil.which("pdffonts")
    else "poppler-utils (pdftotext, pdffonts) is not installed"
)


@pytest.mark.skipif(NO_PDF is not None, reason=f"no PDF checks here: {NO_PDF}")
@pytest.mark.parametrize(("args", "number", "words"), DOCUMENTS, ids=lambda v: str(v)[:24])
def test_each_document_as_pdf_has_its_text_and_embedded_chinese_fonts(
    cw: Callable[..., Result], tmp_path: Path, args: tuple[str, ...], number: str, words: str
) -> None:
    out = tmp_path / "document.pdf"
    result = cw(*args, "-o", out)
    assert result.code == 0, result.err
    assert number in result.out
    text = subprocess.run(
        ["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", number) in flat and words in flat
    assert "— 1 —" in text or "—1—" in flat  # the page number
    fonts = subprocess.run(
        ["pdffonts", str(out)], capture_output=True, text=True, check=True
    ).stdout.splitlines()[2:]
    chinese = [line for line in fonts if CJK_FONT.search(line.split()[0])]
    assert chinese, fonts
    for line in chinese:  # name type [encoding] emb sub uni: embedded
        assert line.split()[-5] == "yes", line


def test_without_libreoffice_a_pdf_is_refused_with_the_install_line(
    cw: Callable[..., Result], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    out = tmp_path / "letter.pdf"
    result = cw("letter", "assign", "C1", "-o", out)
    assert result.code == 1
    assert "libreoffice-writer fonts-noto-cjk" in result.err and result.err.count("\n") == 1
    assert not out.exists() and list(tmp_path.glob("*.pdf")) == []
    monkeypatch.undo()
    docx = cw("letter", "assign", "C1", "-o", tmp_path / "letter.docx")
    assert docx.code == 0 and "江信交〔2025〕1号" in docx.out  # no number was used up


def test_command_line_refusals(cw: Callable[..., Result], tmp_path: Path) -> None:
    unassigned = cw("letter", "assign", "C2", "-o", tmp_path / "x.docx")
    assert unassigned.code == 1 and "has no lead unit" in unassigned.err
    wrong = cw("letter", "assign", "C1", "-o", tmp_path / "x.txt")
    assert wrong.code == 2 and ".docx or a .pdf" in wrong.err
    zh = cw("--lang", "zh", "letter", "assign", "C2", "-o", tmp_path / "x.docx")
    assert zh.code == 1 and "尚无牵头单位" in zh.err
    assert not (tmp_path / "x.docx").exists()
