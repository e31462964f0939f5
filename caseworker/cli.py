"""The `caseworker` command: global options, then thin subcommands that call the services."""

from __future__ import annotations

import functools
import importlib
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer._click import Command
from typer.core import TyperGroup
from typer.main import get_group

from caseworker.commands.common import TimeOutOfBounds, fail, parse_time
from caseworker.commands.lazy import LazyCommands
from caseworker.config import Settings

# Every command by name, in the order `--help` lists them, with the part of caseworker.commands
# that defines it. A part is imported when one of its commands is looked up, not before:
# `report overdue` (cron, every morning) imports the reports, not the case or import commands.
COMMANDS: dict[str, str] = {
    "init": "setup",
    "supervise": "reports",
    "import": "transfer",
    "export": "transfer",
    "demo": "demo",
    "brief": "reports",  # the letters module: its `report bulletin` joins the report group
    "backup": "upkeep",
    "check": "upkeep",
    "units": "setup",
    "clerks": "setup",
    "admin": "setup",
    "case": "case",
    "report": "reports",
    "imports": "transfer",
    "train": "demo",
    "letter": "reports",
    "audit": "upkeep",
    "triage": "triage",
}


@functools.cache
def part(name: str) -> typer.Typer:
    """The commands of one part of caseworker.commands, registered once a process."""
    holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    if name == "case":
        from caseworker.commands import case

        holder.add_typer(case.app, name="case", help="Act on one case, as the console would.")
    elif name == "reports":
        from caseworker.commands import letters, reports

        reports.register(holder)
        letters.register(holder, reports.report_app)
    else:
        module = importlib.import_module(f"caseworker.commands.{name}")
        module.register(holder)
    return holder


def _build(name: str) -> dict[str, Command]:
    """The Click commands of the part that defines `name`, built afresh for one tree."""
    return dict(get_group(part(COMMANDS[name])).commands)


class RootGroup(TyperGroup):
    """The root command: its subcommands are built when looked up (commands.lazy)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["commands"] = LazyCommands(list(COMMANDS), _build)
        super().__init__(*args, **kwargs)


app = typer.Typer(
    name="caseworker",
    help="A console for bureaus that answer citizens' online messages.",
    cls=RootGroup,
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


def main() -> None:
    """Entry point: run the app and turn refusals into one line on stderr, never a traceback."""
    from caseworker.commands.errors import run_guarded

    sys.exit(run_guarded(app))
