"""`caseworker letter assign|supervise|approval CASE`, `caseworker brief CASE|--issue N` and
`caseworker report bulletin`: the bureau's documents as Word (or PDF) files.

The services gather the fields and number the document; caseworker.documents writes it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from caseworker.commands.common import SHANGHAI, fail, opened, say

if TYPE_CHECKING:
    from caseworker.services.documents import Written

letter_app = typer.Typer(no_args_is_help=True)

CaseRef = Annotated[str, typer.Argument(help="The case: its id or external id.")]
OutputOpt = Annotated[
    Optional[Path],  # noqa: UP045  (typer needs Optional here on 3.11)
    typer.Option("-o", "--output", help="The file to write: .docx, or .pdf (needs LibreOffice)."),
]
TemplateOpt = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--template", help="A template of your own (a copy of data/templates/…)."),
]


def register(app: typer.Typer, report_app: typer.Typer) -> None:
    """Add `letter` and `brief` to the root command and `bulletin` to `report`."""
    app.add_typer(letter_app, name="letter", help="Letters about one case: 交办函, 督办函, 呈批单.")
    app.command("brief")(brief)
    report_app.command("bulletin")(bulletin)


def _check_suffix(output: Path | None) -> None:
    """-o must name a .docx or a .pdf file: anything else is a usage error."""
    if output is not None and output.suffix.lower() not in (".docx", ".pdf"):
        raise typer.BadParameter(f"-o {output.name}: write a .docx or a .pdf file")


def _said(ctx: typer.Context, done: Written) -> None:
    key = "cli.documents.reissued" if done.reissued else "cli.documents.written"
    typer.echo(say(ctx, key, number=done.number, path=done.path))
    for note in done.notes:
        typer.echo(say(ctx, "cli.documents.note", note=note), err=True)
    if done.ranking is not None:
        typer.echo(say(ctx, "cli.report.recorded_as", number=done.ranking), err=True)


def _letter(
    ctx: typer.Context,
    kind: str,
    case: str,
    output: Path | None,
    template: Path | None,
    proposal: str | None = None,
) -> None:
    from caseworker.services.documents import write_letter

    _check_suffix(output)
    with opened(ctx) as store:
        done = write_letter(
            store.store,
            store.rules,
            clerk=store.settings.clerk,
            now=store.now(),
            kind=kind,
            ref=case,
            output=output,
            template=template,
            proposal=proposal,
        )
    _said(ctx, done)


@letter_app.command("assign")
def letter_assign(
    ctx: typer.Context, case: CaseRef, output: OutputOpt = None, template: TemplateOpt = None
) -> None:
    """交办函: the assignment letter to the case's lead unit (co-units 抄送)."""
    _letter(ctx, "assign", case, output, template)


@letter_app.command("supervise")
def letter_supervise(
    ctx: typer.Context, case: CaseRef, output: OutputOpt = None, template: TemplateOpt = None
) -> None:
    """督办函: the supervision letter to the unit of an overdue case."""
    _letter(ctx, "supervise", case, output, template)


@letter_app.command("approval")
def letter_approval(
    ctx: typer.Context,
    case: CaseRef,
    proposal: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--proposal", help="拟办意见: the bureau's proposal to the leader."),
    ] = None,
    output: OutputOpt = None,
    template: TemplateOpt = None,
) -> None:
    """呈批单: the form taking a message to a leader for an instruction (领导批示)."""
    _letter(ctx, "approval", case, output, template, proposal)


def brief(
    ctx: typer.Context,
    case: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="A case: the brief covers its group of linked cases."),
    ] = None,
    issue: Annotated[
        Optional[int],  # noqa: UP045
        typer.Option("--issue", help="A recorded common issue (`triage issue`) instead of CASE."),
    ] = None,
    output: OutputOpt = None,
    template: TemplateOpt = None,
) -> None:
    """信访专报: a brief on CASE's group of linked cases, or on a common issue (--issue N).

    A case's group is its original, the repeats and the merged cases; a common issue is one
    recorded with `triage issue` or on the supervisor screen.
    """
    from caseworker.services.documents import linked_case_ids, write_brief
    from caseworker.services.triage import common_issue

    _check_suffix(output)
    if (case is None) == (issue is None):
        raise typer.BadParameter("name a CASE or give --issue N (one of them)")
    title: str | None = None
    with opened(ctx) as store:
        with store.session() as session:
            if issue is not None:
                recorded = common_issue(session, issue)
                ids, title = list(recorded.case_ids), recorded.title
            else:
                assert case is not None
                ids = linked_case_ids(session, case, clerk=store.settings.clerk)
        done = write_brief(
            store.store,
            store.rules,
            clerk=store.settings.clerk,
            now=store.now(),
            case_ids=ids,
            output=output,
            template=template,
            title=title,
        )
    _said(ctx, done)


def bulletin(
    ctx: typer.Context,
    period: Annotated[str, typer.Option("--period", help="week, month or quarter.")] = "month",
    at: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option("--at", help="A day in the period (YYYY-MM-DD; default: today)."),
    ] = None,
    output: OutputOpt = None,
    template: TemplateOpt = None,
) -> None:
    """周调度 / 月通报 / 季考核: intake, ranking, overdue units, intake per capita, urgent lane.

    The ranking is computed and recorded as `report rates` records it.
    """
    _check_suffix(output)
    if period not in ("week", "month", "quarter"):
        raise typer.BadParameter("--period must be one of week, month, quarter")
    day: date | None = None
    if at is not None:
        try:
            day = date.fromisoformat(at.strip())
        except ValueError:
            raise typer.BadParameter(f"--at {at!r} is not a date (YYYY-MM-DD)") from None
    from caseworker.services.documents import write_bulletin
    from caseworker.services.queues import handler_units

    with opened(ctx) as store:
        with store.session() as session:
            if handler_units(session, store.settings.clerk) is not None:
                fail(say(ctx, "cli.documents.bulletin_bureau_only", clerk=store.settings.clerk))
        now = store.now()
        done = write_bulletin(
            store.store,
            store.rules,
            clerk=store.settings.clerk,
            now=now,
            period=period,
            at=day or now.astimezone(SHANGHAI).date(),
            output=output,
            template=template,
        )
    _said(ctx, done)
