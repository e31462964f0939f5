"""`caseworker demo` (build and open the demo bureau) and `caseworker train check` (exercises)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.text import Text

from caseworker.commands.common import (
    catalog_of,
    check_range,
    fail,
    option_time,
    parse_time,
    say,
    settings_of,
)
from caseworker.domain.bounds import LARGEST_ID

if TYPE_CHECKING:
    pass

train_app = typer.Typer(no_args_is_help=True, help="Training exercises on the demo bureau.")


def demo_database() -> str:
    """The demo's own file, beside the default database, so it never mixes with real cases."""
    from caseworker.config import default_data_dir

    return str(default_data_dir() / "demo.sqlite")


def demo(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option("--seed", help="Same seed, size and --now: same data.")] = 1,
    cases: Annotated[int, typer.Option("--cases", help="How many cases (up to 1,000,000).")] = 2000,
    now: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--now", help="Freeze the clock here, for the build and the console."),
    ] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Rebuild the demo database.")] = False,
    no_open: Annotated[bool, typer.Option("--no-open", help="Build only; do not open.")] = False,
    db: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--db", help="Demo database (default: demo.sqlite beside the default)."),
    ] = None,
) -> None:
    """Build the demo bureau (if missing) in its own database and open the console on it."""
    from caseworker.config import default_database
    from caseworker.services.demo.build import (
        MAX_CASES,
        DemoExists,
        build_demo,
        demo_info,
        has_cases,
        holds_real_cases,
        reset_demo,
    )
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    settings = settings_of(ctx)
    check_range(ctx, "--seed", seed, 0, LARGEST_ID)
    if not 1 <= cases <= MAX_CASES:
        fail(say(ctx, "cli.demo.cases_range", max=MAX_CASES), 2)
    target = db or (settings.database if settings.database != default_database() else None)
    target = target or demo_database()
    frozen = option_time(ctx, now, "--now") if now else settings.now
    if reset:
        reset_demo(target)
    rules = load_rules(settings.policy_file, settings.calendar_file)
    store = open_store(target)
    try:
        with store.session() as session:
            if holds_real_cases(session):
                fail(say(ctx, "cli.demo.real_cases", target=target))
            info = demo_info(session)
            built = has_cases(session)
        if not built:
            moment = frozen or settings.clock().now().replace(microsecond=0)
            typer.echo(
                say(
                    ctx,
                    "cli.demo.building",
                    cases=cases,
                    moment=_shown_time(moment),
                ),
                err=True,
            )
            try:
                report = build_demo(
                    store,
                    rules,
                    seed=seed,
                    cases=cases,
                    now=moment,
                    frozen=frozen is not None,
                    progress=_progress(ctx) if cases >= 20_000 else None,
                )
            except DemoExists as exc:  # pragma: no cover - raced with another build
                fail(catalog_of(ctx).refusal(exc))
            rate = report.cases / report.seconds if report.seconds else 0.0
            typer.echo(
                say(
                    ctx,
                    "cli.demo.ready",
                    target=target,
                    cases=report.cases,
                    events=report.events,
                    seconds=report.seconds,
                    rate=rate,
                )
            )
        elif info is not None:
            typer.echo(
                say(
                    ctx,
                    "cli.demo.exists",
                    target=target,
                    seed=info.get("seed"),
                    cases=int(info.get("cases") or 0),
                    now=_shown_time(parse_time(str(info.get("now")), "the demo's now")),
                )
            )
            if frozen is None and info.get("frozen"):
                # A demo built for a handout keeps its clock, so countdowns match the handout.
                frozen = parse_time(str(info["now"]), "the demo's now")
        from caseworker.services.identity import acting_clerk

        with store.session() as session:
            clerk = acting_clerk(
                session, login=settings.login, wanted=settings.clerk, demo=True
            ).clerk
    finally:
        store.close()
    if clerk != settings.clerk:
        typer.echo(say(ctx, "cli.demo.acting_as", clerk=clerk), err=True)
    # The console (and every later action in this session) sees the demo's clock and clerk.
    ctx.find_root().obj = settings.with_(database=target, now=frozen or settings.now, clerk=clerk)
    if not no_open:
        from caseworker.commands.console import open_console

        open_console(ctx)


def _shown_time(moment: datetime) -> str:
    """The demo's "now" as its messages show it: Shanghai time with its offset, to the minute,
    so building and reopening name the same moment the same way."""
    from caseworker.domain.calendar import SHANGHAI

    return moment.astimezone(SHANGHAI).isoformat(timespec="minutes")


def _progress(ctx: typer.Context) -> Callable[[int, int], None]:
    """How far a large build has got, on one line of stderr, in the run's language."""
    catalog = catalog_of(ctx)

    def show(done: int, total: int) -> None:
        typer.echo(
            "\r" + catalog.t("cli.demo.progress", done=done, total=total), nl=False, err=True
        )
        if done >= total:
            typer.echo("", err=True)

    return show


@train_app.command("list")
def train_list(ctx: typer.Context) -> None:
    """The exercises there are."""
    from caseworker.services.training import list_scenarios

    lang = settings_of(ctx).language
    console = Console(highlight=False)
    for scenario in list_scenarios():
        line = Text(f"{scenario.key:20} ")
        line.append(scenario.say(scenario.title, lang))
        console.print(line)


@train_app.command("check")
def train_check(
    ctx: typer.Context,
    scenario: Annotated[str, typer.Argument(help="Exercise name, e.g. assign-urgent.")],
    lang: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--lang", help="zh or en (default: the console's language)."),
    ] = None,
    db: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--db", help="Database to check (default: the demo database)."),
    ] = None,
) -> None:
    """Say which steps of an exercise are done; exit 0 when all are, 1 otherwise."""
    from caseworker.config import default_database
    from caseworker.domain.errors import DomainError
    from caseworker.services.demo.build import demo_info
    from caseworker.services.training import check_scenario, load_scenario
    from caseworker.store.engine import open_store

    settings = settings_of(ctx)
    language = lang or settings.language
    if language not in ("zh", "en"):
        fail(say(ctx, "cli.train.lang_choice"), 2)
    catalog = catalog_of(ctx, language)
    t = catalog.t
    target = db or (settings.database if settings.database != default_database() else None)
    target = target or demo_database()
    if "://" not in target and not Path(target).exists():
        fail(t("cli.train.no_demo", target=target))
    try:  # refused in the exercise's language, which --lang here may set apart from the run's
        exercise = load_scenario(scenario)
        store = open_store(target, create=False)
        try:
            with store.session() as session:
                report = check_scenario(session, exercise, language)
                info = demo_info(session) or {}
        finally:
            store.close()
    except DomainError as exc:
        fail(catalog.refusal(exc))
    console = Console(highlight=False)
    console.print(Text(f"{report.title} ({report.scenario})", style="bold"))
    console.print(Text(report.brief))
    hint = f"caseworker --db {target} --now {info.get('now', '…')} --clerk …  case …"
    console.print(Text(t("cli.train.act_on", hint=hint), style="dim"))
    for case in report.cases:
        line = Text(f"  {case.role}: #{case.id} ")
        line.append(case.title)
        line.append(f" [{t(f'status.{case.status}')}]")
        if case.lead_unit:
            who = t("cli.train.separator").join(case.handlers)
            line.append(f" — {case.lead_unit}" + (f" ({who})" if who else ""))
        console.print(line)
    done = sum(step.done for step in report.steps)
    for step in report.steps:
        mark = "[x]" if step.done else "[ ]"
        line = Text(f"{mark} {step.number}. ", style="green" if step.done else "yellow")
        line.append(step.text)
        if not step.done and len(step.cases) > 1:
            missing = t("cli.train.separator").join(f"#{c}" for c in step.missing)
            line.append(" " + t("cli.train.not_yet", cases=missing))
        console.print(line)
    key = "cli.train.complete" if report.done else "cli.train.progress"
    console.print(Text(t(key, done=done, total=len(report.steps)), style="bold"))
    raise typer.Exit(0 if report.done else 1)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
    app.add_typer(train_app, name="train")
