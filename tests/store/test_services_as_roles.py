"""The services' own tests again on PostgreSQL, every action through the acting clerk's own
database role (`caseworker admin grant`), so row-level security and the clerk roles' grants
are exercised by the same scenarios the owner runs: a rule of the services that the server's
policies would break shows here.

The tests are those of tests/store/test_services.py, tests/services/test_review_and_reopen.py
and tests/services/test_lapsed_extensions.py, collected again here with this module's
`bureau`: the owner builds the bureau and reads the results back; `bureau.act(clerk, …)`
opens the clerk's own connection.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from caseworker.services.people import UnknownName
from caseworker.services.rules import Rules

TESTS = Path(__file__).resolve().parents[1]
_roles = itertools.count(1)


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


_SHARED = _load(TESTS / "conftest.py", "roles_shared_fixtures")
_SUITES = (
    TESTS / "store" / "test_services.py",
    TESTS / "services" / "test_review_and_reopen.py",
    TESTS / "services" / "test_lapsed_extensions.py",
)
for _path in _SUITES:
    _module = _load(_path, f"roles_{_path.stem}")
    for _name, _value in vars(_module).items():
        if _name.startswith("test_") and callable(_value):
            globals()[f"{_name}__as_roles"] = _value


@dataclass(frozen=True)
class RoleBureau(_SHARED.Bureau):  # type: ignore[misc,name-defined]
    """The shared Bureau, each clerk acting through their own database role."""

    stores: dict[str, Any] = field(default_factory=dict)

    def act(self, clerk: str, at: datetime, action: Any, *args: Any, **kwargs: Any) -> Any:
        store: Any = self.stores.get(clerk, self.store)
        try:
            with store.session() as session:
                return action(session, self.desk(clerk, at), *args, **kwargs)
        except UnknownName as exc:
            if exc.key != "refused.unknown_case":
                raise
            self._hidden_as_the_services_would_refuse(clerk, exc)
            raise AssertionError("unreachable") from None

    def _hidden_as_the_services_would_refuse(self, clerk: str, hidden: UnknownName) -> None:
        """The server hides another unit's case altogether, so the clerk's own connection finds
        no such case where the services, on the owner's connection, refuse it as not theirs.
        Check it is that (the case exists, and the services refuse this clerk it) and raise
        the services' refusal; anything else is a real difference and fails the test."""
        from caseworker.services.cases import find_case
        from caseworker.services.queues import check_visible

        ref = str(hidden.params["ref"])
        with self.store.session() as session:
            case = find_case(session, ref)  # UnknownName here: it does not exist at all
            assert case.id is not None
            check_visible(session, clerk, case.id, ref)  # raises the services' NotPermitted
        raise AssertionError(f"the server hid case {ref} from {clerk}, the services would not")


@pytest.fixture
def backend() -> str:
    """PostgreSQL only: SQLite has no roles."""
    return "postgres"


@pytest.fixture
def bureau(store: Any, rules: Rules) -> Iterator[RoleBureau]:
    from caseworker.services.admin import grant_role
    from caseworker.store.engine import open_store

    _SHARED.populate_bureau(store)
    clerks = (
        _SHARED.CLERK,
        _SHARED.SUPERVISOR,
        _SHARED.HANDLER,
        _SHARED.CO_HANDLER,
        _SHARED.OTHER_HANDLER,
    )
    names = {clerk: f"cw_svc_{os.getpid()}_{next(_roles)}" for clerk in clerks}
    with store.session() as session:
        for clerk, role in names.items():
            grant_role(session, _SHARED.SUPERVISOR, clerk, role)
    url = make_url(store.url)
    stores = {
        clerk: open_store(url.set(username=role).render_as_string(hide_password=False))
        for clerk, role in names.items()
    }
    try:
        yield RoleBureau(store=store, rules=rules, stores=stores)
    finally:
        for opened in stores.values():
            opened.close()
