"""Errors the rules raise when an action is refused; the CLI and the console show their text."""

from __future__ import annotations


class DomainError(Exception):
    """An action refused by a rule; its message is meant for the clerk, not a developer."""


class IllegalTransition(DomainError):
    """The case is not in a state where this action is allowed."""


class NotPermitted(DomainError):
    """The acting clerk does not hold the role this action needs."""


class InvalidInput(DomainError):
    """Something the clerk typed cannot be used (empty reason, unknown outcome, ...)."""
