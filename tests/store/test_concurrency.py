"""Two clerks changing the same case at once: the loser gets a clear conflict, nothing is lost.

Each clerk has their own store (engine) on the same database, as two processes would.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import select

from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.store.engine import open_store
from caseworker.store.models import ReplyRow


def sh(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SHANGHAI)


@pytest.fixture
def other_store(bureau: Any, database: str) -> Iterator[Any]:
    """A second, independent connection pool on the same database."""
    second = open_store(database)
    try:
        yield second
    finally:
        second.close()


def test_the_second_save_of_a_stale_case_is_refused(bureau: Any, other_store: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="RACE")
    with other_store.session() as slow:
        # The slow clerk reads the case first ...
        stale = svc.find_case(slow, case_id)
        assert (stale.status, stale.version) == ("received", 1)
        # ... then the supervisor rejects it and saves.
        b.act(b.SUPERVISOR, sh(2025, 8, 4, 9), svc.reject_case, case_id, reason="重复")
        # The slow clerk now acts on what they read; the save must not overwrite the rejection.
        with pytest.raises(svc.VersionConflict) as conflict:
            svc.accept_case(slow, b.desk(b.CLERK, sh(2025, 8, 4, 10)), case_id)
    message = str(conflict.value)
    current = b.case(case_id)
    # When and what, as the case history shows it; accepting a rejected case cannot work, so
    # the message does not invite a retry.
    assert message == (
        f"case {case_id} (RACE) was changed by {b.SUPERVISOR} at 2025-08-04 09:00 "
        "(reject; now rejected); accept is no longer possible"
    )
    assert current.status == "rejected"
    assert [(e.actor, e.action) for e in b.events(case_id)] == [
        (b.CLERK, "receive"),
        (b.SUPERVISOR, "reject"),
    ]


def test_a_stale_draft_does_not_slip_in_after_a_conflict(bureau: Any, other_store: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="RACE-2")
    b.act(b.CLERK, sh(2025, 8, 4, 9), svc.accept_case, case_id)
    b.act(b.CLERK, sh(2025, 8, 4, 10), svc.assign_case, case_id, lead="C-HOUSING")
    with other_store.session() as slow:
        stale = svc.find_case(slow, case_id)  # held, as a screen holds what it shows
        b.act(b.HANDLER, sh(2025, 8, 4, 11), svc.acknowledge_case, case_id)
        with pytest.raises(svc.VersionConflict, match=f"changed by {b.HANDLER} at "):
            svc.draft_reply(slow, b.desk(b.HANDLER, sh(2025, 8, 4, 12)), case_id, text="抢先")
        assert stale.id == case_id
    with b.store.session() as session:
        assert session.exec(select(ReplyRow)).all() == []
    assert b.case(case_id).status == "acknowledged"
    # Reloaded, the same action goes through.
    b.act(b.HANDLER, sh(2025, 8, 4, 12), svc.draft_reply, case_id, text="重新载入后起草")
    assert [e.action for e in b.events(case_id)][-2:] == ["acknowledge", "draft_reply"]


def test_expected_version_mismatch_is_a_conflict(bureau: Any) -> None:
    b = bureau
    case_id = b.receive(sh(2025, 8, 2, 15, 30), external_id="SEEN")
    seen = b.case(case_id).version
    b.act(b.SUPERVISOR, sh(2025, 8, 4, 9), svc.accept_case, case_id, expected_version=seen)
    after = b.case(case_id)
    assert after.version > seen
    # The clerk still shows the old version on screen and tries to reject it.
    with pytest.raises(svc.VersionConflict) as conflict:
        b.act(
            b.CLERK,
            sh(2025, 8, 4, 10),
            svc.reject_case,
            case_id,
            reason="重复",
            expected_version=seen,
        )
    assert str(conflict.value) == (
        f"case {case_id} (SEEN) was changed by {b.SUPERVISOR} at 2025-08-04 09:00 "
        "(accept; now accepted); reload and try again"
    )
    assert b.case(case_id).status == "accepted"
    assert b.case(case_id).version == after.version
    # With the current version it goes through.
    b.act(
        b.CLERK,
        sh(2025, 8, 4, 10),
        svc.reject_case,
        case_id,
        reason="重复",
        expected_version=after.version,
    )
    assert b.case(case_id).status == "rejected"
