"""The bulletin's figures against `report rates --format json`, and the 信访专报 of a group of
linked cases; the urgent lane's minutes and intake per 10,000 residents from the store.

The bulletin is run on the hand-built bureau of tests/services/test_reports.py (October 2025,
across the National Day holiday), whose ranking the rates tests count by hand.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from docx import Document
from docx_checks import gb9704_page
from sqlmodel import col, select
from typer.testing import CliRunner

from caseworker.cli import app
from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.services.documents import (
    ISSUE_ACTION,
    intake_per_capita,
    linked_case_ids,
    percentile,
    period_instants,
    urgent_assignment_times,
    write_brief,
)
from caseworker.services.people import import_units
from caseworker.store.engine import open_store
from caseworker.store.models import CaseRow, RankingRecord

SERVICES_TEST = Path(__file__).resolve().parents[1] / "services" / "test_reports.py"


def _fixture_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("report_fixture_documents", SERVICES_TEST)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FIXTURE = _fixture_module()


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture(scope="module")
def october_file(tmp_path_factory: pytest.TempPathFactory, bind_clerks: Callable[..., str]) -> Path:
    path = tmp_path_factory.mktemp("october") / "bureau.sqlite"
    FIXTURE.build_bureau(path)
    bind_clerks(path)
    return path


@pytest.fixture
def october(october_file: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "bureau.sqlite"
    shutil.copy(october_file, copy)
    return copy


def run(db: Path, *args: str, now: str = "2025-11-03T10:00") -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        ["--db", str(db), "--clerk", FIXTURE.SUPERVISOR, "--now", now, *args],
        env={"COLUMNS": "200", "CASEWORKER_LANG": "en"},
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def tables(path: Path) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in t.rows] for t in Document(str(path)).tables]


def test_the_bulletins_ranking_is_report_rates_figures_and_is_recorded(
    october: Path, tmp_path: Path
) -> None:
    out = tmp_path / "月通报.docx"
    code, said, bulletin_err = run(
        october, "report", "bulletin", "--period", "month", "--at", "2025-10-15", "-o", str(out)
    )
    assert code == 0, said
    assert "江信通〔2025〕1号" in said
    bulletin_ranking_number = int(bulletin_err.split("recorded as ranking ")[1].split(";")[0])
    code, rates_out, rates_err = run(
        october, "report", "rates", "--period", "month", "--at", "2025-10-15", "--format", "json"
    )
    assert code == 0
    rates = json.loads(rates_out)
    channels, ranking, overdue, per_capita, urgent = tables(out)
    expected = [
        [
            str(u["rank"]) if u["rank"] is not None else "—",
            u["unit"],
            *(
                "{} ({}/{})".format(
                    "—" if r["value"] is None else f"{100 * r['value']:.1f}%",
                    r["numerator"],
                    r["denominator"],
                )
                for r in (
                    u["rates"][c] for c in ("on_time_close", "satisfaction", "timely_acceptance")
                )
            ),
        ]
        for u in [*rates["units"], rates["total"]]
    ]
    assert ranking[0] == ["名次", "单位", "按期办结率", "满意率", "及时受理率"]
    assert ranking[1:] == expected
    assert ranking[1][:3] == ["1", "乙区", "33.3% (1/3)"]  # counted by hand in the rates tests
    # The bulletin's ranking was recorded like `report rates`' (one before the rates run).
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    recorded = int(rates_err.split("recorded as ranking ")[1].split(";")[0])
    assert bulletin_ranking_number == recorded - 1
    assert f"排名已存档（第{recorded - 1}号）" in text
    store = open_store(str(october))
    with store.session() as s:
        bulletin_ranking = s.get(RankingRecord, recorded - 1)
        assert bulletin_ranking is not None and bulletin_ranking.clerk == FIXTURE.SUPERVISOR
        assert json.loads(bulletin_ranking.figures)["units"] == rates["units"]
        start, end = period_instants(date(2025, 10, 1), date(2025, 11, 1))
        received = s.exec(
            select(CaseRow).where(CaseRow.received_at >= start, CaseRow.received_at < end)
        ).all()
    store.close()
    # Intake by channel: every case received in October, by channel.
    counts = {row[0]: int(row[1]) for row in channels[1:]}
    assert counts == {
        "12345热线": sum(c.channel == "hotline-12345" for c in received),
        "领导留言板": sum(c.channel == "leader-board" for c in received),
    }
    assert f"共收到网民留言{len(received)}件" in text
    assert text.count("2025年10月网上群众工作月通报") == 1
    # Overdue units as the overdue report names them, with their worst cases.
    code, overdue_out, _ = run(october, "report", "overdue", "--format", "json")
    by_unit = json.loads(overdue_out)["by_unit"]
    assert [(r[0], r[1]) for r in overdue[1:]] == [(u["unit"], str(u["overdue"])) for u in by_unit]
    assert per_capita[1:] == [] and urgent[1:] == []  # no populations, no urgent cases
    gb9704_page(out)
    # The two charts are in the document as images.
    assert len(Document(str(out)).inline_shapes) == 2
    # Printed again, the bulletin keeps its number.
    code, said, _ = run(
        october,
        "report",
        "bulletin",
        "--period",
        "month",
        "--at",
        "2025-10-15",
        "-o",
        str(tmp_path / "again.docx"),
    )
    assert "江信通〔2025〕1号" in said and code == 0


def test_a_unit_handler_may_not_write_the_bulletin(october: Path, tmp_path: Path) -> None:
    run(october, "clerks", "add", "甲区经办", "--role", "handler", "--unit", "A")
    result = CliRunner().invoke(
        app,
        [
            "--db",
            str(october),
            "--clerk",
            "甲区经办",
            "report",
            "bulletin",
            "-o",
            str(tmp_path / "b.docx"),
        ],
        env={"CASEWORKER_LANG": "en"},
    )
    assert result.exit_code == 1 and not (tmp_path / "b.docx").exists()


def test_urgent_lane_minutes_and_intake_per_ten_thousand(bureau: Any) -> None:
    with bureau.store.session() as s:
        import_units(
            s,
            "name,parent,level,code,population\n"
            '市政府,省政府,city,C,"2,500,000"\n'
            "市住房和城乡建设局,市政府,department,C-HOUSING,\n",
        )
    received = sh(2025, 11, 3, 9, 34)
    for minutes, lead in ((24, "C-HOUSING"), (10, "C-HOUSING"), (60, "C-HOUSING"), (5, "C-EDU")):
        case_id = bureau.receive(received, urgency="urgent", title=f"紧急{minutes}")
        bureau.act(bureau.CLERK, received, svc.accept_case, case_id)
        at = datetime.fromtimestamp(received.timestamp() + minutes * 60, tz=SHANGHAI)
        bureau.act(bureau.CLERK, at, svc.assign_case, case_id, lead=lead)
    bureau.receive(received, title="普通件")  # not urgent, never counted
    since, until = period_instants(date(2025, 11, 1), date(2025, 12, 1))
    with bureau.store.session() as s:
        times = {t.unit: t for t in urgent_assignment_times(s, since, until)}
        regions = intake_per_capita(s, since, until)
    housing = times["市住房和城乡建设局"]
    assert (housing.count, housing.median) == (3, 24)
    assert housing.p90 == pytest.approx(52.8)  # 10, 24, 60: 24 + 0.8 * (60 - 24)
    assert (times["市教育局"].count, times["市教育局"].median) == (1, 5)
    assert percentile([1, 2, 3, 4], 0.5) == 2.5
    # 市政府 leads its departments: the 4 assigned cases (the fifth is in no unit, no region).
    assert [(r.region, r.population, r.intake) for r in regions] == [("市政府", 2_500_000, 4)]
    assert regions[0].per_10k == pytest.approx(0.016)


def test_the_brief_covers_the_group_of_linked_cases(bureau: Any, tmp_path: Path) -> None:
    at = sh(2025, 11, 3, 9)
    original = bureau.receive(at, title="幼儿园学费一年三万四", author="家长甲", region="A1区")
    repeat = bureau.receive(
        sh(2025, 11, 4, 9), title="幼儿园收费太高", author="家长乙", region="A2区"
    )
    merged = bureau.receive(sh(2025, 11, 5, 9), title="幼儿园收费", author="家长甲", region="A1区")
    unrelated = bureau.receive(sh(2025, 11, 5, 9), title="路灯")
    for case_id in (original, repeat, merged):
        bureau.act(bureau.CLERK, sh(2025, 11, 5, 10), svc.accept_case, case_id)
    bureau.act(bureau.CLERK, sh(2025, 11, 5, 11), svc.link_repeat, repeat, original=original)
    bureau.act(bureau.CLERK, sh(2025, 11, 5, 11), svc.merge_case, merged, into=original)
    bureau.act(bureau.CLERK, sh(2025, 11, 5, 12), svc.assign_case, original, lead="C-EDU")
    bureau.act(
        bureau.OTHER_HANDLER,
        sh(2025, 11, 6, 9),
        svc.draft_reply,
        original,
        text="经核查，该园收费已备案。",
        final=True,
        outcome="解释说明",
    )
    bureau.act(bureau.CLERK, sh(2025, 11, 6, 10), svc.publish_reply, original)
    with bureau.store.session() as s:
        group = linked_case_ids(s, merged, clerk=bureau.CLERK)
        assert group == sorted([original, repeat, merged])
        assert linked_case_ids(s, repeat, clerk=None) == group
        assert linked_case_ids(s, unrelated, clerk=None) == [unrelated]
    out = tmp_path / "专报.docx"
    done = write_brief(
        bureau.store,
        bureau.rules,
        clerk=bureau.CLERK,
        now=sh(2025, 11, 7, 9),
        case_ids=group,
        output=out,
    )
    assert done.number == "江信专〔2025〕1号"
    gb9704_page(out)
    text = "\n".join(p.text for p in Document(str(out)).paragraphs)
    assert "关于“幼儿园学费一年三万四”问题的专报" in text
    assert (
        "共收到反映该问题的网民留言3件，涉及网民2人；涉及地区：A1区、A2区；承办单位：市教育局"
        in text
    )
    assert "已公开答复1件，摘录如下：" in text
    assert "市教育局于2025年11月6日答复：经核查，该园收费已备案。" in text
    assert "网民评价：暂无评价。" in text
    (appendix,) = tables(out)
    assert [row[1] for row in appendix[1:]] == [bureau.case(c).external_id for c in group]
    assert [row[6] for row in appendix[1:]] == ["已答复", "待交办", "已合并"]
    for case_id in group:
        issued = [e for e in bureau.events(case_id) if e.action == ISSUE_ACTION]
        assert [e.reason for e in issued] == ["江信专〔2025〕1号"]


def test_a_bad_bulletin_template_is_refused_before_anything_is_recorded(
    october: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from caseworker.documents.templates import template_path

    edited = tmp_path / "our-bulletin.docx"
    doc = Document(str(template_path("bulletin")))
    doc.add_paragraph("{{ mayor_name }}")
    doc.save(str(edited))

    from caseworker.cli import main

    argv = [
        "caseworker",
        "--db",
        str(october),
        "--clerk",
        FIXTURE.SUPERVISOR,
        "--lang",
        "en",
        "report",
        "bulletin",
        "--template",
        str(edited),
        "-o",
        str(tmp_path / "b.docx"),
    ]
    monkeypatch.setattr(sys, "argv", argv)
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert "unknown placeholder 'mayor_name'" in err and str(edited) in err
    assert not (tmp_path / "b.docx").exists()
    store = open_store(str(october))
    with store.session() as s:
        assert s.exec(select(RankingRecord)).all() == []
    store.close()


def test_a_brief_on_many_cases_is_numbered_once_and_again_when_the_group_grows(
    bureau: Any, tmp_path: Path
) -> None:
    at = sh(2025, 11, 3, 9)
    first = bureau.receive(at, title="幼儿园学位不足")
    group = [first]
    for n in range(60):  # more cases than a subject of ids would hold
        case_id = bureau.receive(at, title=f"幼儿园学位不足{n}")
        bureau.act(bureau.CLERK, at, svc.link_repeat, case_id, original=first)
        group.append(case_id)

    def brief(name: str) -> Any:
        with bureau.store.session() as s:
            ids = linked_case_ids(s, first, clerk=None)
        return write_brief(
            bureau.store,
            bureau.rules,
            clerk=bureau.CLERK,
            now=at,
            case_ids=ids,
            output=tmp_path / name,
        )

    assert brief("a.docx").number == "江信专〔2025〕1号"
    again = brief("b.docx")
    assert again.number == "江信专〔2025〕1号" and again.reissued
    late = bureau.receive(at, title="幼儿园学位不足（又一件）")
    bureau.act(bureau.CLERK, at, svc.link_repeat, late, original=first)
    assert brief("c.docx").number == "江信专〔2025〕2号"


def test_brief_issue_writes_the_brief_of_a_recorded_common_issue(
    october: Path, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{october}")
    with store.session() as s:
        found = s.exec(select(CaseRow.id).order_by(col(CaseRow.id)).limit(3)).all()
        ids = [i for i in found if i is not None]
    store.engine.dispose()
    code, out, err = run(
        october, "triage", "issue", *map(str, ids), "--title", "某小区车位捆绑销售"
    )
    assert code == 0, err
    assert "common issue 1 recorded with 3 cases" in out
    target = tmp_path / "专报.docx"
    code, out, err = run(october, "brief", "--issue", "1", "-o", str(target))
    assert code == 0, err
    assert "江信专〔2025〕1号" in out
    gb9704_page(target)
    text = "\n".join(p.text for p in Document(str(target)).paragraphs)
    assert "关于“某小区车位捆绑销售”问题的专报" in text
    assert "共收到反映该问题的网民留言3件" in text
    (appendix,) = tables(target)
    assert len(appendix) == 1 + len(ids)
    # The same issue again: the same number; a case's group is another brief.
    code, out, _ = run(october, "brief", "--issue", "1", "-o", str(tmp_path / "again.docx"))
    assert code == 0 and "江信专〔2025〕1号" in out


@pytest.mark.parametrize(
    ("args", "code", "said"),
    [
        ((), 2, "name a CASE or give --issue N"),
        (("1", "--issue", "1"), 2, "name a CASE or give --issue N"),
        (("--issue", "7"), 1, "caseworker: no common issue 7"),
    ],
)
def test_brief_needs_one_case_or_one_recorded_issue(
    october: Path,
    tmp_path: Path,
    args: tuple[str, ...],
    code: int,
    said: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from caseworker.cli import main

    target = tmp_path / "x.docx"
    argv = ["caseworker", "--db", str(october), "--clerk", FIXTURE.SUPERVISOR]
    monkeypatch.setattr(sys, "argv", [*argv, "--now", "2025-11-03T10:00", "brief", *args])
    monkeypatch.setenv("CASEWORKER_LANG", "en")
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as done:
        main()
    err = capsys.readouterr().err
    assert done.value.code == code
    assert said in " ".join(err.split()) and "Traceback" not in err
    assert not target.exists()
