"""Opening the Textual console from the command line."""

from __future__ import annotations

import typer

from caseworker.commands.common import fail


def open_console(ctx: typer.Context) -> None:
    """Open the console on the configured database (the full console lands with the UI work)."""
    fail("the console is not available yet; use the `case` subcommands", 1)
