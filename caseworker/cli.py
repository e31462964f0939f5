"""The `caseworker` command: global options, then thin subcommands that call the services."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from caseworker.commands import case as case_commands
from caseworker.commands import demo as demo_commands
from caseworker.commands import letters as letter_commands
from caseworker.commands import reports as report_commands
from caseworker.commands import setup as setup_commands
from caseworker.commands import transfer as transfer_commands
from caseworker.commands import triage as triage_commands
from caseworker.commands import upkeep as upkeep_commands
from caseworker.commands.common import TimeOutOfBounds, fail, parse_time
from caseworker.config import Settings

app = typer.Typer(
    name="caseworker",
    help="A console for bureaus that answer citizens' online messages.",
    no_args_is_help=False,
    invoke_without_command=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    db: Annotated[
        str | None,
        typer.Option("--db", envvar="CASEWORKER_DB", help="SQLite file or SQLAlchemy URL."),
    ] = None,
    clerk: Annotated[
        str | None,
        typer.Option(
            "--clerk",
            envvar="CASEWORKER_CLERK",
            help="Which of your login's clerks acts (default: its only one).",
        ),
    ] = None,
    lang: Annotated[
        str | None,
        typer.Option("--lang", envvar="CASEWORKER_LANG", help="zh or en (default: the locale)."),
    ] = None,
    now: Annotated[
        str | None,
        typer.Option("--now", envvar="CASEWORKER_NOW", help="Freeze the clock at this time."),
    ] = None,
    calendar: Annotated[
        Path | None,
        typer.Option("--calendar", envvar="CASEWORKER_CALENDAR", help="Bureau calendar file."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", envvar="CASEWORKER_POLICY", help="Policy file (limits)."),
    ] = None,
) -> None:
    """Without a command, open the console."""
    # The database and its folder, exports and rejects hold citizens' personal data: whatever
    # this run creates is its user's alone (0600 files, 0700 folders). SQLite gives its -wal
    # and -shm files the database file's own mode.
    os.umask(0o077)
    settings = Settings()
    changes: dict[str, object] = {}
    if db:
        changes["database"] = db
    if clerk:
        changes["clerk"] = clerk
    if lang:
        if lang not in ("zh", "en"):
            raise typer.BadParameter("--lang must be zh or en")
        changes["language"] = lang
    if now:
        try:
            changes["now"] = parse_time(now, "--now")
        except typer.BadParameter as exc:
            from caseworker.i18n.catalog import Catalog

            language = str(changes.get("language", settings.language))
            key = "cli.time_out_of_bounds" if isinstance(exc, TimeOutOfBounds) else "cli.bad_time"
            fail(Catalog(language).t(key, option="--now", text=now), 2)
    if calendar:
        changes["calendar_file"] = calendar
    if policy:
        changes["policy_file"] = policy
    ctx.obj = settings.with_(**changes)
    if ctx.invoked_subcommand is None:
        from caseworker.commands.console import open_console

        open_console(ctx)


setup_commands.register(app)
app.add_typer(case_commands.app, name="case", help="Act on one case, as the console would.")
report_commands.register(app)
transfer_commands.register(app)
demo_commands.register(app)
letter_commands.register(app, report_commands.report_app)
upkeep_commands.register(app)
triage_commands.register(app)


def main() -> None:
    """Entry point: run the app and turn refusals into one line on stderr, never a traceback."""
    from caseworker.commands.errors import run_guarded

    sys.exit(run_guarded(app))
