"""Opening the Textual console from the command line."""

from __future__ import annotations

import typer

from caseworker.commands.common import fail


def open_console(ctx: typer.Context) -> None:
    """Open the console on the configured database, with the clerk's keymap file if any."""
    from caseworker.app import make_app
    from caseworker.commands.common import opened
    from caseworker.keys import KeymapError, load_keymap

    try:
        keymap = load_keymap()
    except KeymapError as exc:
        fail(str(exc))
    with opened(ctx) as env:
        app = make_app(env.settings, env.store, env.rules, keymap=keymap)
        app.run()
