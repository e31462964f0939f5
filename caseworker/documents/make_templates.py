"""Build the shipped document templates in data/templates/ (run again to regenerate them).

    python -m caseworker.documents.make_templates [FOLDER]

Each template is laid out to GB/T 9704-2012 (layout.py) with docxtpl placeholders; a bureau
copies one, edits it in Word and passes it with --template. The placeholders each kind may
use are listed in templates.PLACEHOLDERS and data/templates/README.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.table import WD_ROW_HEIGHT_RULE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt

from caseworker.documents import layout
from caseworker.documents.templates import PLACEHOLDERS, TEMPLATE_DIR, TEMPLATE_FILES

TABLE_SIZE = Pt(10.5)  # 五号 in tables, so a ranking's columns fit the 156 mm line


def _new() -> DocumentObject:
    document = Document()
    layout.page_setup(document)
    core = document.core_properties
    core.author = core.last_modified_by = "caseworker"
    core.title = core.comments = ""
    return document


def _head(document: DocumentObject, mark: str, number_align: WD_ALIGN_PARAGRAPH) -> None:
    """版头: the red mark, the document number, then the red separator line."""
    layout.mark(document, mark)
    number = layout.paragraph(document, "{{ doc_number }}", align=number_align)
    layout.red_line(number)
    layout.paragraph(document)


def _signature(document: DocumentObject) -> None:
    """落款: the bureau and the date, right-aligned four characters in from the edge."""
    layout.paragraph(document)
    for text in ("{{ bureau_name }}", "{{ doc_date }}"):
        para = layout.paragraph(document, text, align=WD_ALIGN_PARAGRAPH.RIGHT)
        para.paragraph_format.right_indent = Pt(64)
    layout.paragraph(
        document, "（联系人：{{ bureau_contact }}；地址：{{ bureau_address }}）", indent=True
    )


def _loop(document: DocumentObject, head: str, body: str, *, indent: bool = True) -> None:
    """A paragraph repeated per row: `{%p for … %}`, the body, `{%p endfor %}`."""
    layout.paragraph(document, "{%p " + head + " %}")
    layout.paragraph(document, body, indent=indent)
    layout.paragraph(document, "{%p endfor %}")


def _row_table(
    document: DocumentObject,
    heads: Sequence[str],
    rows: str,
    cells: Sequence[str],
    widths_mm: list[float],
) -> None:
    """A table: a head row, then one row per item of `rows` (`{%tr for r in rows %}`)."""
    table = layout.grid_table(document, 4, len(heads), widths_mm)
    for column, head in enumerate(heads):
        layout.cell_text(table, 0, column, head, size=TABLE_SIZE, font=layout.HEADING_FONT)
        layout.cell_text(table, 2, column, cells[column], size=TABLE_SIZE)
    layout.cell_text(table, 1, 0, "{%tr for r in " + rows + " %}", size=TABLE_SIZE)
    layout.cell_text(table, 3, 0, "{%tr endfor %}", size=TABLE_SIZE)


def _case_lines(document: DocumentObject) -> None:
    layout.paragraph(
        document,
        "{{ case_received }}，网民{{ case_author }}通过{{ case_channel }}反映"
        "“{{ case_title }}”（留言编号：{{ case_ref }}）。留言摘要：{{ case_excerpt }}",
        indent=True,
    )


def _attachment(document: DocumentObject) -> None:
    """附件: the message in full, on a page of its own."""
    para = layout.paragraph(document, "附件", font=layout.HEADING_FONT)
    para.paragraph_format.page_break_before = True
    layout.title(document, "留言全文")
    layout.paragraph(
        document,
        "留言编号：{{ case_ref }}　渠道：{{ case_channel }}　留言人：{{ case_author }}"
        "　时间：{{ case_received_time }}",
        indent=True,
    )
    layout.paragraph(document, "标题：{{ case_title }}", indent=True)
    _loop(document, "for p in case_paragraphs", "{{ p }}")


def assign_letter() -> DocumentObject:
    """交办函: to the lead unit, co-units 抄送; the message, the deadlines, the full text."""
    document = _new()
    _head(document, "{{ bureau_name }}", WD_ALIGN_PARAGRAPH.RIGHT)
    layout.title(document, "关于交办网民留言“{{ case_title }}”的函")
    layout.paragraph(document, "{{ lead_unit }}：")
    _case_lines(document)
    layout.paragraph(
        document,
        "现将该留言交由你单位牵头办理（协办单位：{{ co_units }}）。交办意见：{{ assign_note }}",
        indent=True,
    )
    layout.paragraph(
        document,
        "请认真核实，依法依规办理，于{{ reply_due }}前向网民作出首次答复，"
        "{{ close_due }}前办结，并将办理结果报送我局。",
        indent=True,
    )
    layout.paragraph(document)
    layout.paragraph(document, "附件：留言全文", indent=True)
    _signature(document)
    layout.paragraph(document, "抄送：{{ co_units }}")
    _attachment(document)
    return document


def supervise_letter() -> DocumentObject:
    """督办函: to a late unit; how late, the supervision level and the date to answer by."""
    document = _new()
    _head(document, "{{ bureau_name }}", WD_ALIGN_PARAGRAPH.RIGHT)
    layout.title(document, "关于督办网民留言“{{ case_title }}”办理情况的函")
    layout.paragraph(document, "{{ lead_unit }}：")
    _case_lines(document)
    layout.paragraph(
        document,
        "该件{{ late_stage }}期限为{{ late_due }}，截至{{ doc_date }}已超期"
        "{{ overdue_workdays }}个工作日（{{ overdue_days }}日）。根据有关规定，现对该件予以"
        "{{ supervision_level }}。{{ supervision_note }}",
        indent=True,
    )
    layout.paragraph(
        document,
        "请你单位高度重视，抓紧办理，于{{ answer_by }}前将办理情况书面报送我局。",
        indent=True,
    )
    _signature(document)
    layout.paragraph(document, "抄送：{{ co_units }}")
    return document


def approval_form() -> DocumentObject:
    """呈批单: the form that takes a message to a leader, with the 领导批示 box."""
    document = _new()
    layout.mark(document, "{{ bureau_name }}呈批单")
    number = layout.paragraph(
        document, "编号：{{ doc_number }}　　{{ doc_date }}", align=WD_ALIGN_PARAGRAPH.RIGHT
    )
    layout.red_line(number)
    rows = [
        ("来源", "{{ case_channel }}　致{{ case_addressee }}"),
        ("留言人", "{{ case_author }}"),
        ("留言时间", "{{ case_received_time }}"),
        ("标题", "{{ case_title }}"),
        ("内容摘要", "{{ case_excerpt }}"),
        ("拟办意见", "{{ proposal }}"),
        ("承办单位", "{{ lead_unit }}"),
        ("领导批示", ""),
    ]
    table = layout.grid_table(document, len(rows), 2, [30, 126])
    for n, (label, value) in enumerate(rows):
        layout.cell_text(table, n, 0, label, font=layout.HEADING_FONT)
        if value:
            layout.cell_text(table, n, 1, value)
    box = table.cell(len(rows) - 1, 1)
    box.paragraphs[0].add_run("{%p for i in instructions %}")
    # The loop's own paragraphs go when rendered; the empty one after them stays, so the box
    # holds a paragraph even with no instruction (Word refuses a cell without one).
    for text in ("{{ i.leader }}（{{ i.date }}）：{{ i.text }}", "{%p endfor %}", ""):
        para = box.add_paragraph()
        if text:
            layout.set_fonts(para.add_run(text), layout.BODY_FONT, layout.BODY_SIZE)
    table.rows[len(rows) - 1].height = Mm(80)
    table.rows[len(rows) - 1].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    return document


def brief_document() -> DocumentObject:
    """信访专报: a common issue for leaders, with room for the writer's analysis."""
    document = _new()
    _head(document, "信访专报", WD_ALIGN_PARAGRAPH.CENTER)
    layout.title(document, "关于“{{ issue_title }}”问题的专报")
    layout.paragraph(
        document,
        "{{ period_from }}至{{ period_to }}，{{ bureau_name }}共收到反映该问题的网民留言"
        "{{ message_count }}件，涉及网民{{ citizen_count }}人；涉及地区：{{ regions }}；"
        "承办单位：{{ units }}。",
        indent=True,
    )
    layout.heading(document, "一、群众反映的主要内容")
    _loop(
        document,
        "for r in representatives",
        "{{ r.received }}，网民{{ r.author }}反映“{{ r.title }}”：{{ r.excerpt }}",
    )
    layout.heading(document, "二、办理和答复情况")
    layout.paragraph(document, "已公开答复{{ reply_count }}件，摘录如下：", indent=True)
    _loop(document, "for r in replies", "{{ r.unit }}于{{ r.date }}答复：{{ r.text }}")
    layout.paragraph(document, "网民评价：{{ ratings }}。", indent=True)
    layout.heading(document, "三、分析和建议")
    layout.paragraph(document, "（在此填写对该问题的分析和工作建议。）", indent=True)
    _signature(document)
    para = layout.paragraph(document, "附件", font=layout.HEADING_FONT)
    para.paragraph_format.page_break_before = True
    layout.title(document, "留言清单")
    _row_table(
        document,
        ["序号", "留言编号", "时间", "留言人", "标题", "承办单位", "状态"],
        "cases",
        [
            "{{ r.n }}",
            "{{ r.ref }}",
            "{{ r.received }}",
            "{{ r.author }}",
            "{{ r.title }}",
            "{{ r.unit }}",
            "{{ r.status }}",
        ],
        [10, 30, 22, 24, 36, 20, 14],
    )
    return document


def bulletin_document() -> DocumentObject:
    """周调度 / 月通报 / 季考核: intake, ranking, overdue units, intake per capita, urgent lane."""
    document = _new()
    _head(document, "{{ bureau_name }}", WD_ALIGN_PARAGRAPH.CENTER)
    layout.title(document, "{{ period_label }}网上群众工作{{ period_name }}")
    layout.paragraph(
        document,
        "{{ period_from }}至{{ period_to }}，共收到网民留言{{ intake_total }}件。数据统计截至"
        "{{ as_of }}，统计口径{{ rule_version }}，排名已存档（第{{ ranking_number }}号）。",
        indent=True,
    )
    layout.heading(document, "一、各渠道留言情况")
    _row_table(
        document,
        ["渠道", "件数", "占比"],
        "channels",
        ["{{ r.name }}", "{{ r.count }}", "{{ r.share }}"],
        [76, 40, 40],
    )
    layout.paragraph(document, "{{ chart_channels }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    layout.heading(document, "二、承办单位排名")
    layout.paragraph(
        document,
        "按按期办结率、满意率、及时受理率依次排序，括号内为分子/分母。",
        indent=True,
    )
    _row_table(
        document,
        ["名次", "单位", "按期办结率", "满意率", "及时受理率"],
        "ranking",
        [
            "{{ r.rank }}",
            "{{ r.unit }}",
            "{{ r.on_time }}",
            "{{ r.satisfaction }}",
            "{{ r.timely }}",
        ],
        [10, 44, 34, 34, 34],
    )
    layout.paragraph(document, "{{ chart_ranking }}", align=WD_ALIGN_PARAGRAPH.CENTER)
    layout.heading(document, "三、超期未办情况")
    layout.paragraph(
        document, "截至统计时点，超期件共{{ overdue_total }}件，涉及以下单位：", indent=True
    )
    _row_table(
        document,
        ["单位", "超期件数", "超期最久的留言"],
        "overdue_units",
        ["{{ r.unit }}", "{{ r.count }}", "{{ r.worst }}"],
        [42, 18, 96],
    )
    layout.heading(document, "四、万人留言量")
    _row_table(
        document,
        ["地区", "人口", "留言件数", "每万人"],
        "per_capita",
        ["{{ r.region }}", "{{ r.population }}", "{{ r.intake }}", "{{ r.per10k }}"],
        [56, 36, 32, 32],
    )
    layout.heading(document, "五、绿色通道交办用时")
    layout.paragraph(document, "从收到留言到交办的分钟数。", indent=True)
    _row_table(
        document,
        ["单位", "件数", "中位数（分钟）", "90%分位（分钟）"],
        "urgent",
        ["{{ r.unit }}", "{{ r.count }}", "{{ r.median }}", "{{ r.p90 }}"],
        [64, 20, 36, 36],
    )
    _signature(document)
    return document


BUILDERS: dict[str, Callable[[], DocumentObject]] = {
    "assign": assign_letter,
    "supervise": supervise_letter,
    "approval": approval_form,
    "brief": brief_document,
    "bulletin": bulletin_document,
}


README_INTRO = """# Document templates

The bureau's documents are Word files filled from these templates (docxtpl: Jinja placeholders
inside a .docx). To change a letter's wording or layout, copy its template, edit the copy in Word
or WPS, and pass it with `--template FILE.docx`; the shipped files stay as they are.

- A placeholder is written `{{ name }}` and must keep its braces in one piece of text (type it in
  one go; do not format half of it). Rows repeat with `{%tr for r in ROWS %}` … `{%tr endfor %}`
  in table rows of their own, paragraphs with `{%p for … %}` … `{%p endfor %}`.
- A template using a name not listed below for its kind is refused, naming the placeholder and
  the file. Values are inserted as text: a citizen's `{{ }}` or `{% %}` prints as written.
- The shipped templates are laid out to GB/T 9704-2012 (A4; margins 37 / 35 / 28 / 26 mm; title
  2号 方正小标宋简体; body 3号 仿宋_GB2312, FangSong where missing; 22 lines of 28 characters; the
  issuing authority's mark and separator line in red; page numbers "— 1 —" in 4号 at the outer
  corner). They are built by `python -m caseworker.documents.make_templates` (run it to
  regenerate them after changing the builder).

"""
COMMANDS = {
    "assign": "交办函 (`caseworker letter assign CASE`)",
    "supervise": "督办函 (`caseworker letter supervise CASE`)",
    "approval": "呈批单 (`caseworker letter approval CASE [--proposal TEXT]`)",
    "brief": "信访专报 (`caseworker brief CASE`)",
    "bulletin": "周调度 / 月通报 / 季考核 (`caseworker report bulletin --period PERIOD`)",
}


def readme() -> str:
    """The folder's README: how to edit a template, and every kind's placeholders."""
    out = [README_INTRO.rstrip("\n")]
    for kind, fields in PLACEHOLDERS.items():
        out.append(f"\n## {TEMPLATE_FILES[kind]}: {COMMANDS[kind]}\n")
        out.append("| placeholder | value |\n|---|---|")
        out += [f"| `{name}` | {text} |" for name, text in fields.items()]
    return "\n".join(out) + "\n"


def build_all(folder: Path = TEMPLATE_DIR) -> list[Path]:
    """Write every template, and the README listing their placeholders, into `folder`;
    returns the templates written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, build in BUILDERS.items():
        path = folder / TEMPLATE_FILES[kind]
        build().save(str(path))
        written.append(path)
    (folder / "README.md").write_text(readme(), encoding="utf-8")
    return written


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE_DIR
    for written in build_all(target):
        print(written)
