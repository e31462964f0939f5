"""`caseworker triage train|suggest|clusters|stats|accept|issue`: triage from the bureau's history.

The services learn and suggest; this module parses options and writes tables or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from caseworker.commands.common import (
    check_range,
    fail,
    local,
    opened,
    option_time,
    say,
    to_json,
)
from caseworker.domain.bounds import LARGEST_ID

triage_app = typer.Typer(no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(
        triage_app,
        name="triage",
        help="Suggested category and unit, and common issues, learnt from the cases.",
    )


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _progress(ctx: typer.Context) -> Callable[[str, float], None]:
    """How far training has got, on one line of stderr a stage, in the run's language."""
    shown: list[tuple[str, int]] = []

    def show(stage: str, done: float) -> None:
        now = (stage, int(done * 100))
        if shown and shown[-1] == now:
            return
        if shown and shown[-1][0] != stage:
            typer.echo("", err=True)
        shown.append(now)
        name = say(ctx, f"triage.stage.{stage}")
        typer.echo("\r" + say(ctx, "triage.progress", stage=name, percent=now[1]), nl=False,
                   err=True)  # fmt: skip
        if stage.endswith("-cv") and done >= 1:
            typer.echo("", err=True)
            shown.clear()

    return show


@triage_app.command("train")
def train(
    ctx: typer.Context,
    max_cases: Annotated[
        int,
        typer.Option(
            "--max-cases",
            help="Learn from at most this many newest cases of the year before the newest.",
        ),
    ] = 500_000,
) -> None:
    """Learn category and lead unit from the cases that have them; store the model."""
    from caseworker.services.triage import train as train_model

    check_range(ctx, "--max-cases", max_cases, 1, LARGEST_ID)
    with opened(ctx) as store:
        result = train_model(
            store.store,
            clerk=store.settings.clerk,
            now=store.now(),
            max_cases=max_cases,
            progress=_progress(ctx),
        )
    if result.too_little:
        fail(
            say(
                ctx,
                "triage.too_little",
                categories=result.category_cases,
                units=result.unit_cases,
                needed=50,
            )
        )
    lines = [
        say(ctx, "triage.trained", id=result.model_id, at=local(result.trained_at)),
    ]
    if result.category_cv is not None:
        cv = result.category_cv
        lines.append(
            say(
                ctx,
                "triage.trained_category",
                cases=result.category_cases,
                labels=result.categories,
                top1=_pct(cv.top1),
                top3=_pct(cv.top3),
                folds=cv.folds,
                rows=cv.rows,
            )
        )
    if result.unit_cv is not None:
        cv = result.unit_cv
        lines.append(
            say(
                ctx,
                "triage.trained_unit",
                cases=result.unit_cases,
                labels=result.units,
                top1=_pct(cv.top1),
                top3=_pct(cv.top3),
                folds=cv.folds,
                rows=cv.rows,
            )
        )
    typer.echo("\n".join(lines))


def _file_messages(ctx: typer.Context, path: Path) -> list[tuple[str | None, Any]]:
    """A file's messages as `import` would read them, without importing anything."""
    from caseworker.domain.triage_model import Message
    from caseworker.services.imports.mapping import MappingError, RowMapper, choose_profile
    from caseworker.services.imports.sources import SourceError, open_source

    try:
        source = open_source(path)
    except SourceError as exc:
        fail(str(exc), 1)
    out: list[tuple[str | None, Any]] = []
    try:
        profile = choose_profile(source.columns, source.first or None)
        mapper = RowMapper(profile)
        for row in source.rows:
            if row.problem is not None:
                continue
            try:
                fields = mapper(row.values).fields
            except (MappingError, ValueError, KeyError, TypeError):
                continue
            title, body = fields.get("title") or "", fields.get("body") or ""
            if not str(title).strip() and not str(body).strip():
                continue
            external = fields.get("external_id")
            out.append(
                (
                    None if external is None else str(external),
                    Message(
                        str(title),
                        str(body),
                        fields.get("region"),
                        fields.get("addressee"),
                        fields.get("channel") or profile.channel,
                    ),
                )
            )
    except (MappingError, SourceError) as exc:
        fail(str(exc), 1)
    finally:
        source.close()
    return out


@triage_app.command("suggest")
def suggest(
    ctx: typer.Context,
    refs: Annotated[Optional[list[str]], typer.Argument(help="Case ids or external ids.")] = None,  # noqa: UP045
    file: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option("--file", help="Suggest for a file's messages (any layout import reads)."),
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="table, json or jsonl.")] = "table",
) -> None:
    """Suggest category and lead unit for cases, or for a file's messages without importing."""
    from caseworker.services.triage import latest_model, suggest_cases, suggest_messages

    if fmt not in ("table", "json", "jsonl"):
        fail(say(ctx, "triage.bad_format", formats="table, json, jsonl"), 2)
    if not refs and file is None:
        fail(say(ctx, "triage.nothing_to_suggest"), 2)
    messages = _file_messages(ctx, file) if file is not None else []
    with opened(ctx) as store, store.session() as session:
        loaded = latest_model(session)
        if loaded is None:
            fail(say(ctx, "triage.no_model"))
        results = list(suggest_cases(session, loaded, refs or [], clerk=store.settings.clerk))
        results.extend(suggest_messages(session, loaded, messages))
    if fmt == "jsonl":
        for item in results:
            typer.echo(json.dumps(item.as_json(), ensure_ascii=False))
        return
    if fmt == "json":
        typer.echo(to_json([item.as_json() for item in results]))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    for key in ("case", "categories", "units", "repeats"):
        table.add_column(say(ctx, f"triage.column.{key}"))
    for item in results:
        case = f"#{item.id} " if item.id is not None else ""
        table.add_row(
            f"{case}{item.external_id or ''}",
            "  ".join(f"{c['label']} {c['score']:.2f}" for c in item.categories),
            "  ".join(f"{u['name']} {u['score']:.2f}" for u in item.units),
            " ".join(f"#{r['id']}" for r in item.repeats),
        )
    Console(soft_wrap=True, highlight=False, markup=False).print(table)


@triage_app.command("clusters")
def clusters(
    ctx: typer.Context,
    since: Annotated[Optional[str], typer.Option("--since", help="Received from (date).")] = None,  # noqa: UP045
    until: Annotated[Optional[str], typer.Option("--until", help="Received before.")] = None,  # noqa: UP045
    min_size: Annotated[int, typer.Option("--min-size", help="Smallest group shown.")] = 3,
    top: Annotated[int, typer.Option("--top", help="How many groups.")] = 20,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """Common issues: the groups of cases about one matter, hottest first."""
    from caseworker.services.triage import cluster_json
    from caseworker.services.triage import clusters as find_clusters

    if fmt not in ("table", "json"):
        fail(say(ctx, "triage.bad_format", formats="table, json"), 2)
    check_range(ctx, "--min-size", min_size, 2, LARGEST_ID)
    check_range(ctx, "--top", top, 1, LARGEST_ID)
    start = option_time(ctx, since, "--since") if since else None
    end = option_time(ctx, until, "--until") if until else None
    with opened(ctx) as store, store.session() as session:
        found = find_clusters(session, since=start, until=end, min_size=min_size, now=store.now())
    shown = found[:top]
    if fmt == "json":
        typer.echo(to_json({"clusters": [cluster_json(i + 1, c) for i, c in enumerate(shown)]}))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None)
    for key in ("rank", "label", "size", "citizens", "heat", "first", "last"):
        table.add_column(say(ctx, f"triage.column.{key}"))
    for i, c in enumerate(shown, 1):
        table.add_row(
            str(i),
            c.label,
            str(len(c.docs)),
            str(c.citizens),
            f"{c.heat:.1f}",
            local(c.first, "%Y-%m-%d"),
            local(c.last, "%Y-%m-%d"),
        )
    Console(soft_wrap=True, highlight=False, markup=False).print(table)


@triage_app.command("stats")
def stats(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> None:
    """How often the clerks accepted the model's suggestions."""
    from caseworker.services.triage import triage_stats

    if fmt not in ("table", "json"):
        fail(say(ctx, "triage.bad_format", formats="table, json"), 2)
    with opened(ctx) as store, store.session() as session:
        figures = triage_stats(session)
    if fmt == "json":
        typer.echo(
            to_json(
                {
                    "categorised": figures.categorised,
                    "accepted": figures.accepted,
                    "rate": figures.rate,
                    "by_clerk": {
                        name: {"categorised": t, "accepted": a}
                        for name, (t, a) in figures.by_clerk.items()
                    },
                    "model": figures.model,
                }
            )
        )
        return
    if figures.model is None:
        typer.echo(say(ctx, "triage.no_model_yet"))
    else:
        m = figures.model
        typer.echo(
            say(
                ctx,
                "triage.stats_model",
                id=m["id"],
                at=local(m["trained_at"]),
                cases=m["category_cases"],
                top1=_pct(m["category_top1"]),
                top3=_pct(m["category_top3"]),
            )
        )
    typer.echo(
        say(
            ctx,
            "triage.stats_accepted",
            accepted=figures.accepted,
            total=figures.categorised,
            rate=_pct(figures.rate),
        )
    )
    for name, (total, accepted) in figures.by_clerk.items():
        typer.echo(f"  {name}: {accepted} / {total}")


@triage_app.command("accept")
def accept(
    ctx: typer.Context,
    ref: Annotated[str, typer.Argument(help="Case id or external id.")],
) -> None:
    """Set the case's category to the model's first suggestion (recorded as accepted)."""
    from caseworker.services.triage import accept_category, latest_model, suggest_cases

    with opened(ctx) as store, store.session() as session:
        loaded = latest_model(session)
        if loaded is None:
            fail(say(ctx, "triage.no_model"))
        best = suggest_cases(session, loaded, [ref], clerk=store.settings.clerk)[0].categories[0]
        accept_category(
            session,
            store.desk(),
            ref,
            category=best["label"],
            score=best["score"],
            model_id=loaded.id,
        )
    typer.echo(say(ctx, "triage.accepted", ref=ref, category=best["label"], score=best["score"]))


@triage_app.command("issue")
def issue(
    ctx: typer.Context,
    refs: Annotated[list[str], typer.Argument(help="The cases of the issue.")],
    title: Annotated[str, typer.Option("--title", help="What the issue is (共性问题).")],
    note: Annotated[Optional[str], typer.Option("--note")] = None,  # noqa: UP045
) -> None:
    """Link cases as one common issue, for a brief (专报)."""
    from caseworker.services.cases import find_case
    from caseworker.services.triage import record_common_issue

    with opened(ctx) as store, store.session() as session:
        ids = [find_case(session, ref).id for ref in refs]
        known = [i for i in ids if i is not None]
        issue_id = record_common_issue(
            session, store.desk(), title=title, case_ids=known, note=note
        )
    typer.echo(say(ctx, "triage.issue_recorded", id=issue_id, cases=len(ids)))
