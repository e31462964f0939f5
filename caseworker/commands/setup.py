"""Setting up a bureau: `init`, `units import|list`, `clerks add|bind|unbind|list`,
`admin grant|revoke|history`. Every change is a supervisor's and is recorded (services.admin)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from caseworker.commands.common import fail, opened, say, settings_of
from caseworker.commands.listing import ListFormat
from caseworker.output_safety import terminal_safe


def init(ctx: typer.Context) -> None:
    """Create or upgrade the database; registers you as its first supervisor. Idempotent."""
    from caseworker.services.admin import bind_first_supervisor, require_supervisor
    from caseworker.services.identity import acting_clerk, is_demo
    from caseworker.services.people import has_clerks
    from caseworker.store.engine import head_revision

    wanted = settings_of(ctx).clerk
    from caseworker.store.sequences import sync_id_sequences

    with opened(ctx, create=True, identify=False) as store, store.session() as session:
        login = store.settings.login
        added = False
        if not has_clerks(session):
            name = wanted or login
            added = bind_first_supervisor(session, name, login)
        else:
            who = acting_clerk(session, login=login, wanted=wanted, demo=is_demo(session))
            require_supervisor(session, who.clerk, "init")
            name = who.clerk
        # Repairs a database a bulk writer of an older version left with its sequences behind.
        sync_id_sequences(session.connection())
    typer.echo(f"database ready at schema {head_revision()}: {store.store.url}")
    if added:
        typer.echo(say(ctx, "admin.first_supervisor", name=name, login=login))


units_app = typer.Typer(help="The unit tree: province / city / county / township / departments.")
clerks_app = typer.Typer(help="The people who act: clerks, unit handlers, supervisors.")
admin_app = typer.Typer(help="Database roles (PostgreSQL) and the administration history.")


@units_app.command("import")
def units_import(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(help="CSV with columns name, parent, level, code (optional: population)."),
    ],
) -> None:
    """Load or update units from a CSV file (parents may come after children)."""
    from caseworker.services.admin import import_units

    try:
        text = file.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        fail(f"cannot read {file}: {exc.strerror}")
    except UnicodeDecodeError:
        fail(f"{file} is not UTF-8 text")
    with opened(ctx) as store, store.session() as session:
        count = import_units(session, store.settings.clerk, text)
    typer.echo(terminal_safe(f"{count} units loaded from {file}"))


@units_app.command("list")
def units_list(ctx: typer.Context, fmt: ListFormat = "table") -> None:
    """Show the unit tree."""
    from dataclasses import asdict

    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.people import list_units, unit_depths

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        units = list_units(session)
    depth = unit_depths(units)
    yes, no = say(ctx, "cli.list.yes"), say(ctx, "cli.list.no")
    cells = [
        [
            unit.code,
            "  " * depth[unit.id] + unit.name,
            unit.level,
            yes if unit.active else no,
            f"{unit.population:,}" if unit.population is not None else "—",
        ]
        for unit in units
    ]
    fields = ("code", "name", "level", "active", "population")
    columns = [Column(f) for f in fields]
    records = [asdict(u) | {"depth": depth[u.id]} for u in units]
    print_listing(ctx, fmt, columns, records, area="units", cells=cells)


@clerks_app.command("add")
def clerks_add(
    ctx: typer.Context,
    name: str,
    role: Annotated[str, typer.Option("--role", help="clerk, handler or supervisor")],
    unit: Annotated[str | None, typer.Option("--unit", help="A handler's unit.")] = None,
    login: Annotated[
        list[str] | None,
        typer.Option("--login", help="A login that may act as this clerk (repeatable)."),
    ] = None,
) -> None:
    """Register a clerk (a supervisor's task)."""
    from caseworker.services.admin import add_clerk

    with opened(ctx) as store, store.session() as session:
        clerk = add_clerk(session, store.settings.clerk, name, role, unit, tuple(login or ()))
    typer.echo(
        terminal_safe(
            f"clerk {clerk.name} added as {clerk.role}"
            + (f" of {clerk.unit}" if clerk.unit else "")
            + (f", login {', '.join(clerk.logins)}" if clerk.logins else ", bound to no login yet")
        )
    )


@clerks_app.command("bind")
def clerks_bind(
    ctx: typer.Context,
    name: str,
    login: Annotated[str, typer.Option("--login", help="The login that may act as NAME.")],
) -> None:
    """Let a login act as a clerk (a supervisor's task)."""
    from caseworker.services.admin import bind

    with opened(ctx) as store, store.session() as session:
        changed = bind(session, store.settings.clerk, name, login)
    typer.echo(
        terminal_safe(
            say(ctx, "admin.bound" if changed else "admin.bound_already", login=login, name=name)
        )
    )


@clerks_app.command("unbind")
def clerks_unbind(
    ctx: typer.Context,
    name: str,
    login: Annotated[str, typer.Option("--login", help="The login to stop acting as NAME.")],
) -> None:
    """Stop a login acting as a clerk (a supervisor's task)."""
    from caseworker.services.admin import unbind

    with opened(ctx) as store, store.session() as session:
        changed = unbind(session, store.settings.clerk, name, login)
    typer.echo(
        terminal_safe(
            say(
                ctx, "admin.unbound" if changed else "admin.unbound_already", login=login, name=name
            )
        )
    )


@clerks_app.command("list")
def clerks_list(ctx: typer.Context, fmt: ListFormat = "table") -> None:
    """Show the registered clerks and the logins that may act as each."""
    from dataclasses import asdict

    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.people import list_clerks

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        clerks = list_clerks(session)
    cells = [
        [
            clerk.name,
            clerk.role if clerk.active else say(ctx, "cli.list.inactive", role=clerk.role),
            clerk.unit or "—",
            ", ".join(clerk.logins) or "—",
        ]
        for clerk in clerks
    ]
    columns = [Column(f) for f in ("name", "role", "unit", "logins")]
    records = [asdict(c) for c in clerks]
    print_listing(ctx, fmt, columns, records, area="clerks", cells=cells)


@admin_app.command("grant")
def admin_grant(
    ctx: typer.Context,
    clerk: str,
    login: Annotated[
        str | None,
        typer.Option("--login", help="The database role (default: the clerk's one login)."),
    ] = None,
) -> None:
    """PostgreSQL: create or update the database role CLERK connects as, with a clerk's rights."""
    from caseworker.services.admin import grant_role

    with opened(ctx) as store, store.session() as session:
        role = grant_role(session, store.settings.clerk, clerk, login)
    typer.echo(terminal_safe(say(ctx, "admin.granted", role=role, clerk=clerk)))


@admin_app.command("revoke")
def admin_revoke(
    ctx: typer.Context,
    clerk: str,
    login: Annotated[
        str | None,
        typer.Option("--login", help="The database role (default: the clerk's one login)."),
    ] = None,
) -> None:
    """PostgreSQL: take a clerk's database role's rights away and unbind it from the clerk."""
    from caseworker.services.admin import revoke_role

    with opened(ctx) as store, store.session() as session:
        role = revoke_role(session, store.settings.clerk, clerk, login)
    typer.echo(terminal_safe(say(ctx, "admin.revoked", role=role, clerk=clerk)))


@admin_app.command("history")
def admin_history_command(ctx: typer.Context, fmt: ListFormat = "table") -> None:
    """Every change to units, clerks and logins (who, when, before, after), chain checked.

    Exit 1 when a record does not match the chain."""
    from dataclasses import asdict

    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.admin import admin_history, verify_admin_history

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        entries = admin_history(session)
        count, broken = verify_admin_history(session)
    fields = ("id", "recorded_at", "actor", "action", "subject", "before", "after")
    columns = [Column(f) for f in fields]
    print_listing(ctx, fmt, columns, [asdict(e) for e in entries], area="admin")
    if broken is not None:
        fail(say(ctx, "admin.chain_broken", record=broken, count=count))
    typer.echo(say(ctx, "admin.chain_verified", count=count), err=True)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(units_app, name="units")
    app.add_typer(clerks_app, name="clerks")
    app.add_typer(admin_app, name="admin")
