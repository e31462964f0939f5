"""交办函, 督办函 and 呈批单 from the case record: layout, fields, numbers, history, refusals.

Each document is written through the service the command line and the console share, then
opened with python-docx and read back: the GB/T 9704 page, the fields against the stored case,
the 发文字号 sequence and the issuing events, on SQLite and PostgreSQL.

Times are Shanghai wall-clock times in November 2025 (no holiday near): a leader-board case
received Monday 11-03 has its first reply due 10 工作日 later, Monday 11-17.
"""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from caseworker.documents.templates import TemplateRefused, template_path
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import IllegalTransition, NotPermitted
from caseworker.services import cases as svc
from caseworker.services.documents import ISSUE_ACTION, chinese_date, write_letter

HOUSING, TRANSPORT = "市住房和城乡建设局", "市交通运输局"
HOSTILE_TITLE = "楼道灯坏了{{ bureau_name }}{% if true %}是{% endif %}<b>&amp;"
BODY = "楼道灯坏了两个月，联系电话13812345678。\n物业一直不修\x07，请帮忙协调。"


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


def document_text(path: Path) -> str:
    """Every paragraph of the body, its tables and footers, one per line."""
    doc = Document(str(path))
    lines = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        for row in table.rows:
            lines += [cell.text for cell in row.cells]
    for section in doc.sections:
        for footer in (section.footer, section.even_page_footer):
            lines += [p.text for p in footer.paragraphs]
    return "\n".join(lines)


def assigned_case(bureau: Any, *, title: str = HOSTILE_TITLE, co_unit: bool = True) -> int:
    case_id = bureau.receive(
        sh(2025, 11, 3, 9, 12),
        title=title,
        body=BODY,
        author="张三 13812345678",
        addressee="市长",
        external_id=f"LB-{title[:2]}",
    )
    bureau.act(bureau.CLERK, sh(2025, 11, 3, 9, 30), svc.accept_case, case_id)
    bureau.act(
        bureau.CLERK,
        sh(2025, 11, 3, 10),
        svc.assign_case,
        case_id,
        lead="C-HOUSING",
        co_units=["C-TRANSPORT"] if co_unit else [],
        note="请核实并维修",
    )
    return int(case_id)


def letter(
    bureau: Any, kind: str, case_id: int, out: Path, *, clerk: str | None = None, at: datetime
) -> Any:
    return write_letter(
        bureau.store,
        bureau.rules,
        clerk=clerk or bureau.CLERK,
        now=at,
        kind=kind,
        ref=case_id,
        output=out,
    )


def test_the_assignment_letter_follows_gb9704_and_the_case_record(
    bureau: Any, tmp_path: Path
) -> None:
    case_id = assigned_case(bureau)
    out = tmp_path / "交办函.docx"
    done = letter(bureau, "assign", case_id, out, at=sh(2025, 11, 5, 10))
    assert done.number == "江信交〔2025〕1号" and not done.reissued and done.path == str(out)

    doc = Document(str(out))
    section = doc.sections[0]
    # Word stores lengths in twips (1/1440 inch): millimetres to the tenth are exact enough.
    page = [section.page_width, section.page_height]
    margins = [section.top_margin, section.bottom_margin, section.left_margin, section.right_margin]
    assert [length and round(length.mm, 1) for length in page] == [210, 297]  # A4
    assert [length and round(length.mm, 1) for length in margins] == [37, 35, 28, 26]
    grid = section._sectPr.find(qn("w:docGrid"))
    assert grid.get(qn("w:linePitch")) == "579"  # 22 lines in the 225 mm type area
    normal = doc.styles["Normal"]
    assert normal.font.size == Pt(16)
    assert normal.element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"
    assert normal.element.rPr.find(qn("w:spacing")).get(qn("w:val")) == "-5"  # 28 a line
    mark = doc.paragraphs[0]
    assert mark.text == "江南省信访局" and str(mark.runs[0].font.color.rgb) == "E00000"
    number = doc.paragraphs[1]
    assert number.text == done.number
    paragraph = number._p.pPr
    assert paragraph is not None
    border = paragraph.find(qn("w:pBdr")).find(qn("w:bottom"))
    assert border.get(qn("w:color")) == "E00000"  # the red separator line
    title = doc.paragraphs[3]
    assert title.runs[0].font.size == Pt(22)
    run = title.runs[0]._r.rPr
    assert run is not None
    fonts = run.find(qn("w:rFonts"))
    assert fonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    assert doc.settings.odd_and_even_pages_header_footer
    for footer, align in ((section.footer, "right"), (section.even_page_footer, "left")):
        para = footer.paragraphs[0]
        assert para.text == "— 1 —" and str(para.alignment).lower().startswith(align)
        assert para.runs[0].font.size == Pt(14)
        assert "PAGE" in para._p.xml

    text = document_text(out)
    row = bureau.case(case_id)
    # The citizen's title prints as written: braces, tags and entities are text.
    assert f"关于交办网民留言“{HOSTILE_TITLE}”的函" in text
    assert f"{HOUSING}：" in text and f"抄送：{TRANSPORT}" in text
    assert f"于{chinese_date(row.reply_due_at)}前向网民作出首次答复" in text
    assert f"{chinese_date(row.close_due_at)}前办结" in text
    assert chinese_date(row.reply_due_at) == "2025年11月17日"
    assert "2025年11月3日，网民张三 138****5678通过领导留言板反映" in text
    assert "13812345678" not in text  # the author and the body are masked like --redact
    assert "交办意见：请核实并维修" in text and "2025年11月5日" in text
    assert "物业一直不修，请帮忙协调。" in text  # the full text in the appendix, control char gone


def test_numbers_run_by_kind_and_year_and_a_reprint_keeps_its_number(
    bureau: Any, tmp_path: Path
) -> None:
    first, second = assigned_case(bureau, title="甲"), assigned_case(bureau, title="乙")
    at = sh(2025, 11, 20, 10)
    assert letter(bureau, "assign", first, tmp_path / "a.docx", at=at).number == "江信交〔2025〕1号"
    again = letter(bureau, "assign", first, tmp_path / "b.docx", at=sh(2025, 11, 21, 9))
    assert again.number == "江信交〔2025〕1号" and again.reissued
    assert (
        letter(bureau, "assign", second, tmp_path / "c.docx", at=at).number == "江信交〔2025〕2号"
    )
    # Another kind has its own sequence; a new year starts again at 1.
    assert (
        letter(bureau, "approval", first, tmp_path / "d.docx", at=at).number == "江信呈〔2025〕1号"
    )
    later = letter(bureau, "approval", second, tmp_path / "e.docx", at=sh(2026, 1, 5, 9))
    assert later.number == "江信呈〔2026〕1号"
    # The reprint's file carries the number it was given.
    assert "江信交〔2025〕1号" in document_text(tmp_path / "b.docx")

    issued = [e for e in bureau.events(first) if e.action == ISSUE_ACTION]
    assert [(e.actor, e.reason) for e in issued] == [
        (bureau.CLERK, "江信交〔2025〕1号"),
        (bureau.CLERK, "江信交〔2025〕1号"),
        (bureau.CLERK, "江信呈〔2025〕1号"),
    ]
    assert json.loads(issued[1].detail)["reissued"] is True
    assert issued[0].effective_at == at
    # Each issuing is sealed on its case's audit chain like any other event.
    from caseworker.store.audit import verify

    with bureau.store.engine.connect() as connection:
        assert verify(connection).ok


def test_refusals_name_the_reason_and_write_nothing(bureau: Any, tmp_path: Path) -> None:
    at = sh(2025, 11, 5, 10)
    unassigned = bureau.receive(sh(2025, 11, 3, 9), title="未交办")
    bureau.act(bureau.CLERK, sh(2025, 11, 3, 9, 30), svc.accept_case, unassigned)
    with pytest.raises(IllegalTransition) as refused:
        letter(bureau, "assign", unassigned, tmp_path / "x.docx", at=at)
    assert refused.value.key == "refused.letter_no_lead" and "no lead unit" in str(refused.value)
    case_id = assigned_case(bureau)
    for clerk in (bureau.OTHER_HANDLER, bureau.CO_HANDLER):  # another unit; a co-unit only
        with pytest.raises(NotPermitted):
            letter(bureau, "assign", case_id, tmp_path / "x.docx", clerk=clerk, at=at)
    with pytest.raises(IllegalTransition) as not_late:
        letter(bureau, "supervise", case_id, tmp_path / "x.docx", at=at)
    assert not_late.value.key == "refused.letter_not_overdue"
    assert not (tmp_path / "x.docx").exists()
    assert not [e for e in bureau.events(case_id) if e.action == ISSUE_ACTION]
    # The lead unit's own handler may print it.
    mine = letter(bureau, "assign", case_id, tmp_path / "y.docx", clerk=bureau.HANDLER, at=at)
    assert mine.number == "江信交〔2025〕1号"


def test_a_template_with_an_unknown_placeholder_is_refused(bureau: Any, tmp_path: Path) -> None:
    edited = tmp_path / "our-assign.docx"
    shutil.copy(template_path("assign"), edited)
    doc = Document(str(edited))
    doc.add_paragraph("{{ leader_phone }}")
    doc.save(str(edited))
    case_id = assigned_case(bureau)
    with pytest.raises(TemplateRefused) as refused:
        write_letter(
            bureau.store,
            bureau.rules,
            clerk=bureau.CLERK,
            now=sh(2025, 11, 5),
            kind="assign",
            ref=case_id,
            output=tmp_path / "out.docx",
            template=edited,
        )
    assert "leader_phone" in str(refused.value) and str(edited) in str(refused.value)
    broken = tmp_path / "broken.docx"
    doc = Document(str(template_path("assign")))
    doc.add_paragraph("{% if %}")
    doc.save(str(broken))
    with pytest.raises(TemplateRefused, match="broken placeholder code"):
        write_letter(
            bureau.store,
            bureau.rules,
            clerk=bureau.CLERK,
            now=sh(2025, 11, 5),
            kind="assign",
            ref=case_id,
            output=tmp_path / "out.docx",
            template=broken,
        )
    assert not (tmp_path / "out.docx").exists()
    assert not [e for e in bureau.events(case_id) if e.action == ISSUE_ACTION]


def test_the_supervision_letter_says_how_late_and_at_which_level(
    bureau: Any, tmp_path: Path
) -> None:
    case_id = assigned_case(bureau)
    # First reply due Mon 11-17; on Fri 11-21 it is 4 working days late (18, 19, 20, 21).
    at = sh(2025, 11, 21, 10)
    bureau.act(bureau.SUPERVISOR, at, svc.supervise_case, case_id, level="挂牌", note="限期办结")
    done = letter(bureau, "supervise", case_id, tmp_path / "s.docx", at=at)
    assert done.number == "江信督〔2025〕1号"
    text = document_text(tmp_path / "s.docx")
    assert "该件首次答复期限为2025年11月17日，截至2025年11月21日已超期4个工作日（4日）" in text
    assert "予以挂牌督办。限期办结" in text
    assert "于2025年11月26日前将办理情况书面报送我局" in text  # 3 working days: 24, 25, 26
    # 约谈 later is a new letter with a new number; the 挂牌 letter again keeps its own.
    bureau.act(bureau.SUPERVISOR, at, svc.supervise_case, case_id, level="约谈", note="约谈")
    assert letter(bureau, "supervise", case_id, tmp_path / "t.docx", at=at).number.endswith("2号")


def test_the_approval_form_carries_the_proposal_and_the_recorded_instruction(
    bureau: Any, tmp_path: Path
) -> None:
    case_id = assigned_case(bureau)
    at = sh(2025, 11, 5, 10)
    first = write_letter(
        bureau.store,
        bureau.rules,
        clerk=bureau.CLERK,
        now=at,
        kind="approval",
        ref=case_id,
        output=tmp_path / "p1.docx",
        proposal="拟请市住建局牵头{{ x }}办理",
    )
    doc = Document(str(tmp_path / "p1.docx"))
    cells = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    row = bureau.case(case_id)
    assert cells["来源"] == "领导留言板　致市长"
    assert cells["留言人"] == "张三 138****5678"
    assert cells["留言时间"] == "2025年11月3日 09:12"
    assert cells["标题"] == row.title
    assert cells["拟办意见"] == "拟请市住建局牵头{{ x }}办理"
    assert cells["承办单位"] == HOUSING
    assert cells["领导批示"].strip() == ""  # an empty box for the handwritten instruction
    bureau.act(
        bureau.SUPERVISOR,
        sh(2025, 11, 6, 9),
        svc.instruct_case,
        case_id,
        leader="李市长",
        text="请住建局抓紧解决",
    )
    again = letter(bureau, "approval", case_id, tmp_path / "p2.docx", at=sh(2025, 11, 6, 10))
    assert again.number == first.number and again.reissued
    doc = Document(str(tmp_path / "p2.docx"))
    cells = {row.cells[0].text: row.cells[1].text for row in doc.tables[0].rows}
    assert cells["领导批示"].strip() == "李市长（2025年11月6日）：请住建局抓紧解决"
    assert cells["拟办意见"] == "拟请市住建局牵头{{ x }}办理"  # kept from the first printing


def test_clerks_numbering_at_once_never_share_a_number(bureau: Any) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from caseworker.services.documents import Draft, issue

    policy = bureau.rules.policy

    def number(n: int) -> str:
        draft = Draft(kind="assign", subject=f"test:{n}", case_id=None, context={}, detail={})
        return issue(bureau.store, policy.bureau, draft, clerk="张敏", now=sh(2025, 11, 5, 10)).text

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(number, range(12)))
    assert sorted(numbers) == sorted(f"江信交〔2025〕{n}号" for n in range(1, 13))
