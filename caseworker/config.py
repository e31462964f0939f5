"""Settings in one place: where the database is, who is acting, language, clock and rule files.

Nothing here touches the database at import time (one look on disk finds the data folder);
`Settings.from_env` only reads the environment, and the CLI fills in what the user typed.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from platformdirs import user_data_path

from caseworker.clock import Clock, FrozenClock, SystemClock


def _data_dir() -> Path:
    """The policy, calendar, reply templates, mappings and training files: data/ beside the
    package in a source checkout or an editable install, inside it when installed from a wheel.
    """
    package = Path(__file__).resolve().parent
    beside = package.parent / "data"
    return beside if (beside / "policy.toml").is_file() else package / "data"


DATA_DIR = _data_dir()
ENV_PREFIX = "CASEWORKER_"


def default_data_dir() -> Path:
    """Where caseworker keeps its databases (XDG data home, e.g. ~/.local/share/caseworker)."""
    return user_data_path("caseworker", appauthor=False)


def default_database() -> str:
    """The embedded default database: a SQLite file in the user's data directory."""
    return str(default_data_dir() / "caseworker.sqlite")


def os_login() -> str:
    """The login running this process, read from its user id.

    Not from USER or LOGNAME: anyone can set those, while the user id is what the operating
    system checked at login. A user id missing from the password database reads as `uid:N`.
    """
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def default_language() -> str:
    """zh or en from the locale: Chinese locales get zh, everything else en."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


@dataclass(frozen=True)
class Settings:
    """Everything a command or the console needs to know before it opens the store."""

    database: str = field(default_factory=default_database)
    # The clerk asked for with --clerk ("" when none was); once the store is open, the clerk
    # that the login may act as (caseworker.services.identity).
    clerk: str = ""
    login: str = field(default_factory=os_login)
    language: str = field(default_factory=default_language)
    now: datetime | None = None
    policy_file: Path = DATA_DIR / "policy.toml"
    calendar_file: Path = DATA_DIR / "calendar.toml"

    def clock(self) -> Clock:
        """The frozen clock when `now` is set, the system clock otherwise."""
        return FrozenClock(self.now) if self.now is not None else SystemClock()

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]
