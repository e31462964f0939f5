"""Errors the rules raise when an action is refused; the CLI and the console show their text.

A refusal carries its English text (what `str()` gives: the CLI, its logs and tests read it) and,
where the console must say it in the clerk's language, a message key with its parameters:
`IllegalTransition(text, key="refused.illegal_transition", case=..., state=Status.CLOSED, ...)`.
The catalog (caseworker/i18n/catalog.py `Catalog.refusal`) renders the key in zh or en, showing
statuses, actions and roles passed as parameters by their names in that language.
"""

from __future__ import annotations


class DomainError(Exception):
    """An action refused by a rule; its message is meant for the clerk, not a developer."""

    def __init__(self, message: str, *, key: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params: dict[str, object] = params


class IllegalTransition(DomainError):
    """The case is not in a state where this action is allowed."""


class NotPermitted(DomainError):
    """The acting clerk does not hold the role this action needs."""


class InvalidInput(DomainError):
    """Something the clerk typed cannot be used (empty reason, unknown outcome, ...)."""
