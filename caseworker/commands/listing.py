"""How the list commands print: a table for people, JSON or CSV for scripts (`--format`).

A table shown on a terminal fits its width; a table piped to a file or another program folds
its long cells onto more lines instead of cutting them with `…`, so a clerk's name, a history
reason or a title is never lost on the way to `less` or a mail. JSON and CSV carry the same
rows with stable field names; every line printed is terminal-safe and every CSV cell guarded
(caseworker/output_safety.py).
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any

import typer

from caseworker.commands.common import SHANGHAI, check_choice, local, say, to_json
from caseworker.output_safety import csv_cell, terminal_safe

LIST_FORMATS = ("table", "json", "csv")
FORMAT_HELP = "table, json or csv"
ListFormat = Annotated[str, typer.Option("--format", help=FORMAT_HELP)]


@dataclass(frozen=True)
class Column:
    """One column of a list: its field in JSON and CSV, its header key in the catalog
    (`cli.list.<area>.<field>`), and whether it holds text worth folding (all do off a
    terminal)."""

    field: str
    header: str | None = None  # a catalog key; default cli.list.<area>.<field>


def check_format(ctx: typer.Context, fmt: str) -> None:
    """A usage error (exit 2) unless `fmt` is one of table, json, csv."""
    check_choice(ctx, "--format", fmt, LIST_FORMATS)


def _table_cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return local(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _csv_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return to_json(value)
    return value


def print_listing(
    ctx: typer.Context,
    fmt: str,
    columns: Sequence[Column],
    records: Sequence[Mapping[str, Any]],
    *,
    area: str,
    cells: Sequence[Sequence[str]] | None = None,
) -> None:
    """Print `records` as `fmt`: JSON (the records whole), CSV (the columns' fields, guarded)
    or a table (headers from the catalog; `cells`, when given, are the table's own rendering
    of each record, e.g. indented unit names or localized states)."""
    if fmt == "json":
        typer.echo(to_json([dict(r) for r in records]))
        return
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.field for c in columns])
        for record in records:
            writer.writerow([csv_cell(_csv_value(record.get(c.field))) for c in columns])
        text = buffer.getvalue()
        typer.echo(terminal_safe(text), nl=not text.endswith("\n"))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    folding = not sys.stdout.isatty()
    table = Table(box=None, header_style="bold")
    for column in columns:
        header = say(ctx, column.header or f"cli.list.{area}.{column.field}")
        table.add_column(header, overflow="fold" if folding else "ellipsis")
    rows = (
        cells
        if cells is not None
        else [[_table_cell(record.get(c.field)) for c in columns] for record in records]
    )
    for row in rows:
        # Text objects: citizen text is never read as markup.
        table.add_row(*(Text(terminal_safe(cell, one_line=True)) for cell in row))
    Console(highlight=False, soft_wrap=False).print(table)
