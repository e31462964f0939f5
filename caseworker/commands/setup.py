"""Setting up a bureau: `init`, `units import|list`, `clerks add|list`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from caseworker.commands.common import fail, opened, settings_of
from caseworker.output_safety import terminal_safe


def init(ctx: typer.Context) -> None:
    """Create or upgrade the database; registers you as its first supervisor. Idempotent."""
    from caseworker.services.people import ensure_first_supervisor
    from caseworker.store.engine import head_revision

    settings = settings_of(ctx)
    from caseworker.store.sequences import sync_id_sequences

    with opened(ctx, create=True) as store, store.session() as session:
        added = ensure_first_supervisor(session, settings.clerk)
        # Repairs a database a bulk writer of an older version left with its sequences behind.
        sync_id_sequences(session.connection())
    typer.echo(f"database ready at schema {head_revision()}: {store.store.url}")
    if added:
        typer.echo(f"{settings.clerk} is registered as the first supervisor")


units_app = typer.Typer(help="The unit tree: province / city / county / township / departments.")
clerks_app = typer.Typer(help="The people who act: clerks, unit handlers, supervisors.")


@units_app.command("import")
def units_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="CSV with columns name, parent, level, code (optional: population)."),
    ],
) -> None:
    """Load or update units from a CSV file (parents may come after children)."""
    from caseworker.services.people import import_units

    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    with opened(ctx) as store, store.session() as session:
        count = import_units(session, text)
    typer.echo(terminal_safe(f"{count} units loaded from {file}"))


@units_app.command("list")
def units_list(ctx: typer.Context) -> None:
    """Show the unit tree."""
    from caseworker.services.people import list_units, unit_depths

    with opened(ctx) as store, store.session() as session:
        units = list_units(session)
    depth = unit_depths(units)
    table = Table("code", "unit", "level", "active", "population", box=None)
    for unit in units:
        table.add_row(
            escape(terminal_safe(unit.code, one_line=True)),
            "  " * depth[unit.id] + escape(terminal_safe(unit.name, one_line=True)),
            escape(terminal_safe(unit.level, one_line=True)),
            "yes" if unit.active else "no",
            f"{unit.population:,}" if unit.population is not None else "—",
        )
    Console().print(table)


@clerks_app.command("add")
def clerks_add(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option("--role", help="clerk, handler or supervisor")],
    unit: Annotated[str | None, typer.Option("--unit", help="A handler's unit.")] = None,
) -> None:
    """Register a clerk."""
    from caseworker.services.people import add_clerk

    with opened(ctx) as store, store.session() as session:
        clerk = add_clerk(session, name, role, unit)
    typer.echo(
        terminal_safe(
            f"clerk {clerk.name} added as {clerk.role}"
            + (f" of {clerk.unit}" if clerk.unit else "")
        )
    )


@clerks_app.command("list")
def clerks_list(ctx: typer.Context) -> None:
    """Show the registered clerks."""
    from caseworker.services.people import list_clerks

    with opened(ctx) as store, store.session() as session:
        clerks = list_clerks(session)
    table = Table("name", "role", "unit", box=None)
    for clerk in clerks:
        table.add_row(
            escape(terminal_safe(clerk.name, one_line=True)),
            escape(terminal_safe(clerk.role, one_line=True)),
            escape(terminal_safe(clerk.unit or "—", one_line=True)),
        )
    Console().print(table)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(units_app, name="units")
    app.add_typer(clerks_app, name="clerks")
