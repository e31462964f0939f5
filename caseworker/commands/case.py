"""`caseworker case …`: every action a clerk takes in the console, scriptable from the shell."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from caseworker.commands.common import (
    catalog_of,
    check_choice,
    check_range,
    fail,
    local,
    opened,
    option_time,
    read_stdin_json,
    say,
    to_json,
)
from caseworker.output_safety import terminal_safe

if TYPE_CHECKING:
    from caseworker.services.cases import LapsedExtension

app = typer.Typer(no_args_is_help=True)

Ref = Annotated[str, typer.Argument(help="Case id or external id.")]
Reason = Annotated[str, typer.Option("--reason", help="Why (recorded in the history).")]
Note = Annotated[str | None, typer.Option("--note", help="A note for the history.")]

NEW_CASE_FIELDS = {
    "channel",
    "external_id",
    "title",
    "body",
    "received_at",
    "author",
    "contact",
    "addressee",
    "region",
    "category",
    "kind",
    "urgency",
}


def _act(
    ctx: typer.Context,
    done: str,
    ref: str,
    action: Any,
    *,
    told: Mapping[str, object] | None = None,
    **kwargs: Any,
) -> Any:
    """Run one service action in its own transaction and say what happened, in the run's
    language: `done` names the line in `cli.case.done`, `told` fills its other fields."""
    with opened(ctx) as store:
        desk = store.desk()
        result = store.store.transact(lambda session: action(session, desk, ref, **kwargs))
    typer.echo(terminal_safe(say(ctx, f"cli.case.done.{done}", ref=ref, **(told or {}))))
    return result


def _say_lapsed(ctx: typer.Context, ref: str, lapsed: Sequence[LapsedExtension]) -> None:
    """After closing, rejecting or merging: the extension requests still awaiting a decision
    that lapsed with the case, in one line; nothing when none did."""
    if not lapsed:
        return
    if len(lapsed) == 1:
        line = say(ctx, "cli.case.lapsed.one", ref=ref, days=lapsed[0].days)
    else:  # the rules keep one waiting at a time; only older data holds more
        line = say(ctx, "cli.case.lapsed.many", ref=ref, count=len(lapsed))
    typer.echo(terminal_safe(line))


@app.command("new")
def new(ctx: typer.Context) -> None:
    """Receive a case from one JSON object on stdin (channel, title, body, received_at, …)."""
    from caseworker.domain.policy import kind_code, urgency_code
    from caseworker.services.cases import NewCase, create_case

    doc = read_stdin_json(ctx)
    if not isinstance(doc, dict):
        fail(say(ctx, "cli.stdin.empty"), 2)
    unknown = set(doc) - NEW_CASE_FIELDS
    if unknown:
        fail(say(ctx, "cli.new.unknown_fields", fields=", ".join(sorted(unknown))), 2)
    for key in ("channel", "received_at"):
        if not doc.get(key):
            fail(say(ctx, "cli.new.required", field=key), 2)
    for key, value in doc.items():
        # Never coerced: a number is no time (12345 would read as a date), a list is no id; a
        # whole number reads as its digits (an external id such as 10231), except as a time.
        whole = isinstance(value, int) and not isinstance(value, bool) and key != "received_at"
        if value is not None and not isinstance(value, str) and not whole:
            fail(say(ctx, "cli.new.not_text", field=key, type=type(value).__name__), 2)
    text = {k: (str(v) if v is not None else None) for k, v in doc.items()}
    data = NewCase(
        channel=text["channel"] or "",
        title=text.get("title") or "",
        body=text.get("body") or "",
        received_at=option_time(ctx, str(doc["received_at"]), "received_at"),
        external_id=text.get("external_id"),
        author=text.get("author"),
        contact=text.get("contact"),
        addressee=text.get("addressee"),
        region=text.get("region"),
        category=text.get("category"),
        kind=kind_code(kind) if (kind := text.get("kind")) else None,
        urgency=urgency_code(text.get("urgency") or "normal"),
    )
    with opened(ctx) as store, store.session() as session:
        case_id = create_case(session, store.desk(), data)
        imports = store.rules.policy.imports
        if imports.is_old(data.received_at, store.now()):
            warning = say(
                ctx,
                "cli.case.history.old_received",
                time=data.received_at.isoformat(),
                years=imports.old_received_years,
            )
            typer.echo(warning, err=True)
    typer.echo(case_id)


def _detail_json(detail: Any, opened_: Any, now: Any) -> dict[str, Any]:
    from dataclasses import asdict

    from caseworker.services.cases import clock_summary

    out = asdict(detail)
    out["clocks"] = [clock_summary(c, opened_.rules, now) for c in detail.clocks]
    out["provisional"] = any(c.provisional for c in detail.clocks)
    return out


@app.command("show")
def show(
    ctx: typer.Context,
    ref: Ref,
    fmt: Annotated[str, typer.Option("--format", help="text or json")] = "text",
) -> None:
    """Show one case: the message, its clocks, and what is attached to it."""
    from caseworker.services.cases import case_detail

    check_choice(ctx, "--format", fmt, ("text", "json"))
    with opened(ctx) as store, store.session() as session:
        now = store.now()
        detail = case_detail(session, store.rules, now, ref, clerk=store.settings.clerk)
        if fmt == "json":
            typer.echo(to_json(_detail_json(detail, store, now)))
            return
        _print_detail(ctx, detail, store, now)


def _print_detail(ctx: typer.Context, detail: Any, store: Any, now: Any) -> None:
    """The case as text, in the run's language; its clocks count down as the console's do (a
    limit in 日, the 60-day close, in natural days)."""
    from caseworker.domain.deadlines import ClockState, LimitUnit
    from caseworker.widgets.countdown import countdown

    catalog = catalog_of(ctx)
    t = catalog.t
    console = Console(highlight=False)
    # Every line that carries data goes through terminal_safe: a title or body holding escape
    # sequences must not clear the screen or retitle the terminal.
    heading = f"{detail.id} · {detail.external_id} · {detail.title}"
    console.print(Text(terminal_safe(heading, one_line=True), style="bold"))
    known = store.rules.policy.channels.get(detail.channel)
    channel = getattr(known, catalog.lang, detail.channel) if known else detail.channel
    facts = t(
        "cli.show.facts",
        channel=channel,
        status=t(f"status.{detail.status}"),
        received=local(detail.received_at),
        lead=detail.lead_unit or "—",
    )
    if detail.co_units:
        facts += t("cli.show.co_units", units=t("refused.separator").join(detail.co_units))
    console.print(Text(terminal_safe(facts, one_line=True)))
    headers = ("stage", "due", "state", "time")
    clocks = Table(*(t(f"cli.show.clock.{h}") for h in headers), box=None)
    for clock in detail.clocks:
        if clock.state is ClockState.STOPPED:
            key = "clock.done_late" if clock.finished_late() else "clock.done_on_time"
            where = t(key, at=local(clock.stopped_at))
        else:
            where = countdown(
                due_at=clock.due_at,
                warn_at=now if clock.needs_warning(now) else None,
                now=now,
                calendar=store.rules.calendar,
                catalog=catalog,
                paused=clock.state is ClockState.PAUSED,
                natural_days=clock.limit.unit is LimitUnit.DAYS,
            ).text
        mark = t("cli.show.provisional_mark") if clock.provisional else ""
        clocks.add_row(
            t(f"stage.{clock.stage.value}"),
            local(clock.due_at) + mark,
            t(f"cli.show.clock_state.{clock.state.value}"),
            where,
        )
    console.print(clocks)
    if any(c.provisional for c in detail.clocks):
        console.print(Text(t("cli.show.provisional")))
    console.print(Text(terminal_safe(detail.body)))


def _state_change(t: Any, from_status: str | None, to_status: str | None) -> str:
    """`received → accepted` when the event moved the case, its one state when it did not."""
    if not to_status:
        return "—"
    if from_status and from_status != to_status:
        return f"{t(f'status.{from_status}')} → {t(f'status.{to_status}')}"
    return str(t(f"status.{to_status}"))


@app.command("history")
def history(
    ctx: typer.Context,
    ref: Ref,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """Every event of a case: who, what, from which state, why, when."""
    from dataclasses import asdict

    from caseworker.commands.listing import Column, print_listing
    from caseworker.services.cases import case_history

    if fmt == "text":  # the name this option had before it took csv too
        fmt = "table"
    check_choice(ctx, "--format", fmt, ("table", "json", "csv"))
    with opened(ctx) as store, store.session() as session:
        events = case_history(session, ref, clerk=store.settings.clerk)
    t = catalog_of(ctx).t
    fields = ("effective_at", "actor", "action", "to_status", "reason")
    cells = [
        [
            local(e.effective_at),
            e.actor,
            t(f"action.{e.action}")
            + (" · " + t("case.extension_lapsed") if e.lapsed_extensions else ""),
            _state_change(t, e.from_status, e.to_status),
            e.reason or "",
        ]
        for e in events
    ]
    columns = [Column(f) for f in ("effective_at", "actor", "action", "from_status", *fields[3:])]
    if fmt == "table":
        columns = [Column(f) for f in fields]
    print_listing(ctx, fmt, columns, [asdict(e) for e in events], area="history", cells=cells)


@app.command("accept")
def accept(ctx: typer.Context, ref: Ref, note: Note = None) -> None:
    """受理: the case is in scope."""
    from caseworker.services.cases import accept_case

    _act(ctx, "accepted", ref, accept_case, note=note)


@app.command("reject")
def reject(ctx: typer.Context, ref: Ref, reason: Reason) -> None:
    """不予受理, with a reason (重复, 无实质内容, 不属受理范围, 已进入法定程序…)."""
    from caseworker.services.cases import reject_case

    lapsed = _act(ctx, "rejected", ref, reject_case, reason=reason)
    _say_lapsed(ctx, ref, lapsed)


@app.command("assign")
def assign(
    ctx: typer.Context,
    ref: Ref,
    unit: Annotated[str, typer.Option("--unit", help="Lead unit (code or name).")],
    co_unit: Annotated[
        list[str] | None, typer.Option("--co-unit", help="A co-unit; repeat for more.")
    ] = None,
    note: Note = None,
) -> None:
    """交办 to a lead unit and optional co-units."""
    from caseworker.services.cases import assign_case

    _act(
        ctx,
        "assigned",
        ref,
        assign_case,
        told={"unit": unit},
        lead=unit,
        co_units=co_unit or [],
        note=note,
    )


@app.command("acknowledge")
def acknowledge(ctx: typer.Context, ref: Ref) -> None:
    """签收: the unit confirms it has the case."""
    from caseworker.services.cases import acknowledge_case

    _act(ctx, "acknowledged", ref, acknowledge_case)


@app.command("return")
def return_(ctx: typer.Context, ref: Ref, reason: Reason) -> None:
    """退回: the unit says the case is not theirs; it goes back for reassignment."""
    from caseworker.services.cases import return_case

    _act(ctx, "returned", ref, return_case, reason=reason)


@app.command("reply")
def reply(
    ctx: typer.Context,
    ref: Ref,
    text: Annotated[str, typer.Option("--text", help="The reply text.")],
    final: Annotated[
        bool, typer.Option("--final/--interim", help="最终答复 or 阶段性答复.")
    ] = False,
    outcome: Annotated[
        str | None, typer.Option("--outcome", help="支持 / 解释说明 / 不支持")
    ] = None,
) -> None:
    """Draft a reply (saved, not public until `publish`)."""
    from caseworker.services.cases import draft_reply

    _act(ctx, "reply_drafted", ref, draft_reply, text=text, final=final, outcome=outcome)


@app.command("submit")
def submit(ctx: typer.Context, ref: Ref) -> None:
    """Hand the draft reply to the bureau for review."""
    from caseworker.services.cases import submit_reply

    _act(ctx, "reply_submitted", ref, submit_reply)


@app.command("send-back")
def send_back(ctx: typer.Context, ref: Ref, note: Annotated[str, typer.Option("--note")]) -> None:
    """退回重办: review refuses the draft reply."""
    from caseworker.services.cases import send_back_reply

    _act(ctx, "reply_sent_back", ref, send_back_reply, note=note)


@app.command("publish")
def publish(ctx: typer.Context, ref: Ref) -> None:
    """Publish the reply to the citizen."""
    from caseworker.services.cases import publish_reply

    _act(ctx, "reply_published", ref, publish_reply)


@app.command("close")
def close(ctx: typer.Context, ref: Ref, note: Note = None) -> None:
    """办结."""
    from caseworker.services.cases import close_case

    lapsed = _act(ctx, "closed", ref, close_case, note=note)
    _say_lapsed(ctx, ref, lapsed)


@app.command("rate")
def rate(
    ctx: typer.Context,
    ref: Ref,
    value: Annotated[str, typer.Argument(help="满意 / 基本满意 / 不满意")],
    comment: Annotated[str | None, typer.Option("--comment")] = None,
) -> None:
    """Record the citizen's rating (a later one is a follow-up)."""
    from caseworker.services.cases import rate_case

    _act(ctx, "rated", ref, rate_case, told={"value": value}, value=value, comment=comment)


@app.command("reopen")
def reopen(ctx: typer.Context, ref: Ref, reason: Reason) -> None:
    """重办: back to the unit with new reply and close deadlines."""
    from caseworker.services.cases import reopen_case

    _act(ctx, "reopened", ref, reopen_case, reason=reason)


@app.command("extend")
def extend(
    ctx: typer.Context,
    ref: Ref,
    days: Annotated[int, typer.Option("--days", help="Extra days on the close deadline.")],
    reason: Reason,
) -> None:
    """延期: ask for more time (a supervisor approves)."""
    from caseworker.services.cases import request_extension

    check_range(ctx, "--days", days, 1, 3650)

    _act(
        ctx,
        "extension_requested",
        ref,
        request_extension,
        told={"days": days},
        days=days,
        reason=reason,
    )


@app.command("approve-extension")
def approve_extension_cmd(ctx: typer.Context, ref: Ref) -> None:
    """Approve the pending extension; the close deadline moves."""
    from caseworker.services.cases import approve_extension

    _act(ctx, "extension_approved", ref, approve_extension)


@app.command("deny-extension")
def deny_extension_cmd(ctx: typer.Context, ref: Ref, reason: Reason) -> None:
    """Deny the pending extension, saying why; the close deadline stays where it is."""
    from caseworker.services.cases import deny_extension

    _act(ctx, "extension_denied", ref, deny_extension, reason=reason)


@app.command("extensions")
def extensions_cmd(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="table, json or csv")] = "table",
) -> None:
    """The extension requests awaiting a supervisor's decision, oldest first."""
    from dataclasses import asdict

    from caseworker.commands.listing import Column, check_format, print_listing
    from caseworker.services.cases import pending_extensions

    check_format(ctx, fmt)
    with opened(ctx) as store, store.session() as session:
        rows = pending_extensions(session, clerk=store.settings.clerk)
    fields = (
        "case_id",
        "external_id",
        "title",
        "lead_unit",
        "days",
        "reason",
        "requested_by",
        "requested_at",
        "close_due_at",
    )
    columns = [Column(f) for f in fields]
    print_listing(ctx, fmt, columns, [asdict(r) for r in rows], area="extensions")


@app.command("supervise")
def supervise(
    ctx: typer.Context,
    ref: Ref,
    level: Annotated[str, typer.Option("--level", help="催办 / 挂牌 / 约谈")],
    note: Annotated[str, typer.Option("--note")],
) -> None:
    """督办: record that the case is being chased."""
    from caseworker.services.cases import supervise_case

    _act(ctx, "supervised", ref, supervise_case, told={"level": level}, level=level, note=note)


@app.command("instruct")
def instruct(
    ctx: typer.Context,
    ref: Ref,
    leader: Annotated[str, typer.Option("--leader")],
    text: Annotated[str, typer.Option("--text")],
    owner: Annotated[
        bool, typer.Option("--owner", help="The leader owns the case (包案).")
    ] = False,
) -> None:
    """领导批示: record a leader's instruction."""
    from caseworker.services.cases import instruct_case

    _act(ctx, "instruction_recorded", ref, instruct_case, leader=leader, text=text, owner=owner)


@app.command("pause")
def pause(ctx: typer.Context, ref: Ref, reason: Reason) -> None:
    """Stop the clocks (hearing, waiting for materials)."""
    from caseworker.services.cases import pause_case

    _act(ctx, "paused", ref, pause_case, reason=reason)


@app.command("resume")
def resume(
    ctx: typer.Context,
    ref: Ref,
    note: Annotated[
        str | None, typer.Option("--note", help="Why the clocks restart (kept on the event).")
    ] = None,
) -> None:
    """Restart the clocks; deadlines move by the paused time."""
    from caseworker.services.cases import resume_case

    _act(ctx, "resumed", ref, resume_case, note=note)


@app.command("merge")
def merge(
    ctx: typer.Context,
    ref: Ref,
    into: Annotated[str, typer.Option("--into", help="The original case.")],
    reason: Annotated[str | None, typer.Option("--reason")] = None,
) -> None:
    """Merge a repeat into its original."""
    from caseworker.services.cases import merge_case

    lapsed = _act(ctx, "merged", ref, merge_case, told={"into": into}, into=into, reason=reason)
    _say_lapsed(ctx, ref, lapsed)


@app.command("link")
def link(
    ctx: typer.Context,
    ref: Ref,
    repeat_of: Annotated[str, typer.Option("--repeat-of", help="The original case.")],
) -> None:
    """Mark a case as a repeat of an earlier one, keeping it open."""
    from caseworker.services.cases import link_repeat

    _act(ctx, "linked_repeat", ref, link_repeat, told={"original": repeat_of}, original=repeat_of)
