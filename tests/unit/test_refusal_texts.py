"""Refusals in both languages: every key the code raises is in both catalogs, and real refusals
from the services read in Chinese in zh and, in en, exactly as the CLI prints them (`str()`)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caseworker.clock import FrozenClock
from caseworker.config import os_login
from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import DomainError, IllegalTransition, InvalidInput, NotPermitted
from caseworker.domain.lifecycle import Action, Role, Status
from caseworker.i18n.catalog import Catalog
from caseworker.services import cases as svc
from caseworker.services.people import UnknownName, add_clerk, import_units
from caseworker.services.rules import Rules
from caseworker.store.engine import Store, open_store
from caseworker.store.models import CaseRow

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "tests" / "data" / "datasets" / "tipdm2020" / "attachment2-labelled-sample.xlsx"
KEY = re.compile(r"""["'](refused\.[a-z_]+(?:\.[a-z_]+)*)["']""")
# Keys that are not messages but words inside them.
TERMS = ("refused.status.", "refused.action.", "refused.role.", "refused.storemoment.")
WORDS = ("refused.separator", "refused.nothing")

ZH, EN = Catalog("zh"), Catalog("en")


def keys_in_code() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "caseworker").rglob("*.py"):
        found.update(KEY.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_refusal_key_in_the_code_is_in_both_catalogs() -> None:
    used = keys_in_code()
    assert len(used) > 40  # the scan finds the raise sites, not nothing
    for key in sorted(used):
        assert ZH.has(key) and EN.has(key), key


def test_every_refusal_text_in_the_catalogs_is_used() -> None:
    """No dead texts: a message key in [refused] that no code raises is a stale translation."""
    used = keys_in_code()
    for catalog in (ZH, EN):
        messages = {k for k in catalog.names() if k.startswith("refused.")}
        messages = {k for k in messages if not k.startswith(TERMS) and k not in WORDS}
        assert messages - used == set()


def test_every_state_action_and_role_has_a_name_in_both_languages() -> None:
    for kind, members in (("status", Status), ("action", Action), ("role", Role)):
        for member in members:
            key = f"refused.{kind}.{member.value}"
            assert ZH.has(key) and EN.has(key), key
            assert re.search(r"[\u4e00-\u9fff]", ZH.t(key)), key
            assert EN.t(key) == member.value  # the CLI's words, as `str()` says them


def test_zh_refusal_texts_are_chinese() -> None:
    for key in ZH.names():
        if key.startswith("refused.") and key != "refused.separator":
            assert re.search(r"[\u4e00-\u9fff]", ZH.t(key)), key


def test_a_refusal_without_a_key_says_its_own_text() -> None:
    plain = InvalidInput("received_at needs a timezone")
    assert ZH.refusal(plain) == EN.refusal(plain) == "received_at needs a timezone"
    assert ZH.refusal(ValueError("boom")) == "boom"


# ---------------------------------------------------------------- real refusals from a store

UNITS = """name,parent,level,code
市政府,,city,C
市住房和城乡建设局,C,department,C-HOUSING
市教育局,C,department,C-EDU
"""
CLERK, OTHER, HANDLER = "李受理", "陈静", "赵住建"
NOW = datetime(2025, 11, 20, 10, 0, tzinfo=SHANGHAI)


def desk(rules: Rules, clerk: str) -> svc.Desk:
    return svc.Desk(rules=rules, clock=FrozenClock(NOW), clerk=clerk)


def first_message() -> tuple[str, str, str]:
    """(external id, title, body) of the first message of the real labelled sample."""
    from openpyxl import load_workbook

    book = load_workbook(SAMPLE, read_only=True)
    try:
        for row in book.worksheets[0].iter_rows(min_row=2, values_only=True):
            if row and row[0] is not None and row[2]:
                return str(row[0]), str(row[2]).strip(), str(row[4] or "").strip()
    finally:
        book.close()
    raise AssertionError("the sample has no message")


@pytest.fixture
def store(tmp_path: Path) -> Any:
    opened = open_store(str(tmp_path / "refusals.sqlite"))
    with opened.session() as session:
        import_units(session, UNITS)
        # Bound to the login the tests run as, so the command line may act as them.
        login = (os_login(),)
        add_clerk(session, CLERK, "clerk", logins=login)
        add_clerk(session, OTHER, "clerk", logins=login)
        add_clerk(session, HANDLER, "handler", "C-EDU", logins=login)
    yield opened
    opened.close()


def refused(store: Store, rules: Rules, clerk: str, action: Any, *args: Any, **kw: Any) -> Any:
    with pytest.raises(DomainError) as caught, store.session() as session:
        action(session, desk(rules, clerk), *args, **kw)
    return caught.value


def new_case(store: Store, rules: Rules) -> int:
    ext, title, body = first_message()
    with store.session() as session:
        return svc.create_case(
            session,
            desk(rules, CLERK),
            svc.NewCase(
                channel="leader-board",
                title=title,
                body=body,
                received_at=NOW - timedelta(hours=1),
                external_id=ext,
            ),
        )


def both(exc: DomainError) -> tuple[str, str]:
    """The zh text, checked to be Chinese, and the en text, checked to equal `str()`."""
    zh, en = ZH.refusal(exc), EN.refusal(exc)
    assert exc.key is not None and en == str(exc)
    assert zh != en
    words = re.sub(r"\([^)]*\)", "", zh)  # the case label "12 (external id)" is data
    assert re.search(r"[A-Za-z]{3,}", words) is None, zh
    return zh, en


def test_real_refusals_read_in_chinese_and_in_the_cli_english(store: Store, rules: Rules) -> None:
    case_id = new_case(store, rules)

    illegal = refused(store, rules, CLERK, svc.close_case, case_id)
    assert isinstance(illegal, IllegalTransition)
    zh, en = both(illegal)
    assert "当前为“待受理”，不能办结" in zh and "受理、不予受理" in zh
    assert "is received: cannot close; allowed now: accept, reject" in en

    # A case not their unit's is refused before any rule could name its state or external id.
    unseen = refused(store, rules, HANDLER, svc.reject_case, case_id, reason="重复")
    assert isinstance(unseen, NotPermitted)
    zh, en = both(unseen)
    assert zh == f"{HANDLER}（承办单位经办人）无权查看案件 {case_id}：该案件未交办给其所在单位"
    assert en == f"{HANDLER} (handler) may not see case {case_id}: it is not assigned to their unit"

    missing = refused(store, rules, CLERK, svc.reject_case, case_id, reason="  ")
    assert both(missing) == ("必须填写不予受理的理由", "a reason for rejecting is required")

    with store.session() as session:
        row = session.get(CaseRow, case_id)
        assert row is not None
        version = row.version
    with store.session() as session:
        svc.accept_case(session, desk(rules, OTHER), case_id)
    conflict = refused(
        store, rules, CLERK, svc.reject_case, case_id, reason="重复", expected_version=version
    )
    assert isinstance(conflict, svc.VersionConflict)
    zh, en = both(conflict)
    when = str(conflict.params["when"])
    assert f"已被 {OTHER} 于 {when} 修改（受理；现为“待交办”）；请重新载入后再试" in zh
    assert f"was changed by {OTHER} at {when} (accept; now accepted); reload and try" in en
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d", when)  # Shanghai time, to the minute

    unknown = refused(store, rules, CLERK, svc.assign_case, case_id, lead="C-NOWHERE")
    assert isinstance(unknown, UnknownName)
    assert ZH.refusal(unknown).startswith("找不到单位 C-NOWHERE；")
    assert EN.refusal(unknown) == str(unknown)

    same = refused(store, rules, CLERK, svc.assign_case, case_id, lead="C-EDU", co_units=["C-EDU"])
    assert both(same) == ("协办单位 市教育局 就是主办单位", "co-unit 市教育局 is the lead unit")

    with store.session() as session:
        svc.assign_case(session, desk(rules, CLERK), case_id, lead="C-HOUSING", co_units=["C-EDU"])
    denied = refused(store, rules, HANDLER, svc.pause_case, case_id, reason="听证")
    assert isinstance(denied, NotPermitted)
    zh, en = both(denied)
    assert f"{HANDLER}（承办单位经办人）无权" in zh and "“暂停”" in zh
    assert "需要：受理/交办人员、督查/领导" in zh
    assert f"{HANDLER} (handler) may not pause" in en and "needs: clerk, supervisor" in en
    # A co-unit sees the case, but only the lead unit acknowledges it.
    other_unit = refused(store, rules, HANDLER, svc.acknowledge_case, case_id)
    zh, en = both(other_unit)
    assert "执行“签收”：该案件未交办给其所在单位" in zh
    assert "it is not assigned to their unit" in en


# ---------------------------------------------------------------- the command line


def close_a_case(store: Store, rules: Rules) -> int:
    case_id = new_case(store, rules)
    steps: list[tuple[str, Any, dict[str, Any]]] = [
        (CLERK, svc.accept_case, {}),
        (CLERK, svc.assign_case, {"lead": "C-EDU"}),
        (HANDLER, svc.acknowledge_case, {}),
        (HANDLER, svc.draft_reply, {"text": "经核实，已处理。", "final": True, "outcome": "支持"}),
        (HANDLER, svc.submit_reply, {}),
        (CLERK, svc.publish_reply, {}),
        (CLERK, svc.close_case, {}),
    ]
    for clerk, action, kwargs in steps:
        with store.session() as session:
            action(session, desk(rules, clerk), case_id, **kwargs)
    return case_id


def caseworker(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWORKER_", "LC_"))}
    env["LANG"] = "C.UTF-8"  # not a Chinese locale: English unless --lang says otherwise
    return subprocess.run(
        [sys.executable, "-m", "caseworker", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )


def test_the_cli_says_a_refusal_in_chinese_with_lang_zh(
    store: Store, rules: Rules, tmp_path: Path
) -> None:
    case_id = close_a_case(store, rules)
    store.close()
    base = ["--db", str(tmp_path / "refusals.sqlite"), "--clerk", CLERK]

    zh = caseworker(*base, "--lang", "zh", "case", "accept", str(case_id))
    assert zh.returncode == 1 and zh.stdout == ""
    assert zh.stderr.startswith(f"caseworker: 案件 {case_id} (")
    assert "当前为“已办结”，不能受理；现在可以：评价、重办、领导批示、关联重复件" in zh.stderr
    assert zh.stderr.count("\n") == 1 and "Traceback" not in zh.stderr

    en = caseworker(*base, "case", "accept", str(case_id))
    assert en.returncode == 1
    assert en.stderr.startswith(f"caseworker: case {case_id} (")
    assert "is closed: cannot accept; allowed now: rate, reopen, instruct, link_repeat" in en.stderr
