"""Word to PDF through LibreOffice, only where it can render Chinese; never a broken PDF."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from caseworker.domain.errors import DomainError

INSTALL_LINE = "apt-get install libreoffice-writer fonts-noto-cjk"
TIMEOUT_SECONDS = 180
SYSTEM_FONTCONFIG = Path("/etc/fonts/fonts.conf")
# The standard's fonts, and what to draw each with where it is not installed: its usual
# Windows name first, then the Noto CJK family of the same style (serif for 仿宋 and 小标宋).
FONT_ALIASES = {
    "仿宋_GB2312": ("FangSong", "仿宋", "Noto Serif CJK SC"),
    "方正小标宋简体": ("Noto Serif CJK SC",),
    "黑体": ("SimHei", "Noto Sans CJK SC"),
    "宋体": ("SimSun", "Noto Serif CJK SC"),
}


class PdfUnavailable(DomainError):
    """LibreOffice or a Chinese font is missing, or the conversion failed; nothing written."""


def soffice() -> str | None:
    """The LibreOffice command, if installed."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def has_chinese_font() -> bool:
    """Whether fontconfig knows a font covering Chinese (what LibreOffice will draw with)."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return False
    try:
        found = subprocess.run(
            [fc_list, ":lang=zh", "family"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return found.returncode == 0 and bool(found.stdout.strip())


def missing() -> str | None:
    """Why a PDF cannot be made here (with the install line), or None when it can."""
    if soffice() is None:
        return f"LibreOffice is not installed (Debian: {INSTALL_LINE})"
    if not has_chinese_font():
        return f"no Chinese font is installed for LibreOffice (Debian: {INSTALL_LINE})"
    return None


def convert(docx: Path, pdf: Path) -> None:
    """Convert `docx` to `pdf`: the PDF appears whole or not at all.

    LibreOffice runs with a profile of its own in a temporary folder, so two conversions at
    once (or a LibreOffice the clerk has open) do not lock each other out.
    """
    reason = missing()
    if reason is not None:
        raise PdfUnavailable(reason, key="refused.pdf_unavailable", install=INSTALL_LINE)
    command = soffice()
    assert command is not None
    with tempfile.TemporaryDirectory(prefix="caseworker-pdf-") as work:
        folder = Path(work)
        profile = (folder / "profile").as_uri()
        try:
            done = subprocess.run(
                [
                    command,
                    f"-env:UserInstallation={profile}",
                    "--headless",
                    "--norestore",
                    "--convert-to",
                    "pdf",
                    "--outdir",
                    str(folder),
                    str(docx),
                ],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                env={**os.environ, "HOME": str(folder), **_font_environment(folder)},
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise PdfUnavailable(
                f"LibreOffice failed to convert {docx.name}: {exc}",
                key="refused.pdf_failed",
                file=docx.name,
            ) from None
        made = folder / (docx.stem + ".pdf")
        if done.returncode != 0 or not _whole_pdf(made):
            raise PdfUnavailable(
                f"LibreOffice failed to convert {docx.name}: {done.stderr.strip()[:200]}",
                key="refused.pdf_failed",
                file=docx.name,
            )
        partial = pdf.with_name(f".{pdf.name}.part")
        shutil.copyfile(made, partial)
        os.replace(partial, pdf)


def _font_environment(folder: Path) -> dict[str, str]:
    """fontconfig told what the standard's font names stand for on this machine (FONT_ALIASES),
    on top of the system's own configuration; nothing where there is no fontconfig."""
    if not SYSTEM_FONTCONFIG.is_file():
        return {}
    aliases = "".join(
        f'<alias binding="same"><family>{name}</family><prefer>'
        + "".join(f"<family>{family}</family>" for family in families)
        + "</prefer></alias>"
        for name, families in FONT_ALIASES.items()
    )
    conf = folder / "fonts.conf"
    conf.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f'<include ignore_missing="yes">{SYSTEM_FONTCONFIG}</include>{aliases}</fontconfig>',
        encoding="utf-8",
    )
    return {"FONTCONFIG_FILE": str(conf)}


def _whole_pdf(path: Path) -> bool:
    """A file that begins as a PDF and ends with its end-of-file mark."""
    if not path.is_file() or path.stat().st_size < 64:
        return False
    with path.open("rb") as handle:
        head = handle.read(5)
        handle.seek(-1024, os.SEEK_END)
        tail = handle.read()
    return head == b"%PDF-" and b"%%EOF" in tail
