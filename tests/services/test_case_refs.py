"""How a clerk's typed reference reaches a case (or a unit): ASCII digits only, never a crash.

On SQLite and PostgreSQL alike: `²` made int() raise, a 20-digit number overflowed the
driver, and `١٢٣` (Arabic-Indic digits, which int() reads as 123) reached case 123.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from caseworker.domain.calendar import SHANGHAI
from caseworker.domain.errors import DomainError
from caseworker.services.cases import find_case
from caseworker.services.console_data import search_merge_targets
from caseworker.services.people import find_unit


def test_other_scripts_digits_and_huge_numbers_address_no_case(bureau: Any) -> None:
    first = bureau.receive(datetime(2025, 11, 14, 9, tzinfo=SHANGHAI), title="路灯不亮")
    assert first == 1
    with bureau.store.session() as session:
        assert find_case(session, "1").id == first
        assert find_case(session, "#1").id == first
        for ref in ("١", "#١", "１", "²", "#²", "1" * 25, "#" + "9" * 25):
            with pytest.raises(DomainError, match="unknown case"):
                find_case(session, ref)
        for query in ("²", "١", "9" * 25):
            assert [t.id for t in search_merge_targets(session, query, exclude=0)] == []
        assert [t.id for t in search_merge_targets(session, "1", exclude=0)] == [first]


def test_a_unit_is_not_reached_by_other_scripts_digits(bureau: Any) -> None:
    unit = bureau.unit_id("C-HOUSING")
    with bureau.store.session() as session:
        assert find_unit(session, str(unit)).id == unit
        for ref in (chr(0x0660 + unit), "²", "9" * 25):
            with pytest.raises(DomainError, match="unknown unit"):
                find_unit(session, ref)
