"""Turning refusals and bad input into one clear line and an exit code."""

from __future__ import annotations

import sys
from typing import Any

import typer


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; a refusal prints `caseworker: why` and exits 1, usage errors exit 2.

    A refusal is said in the language of the run's settings (`--lang`, default from the
    locale), which the root command leaves on its context.
    """
    contexts: list[Any] = []
    try:
        # Outside standalone mode Click returns (not raises) the code of a `typer.Exit`.
        code = _remembering(app, contexts)(standalone_mode=False)
        if code == 130:  # Typer turns Ctrl-C inside a command into a quiet return of 130
            typer.echo(f"caseworker: {_said(contexts, 'cli.interrupted')}", err=True)
        if isinstance(code, int):
            return code
    except typer.Exit as done:
        return int(done.exit_code)
    except typer.Abort:
        typer.echo(f"caseworker: {_said(contexts, 'cli.aborted')}", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo(f"caseworker: {_said(contexts, 'cli.interrupted')}", err=True)
        return 130
    except Exception as exc:
        if _is_refusal(exc):
            typer.echo(f"caseworker: {_refusal_text(exc, contexts)}", err=True)
            return 1
        trouble = _store_trouble(exc)
        if trouble is not None:
            typer.echo(f"caseworker: {_refusal_text(trouble, contexts)}", err=True)
            return 1
        # Usage errors (Typer's bundled Click) know how to show themselves and their exit code.
        # One line, like every other refusal; `--help` still shows the full usage.
        message, code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if callable(message) and isinstance(code, int):
            text = " ".join(str(message()).split())
            typer.echo(f"caseworker: {text} (see --help)", err=True)
            return code
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(code, int):
            show(file=sys.stderr)
            return code
        raise
    return 0


def _is_refusal(exc: Exception) -> bool:
    """Whether `exc` is a refusal meant for the clerk (a rule, the store, a rules file).

    The classes are imported only when something was raised, so `--help` and fast reports do not
    pay for loading the store and the rules at start-up.
    """
    from caseworker.domain.calendar import CalendarFileError
    from caseworker.domain.errors import DomainError
    from caseworker.services.rules import RulesFileError
    from caseworker.store.engine import StoreError

    return isinstance(exc, DomainError | StoreError | RulesFileError | CalendarFileError)


def _store_trouble(exc: Exception) -> Exception | None:
    """The database refusing a write (locked past the busy timeout, a clash with a write made at
    the same moment, a lost server) as a refusal saying so; None for anything else.

    The transaction was rolled back, so nothing was changed: the clerk can simply try again.
    """
    import sqlite3

    from sqlalchemy.exc import DBAPIError, IntegrityError

    from caseworker.domain.errors import DomainError
    from caseworker.store.engine import store_failure

    if not isinstance(exc, DBAPIError | sqlite3.Error):
        return None
    # A read-only, full, damaged or failing database: said plainly by the store.
    failure = store_failure(exc)
    if failure is not None:
        return failure
    if not isinstance(exc, DBAPIError):
        return None
    reason = " ".join(str(exc.orig if exc.orig is not None else exc).split())
    if isinstance(exc, IntegrityError):
        return DomainError(
            f"someone else saved the same record at the same moment ({reason}); nothing was "
            "changed, try again",
            key="refused.store_clash",
            reason=reason,
        )
    if "locked" in reason or "busy" in reason:
        return DomainError(
            "the database is busy (another clerk or an import is writing); nothing was changed, "
            "try again",
            key="refused.store_busy",
        )
    return DomainError(
        f"the database refused the change ({reason}); nothing was changed",
        key="refused.store_failed",
        reason=reason,
    )


def _remembering(app: typer.Typer, contexts: list[Any]) -> Any:
    """The app's Click command, keeping its root context so a refusal can read its settings.

    Its help is put in the run's language first: `--help` is answered while parsing, before the
    root command has read its settings.
    """
    from typer.main import get_command

    from caseworker.commands.help_text import translate_help

    command = get_command(app)
    translate_help(command, sys.argv[1:])
    base = command.context_class

    class RootContext(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            contexts.append(self)

    command.context_class = RootContext
    return command


def _said(contexts: list[Any], key: str) -> str:
    """A message of the catalog in the run's language (English before the settings were read)."""
    from caseworker.i18n.catalog import Catalog

    language = getattr(contexts[0].obj, "language", "en") if contexts else "en"
    return Catalog(language if language in ("zh", "en") else "en").t(key)


def _refusal_text(exc: Exception, contexts: list[Any]) -> str:
    """The refusal in the run's language; English when the settings were never read."""
    language = getattr(contexts[0].obj, "language", "en") if contexts else "en"
    if language == "en":
        return str(exc)
    from caseworker.i18n.catalog import Catalog

    return Catalog(language).refusal(exc)
