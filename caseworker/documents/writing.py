"""Writing a document to the file a clerk asked for: Word always, PDF through LibreOffice."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from caseworker.documents import pdf
from caseworker.documents.templates import check_template, render
from caseworker.domain.errors import InvalidInput

SUFFIXES = (".docx", ".pdf")
KIND_LABELS = {
    "assign": "交办函",
    "supervise": "督办函",
    "approval": "呈批单",
    "brief": "信访专报",
    "bulletin": "通报",
}


def check_output(output: Path) -> None:
    """Refuse a file that is neither .docx nor .pdf, and a PDF this machine cannot make,
    before anything is numbered or written."""
    suffix = output.suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidInput(
            f"{output.name}: write a .docx or a .pdf file",
            key="refused.document_suffix",
            file=output.name,
        )
    if suffix == ".pdf":
        reason = pdf.missing()
        if reason is not None:
            raise pdf.PdfUnavailable(
                reason, key="refused.pdf_unavailable", install=pdf.INSTALL_LINE
            )
    if not output.parent.exists():
        raise InvalidInput(
            f"folder {output.parent} does not exist",
            key="refused.document_folder",
            folder=str(output.parent),
        )


def default_output(kind: str, name: str, folder: Path | None = None) -> Path:
    """交办函-10231.docx and the like, in `folder` (default: the current folder)."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return (folder or Path.cwd()) / f"{KIND_LABELS[kind]}-{safe}.docx"


def write(
    kind: str,
    template: Path,
    context: Mapping[str, Any],
    output: Path,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Render `context` into `template` and write `output` (.docx, or .pdf by LibreOffice).

    The file appears whole or not at all: it is written beside the target and moved into place.
    """
    check_output(output)
    check_template(kind, template)
    with tempfile.TemporaryDirectory(prefix="caseworker-doc-", dir=output.parent) as work:
        docx = Path(work) / (output.stem + ".docx")
        if progress:
            progress("render")
        render(kind, template, context, docx)
        if output.suffix.lower() == ".pdf":
            if progress:
                progress("pdf")
            pdf.convert(docx, output)
        else:
            os.replace(docx, output)
    return output
