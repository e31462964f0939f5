"""Keeping the store sound: `audit verify`, `backup FILE`, `check`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from caseworker.commands.common import fail, say, settings_of

audit_app = typer.Typer(help="The tamper-evident history of every case.")


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
    app.command("backup")(backup)
    app.command("check")(check)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    head: Annotated[
        str | None,
        typer.Option(
            "--head",
            help="A head noted earlier, N:DIGEST; checks that events 1..N are unchanged since.",
        ),
    ] = None,
) -> None:
    """Walk every case's hash chain and the rankings'; exit 1 at the first that does not match."""
    from caseworker.services.upkeep import verify_audit
    from caseworker.store.engine import open_store

    upto, digest = None, None
    if head is not None:
        found = re.fullmatch(r"\s*(\d+):([0-9a-f]{64})\s*", head)
        if found is None:
            fail(say(ctx, "audit.bad_head", head=head), 2)
        upto, digest = int(found.group(1)), found.group(2)
    store = open_store(settings_of(ctx).database, create=False)
    try:
        report = verify_audit(store, head_upto=upto)
    finally:
        store.close()
    if report.first is not None:
        first = report.first
        key = "audit.mismatch_event" if first.table == "events" else "audit.mismatch_ranking"
        fail(say(ctx, key, id=first.id, case=first.case_id, count=report.mismatches))
    if digest is not None and digest != report.head:
        fail(say(ctx, "audit.head_differs", upto=upto))
    typer.echo(
        say(
            ctx,
            "audit.verified",
            events=report.events,
            cases=report.cases,
            rankings=report.rankings,
        )
    )
    typer.echo(say(ctx, "audit.head", upto=report.head_id, head=report.head))


def backup(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The new file to write the copy to.")],
) -> None:
    """Copy the database while clerks keep working (SQLite; on PostgreSQL use pg_dump)."""
    from caseworker.services.upkeep import NotForPostgres, backup_store
    from caseworker.store.engine import open_store

    store = open_store(settings_of(ctx).database, create=False)
    try:
        report = backup_store(store, file)
    except NotForPostgres:
        fail(say(ctx, "backup.postgres"), 2)
    finally:
        store.close()
    typer.echo(
        say(
            ctx,
            "backup.done",
            path=str(report.path),
            size=f"{report.bytes / 1_048_576:.1f}",
            cases=report.cases,
            events=report.events,
        )
    )


def check(ctx: typer.Context) -> None:
    """Check the database: SQLite's integrity, the audit chain, deadlines against the rules."""
    from caseworker.services.rules import load_rules
    from caseworker.services.upkeep import check_store
    from caseworker.store.engine import open_store

    settings = settings_of(ctx)
    rules = load_rules(settings.policy_file, settings.calendar_file)
    store = open_store(settings.database, create=False)
    try:
        lines = check_store(store, rules, settings.clock().now())
    finally:
        store.close()
    for line in lines:
        mark = say(ctx, "check.ok") if line.ok else say(ctx, "check.wrong")
        part = say(ctx, f"check.part.{line.part}")
        typer.echo(f"{mark} {part}: {say(ctx, line.key, **line.params)}")
    if not all(line.ok for line in lines):
        raise typer.Exit(1)
