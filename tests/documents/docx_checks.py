"""Checks the document tests share."""

from __future__ import annotations

from pathlib import Path


def gb9704_page(path: Path) -> None:
    """A4, margins 37 / 35 / 28 / 26 mm, the 22-line grid, 3号 body, "— n —" page numbers."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Pt

    doc = Document(str(path))
    for section in doc.sections:
        page = [section.page_width, section.page_height]
        assert [length and round(length.mm, 1) for length in page] == [210, 297], path
        margins = [
            section.top_margin,
            section.bottom_margin,
            section.left_margin,
            section.right_margin,
        ]
        assert [length and round(length.mm, 1) for length in margins] == [37, 35, 28, 26], path
        assert section._sectPr.find(qn("w:docGrid")).get(qn("w:linePitch")) == "579"
        for footer in (section.footer, section.even_page_footer):
            assert footer.paragraphs[0].text == "— 1 —" and "PAGE" in footer._element.xml
    assert doc.styles["Normal"].font.size == Pt(16)
