"""`caseworker import`, `imports list` and `export`: files in and out, in bulk."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any, NoReturn, Optional

import typer

from caseworker.commands.common import (
    catalog_of,
    check_choice,
    check_range,
    local,
    opened,
    option_time,
    say,
)
from caseworker.commands.listing import ListFormat
from caseworker.domain.bounds import LARGEST_ID
from caseworker.output_safety import terminal_safe

imports_app = typer.Typer(help="Imports done so far: file, checksum, counts, who and when.")


def import_cmd(
    ctx: typer.Context,
    paths: Annotated[
        list[Path], typer.Argument(help="Files to import (CSV, JSON Lines, XLSX, Open311 JSON).")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="csv, jsonl, xlsx or open311 (default: detected)."),
    ] = None,
    encoding: Annotated[
        str | None,
        typer.Option("--encoding", help="Text encoding (default: UTF-8 or GB18030, detected)."),
    ] = None,
    mapping: Annotated[
        Path | None,
        typer.Option("--mapping", help="Column mapping TOML (default: chosen by the headers)."),
    ] = None,
    channel: Annotated[
        str | None, typer.Option("--channel", help="Channel for rows that name none.")
    ] = None,
    rejects: Annotated[
        Path | None,
        typer.Option("--rejects", help="Where rejected rows go (default: next to the input)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate and report; write nothing.")
    ] = False,
) -> None:
    """Import messages from files; every row ends up a case or in the rejects file, with why."""
    from caseworker.services.imports import ImportFailed, ImportOptions, run_import

    if fmt is not None and fmt not in ("csv", "jsonl", "xlsx", "open311"):
        _usage(say(ctx, "cli.import.format"))
    if rejects is not None and len(paths) > 1 and not rejects.is_dir():
        _usage(say(ctx, "cli.import.rejects_folder"))
    _interrupt_on_terminate()
    codes: list[int] = []
    backlog = 0
    with opened(ctx) as store:
        for path in paths:
            options = ImportOptions(
                format=fmt,
                encoding=encoding,
                mapping=mapping,
                channel=channel,
                rejects=rejects,
                dry_run=dry_run,
                lang=catalog_of(ctx).lang,
            )
            try:
                with _progress(path, say(ctx, "cli.import.rows")) as report:
                    summary = run_import(store.store, store.desk(), path, options, report)
            except ImportFailed as exc:
                catalog = catalog_of(ctx)
                why = str(exc) if catalog.lang == "en" else catalog.refusal(exc)
                typer.echo(f"caseworker: {terminal_safe(why, one_line=True)}", err=True)
                codes.append(1)
                continue
            typer.echo(terminal_safe(_summary_line(ctx, summary)))
            codes.append(summary.exit_code)
            backlog = summary.search_backlog
        if backlog and _catch_up_search(store.store.engine.url.database, backlog):
            typer.echo(say(ctx, "cli.import.catching_up", n=backlog), err=True)
    # 1 (a file could not be read at all) outranks 3 (some rows rejected), which outranks 0.
    _exit(1 if 1 in codes else 3 if 3 in codes else 0)


# A search backlog up to this size is indexed before the command returns (seconds); a larger
# one by a background process, while search matches the pending cases without the index.
INLINE_CATCH_UP = 10_000


def _summary_line(ctx: typer.Context, summary: Any) -> str:
    """The one line every import ends with: read / imported / duplicates / conflicts / rejected."""
    s = summary
    verb = "cli.import.would_import" if s.dry_run else "cli.import.imported"
    text = say(
        ctx,
        "cli.import.summary",
        file=s.file,
        read=s.read,
        verb=say(ctx, verb),
        imported=s.imported,
        duplicates=s.duplicates,
        conflicts=s.conflicts,
        rejected=s.rejected,
    )
    if s.overdue:
        text += say(ctx, "cli.import.overdue", n=s.overdue)
    if s.closed:
        text += say(ctx, "cli.import.history.closed", n=s.closed)
    if s.old:
        text += say(ctx, "cli.import.history.old", n=s.old, years=s.old_years)
    if s.unmapped:
        text += say(ctx, "cli.import.history.unmapped", columns=", ".join(s.unmapped))
    if s.rejects_path:
        text += say(ctx, "cli.import.rejects", path=s.rejects_path)
    return text


def _catch_up_search(database: str | None, backlog: int) -> bool:
    """Bring the search index up to date after a bulk import (services.search_backlog);
    True when a background process was left to finish it."""
    import subprocess
    import sys

    from caseworker.services.search_backlog import catch_up

    if not database:
        return False
    if backlog <= INLINE_CATCH_UP:
        catch_up(database)
        return False
    subprocess.Popen(
        [sys.executable, "-m", "caseworker.services.search_backlog", database],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    return True


def _interrupt_on_terminate() -> None:
    """Treat `kill` like Ctrl-C, so the batch in flight rolls back and the import is marked
    interrupted instead of being left "running"."""
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def _exit(code: int) -> NoReturn:
    """Leave with `code` (SystemExit passes through the guard unchanged)."""
    raise SystemExit(code)


def _usage(message: str) -> NoReturn:
    typer.echo(f"caseworker: {message}", err=True)
    _exit(2)


class _progress:
    """A rich progress bar on stderr while importing, only when stderr is a terminal."""

    def __init__(self, path: Path, rows: str) -> None:
        self.path = path
        self.rows = rows  # "{rows} rows" in the run's language
        self.bar: Any = None
        self.task: Any = None

    def __enter__(self) -> Any:
        if not sys.stderr.isatty():
            return None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TextColumn(self.rows.replace("{n}", "{task.fields[rows]}")),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self.bar.start()
        from rich.markup import escape

        name = escape(terminal_safe(self.path.name, one_line=True))
        self.task = self.bar.add_task(name, total=None, rows=0)

        def report(read: int, position: int, total: int) -> None:
            self.bar.update(self.task, completed=position, total=total or None, rows=f"{read:,}")

        return report

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


@imports_app.command("list")
def imports_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    fmt: ListFormat = "table",
) -> None:
    """Show recorded imports, newest first."""
    check_range(ctx, "--limit", limit, 1, LARGEST_ID)
    from dataclasses import asdict

    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.imports import list_imports

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        rows = list_imports(session, limit)
    headers = {
        "id": "id",
        "started_at": "when",
        "file_name": "file",
        "status": "status",
        "read": "read",
        "imported": "imported",
        "duplicates": "dup",
        "conflicts": "conflicts",
        "rejected": "rejected",
        "clerk": "who",
        "sha256": "sha256",
    }
    columns = [Column(field, f"cli.imports.{name}") for field, name in headers.items()]
    cells = [
        [
            str(r.id),
            local(r.started_at),
            r.file_name,
            say(ctx, f"cli.imports.status_{r.status}"),
            str(r.read),
            str(r.imported),
            str(r.duplicates),
            str(r.conflicts),
            str(r.rejected),
            r.clerk,
            r.sha256[:12],
        ]
        for r in rows
    ]
    records = [asdict(r) for r in rows]
    print_listing(ctx, fmt, columns, records, area="imports", cells=cells)


def export_cmd(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="File to write (.jsonl, .csv or .xlsx).")],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="jsonl, csv or xlsx (default: from the extension)."),
    ] = None,
    status: Annotated[
        list[str] | None, typer.Option("--status", help="Only this status; repeat for more.")
    ] = None,
    unit: Annotated[
        str | None,
        typer.Option("--unit", help="Only cases led by this unit or a unit below it."),
    ] = None,
    channel: Annotated[Optional[str], typer.Option("--channel", help="Only this channel.")] = None,  # noqa: UP045
    since: Annotated[
        str | None, typer.Option("--since", help="Received at or after (ISO 8601).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Received before (ISO 8601).")
    ] = None,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Only open cases past a deadline.")
    ] = False,
    redact: Annotated[
        bool,
        typer.Option(
            "--redact", help="Mask mobiles, landlines, ID card numbers and e-mail addresses."
        ),
    ] = False,
    encoding: Annotated[
        str,
        typer.Option(
            "--encoding", help="CSV: utf-8 (with BOM, the default) or gb18030 (older Excel)."
        ),
    ] = "utf-8",
) -> None:
    """Export cases: JSON Lines with everything attached, or one row a case in CSV / XLSX."""
    from caseworker.domain.lifecycle import Status
    from caseworker.services.exporting import EXPORT_FORMATS, ExportFilter

    chosen = fmt or {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".xlsx": "xlsx"}.get(
        path.suffix.lower()
    )
    if chosen not in EXPORT_FORMATS:
        _usage(say(ctx, "cli.export.format"))
    assert chosen is not None
    encoding = encoding.strip().lower().replace("_", "-")
    encoding = {"utf8": "utf-8", "utf-8-sig": "utf-8"}.get(encoding, encoding)
    if encoding not in ("utf-8", "gb18030"):
        _usage(say(ctx, "cli.export.encoding"))
    statuses = [s.strip() for item in status or [] for s in item.split(",") if s.strip()]
    known = tuple(sorted(s.value for s in Status))
    for value in statuses:
        check_choice(ctx, "--status", value, known)
    flt = ExportFilter(
        statuses=statuses,
        unit=unit,
        channel=channel,
        since=option_time(ctx, since, "--since") if since else None,
        until=option_time(ctx, until, "--until") if until else None,
        overdue=overdue,
    )
    fresh = not path.exists()
    try:
        _export(ctx, path, chosen, flt, redact, encoding)
    except BaseException as exc:
        if fresh and path.is_file() and not (isinstance(exc, SystemExit) and exc.code == 0):
            path.unlink()  # a refused or interrupted export leaves no half-written file
        raise


def _export(
    ctx: typer.Context, path: Path, chosen: str, flt: Any, redact: bool, encoding: str
) -> None:
    from caseworker.domain.measures import rule_version
    from caseworker.services.exporting import export_cases

    with opened(ctx) as store:
        from dataclasses import replace

        from caseworker.services.queues import handler_units

        with store.session() as session:
            scope = handler_units(session, store.settings.clerk)
        flt = replace(flt, scope=scope)
        try:
            summary = export_cases(
                store.store,
                path,
                fmt=chosen,
                flt=flt,
                now=store.now(),
                redact=redact,
                encoding=encoding,
                about=[
                    ("run by", store.settings.clerk),
                    ("rule version", rule_version(store.rules.policy)),
                ],
            )
        except OSError as exc:
            why = exc.strerror or str(exc)
            why = say(ctx, "cli.export.cannot_write", path=path, why=why)
            typer.echo(f"caseworker: {terminal_safe(why)}", err=True)
            _exit(1)
    if scope is not None:
        typer.echo(
            terminal_safe(say(ctx, "cli.export.handler", clerk=store.settings.clerk)), err=True
        )
    if not redact:
        typer.echo(terminal_safe(say(ctx, "cli.export.personal_data", path=path)), err=True)
    done = say(ctx, "cli.export.done", cases=summary.cases, path=path, format=chosen)
    typer.echo(terminal_safe(done))


def register(app: typer.Typer) -> None:
    """Add `import`, `imports list` and `export` to the root command."""
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
    app.add_typer(imports_app, name="imports")
