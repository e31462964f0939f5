"""The GB/T 9704-2012 page for python-docx: A4, the standard's margins, fonts and line grid.

Used by the template builder (make_templates.py) only: a bureau's edited template keeps
whatever layout it was given, and the documents are rendered from the templates as they are.
python-docx has no API for a few of the settings the standard needs (the line and character
grid, a paragraph's bottom border, the PAGE field, a font's alternative name), so those few
elements are set here through its oxml helpers.
"""

from __future__ import annotations

from typing import Any

from docx.document import Document as DocumentObject
from docx.enum.section import WD_SECTION
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

RED = RGBColor(0xE0, 0x00, 0x00)
TITLE_FONT = "方正小标宋简体"  # 2号 小标宋: the title and the issuing authority's mark
BODY_FONT = "仿宋_GB2312"  # 3号 仿宋: the body
BODY_FALLBACK = "仿宋"  # FangSong, where 仿宋_GB2312 is not installed
HEADING_FONT = "黑体"  # first-level headings (一、二、…)
PAGE_NUMBER_FONT = "宋体"  # 4号 page numbers
LATIN_FONT = "Times New Roman"
TITLE_SIZE = Pt(22)  # 2号
BODY_SIZE = Pt(16)  # 3号
PAGE_NUMBER_SIZE = Pt(14)  # 4号
MARK_SIZE = Pt(26)
# 版心 156 mm x 225 mm: 22 lines of 28 characters. 225 mm / 22 = 28.95 pt a line (579 twips),
# set as the section's line grid and as every body paragraph's exact spacing. 156 mm is
# 442.2 pt: 28 characters of 3号 (16 pt) need 448, so the body is condensed by 0.25 pt a
# character (15.75 pt: 28 fit in 441 pt, a 29th does not). A character grid would do the same
# in Word, but LibreOffice gives a character wider than its cell two cells.
LINE_PITCH_TWIPS = 579
LINE_PITCH = Pt(LINE_PITCH_TWIPS / 20)
CONDENSE_TWENTIETHS = -5  # w:spacing, in twentieths of a point: -0.25 pt
INDENT = Pt(32)  # two characters
# Word insists on the schema's order of a paragraph's and a run's properties: an element set
# here goes before the first of those that must follow it.
_AFTER_SNAP = (
    "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap",
    "w:jc", "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl",
    "w:divId", "w:cnfStyle", "w:rPr", "w:sectPr", "w:pPrChange",
)  # fmt: skip
_AFTER_BORDER = (
    "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
    "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd",
    "w:snapToGrid", *_AFTER_SNAP,
)  # fmt: skip
_AFTER_CHAR_SPACING = (
    "w:w", "w:kern", "w:position", "w:sz", "w:szCs", "w:highlight", "w:u", "w:effect",
    "w:bdr", "w:shd", "w:fitText", "w:vertAlign", "w:rtl", "w:cs", "w:em", "w:lang",
    "w:eastAsianLayout", "w:specVanish", "w:oMath",
)  # fmt: skip


def set_fonts(run_or_style: Any, east_asian: str, size: Pt | None = None) -> None:
    """Latin text in Times New Roman, Chinese in `east_asian` (Word reads w:eastAsia for it)."""
    font = run_or_style.font
    font.name = LATIN_FONT
    if size is not None:
        font.size = size
    element = run_or_style.element
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    fonts.set(qn("w:eastAsia"), east_asian)
    fonts.set(qn("w:hint"), "eastAsia")


def page_setup(document: DocumentObject) -> None:
    """A4, margins 37 / 35 / 28 / 26 mm, the 22 x 28 grid, the body style, page numbers."""
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(28)
    sect_pr = section._sectPr
    grid = sect_pr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sect_pr.append(grid)
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH_TWIPS))
    normal = document.styles["Normal"]
    set_fonts(normal, BODY_FONT, BODY_SIZE)
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(CONDENSE_TWENTIETHS))
    normal_rpr = normal.element.get_or_add_rPr()
    normal_rpr.insert_element_before(spacing, *_AFTER_CHAR_SPACING)
    # The text is Chinese: Word and LibreOffice then choose Chinese fonts and glyph forms.
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    normal_rpr.insert_element_before(lang, "w:eastAsianLayout", "w:specVanish", "w:oMath")
    fmt = normal.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.widow_control = False
    _page_numbers(document)
    _font_fallbacks(document)


def _page_number_paragraph(paragraph: Paragraph, align: WD_ALIGN_PARAGRAPH) -> None:
    """ "— 1 —" in 4号 宋体, a character in from the outer edge."""
    paragraph.alignment = align
    fmt = paragraph.paragraph_format
    if align == WD_ALIGN_PARAGRAPH.RIGHT:
        fmt.right_indent = Pt(14)
    else:
        fmt.left_indent = Pt(14)
    fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    for text in ("— ", None, " —"):
        run = paragraph.add_run()
        set_fonts(run, PAGE_NUMBER_FONT, PAGE_NUMBER_SIZE)
        if text is not None:
            run.text = text
            continue
        begin, instr, end = OxmlElement("w:fldChar"), OxmlElement("w:instrText"), None
        begin.set(qn("w:fldCharType"), "begin")
        instr.set(qn("xml:space"), "preserve")
        instr.text = " PAGE "
        separate = OxmlElement("w:fldChar")
        separate.set(qn("w:fldCharType"), "separate")
        shown = OxmlElement("w:t")
        shown.text = "1"
        end = OxmlElement("w:fldChar")
        end.set(qn("w:fldCharType"), "end")
        for element in (begin, instr, separate, shown, end):
            run._r.append(element)


def _page_numbers(document: DocumentObject) -> None:
    """Odd pages numbered at the bottom right, even pages at the bottom left (the outer corner)."""
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    _page_number_paragraph(section.footer.paragraphs[0], WD_ALIGN_PARAGRAPH.RIGHT)
    _page_number_paragraph(section.even_page_footer.paragraphs[0], WD_ALIGN_PARAGRAPH.LEFT)


def _font_fallbacks(document: DocumentObject) -> None:
    """Declare 仿宋_GB2312 with FangSong (仿宋) as its alternative in the font table, so Word
    uses FangSong on a machine without 仿宋_GB2312, as the standard's templates do."""
    for part in document.part.package.iter_parts():
        if str(part.partname) != "/word/fontTable.xml":
            continue
        table = parse_xml(part.blob)
        for name, alternative in ((BODY_FONT, BODY_FALLBACK), (TITLE_FONT, "宋体")):
            font = OxmlElement("w:font")
            font.set(qn("w:name"), name)
            alt = OxmlElement("w:altName")
            alt.set(qn("w:val"), alternative)
            charset = OxmlElement("w:charset")
            charset.set(qn("w:val"), "86")
            font.append(alt)
            font.append(charset)
            table.append(font)
        from lxml import etree

        part._blob = etree.tostring(table, xml_declaration=True, encoding="UTF-8", standalone=True)


def paragraph(
    document: Any,
    text: str = "",
    *,
    font: str = BODY_FONT,
    size: Pt = BODY_SIZE,
    align: WD_ALIGN_PARAGRAPH | None = None,
    indent: bool = False,
    bold: bool = False,
    color: RGBColor | None = None,
) -> Paragraph:
    """One paragraph of one run (a placeholder must sit in a single run for the template)."""
    para: Paragraph = document.add_paragraph()
    if align is not None:
        para.alignment = align
    if indent:
        para.paragraph_format.first_line_indent = INDENT
    if text:
        run = para.add_run(text)
        set_fonts(run, font, size)
        run.bold = bold
        if color is not None:
            run.font.color.rgb = color
    return para


def title(document: DocumentObject, text: str) -> Paragraph:
    """The title: 2号 方正小标宋简体, centred, with a blank line after it."""
    para = paragraph(
        document, text, font=TITLE_FONT, size=TITLE_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER
    )
    para.paragraph_format.line_spacing = Pt(36)
    paragraph(document)
    return para


def mark(document: DocumentObject, text: str) -> Paragraph:
    """The issuing authority's mark (发文机关标志) in red, centred, then the red separator line."""
    para = paragraph(
        document, text, font=TITLE_FONT, size=MARK_SIZE, align=WD_ALIGN_PARAGRAPH.CENTER, color=RED
    )
    para.paragraph_format.line_spacing = Pt(44)
    return para


def red_line(para: Paragraph) -> None:
    """A red rule under `para` (the 版头 separator): its bottom border."""
    ppr = para._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), "12")
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), str(RED))
    borders.append(bottom)
    ppr.insert_element_before(borders, *_AFTER_BORDER)


def off_grid(para: Paragraph) -> None:
    """Let a paragraph (a table cell's) keep its own line height instead of the body's grid,
    so a table row is one line of its own text, not a body line."""
    ppr = para._p.get_or_add_pPr()
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    ppr.insert_element_before(snap, *_AFTER_SNAP)


def heading(document: DocumentObject, text: str) -> Paragraph:
    """A first-level heading (一、…) in 3号 黑体, indented like the body."""
    return paragraph(document, text, font=HEADING_FONT, indent=True)


def grid_table(
    document: DocumentObject, rows: int, columns: int, widths_mm: list[float] | None = None
) -> Table:
    """A bordered table centred on the page (Word's "Table Grid" style), its columns
    `widths_mm` wide (the 156 mm line shared out), or shared equally."""
    table: Table = document.add_table(rows=rows, cols=columns)
    table.style = document.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    widths = widths_mm or [156 / columns] * columns
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)
    return table


def cell_text(
    table: Table, row: int, column: int, text: str, *, size: Pt = BODY_SIZE, font: str = BODY_FONT
) -> Paragraph:
    """Put one run of text into a cell (its first paragraph), single-spaced."""
    para: Paragraph = table.cell(row, column).paragraphs[0]
    para.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    off_grid(para)
    run = para.add_run(text)
    set_fonts(run, font, size)
    return para
