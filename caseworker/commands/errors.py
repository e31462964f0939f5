"""Turning refusals and bad input into one clear line and an exit code."""

from __future__ import annotations

import re
import sys
from typing import Any

import typer


def run_guarded(app: typer.Typer) -> int:
    """Run the Typer app; a refusal prints `caseworker: why` and exits 1, usage errors exit 2.

    A refusal is said in the language of the run's settings (`--lang`, default from the
    locale), which the root command leaves on its context.
    """
    contexts: list[Any] = []
    position = _undecodable_argument(sys.argv[1:])
    if position is not None:
        from caseworker.config import Settings
        from caseworker.i18n.catalog import Catalog

        language = Settings().language
        text = Catalog(language if language in ("zh", "en") else "en").t(
            "cli.not_utf8_argument", position=position
        )
        typer.echo(f"caseworker: {text}", err=True)
        return 2
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
        from caseworker.output_safety import terminal_safe

        if _is_refusal(exc):  # a refusal may quote data: a title, a unit's name, a file name
            why = terminal_safe(_one_line(_refusal_text(exc, contexts)), one_line=True)
            typer.echo(f"caseworker: {why}", err=True)
            return 1
        trouble = _store_trouble(exc)
        if trouble is not None:
            why = terminal_safe(_one_line(_refusal_text(trouble, contexts)), one_line=True)
            typer.echo(f"caseworker: {why}", err=True)
            return 1
        if isinstance(exc, OSError):  # a file named on the command line: missing, too long …
            what = f": {str(exc.filename)[:200]}" if exc.filename else ""
            why = terminal_safe(f"{exc.strerror or exc}{what}", one_line=True)
            typer.echo(f"caseworker: {why}", err=True)
            return 1
        # Usage errors (Typer's bundled Click) know how to show themselves and their exit code.
        # One line, like every other refusal; `--help` still shows the full usage.
        message, code = getattr(exc, "format_message", None), getattr(exc, "exit_code", None)
        if callable(message) and isinstance(code, int):
            text = terminal_safe(" ".join(str(message()).split()), one_line=True)
            typer.echo(f"caseworker: {text} (see --help)", err=True)
            return code
        show = getattr(exc, "show", None)
        if callable(show) and isinstance(code, int):
            show(file=sys.stderr)
            return code
        raise
    return 0


def _one_line(text: str) -> str:
    """A refusal on one line: a server's reason may come in several (PostgreSQL's hint does)."""
    return " ".join(text.split())


def _undecodable_argument(args: list[str]) -> int | None:
    """The position of the first argument that is not UTF-8 (Python keeps its bad bytes as lone
    surrogates, which no file, terminal or database can take), or None."""
    for position, arg in enumerate(args, start=1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            return position
        if "\x00" in arg:  # no C program can pass one; only a caller in this process can
            return position
    return None


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
        return _integrity_refusal(exc, reason)
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


def _integrity_refusal(exc: Exception, reason: str) -> Exception:
    """A write the schema refused, said as what it is.

    Two clerks changing one case never get here (the case's version turns that into its own
    refusal, naming who changed it), so a duplicate key is not blamed on a colleague: an id
    already taken means the id counter is behind the rows (`init` repairs it), another key
    means the record is already there.
    """
    from caseworker.domain.errors import DomainError

    orig = getattr(exc, "orig", None)
    diag = getattr(orig, "diag", None)
    state = getattr(orig, "sqlstate", None)
    constraint = str(getattr(diag, "constraint_name", "") or "")
    table = str(getattr(diag, "table_name", "") or "")
    sqlite = re.search(r"UNIQUE constraint failed: (\w+)\.id$", reason)
    if (state == "23505" and constraint.endswith("_pkey")) or sqlite:
        table = table or (sqlite.group(1) if sqlite else "?")
        return DomainError(
            f"the database's id counter for {table} is behind its rows ({reason}); nothing was "
            "changed: `caseworker init` repairs the counters",
            key="refused.store_id_behind",
            table=table,
            reason=reason,
        )
    if state == "23505" or "UNIQUE constraint failed" in reason:
        return DomainError(
            f"the database already holds a record with the same key ({reason}); nothing was "
            "changed",
            key="refused.store_duplicate",
            reason=reason,
        )
    return DomainError(
        f"the database refused the change as breaking one of its rules ({reason}); nothing "
        "was changed",
        key="refused.store_integrity",
        reason=reason,
    )


def _remembering(app: typer.Typer, contexts: list[Any]) -> Any:
    """The app's Click command, keeping its root context so a refusal can read its settings.

    Its help is put in the run's language first: `--help` is answered while parsing, before the
    root command has read its settings.
    """
    from typer.core import TyperGroup
    from typer.main import get_command

    from caseworker.commands.help_text import help_language, translate_help

    # Building the command tree from the app is most of a run's own start-up (some 70 ms); a
    # process that runs the app more than once (the tests, the fuzz test above all) builds
    # the English tree once. A Chinese run gets a tree of its own to translate.
    command: Any = _BUILT.get(id(app))
    if command is None or help_language(command, sys.argv[1:]) == "zh":
        command = get_command(app)
        translate_help(command, sys.argv[1:])
        if isinstance(command, TyperGroup) and help_language(command, sys.argv[1:]) != "zh":
            _BUILT[id(app)] = command
    base = _BASES.setdefault(id(command), command.context_class)

    class RootContext(base):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            contexts.append(self)

    command.context_class = RootContext
    return command


_BUILT: dict[int, Any] = {}  # the app's English command tree, by id(app)
_BASES: dict[int, Any] = {}  # each tree's own context class, before RootContext wrapped it


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
