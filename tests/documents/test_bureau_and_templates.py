"""The policy's [bureau] table, the units file's population column, and the shipped templates:
each declares only its kind's placeholders, is documented, and is what the builder makes."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx_checks import gb9704_page

from caseworker.config import DATA_DIR
from caseworker.documents.make_templates import build_all
from caseworker.documents.templates import (
    PLACEHOLDERS,
    TEMPLATE_FILES,
    check_template,
    template_path,
)
from caseworker.domain.errors import InvalidInput
from caseworker.domain.policy import PolicyError, parse_policy
from caseworker.services.people import import_units, list_units

MINIMAL = """
[channels.web]
zh = "网站"
en = "Web"
[[limits]]
assign = "3 workdays"
reply = "10 workdays"
close = "60 days"
"""


def test_the_bureau_table_names_the_signer_and_numbers_documents() -> None:
    shipped = parse_policy((DATA_DIR / "policy.toml").read_text(encoding="utf-8")).bureau
    assert shipped.name == "江南省信访局"
    assert shipped.number("assign", 2025, 12) == "江信交〔2025〕12号"
    assert shipped.number("bulletin", 2026, 1) == "江信通〔2026〕1号"
    own = parse_policy(
        MINIMAL + '[bureau]\nname = "某市网上群众工作部"\nnumber_prefix = "某网"\n'
        '[bureau.marks]\nassign = "转"\n'
    ).bureau
    assert own.number("assign", 2025, 3) == "某网转〔2025〕3号"
    assert own.number("supervise", 2025, 3) == "某网督〔2025〕3号"  # the default mark
    assert parse_policy(MINIMAL).bureau.name == "信访局"  # no table: defaults
    with pytest.raises(PolicyError, match="unknown keys"):
        parse_policy(MINIMAL + '[bureau]\nnmae = "x"\n')
    with pytest.raises(PolicyError, match="marks"):
        parse_policy(MINIMAL + '[bureau.marks]\nletter = "x"\n')


def test_units_may_carry_a_population(store: Any) -> None:
    with store.session() as session:
        import_units(
            session,
            "name,parent,level,code,population\n"
            '江南市,,city,C,"1,200,000"\n'
            "甲区,C,county,A,350000\n"
            "甲区教育局,A,department,A-EDU,\n",
        )
        by_code = {u.code: u.population for u in list_units(session)}
        assert by_code == {"C": 1_200_000, "A": 350_000, "A-EDU": None}
        # A file without the column leaves the populations as they are.
        import_units(session, "name,parent,level,code\n江南市,,city,C\n")
        assert {u.code: u.population for u in list_units(session)}["C"] == 1_200_000
        with pytest.raises(InvalidInput, match="line 2: population '三十万'"):
            import_units(session, "name,parent,level,code,population\n乙区,C,county,B,三十万\n")


def test_every_shipped_template_is_valid_documented_and_rebuilt_identically(
    tmp_path: Path,
) -> None:
    readme = (DATA_DIR / "templates" / "README.md").read_text(encoding="utf-8")
    for kind, file in TEMPLATE_FILES.items():
        template = check_template(kind, template_path(kind))
        assert template.get_undeclared_template_variables() <= set(PLACEHOLDERS[kind])
        assert f"## {file}" in readme
        for name in PLACEHOLDERS[kind]:
            assert f"| `{name}` |" in readme, name
    for built in build_all(tmp_path):
        shipped = DATA_DIR / "templates" / built.name
        with zipfile.ZipFile(built) as new, zipfile.ZipFile(shipped) as old:
            for part in ("word/document.xml", "word/styles.xml", "word/footer1.xml"):
                assert new.read(part) == old.read(part), f"{built.name} {part}: regenerate"


def test_dates_periods_and_percentiles_as_documents_write_them() -> None:
    from datetime import date, datetime

    from caseworker.domain.calendar import SHANGHAI
    from caseworker.services.documents import chinese_date, chinese_time, percentile, period_label

    assert chinese_date(date(2025, 11, 4)) == "2025年11月4日"
    # 23:30 UTC on 11-13 is already the 14th in Shanghai.
    late = datetime(2025, 11, 13, 23, 30, tzinfo=SHANGHAI).astimezone(SHANGHAI)
    assert chinese_time(late) == "2025年11月13日 23:30"
    from datetime import UTC

    assert chinese_date(datetime(2025, 11, 13, 16, 30, tzinfo=UTC)) == "2025年11月14日"
    assert period_label("month", date(2025, 10, 1), date(2025, 11, 1)) == "2025年10月"
    assert period_label("quarter", date(2025, 10, 1), date(2026, 1, 1)) == "2025年第4季度"
    assert period_label("week", date(2025, 10, 13), date(2025, 10, 20)) == "2025年10月13日至19日"
    assert period_label("week", date(2025, 9, 29), date(2025, 10, 6)) == "2025年9月29日至10月5日"
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == 90


def test_every_template_has_the_gb9704_page() -> None:
    for kind in TEMPLATE_FILES:
        gb9704_page(template_path(kind))


def test_every_table_cell_of_a_rendered_document_keeps_a_paragraph(tmp_path: Path) -> None:
    """Word refuses a cell without a paragraph: a loop that renders nothing must leave one."""
    from docx import Document
    from docx.oxml.ns import qn

    from caseworker.documents.templates import render

    values: dict[str, object] = {name: "" for name in PLACEHOLDERS["approval"]}
    values["instructions"] = []
    values["case_paragraphs"] = []
    out = tmp_path / "approval.docx"
    render("approval", template_path("approval"), values, out)
    cells = Document(str(out)).element.body.iter(qn("w:tc"))
    assert all(cell.findall(qn("w:p")) for cell in cells)
