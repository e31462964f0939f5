"""`caseworker report overdue|rates` and `caseworker supervise --overdue`, for supervisors.

The services compute; this module only parses options and writes a table, CSV, JSON or XLSX.
Heavy modules (SQLModel, the services, openpyxl) are imported inside the commands, so the
morning `report overdue` in cron starts quickly.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from caseworker.commands.common import (
    SHANGHAI,
    check_range,
    fail,
    local,
    opened,
    parse_time,
    read_plainly,
    say,
    to_json,
)
from caseworker.domain.bounds import LARGEST_ID
from caseworker.output_safety import csv_cell, terminal_safe

if TYPE_CHECKING:
    from caseworker.commands.common import Opened
    from caseworker.config import Settings
    from caseworker.domain.deadlines import Stage
    from caseworker.services.reports import OverdueReport, RatesReport
    from caseworker.services.rules import Rules

EXIT_OVERDUE = 4  # `--fail-if-any`: something is overdue (for cron and monitoring)
FORMATS = ("table", "csv", "json", "xlsx")
STAGES = ("assign", "reply", "close")
PERIODS = ("week", "month", "quarter")
SUPERVISION_ZH = {"remind": "催办", "flag": "挂牌督办", "summon": "约谈"}
STAGE_ZH = {"assign": "受理", "reply": "答复", "close": "办结"}
PERIOD_ZH = {"week": "周", "month": "月", "quarter": "季度"}
SUPERVISION_SHORT_ZH = {"remind": "催办", "flag": "挂牌", "summon": "约谈"}

report_app = typer.Typer(no_args_is_help=True)

AsOf = Annotated[
    Optional[str],  # noqa: UP045  (typer needs Optional here on 3.11)
    typer.Option("--as-of", help="Report as of this time (default: now)."),
]
UnitOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--unit", help="Only this unit and the units below it (code or name)."),
]
ChannelOpt = Annotated[
    Optional[str],  # noqa: UP045
    typer.Option("--channel", help="Only cases from this channel (code, see data/policy.toml)."),
]
Format = Annotated[str, typer.Option("--format", help="table, csv, json or xlsx.")]
Output = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("-o", "--output", help="Write to this file instead of the terminal."),
]


def register(app: typer.Typer) -> None:
    """Add `report` and `supervise` to the root command."""
    app.add_typer(report_app, name="report", help="Supervisor reports: overdue cases, rankings.")
    app.command("supervise")(supervise)


def _check_format(fmt: str, output: Path | None) -> None:
    if fmt not in FORMATS:
        raise typer.BadParameter(f"--format must be one of {', '.join(FORMATS)}")
    if fmt == "xlsx" and output is None:
        raise typer.BadParameter("--format xlsx writes a file: give -o PATH")
    # Refused before the report runs: `report rates` records its ranking, which a file that
    # cannot be written must not leave behind.
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        fail(f"cannot write {output}: not a file in an existing folder")


def _check_channel(rules: Rules, channel: str | None) -> None:
    if channel is not None and channel not in rules.policy.channels:
        fail(f"unknown channel {channel!r}; known: {', '.join(rules.policy.channels)}")


def _scope(
    ctx: typer.Context, store: Opened, session: Any, unit: str | None, channel: str | None
) -> list[int] | None:
    """The unit ids of `--unit`'s subtree (None: every unit), after checking `--channel`.

    A unit handler sees only their units' cases (services.queues.handler_units), so their
    report covers the cases their unit and the units below it lead; `--unit` narrows that,
    and a unit outside it is refused.
    """
    from caseworker.domain.errors import DomainError
    from caseworker.services.people import find_unit, subtree_ids
    from caseworker.services.queues import handler_units

    _check_channel(store.rules, channel)
    theirs = handler_units(session, store.settings.clerk)
    if unit is None:
        return None if theirs is None else list(theirs)
    try:
        row = find_unit(session, unit)
    except DomainError as exc:
        fail(str(exc))
    assert row.id is not None
    chosen = subtree_ids(session, row.id)
    if theirs is None:
        return chosen
    if row.id not in theirs:
        fail(say(ctx, "cli.report.not_their_unit", clerk=store.settings.clerk, unit=row.name))
    return [u for u in chosen if u in theirs]


def _write(text: str, output: Path | None, *, bom: bool = False) -> None:
    """The report to `output`, exactly; or to the terminal, with control characters from the
    data shown as visible stand-ins (output_safety.terminal_safe)."""
    if output is None:
        typer.echo(terminal_safe(text), nl=not text.endswith("\n"))
        return
    try:
        output.write_text(text, encoding="utf-8-sig" if bom else "utf-8")
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    typer.echo(terminal_safe(f"written to {output}"), err=True)


# The cell type of every column of the reports' tables, for XLSX (services.sheets).
KINDS = {
    "id": "int",
    "external_id": "id",
    "due_at": "datetime",
    "rank": "int",
    "average_handling_workdays": "number",
    "definition": "long_text",
}
TEXT_COLUMNS = frozenset(
    {"title", "channel", "lead_unit", "stage", "supervision", "unit", "level", "rule_version"}
    | {"measure"}
)


def _kind(name: str) -> str:
    """A column's cell type: known ones, rates (fractions), their parts and counts (numbers)."""
    from caseworker.domain.measures import MEASURE_CODES

    if name in KINDS:
        return KINDS[name]
    if name in TEXT_COLUMNS:
        return "text"
    if name in MEASURE_CODES:
        return "percent"
    return "int"


def _save_xlsx(
    sheets: dict[str, list[list[Any]]], output: Path, about: list[tuple[str, Any]]
) -> None:
    """Typed sheets (services.sheets), then the query sheet saying what the file holds."""
    from caseworker.services.sheets import Column, SheetBook

    book = SheetBook(output)
    for title, rows in sheets.items():
        columns = [Column(str(name), _kind(str(name))) for name in rows[0]]
        book.sheet(title, columns, rows[1:], len(rows) - 1)
    book.query(about)
    try:
        book.save()
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror}")
    typer.echo(terminal_safe(f"written to {output}"), err=True)


def _cell(value: Any) -> Any:
    """Times as Shanghai wall-clock text, so a spreadsheet shows what the terminal shows."""
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")
    return value


def _csv(sections: list[list[list[Any]]]) -> str:
    """The tables as CSV, every cell spreadsheet-safe (output_safety.csv_cell)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for n, rows in enumerate(sections):
        if n:
            writer.writerow([])
        writer.writerows([[csv_cell(_cell(v)) for v in row] for row in rows])
    return buffer.getvalue()


# ---------------------------------------------------------------- report overdue

CASE_COLUMNS = (
    "id",
    "external_id",
    "title",
    "channel",
    "lead_unit",
    "stage",
    "due_at",
    "overdue_working_days",
    "overdue_days",
    "supervision",
    "repeats",
)
UNIT_COLUMNS = ("unit", "overdue", "max_overdue_working_days", "total_overdue_working_days")


def overdue_json(report: OverdueReport) -> dict[str, Any]:
    """The JSON shape of the issue: as_of, cases, by_unit."""
    return {
        "as_of": report.as_of,
        "cases": [
            {
                "id": r.id,
                "external_id": r.external_id,
                "title": r.title,
                "channel": r.channel,
                "lead_unit": r.lead_unit,
                "stage": r.stage,
                "due_at": r.due_at,
                "overdue_working_days": r.overdue_working_days,
                "overdue_days": r.overdue_days,
                "supervision": r.supervision,
                "repeats": r.repeats,
            }
            for r in report.cases
        ],
        "by_unit": [
            {
                "unit": u.unit,
                "overdue": u.overdue,
                "max_overdue_working_days": u.max_overdue_working_days,
                "total_overdue_working_days": u.total_overdue_working_days,
            }
            for u in report.by_unit
        ],
    }


def _overdue_tables(report: OverdueReport) -> tuple[list[list[Any]], list[list[Any]]]:
    doc = overdue_json(report)
    cases = [list(CASE_COLUMNS)] + [[c[k] for k in CASE_COLUMNS] for c in doc["cases"]]
    units = [list(UNIT_COLUMNS)] + [[u[k] for k in UNIT_COLUMNS] for u in doc["by_unit"]]
    return cases, units


def _printable(text: str) -> str:
    """Citizen text on one line, safe for the terminal (output_safety.terminal_safe)."""
    return terminal_safe(text, one_line=True)


def _fit(text: str, width: int, *, right: bool = False) -> str:
    """`text` in exactly `width` terminal cells (CJK counts two), cut with an ellipsis."""
    if text.isascii():  # one cell per character: the common case, kept cheap for big reports
        if len(text) > width:
            text = text[: width - 1] + "…"
        return text.rjust(width) if right else text.ljust(width)
    from rich.cells import cell_len, set_cell_size

    if cell_len(text) > width:
        text = set_cell_size(text, width - 1) + "…"
    pad = " " * (width - cell_len(text))
    return pad + text if right else text + pad


def _line(cells: list[str], widths: list[int], right: tuple[int, ...]) -> str:
    pairs = enumerate(zip(cells, widths, strict=True))
    return " ".join(_fit(cell, width, right=n in right) for n, (cell, width) in pairs).rstrip()


def _print_overdue(report: OverdueReport, zh: bool) -> None:
    """Fixed-width lines, not a Rich table: thousands of rows print at once, and aligned.

    Every column but the title has a fixed width and one space after it, so a row fits the
    terminal (80 columns at least) and only the title gives way, cut with an ellipsis. Widths
    are counted in terminal cells, which keeps Chinese columns aligned. Cells are plain text
    written as is, so citizen text is never read as markup.
    """
    import shutil

    when = local(report.as_of)
    year = report.as_of.astimezone(SHANGHAI).year
    typer.secho(
        f"逾期案件 截至 {when}：{len(report.cases)} 件"
        if zh
        else f"Overdue as of {when} (Asia/Shanghai): {len(report.cases)} cases",
        bold=True,
    )
    if not report.cases:
        return
    heads = (
        ["编号", "外部编号", "标题", "承办单位", "环节", "期限", "工作日", "天数", "督办", "重复"]
        if zh
        else ["id", "ext id", "title", "lead unit", "stage", "due", "wd", "days", "sup", "rep"]
    )
    widths = [7, 8, 0, 10, 4, 11, 6, 4, 4, 4] if zh else [7, 8, 0, 10, 6, 11, 4, 4, 6, 3]
    terminal = max(80, shutil.get_terminal_size((80, 24)).columns)
    widths[2] = max(8, terminal - sum(widths) - len(widths))
    right = (0, 6, 7, 9)
    out = [_line(heads, widths, right)]
    for r in report.cases:
        sup = r.supervision or ""
        out.append(
            _line(
                [
                    str(r.id),
                    _printable(r.external_id),
                    _printable(r.title),
                    _printable(r.lead_unit or "—"),
                    STAGE_ZH[r.stage] if zh else r.stage,
                    # The year when it is not the report's: a 2011 deadline must not read
                    # as this June's.
                    local(
                        r.due_at,
                        "%m-%d %H:%M" if r.due_at.astimezone(SHANGHAI).year == year else "%Y-%m-%d",
                    ),
                    str(r.overdue_working_days),
                    str(r.overdue_days),
                    SUPERVISION_SHORT_ZH.get(sup, sup) if zh else sup,
                    str(r.repeats) if r.repeats else "",
                ],
                widths,
                right,
            )
        )
    out.append("")
    unit_heads = (
        ["承办单位", "逾期件数", "最长工作日", "合计工作日"]
        if zh
        else ["lead unit", "overdue", "worst wd", "total wd"]
    )
    unit_widths = [max(10, min(30, max(len(u.unit) * 2 for u in report.by_unit))), 8, 10, 10]
    out.append(_line(unit_heads, unit_widths, (1, 2, 3)))
    for u in report.by_unit:
        out.append(
            _line(
                [
                    _printable(u.unit),
                    str(u.overdue),
                    str(u.max_overdue_working_days),
                    str(u.total_overdue_working_days),
                ],
                unit_widths,
                (1, 2, 3),
            )
        )
    typer.echo("\n".join(out))


def _read_overdue(
    ctx: typer.Context,
    moment: datetime | None,
    unit: str | None,
    channel: str | None,
    stage: Stage | None,
) -> tuple[OverdueReport, Settings, Rules]:
    """The overdue report with plain SQL (services.overdue): the morning report in cron never
    imports the ORM, unless --unit has to be looked up by code or name; on a SQLite file it
    reads through sqlite3 and imports no SQLAlchemy at all (commands.common.read_plainly)."""
    from caseworker.services.overdue import handler_unit_ids, overdue_report

    if unit is None:
        with read_plainly(ctx) as plain:
            if plain is not None:
                _check_channel(plain.rules, channel)
                theirs = handler_unit_ids(plain.db, plain.settings.clerk)
                report = overdue_report(
                    plain.db,
                    plain.rules.calendar,
                    as_of=moment or plain.now(),
                    unit_ids=None if theirs is None else list(theirs),
                    channel=channel,
                    stage=stage,
                )
                return report, plain.settings, plain.rules
    with opened(ctx) as store, store.engine.connect() as connection:
        if unit is None:
            _check_channel(store.rules, channel)
            theirs = handler_unit_ids(connection, store.settings.clerk)
            unit_ids = None if theirs is None else list(theirs)
        else:
            with store.session() as session:
                unit_ids = _scope(ctx, store, session, unit, channel)
        report = overdue_report(
            connection,
            store.rules.calendar,
            as_of=moment or store.now(),
            unit_ids=unit_ids,
            channel=channel,
            stage=stage,
        )
        return report, store.settings, store.rules


@report_app.command("overdue")
def report_overdue(
    ctx: typer.Context,
    as_of: AsOf = None,
    unit: UnitOpt = None,
    channel: ChannelOpt = None,
    stage: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--stage", help="Only cases late in this stage: assign, reply or close."),
    ] = None,
    fmt: Format = "table",
    output: Output = None,
    fail_if_any: Annotated[
        bool, typer.Option("--fail-if-any", help="Exit with status 4 when anything is overdue.")
    ] = False,
) -> None:
    """Every overdue case, the late stage and by how many working days; then a summary by unit."""
    _check_format(fmt, output)
    if stage is not None and stage not in STAGES:
        raise typer.BadParameter(f"--stage must be one of {', '.join(STAGES)}")
    moment = parse_time(as_of, "--as-of") if as_of else None
    from caseworker.domain.deadlines import Stage
    from caseworker.domain.measures import rule_version

    report, settings, rules = _read_overdue(
        ctx, moment, unit, channel, Stage(stage) if stage else None
    )
    zh = settings.language == "zh"
    clerk, version = settings.clerk, rule_version(rules.policy)
    if moment is not None and moment < settings.clock().now():
        # The rows hold where cases stand now: one assigned, replied to or closed since
        # `moment` is no longer late, and a deadline moved since (pause, extension) is read
        # as it is now. Say so rather than pass it off as the past.
        typer.echo(say(ctx, "cli.report.past_as_of", as_of=local(moment)), err=True)
    if fmt == "json":
        _write(to_json(overdue_json(report)) + "\n", output)
    elif fmt == "csv":
        _write(_csv(list(_overdue_tables(report))), output, bom=output is not None)
    elif fmt == "xlsx":
        assert output is not None
        cases, units = _overdue_tables(report)
        about = [
            ("query", "report overdue"),
            ("as of", report.as_of),
            ("unit", unit or "all units"),
            ("channel", channel or "all channels"),
            ("stage", stage or "all stages"),
            ("run by", clerk),
            ("rule version", version),
            ("cases", len(report.cases)),
        ]
        _save_xlsx({"overdue": cases, "by unit": units}, output, about)
    else:
        if output is not None:
            fail("--format table prints to the terminal; use csv, json or xlsx with -o", 2)
        _print_overdue(report, zh)
    if fail_if_any and report.cases:
        raise typer.Exit(EXIT_OVERDUE)


# ---------------------------------------------------------------- report rates

RATE_HEADS_ZH = {
    "timely_acceptance": "及时受理",
    "reply_rate": "答复",
    "on_time_close": "按期办结",
    "satisfaction": "满意",
    "rating_rate": "参评",
    "repeat_rate": "重复",
}


def rates_json(report: RatesReport) -> dict[str, Any]:
    """The ranking's JSON document (services.rankings.rates_json; imported when used)."""
    from caseworker.services.rankings import rates_json as figures

    return figures(report)


def _rates_rows(doc: dict[str, Any]) -> list[list[Any]]:
    """The ranking's table for CSV and XLSX, from its JSON (as computed or as recorded)."""
    from caseworker.domain.measures import MEASURE_CODES

    head = ["rank", "unit", "level", "received", "accepted", "closed"]
    for code in MEASURE_CODES:
        head += [f"{code}_numerator", f"{code}_denominator", code]
    head += ["average_handling_workdays", "overdue", "overdue_workdays"]
    head += ["timely_acceptance_left_out", "rule_version"]
    rows: list[list[Any]] = [head]
    for unit in [*doc["units"], doc["total"]]:
        line = [
            unit["rank"],
            unit["unit"],
            unit["level"],
            unit["received"],
            unit["accepted"],
            unit["closed"],
        ]
        for code in MEASURE_CODES:
            rate = unit["rates"][code]
            line += [rate["numerator"], rate["denominator"], rate["value"]]
        line += [
            unit["average_handling_workdays"],
            unit["overdue"],
            unit["overdue_workdays"],
            unit.get("timely_acceptance_left_out", 0),  # rankings recorded before it: none
            doc["rule_version"],
        ]
        rows.append(line)
    return rows


def _print_rates(doc: dict[str, Any], zh: bool, number: int | None) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from caseworker.domain.measures import MEASURE_CODES, Rate

    console = Console(highlight=False)
    last = date.fromordinal(date.fromisoformat(doc["end"]).toordinal() - 1)
    as_of = local(datetime.fromisoformat(doc["as_of"]))
    recorded = f" · #{number}" if number is not None else ""
    head = (
        f"{doc['start']} 至 {last}（{PERIOD_ZH[doc['period']]}），统计截至 {as_of}；"
        if zh
        else f"{doc['start']} – {last} ({doc['period']}), as of {as_of}; "
    )
    console.print(Text(terminal_safe(head + doc["rule_version"] + recorded), style="bold"))
    table = Table(box=None, padding=(0, 1), pad_edge=False, header_style="bold")
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("单位" if zh else "unit", max_width=12, overflow="ellipsis", no_wrap=True)
    table.add_column("受理" if zh else "recv", justify="right")
    for code in MEASURE_CODES:
        table.add_column(RATE_HEADS_ZH[code] if zh else code.replace("_", " "), justify="right")
    table.add_column("工作日" if zh else "avg wd", justify="right")
    table.add_column("逾期" if zh else "late", justify="right")
    units = doc["units"]
    for unit in [*units, doc["total"]]:
        cells: list[Any] = [
            str(unit["rank"]) if unit["rank"] is not None else "",
            Text(terminal_safe(unit["unit"], one_line=True)),
            str(unit["received"]),
        ]
        for code in MEASURE_CODES:
            rate = Rate(unit["rates"][code]["numerator"], unit["rates"][code]["denominator"])
            cells.append(f"{rate.percent()}\n{rate.numerator}/{rate.denominator}")
        average = unit["average_handling_workdays"]
        cells.append(f"{average:.1f}" if average is not None else "—")
        cells.append(str(unit["overdue"]))
        table.add_row(*cells, end_section=bool(units) and unit is units[-1])
    console.print(table)


@report_app.command("rates")
def report_rates(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="week, month or quarter.")] = "month",
    at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--at", help="A day in the period (YYYY-MM-DD; default: today)."),
    ] = None,
    level: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--level", help="Rank the units of one level, each with its subtree."),
    ] = None,
    recorded: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--recorded", help="Show ranking N as it was recorded (see report rankings)."),
    ] = None,
    fmt: Format = "table",
    output: Output = None,
) -> None:
    """Each unit's rates for a period with numerators, denominators and the rule version, ranked.

    Every ranking computed is recorded with its figures; --recorded shows one again as it was.
    """
    import json

    _check_format(fmt, output)
    if recorded is not None:
        check_range(ctx, "--recorded", recorded, 1, LARGEST_ID)
    if recorded is not None and (at is not None or level is not None or period != "month"):
        fail(say(ctx, "cli.report.recorded_alone"), 2)
    if period not in PERIODS:
        raise typer.BadParameter(f"--period must be one of {', '.join(PERIODS)}")
    day: date | None = None
    if at is not None:
        try:
            day = date.fromisoformat(at.strip())
        except ValueError:
            raise typer.BadParameter(f"--at {at!r} is not a date (YYYY-MM-DD)") from None
        if not 1970 <= day.year <= 2199:
            fail(say(ctx, "cli.time_out_of_bounds", option="--at", text=at), 2)
    from caseworker.domain.measures import Period
    from caseworker.services.people import UNIT_LEVELS
    from caseworker.services.rankings import record_ranking, recorded_ranking
    from caseworker.services.reports import unit_rates

    if level is not None and level not in UNIT_LEVELS:
        raise typer.BadParameter(f"--level must be one of {', '.join(UNIT_LEVELS)}")
    with opened(ctx) as store, store.session() as session:
        zh, clerk = store.settings.language == "zh", store.settings.clerk
        if recorded is not None:
            figures, number = recorded_ranking(session, recorded).figures, recorded
        else:
            now = store.now()
            report = unit_rates(
                session,
                store.rules,
                period=Period(period),
                at=day or now.astimezone(SHANGHAI).date(),
                now=now,
                level=level,
            )
            figures = to_json(rates_json(report))
            number = record_ranking(session, report, figures, store.settings.clerk, now)
    doc = json.loads(figures)
    if fmt == "json":
        _write(figures + "\n", output)
    elif fmt == "csv":
        _write(_csv([_rates_rows(doc)]), output, bom=output is not None)
    elif fmt == "xlsx":
        assert output is not None
        definitions = [["measure", "definition"], ["rule_version", doc["rule_version"]]]
        definitions += [[code, text] for code, text in doc["definitions"].items()]
        last = date.fromordinal(date.fromisoformat(doc["end"]).toordinal() - 1)
        about = [
            ("query", "report rates"),
            ("period", f"{doc['period']} {doc['start']} – {last}"),
            ("as of", datetime.fromisoformat(doc["as_of"])),
            ("level", doc["level"] or "every unit on its own cases"),
            ("rule version", doc["rule_version"]),
            ("ranking", f"#{number}"),
            ("run by", clerk),
        ]
        _save_xlsx({"rates": _rates_rows(doc), "definitions": definitions}, output, about)
    else:
        if output is not None:
            fail("--format table prints to the terminal; use csv, json or xlsx with -o", 2)
        _print_rates(doc, zh, number)
        left_out = doc["total"].get("timely_acceptance_left_out", 0)
        if left_out:
            typer.echo(say(ctx, "cli.report.history.timely_left_out", n=left_out))
    if recorded is None:
        typer.echo(say(ctx, "cli.report.recorded_as", number=number), err=True)


@report_app.command("rankings")
def report_rankings(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", help="How many, newest first.")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """List the recorded rankings, newest first: period, level, as of, who and when."""
    check_range(ctx, "--limit", limit, 1, LARGEST_ID)
    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.rankings import recorded_rankings

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        rows = recorded_rankings(session, limit)
    # The rule version heads the ranking itself (--recorded N).
    headers = {"id": "id", "period": "period", "level": "level", "as_of": "as_of"}
    headers |= {"clerk": "who", "recorded_at": "when"}
    columns = [Column(field, f"cli.report.rankings.{name}") for field, name in headers.items()]
    cells = [
        [
            str(r.id),
            f"{r.period} {r.period_start}–{date.fromordinal(r.period_end.toordinal() - 1):%m-%d}",
            r.level or "—",
            local(r.as_of),
            r.clerk,
            local(r.recorded_at),
        ]
        for r in rows
    ]
    # The figures themselves are `report rates --recorded N`; a list says which ranking is which.
    records = [
        {
            "id": r.id,
            "period": r.period,
            "period_start": r.period_start,
            "period_last_day": date.fromordinal(r.period_end.toordinal() - 1),
            "level": r.level,
            "as_of": r.as_of,
            "rule_version": r.rule_version,
            "clerk": r.clerk,
            "recorded_at": r.recorded_at,
        }
        for r in rows
    ]
    print_listing(ctx, fmt, columns, records, area="rankings", cells=cells)


# ---------------------------------------------------------------- supervise --overdue


def supervise(
    ctx: typer.Context,
    overdue: Annotated[
        bool, typer.Option("--overdue", help="Chase every overdue case by how late it is.")
    ] = False,
    unit: UnitOpt = None,
    channel: ChannelOpt = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be recorded; record nothing.")
    ] = False,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """督办: record 催办 / 挂牌督办 / 约谈 on overdue cases by the policy thresholds; idempotent."""
    if not overdue:
        fail("say what to supervise: --overdue (one case: `caseworker case supervise`)", 2)
    if fmt not in ("text", "json"):
        raise typer.BadParameter("--format must be text or json")
    from dataclasses import asdict

    from caseworker.domain.errors import DomainError
    from caseworker.services.reports import supervise_overdue

    with opened(ctx) as store, store.session() as session:
        unit_ids = _scope(ctx, store, session, unit, channel)
        try:
            done = supervise_overdue(
                session, store.desk(), unit_ids=unit_ids, channel=channel, dry_run=dry_run
            )
        except DomainError as exc:
            fail(str(exc))
        thresholds = store.rules.policy.supervision
    if fmt == "json":
        typer.echo(to_json({"dry_run": dry_run, "records": [asdict(d) for d in done]}))
        return
    verb = "would record" if dry_run else "recorded"
    for d in done:
        before = f" (was {SUPERVISION_ZH[d.previous]})" if d.previous else ""
        line = (
            f"case {d.case_id} ({d.external_id}), {d.lead_unit or '未交办'}: {verb} "
            f"{SUPERVISION_ZH[d.level]}{before}; {d.stage} overdue "
            f"{d.overdue_working_days} working days"
        )
        typer.echo(terminal_safe(line, one_line=True))
    if done:
        summary = "would be recorded (dry run)" if dry_run else "recorded"
        typer.echo(f"{len(done)} supervision record(s) {summary}")
    else:
        typer.echo(
            "nothing to do: every overdue case already has the level it has earned "
            f"(催办 from {thresholds.remind}, 挂牌督办 from {thresholds.flag}, 约谈 from "
            f"{thresholds.summon} working days overdue)"
        )
