"""An extension request still awaiting its decision lapses when its case ends (closed, rejected
or merged): decided by the clerk who ended the case, at that moment, named in the ending
event, gone from the 待批延期 queue; a reopened case does not revive it, and the unit may ask
again (real stores, frozen clock)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import col, select

from caseworker.domain.calendar import SHANGHAI
from caseworker.services import cases as svc
from caseworker.services import queues
from caseworker.services.upkeep import verify_audit
from caseworker.store.models import ClerkRow, ExtensionRow
from caseworker.store.queries import QueueKey

DAY = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)  # a Monday morning
ASKED = DAY + timedelta(days=1)
ENDED = DAY + timedelta(days=2, hours=3)
NOW = DAY + timedelta(days=3)


def _end_of(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=SHANGHAI)


def _handling(bureau: Any, ext: str, hour: int = 0) -> int:
    return int(bureau.assigned(DAY + timedelta(hours=hour), external_id=ext))


def _ask(bureau: Any, case: int, at: datetime = ASKED, days: int = 10) -> int:
    return int(bureau.ask_extension(case, at, days))


def _answer(bureau: Any, case: int, at: datetime) -> None:
    """The unit's final reply, published by the bureau: the case can be closed."""
    bureau.act(
        bureau.HANDLER, at, svc.draft_reply, case, text="已安排处理。", final=True, outcome="支持"
    )
    bureau.act(bureau.HANDLER, at + timedelta(minutes=5), svc.submit_reply, case)
    bureau.act(bureau.CLERK, at + timedelta(minutes=10), svc.publish_reply, case)


def _extension(bureau: Any, ext_id: int) -> ExtensionRow:
    with bureau.store.session() as session:
        row: ExtensionRow | None = session.get(ExtensionRow, ext_id)
    assert row is not None
    return row


def _clerk_id(bureau: Any, name: str) -> int:
    with bureau.store.session() as session:
        found = session.exec(select(ClerkRow.id).where(ClerkRow.name == name)).one()
    assert found is not None
    return int(found)


def _waiting(bureau: Any) -> tuple[set[int], int]:
    """The cases `case extensions` lists, and the 待批延期 count a supervisor sees."""
    with bureau.store.session() as session:
        listed = {p.case_id for p in svc.pending_extensions(session, clerk=None)}
        viewer = queues.viewer_for(session, bureau.SUPERVISOR)
        count = queues.queue_counts(session, NOW, viewer)[QueueKey.EXTENSIONS]
    return listed, count


def _detail(bureau: Any, case: int, action: str) -> dict[str, Any]:
    (event,) = [e for e in bureau.events(case) if e.action == action]
    return dict(json.loads(event.detail)) if event.detail else {}


def _assert_lapsed(bureau: Any, ext_id: int, by: str) -> None:
    row = _extension(bureau, ext_id)
    assert row.state == "lapsed"
    assert row.decided_at == ENDED
    assert row.decided_by_id == _clerk_id(bureau, by)


def test_closing_a_case_lapses_its_pending_request(bureau: Any) -> None:
    case = _handling(bureau, "closed")
    kept = _handling(bureau, "kept", hour=1)  # another case's request is not touched
    ext = _ask(bureau, case)
    other = _ask(bureau, kept)
    _answer(bureau, case, ASKED + timedelta(hours=2))
    assert _waiting(bureau) == ({case, kept}, 2)  # a replied case's request is still decidable
    with bureau.store.session() as session:  # what the close dialog warns of beforehand
        assert svc.lapsing_extensions(session, case) == [svc.LapsedExtension(ext, 10)]

    # The clerk is told which request lapsed (the command line's confirmation says so).
    assert bureau.act(bureau.CLERK, ENDED, svc.close_case, case) == [svc.LapsedExtension(ext, 10)]

    _assert_lapsed(bureau, ext, bureau.CLERK)
    assert _detail(bureau, case, "close") == {"lapsed_extensions": [ext]}
    assert _extension(bureau, other).state == "requested"
    assert _waiting(bureau) == ({kept}, 1)
    with bureau.store.session() as session:
        history = svc.case_history(session, case, clerk=None)
        detail = svc.case_detail(session, bureau.rules, NOW, case, clerk=None)
        assert verify_audit(bureau.store).ok  # the event that names it is sealed like any other
    assert [e.lapsed_extensions for e in history if e.action == "close"] == [[ext]]
    assert [e["state"] for e in detail.extensions] == ["lapsed"]


def test_rejecting_a_returned_case_lapses_its_pending_request(bureau: Any) -> None:
    """Rejection starts only from received or accepted: a request reaches it on a case its unit
    returned, where it waited undecidable."""
    case = _handling(bureau, "rejected")
    ext = _ask(bureau, case)
    bureau.act(bureau.HANDLER, ASKED + timedelta(hours=1), svc.return_case, case, reason="非本单位")
    assert _extension(bureau, ext).state == "requested"

    lapsed = bureau.act(bureau.CLERK, ENDED, svc.reject_case, case, reason="不属受理范围")

    assert lapsed == [svc.LapsedExtension(ext, 10)]

    _assert_lapsed(bureau, ext, bureau.CLERK)
    assert _detail(bureau, case, "reject") == {"lapsed_extensions": [ext]}
    assert _waiting(bureau) == (set(), 0)


def test_merging_a_case_lapses_its_pending_request(bureau: Any) -> None:
    original = _handling(bureau, "original")
    case = _handling(bureau, "repeat", hour=1)
    ext = _ask(bureau, case)
    assert _waiting(bureau) == ({case}, 1)

    lapsed = bureau.act(bureau.CLERK, ENDED, svc.merge_case, case, into=original, reason="重复留言")

    assert lapsed == [svc.LapsedExtension(ext, 10)]

    _assert_lapsed(bureau, ext, bureau.CLERK)
    assert _detail(bureau, case, "merge") == {"into": original, "lapsed_extensions": [ext]}
    assert _waiting(bureau) == (set(), 0)


def test_decided_requests_stay_as_decided_and_a_plain_close_records_no_lapse(
    bureau: Any,
) -> None:
    case = _handling(bureau, "decided")
    approved = _ask(bureau, case, days=10)
    bureau.act(bureau.SUPERVISOR, ASKED + timedelta(hours=1), svc.approve_extension, case)
    denied = _ask(bureau, case, at=ASKED + timedelta(hours=2), days=5)
    bureau.act(
        bureau.SUPERVISOR, ASKED + timedelta(hours=3), svc.deny_extension, case, reason="期限充足"
    )
    _answer(bureau, case, ASKED + timedelta(hours=4))
    with bureau.store.session() as session:
        assert svc.lapsing_extensions(session, case) == []
    assert bureau.act(bureau.CLERK, ENDED, svc.close_case, case, note="已办结") == []

    assert _extension(bureau, approved).state == "approved"
    assert _extension(bureau, denied).state == "denied"
    assert _extension(bureau, approved).decided_at == ASKED + timedelta(hours=1)
    assert _detail(bureau, case, "close") == {}  # nothing lapsed: the event is as before


def test_a_reopened_case_keeps_its_lapsed_request_and_the_unit_asks_again(bureau: Any) -> None:
    case = _handling(bureau, "reopened")
    lapsed = _ask(bureau, case, days=30)  # the whole cap: it must not count once lapsed
    _answer(bureau, case, ASKED + timedelta(hours=2))
    bureau.act(bureau.CLERK, ENDED, svc.close_case, case)
    rated = ENDED + timedelta(hours=1)
    bureau.act(bureau.CLERK, rated, svc.rate_case, case, value="不满意", comment="问题未解决")
    reopened = rated + timedelta(hours=1)
    bureau.act(bureau.CLERK, reopened, svc.reopen_case, case, reason="群众不满意，重办")

    assert _extension(bureau, lapsed).state == "lapsed"
    assert _waiting(bureau) == (set(), 0)  # not revived by the reopening

    asked = reopened + timedelta(hours=1)
    again = _ask(bureau, case, at=asked, days=30)
    assert again != lapsed
    assert _waiting(bureau) == ({case}, 1)
    # Reopened Wednesday 2025-03-05: 60 日 end on 05-04, in the May Day holiday, so on 05-06;
    # the approved 30 days make it 90 日, ending Tuesday 06-03.
    assert bureau.case(case).close_due_at == _end_of(2025, 5, 6)
    bureau.act(bureau.SUPERVISOR, asked + timedelta(hours=1), svc.approve_extension, case)

    assert _extension(bureau, again).state == "approved"
    assert _extension(bureau, lapsed).state == "lapsed"
    assert bureau.case(case).close_due_at == _end_of(2025, 6, 3)
    with bureau.store.session() as session:
        states = session.exec(
            select(ExtensionRow.state)
            .where(ExtensionRow.case_id == case)
            .order_by(col(ExtensionRow.id))
        ).all()
    assert states == ["lapsed", "approved"]
