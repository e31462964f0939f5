"""The shipped policy file gives the limits the issue sets; a broken policy file is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from caseworker.domain.deadlines import Limit, LimitUnit, Stage
from caseworker.domain.policy import PolicyError, parse_policy
from caseworker.services.rules import RulesFileError, load_rules

POLICY_FILE = Path(__file__).resolve().parents[2] / "data" / "policy.toml"
POLICY = parse_policy(POLICY_FILE.read_text(encoding="utf-8"))

W, D, H = LimitUnit.WORKDAYS, LimitUnit.DAYS, LimitUnit.HOURS

# The issue's table: stage -> (ordinary message, 12345 hotline, urgent lane).
DEFAULTS = {
    Stage.ASSIGN: (Limit(3, W), Limit(1, W), Limit(24, H)),
    Stage.REPLY: (Limit(10, W), Limit(5, W), Limit(3, W)),
    Stage.CLOSE: (Limit(60, D), Limit(5, W), Limit(15, D)),
}

MINIMAL = """
[channels.leader-board]
zh = "领导留言板"
en = "Leader message board"

[[limits]]
assign = "3 workdays"
reply = "10 workdays"
close = "60 days"
"""


def test_the_shipped_channels() -> None:
    assert {code: c.zh for code, c in POLICY.channels.items()} == {
        "leader-board": "领导留言板",
        "party-secretary-mailbox": "书记信箱",
        "governor-mailbox": "省长信箱",
        "complaint-portal": "网上投诉受理平台",
        "local-leader-mailbox": "市县领导信箱",
        "hotline-12345": "12345热线",
        "social-media": "抖音/微博/微信",
    }
    assert all(c.en for c in POLICY.channels.values())


@pytest.mark.parametrize("stage", list(Stage))
def test_the_shipped_limits_match_the_issue(stage: Stage) -> None:
    ordinary, hotline, urgent = DEFAULTS[stage]
    for channel in POLICY.channels:
        expected = hotline if channel == "hotline-12345" else ordinary
        assert POLICY.limit_for(stage, channel=channel, kind=None, urgency="normal") == expected
        # An urgent hotline case keeps the hotline's close limit (see the next test).
        lane = hotline if (channel, stage) == ("hotline-12345", Stage.CLOSE) else urgent
        assert POLICY.limit_for(stage, channel=channel, kind="complaint", urgency="urgent") == (
            lane
        )


def test_an_urgent_case_is_never_due_later_than_an_ordinary_one() -> None:
    from datetime import datetime, timedelta

    from caseworker.domain.calendar import SHANGHAI
    from caseworker.domain.deadlines import deadline_for

    calendar = load_rules(POLICY_FILE, POLICY_FILE.parent / "calendar.toml").calendar
    kinds = [None, "complaint", "help", "inquiry", "suggestion", "praise"]
    # Received at 09:00 and 17:30 on every day of two weeks around the 2025 National Day break.
    starts = [
        datetime(2025, 9, 24, hour, minute, tzinfo=SHANGHAI) + timedelta(days=day)
        for day in range(14)
        for hour, minute in ((9, 0), (17, 30))
    ]
    for channel in POLICY.channels:
        for kind in kinds:
            for stage in Stage:
                normal = POLICY.limit_for(stage, channel=channel, kind=kind, urgency="normal")
                urgent = POLICY.limit_for(stage, channel=channel, kind=kind, urgency="urgent")
                for start in starts:
                    late = deadline_for(start, urgent, calendar).due_at
                    assert late <= deadline_for(start, normal, calendar).due_at, (
                        channel,
                        kind,
                        stage,
                        start,
                    )


def test_windows_and_measures() -> None:
    assert POLICY.return_window == Limit(5, W)
    assert POLICY.max_extension == Limit(30, D)
    assert POLICY.satisfied_counts_basic is True
    assert POLICY.version == "2025-2"


def test_later_rules_override_earlier_ones_only_for_the_stages_they_set() -> None:
    policy = parse_policy(
        MINIMAL + '\n[[limits]]\nmatch = { kind = "inquiry" }\nreply = "5工作日"\n'
    )
    assert policy.limit_for(
        Stage.REPLY, channel="leader-board", kind="inquiry", urgency="normal"
    ) == Limit(5, W)
    assert policy.limit_for(
        Stage.CLOSE, channel="leader-board", kind="inquiry", urgency="normal"
    ) == Limit(60, D)
    assert policy.limit_for(
        Stage.REPLY, channel="leader-board", kind=None, urgency="normal"
    ) == Limit(10, W)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not = [toml", "not valid TOML"),
        ("[[limits]]\nassign = '1 day'", "defines no channels"),
        ("[channels.x]\nzh = 'x'", "channel x: needs zh and en labels"),
        (
            MINIMAL + "\n[[limits]]\nmatch = { channel = 'nowhere' }\nassign = '1 day'",
            "limits #2: unknown channel 'nowhere'",
        ),
        (
            MINIMAL + "\n[[limits]]\nmatch = { colour = 'red' }\nassign = '1 day'",
            "limits #2: unknown match keys ['colour']",
        ),
        (
            MINIMAL + "\n[[limits]]\nmatch = { kind = 'inquiry' }\nrepyl = '5 workdays'",
            "limits #2: unknown keys ['repyl']; stages are assign, reply, close",
        ),
        (MINIMAL.replace('"60 days"', '"sixty days"'), "limits #1.close: cannot read time limit"),
        (MINIMAL.replace('close = "60 days"', "close = 60"), "a limit is text such as"),
        (MINIMAL.replace('close = "60 days"\n', ""), "policy has no default close limit"),
        ('return_window = "0 days"\n' + MINIMAL, "return_window: a time limit needs a whole"),
    ],
)
def test_broken_policy_files_are_refused_with_the_entry_named(text: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_policy(text)


def test_unknown_channel_lists_the_known_ones() -> None:
    with pytest.raises(PolicyError, match="unknown channel 'fax'; known: leader-board, "):
        POLICY.channel("fax")


def test_load_rules_names_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "policy.toml"
    broken.write_text("[[limits]]\n", encoding="utf-8")
    with pytest.raises(RulesFileError, match=r"policy\.toml: policy file defines no channels"):
        load_rules(broken, None)
    with pytest.raises(RulesFileError, match="cannot read policy file"):
        load_rules(tmp_path / "missing.toml", None)
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[years.2027]\nsource = "x"\nholidays = ["2027-02-30"]\n', encoding="utf-8")
    with pytest.raises(RulesFileError, match="'2027-02-30' is not a date"):
        load_rules(POLICY_FILE, calendar)
    # A calendar file that does not exist means "the library's years only", not an error.
    rules = load_rules(POLICY_FILE, tmp_path / "no-calendar.toml")
    assert rules.calendar.notices == {}
