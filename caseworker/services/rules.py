"""Loading the bureau's policy and calendar files into the pure rules."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from caseworker.domain.calendar import WorkCalendar, parse_calendar_toml
from caseworker.domain.policy import Policy, parse_policy


class RulesFileError(Exception):
    """A policy or calendar file cannot be read; the message names the file."""


@dataclass(frozen=True)
class Rules:
    """The policy (channels, limits) and the working-day calendar, read once per process."""

    policy: Policy
    calendar: WorkCalendar


def load_rules(policy_file: Path, calendar_file: Path | None) -> Rules:
    """Read both files; a missing calendar file means "the library's years only"."""
    try:
        policy = parse_policy(policy_file.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RulesFileError(f"cannot read policy file {policy_file}: {exc.strerror}") from None
    except ValueError as exc:
        raise RulesFileError(f"{policy_file}: {exc}") from None
    notices = {}
    if calendar_file is not None:
        try:
            notices = parse_calendar_toml(calendar_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            notices = {}
        except OSError as exc:
            raise RulesFileError(f"cannot read calendar {calendar_file}: {exc.strerror}") from None
        except ValueError as exc:
            raise RulesFileError(f"{calendar_file}: {exc}") from None
    return Rules(policy=policy, calendar=WorkCalendar(notices))
