"""The 待批延期 queue holds exactly the cases with an extension request awaiting a decision:
the cases `case extensions` lists, counted as the sidebar counts them, for the bureau and for
a unit handler alike (real stores, frozen clock)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import IllegalTransition
from caseworker.services import queues
from caseworker.services.cases import (
    accept_case,
    approve_extension,
    assign_case,
    deny_extension,
    pending_extensions,
    request_extension,
    return_case,
)
from caseworker.store.queries import Filters, QueueKey

DAY = datetime(2025, 3, 3, 9, tzinfo=SHANGHAI)  # a Monday morning
NOW = DAY + timedelta(days=3)


def _handling(bureau: Any, ext: str, lead: str, hour: int) -> int:
    case = bureau.receive(DAY + timedelta(hours=hour), external_id=ext)
    bureau.act(bureau.CLERK, DAY + timedelta(hours=hour + 1), accept_case, case)
    bureau.act(bureau.CLERK, DAY + timedelta(hours=hour + 2), assign_case, case, lead=lead)
    return int(case)


def _ask(bureau: Any, clerk: str, case: int, days: int = 10) -> None:
    at = DAY + timedelta(days=1)
    bureau.act(clerk, at, request_extension, case, days=days, reason="需现场勘查")


def _queue(bureau: Any, clerk: str) -> tuple[list[int], int]:
    """The queue's rows (in order) and the sidebar's count, as `clerk` sees them."""
    with bureau.store.session() as session:
        viewer = queues.viewer_for(session, clerk)
        page = queues.queue_page(session, QueueKey.EXTENSIONS, NOW, viewer, Filters())
        count = queues.queue_counts(session, NOW, viewer)[QueueKey.EXTENSIONS]
    return [line.id for line in page.lines], count


def _listed(bureau: Any, clerk: str | None) -> set[int]:
    with bureau.store.session() as session:
        return {p.case_id for p in pending_extensions(session, clerk=clerk)}


def test_the_queue_holds_exactly_the_cases_awaiting_an_extension_decision(bureau: Any) -> None:
    waiting = _handling(bureau, "waiting", "C-HOUSING", 0)
    _ask(bureau, bureau.HANDLER, waiting)
    approved = _handling(bureau, "approved", "C-HOUSING", 1)
    _ask(bureau, bureau.HANDLER, approved)
    bureau.act(bureau.SUPERVISOR, DAY + timedelta(days=2), approve_extension, approved)
    denied = _handling(bureau, "denied", "C-HOUSING", 2)
    _ask(bureau, bureau.HANDLER, denied)
    bureau.act(
        bureau.SUPERVISOR, DAY + timedelta(days=2), deny_extension, denied, reason="期限充足"
    )
    asked_again = _handling(bureau, "asked-again", "C-HOUSING", 3)
    _ask(bureau, bureau.HANDLER, asked_again)
    bureau.act(
        bureau.SUPERVISOR, DAY + timedelta(days=2), deny_extension, asked_again, reason="说明不足"
    )
    bureau.act(
        bureau.HANDLER,
        DAY + timedelta(days=2, hours=1),
        request_extension,
        asked_again,
        days=5,
        reason="已补充说明",
    )
    _handling(bureau, "never-asked", "C-HOUSING", 4)
    elsewhere = _handling(bureau, "elsewhere", "C-EDU", 5)
    _ask(bureau, bureau.OTHER_HANDLER, elsewhere)

    rows, count = _queue(bureau, bureau.SUPERVISOR)
    assert set(rows) == {waiting, asked_again, elsewhere} == _listed(bureau, None)
    assert count == len(rows)
    with bureau.store.session() as session:
        page = queues.queue_page(
            session,
            QueueKey.EXTENSIONS,
            NOW,
            queues.viewer_for(session, bureau.SUPERVISOR),
            Filters(),
        )
    keys = [line.key for line in page.lines]
    assert keys == sorted(keys)  # nearest deadline first, like every queue

    # A unit handler sees their units' requests only, as `case extensions` lists them.
    rows, count = _queue(bureau, bureau.HANDLER)
    assert set(rows) == {waiting, asked_again} == _listed(bureau, bureau.HANDLER)
    assert count == 2

    # Deciding a request takes its case out of the queue.
    bureau.act(bureau.SUPERVISOR, NOW, approve_extension, waiting)
    rows, count = _queue(bureau, bureau.SUPERVISOR)
    assert set(rows) == {asked_again, elsewhere} == _listed(bureau, None)
    assert count == 2


def test_a_request_leaves_the_queue_while_its_case_cannot_be_decided(bureau: Any) -> None:
    """A unit returning its case to the bureau leaves the request undecidable (approving or
    denying needs the case in handling): it leaves the queue and the list, and comes back with
    the case's next assignment, still awaiting its decision."""
    returned = _handling(bureau, "returned", "C-HOUSING", 0)
    _ask(bureau, bureau.HANDLER, returned)
    kept = _handling(bureau, "kept", "C-HOUSING", 1)
    _ask(bureau, bureau.HANDLER, kept)
    assert set(_queue(bureau, bureau.SUPERVISOR)[0]) == {returned, kept}

    at = DAY + timedelta(days=2)
    bureau.act(bureau.HANDLER, at, return_case, returned, reason="非本单位职责")
    rows, count = _queue(bureau, bureau.SUPERVISOR)
    assert rows == [kept] and count == 1 and _listed(bureau, None) == {kept}
    with pytest.raises(IllegalTransition):  # the decision itself is refused from that state
        bureau.act(bureau.SUPERVISOR, at, approve_extension, returned)

    bureau.act(bureau.CLERK, at + timedelta(hours=1), assign_case, returned, lead="C-HOUSING")
    rows, count = _queue(bureau, bureau.SUPERVISOR)
    assert set(rows) == {returned, kept} == _listed(bureau, None) and count == 2
