"""The case view: the message in full, its clocks, its history and everything attached to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar
from zoneinfo import ZoneInfo

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState

from caseworker.domain.deadlines import ClockState, LimitUnit
from caseworker.keys import install
from caseworker.screens import ConsoleScreen
from caseworker.screens.messages import ActionRefused, CaseChanged
from caseworker.services.console import CaseView, CategorySuggestion
from caseworker.widgets.countdown import Mood, countdown
from caseworker.widgets.message_text import MessageText
from caseworker.widgets.safe import clean, plain

if TYPE_CHECKING:
    from caseworker.services.cases import CaseDetail, EventInfo
    from caseworker.services.documents import DocumentChoice, Written

SHANGHAI = ZoneInfo("Asia/Shanghai")


def mood_style(app: App[Any], mood: Mood) -> str:
    """A Rich style for a countdown mood, in the theme's colours."""
    theme = app.current_theme
    return {
        Mood.OVERDUE: f"bold {theme.error}",
        Mood.WARNING: f"{theme.warning}",
        Mood.PAUSED: "italic dim",
        Mood.NONE: "dim",
    }.get(mood, "")


def when(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else "—"


class CaseScreen(ConsoleScreen):
    """One case, read in a worker; every case action key works here too."""

    SCOPE = "case"
    AUTO_FOCUS = "#case-body"
    BINDINGS: ClassVar[list[BindingType]] = []
    DEFAULT_CSS = """
    CaseScreen #case-suggest { height: auto; display: none; }
    CaseScreen #case-suggest.-shown { display: block; }
    """

    class Loaded(Message):
        def __init__(self, view: CaseView) -> None:
            super().__init__()
            self.detail, self.history = view.detail, view.history

    class StoreChanged(Message):
        pass

    class Suggested(Message):
        """The triage model's first category for this case (services.triage)."""

        def __init__(self, suggestion: CategorySuggestion) -> None:
            super().__init__()
            self.suggestion = suggestion
            self.category, self.score = suggestion.category, suggestion.score

    class Refused(Message):
        """The clerk may not read this case (a unit handler, another unit's case)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, case_id: int, *, origin: str = "") -> None:
        super().__init__()
        self.case_id = case_id
        self.origin = origin
        self.detail: CaseDetail | None = None
        self.history: list[EventInfo] = []
        self.marker: tuple[int, ...] | None = None
        self.suggestion: CaseScreen.Suggested | None = None
        self.shown_minute: datetime | None = None  # the minute the clocks panel last showed

    def compose(self) -> ComposeResult:
        install(self, "case", self.capp.catalog, self.capp.role)
        yield Static(Text(" " + self.capp.t("case.loading")), id="case-head")
        yield Static(id="case-suggest")
        with VerticalScroll(id="case-body"):
            with Horizontal(id="case-panels"):
                yield Static(id="case-clocks", classes="panel")
                # The history scrolls inside its panel and opens on the newest events: a long
                # one used to run past the panels' height and be cut off at the bottom.
                with VerticalScroll(id="case-timeline", classes="panel"):
                    yield Static(id="case-history")
            yield MessageText(id="case-message")
            yield Static(id="case-records")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#case-clocks").border_title = self.capp.t("case.clocks")
        self.query_one("#case-timeline").border_title = self.capp.t("case.timeline")
        self.load(claim=True)
        self.capp.case_changed.subscribe(self, self._case_changed)
        self.set_interval(1.0, self._tick)
        self.set_interval(self.capp.poll_seconds, self._poll_if_shown)

    def _tick(self, force: bool = False) -> None:
        """The clocks panel, while this screen is shown and when the minute it shows changes."""
        if self.detail is None or not self.in_view:
            return
        minute = self.capp.now().replace(second=0, microsecond=0)
        if minute == self.shown_minute and not force:
            return
        self.shown_minute = minute
        self.query_one("#case-clocks", Static).update(self._clocks(self.detail))

    def _poll_if_shown(self) -> None:
        if self.in_view:  # not under another case or the help: asked again when shown
            self.poll()

    def on_screen_resume(self) -> None:
        """Back on screen (a dialog closed, a case opened over it left): catch up at once."""
        if self.detail is not None:
            self._tick(force=True)
            self.poll()

    @work(thread=True, exclusive=True, group="case", exit_on_error=False)
    def load(self, claim: bool = False) -> None:
        """Read the case (Console.case_view); on opening, `claim` it too, in a transaction of
        its own after the read, so take-next skips it for other clerks a while."""
        from caseworker.domain.errors import NotPermitted

        app = self.capp
        try:
            view = app.services.case_view(self.case_id)
        except NotPermitted as exc:
            self.post_message(self.Refused(app.catalog.refusal(exc)))
            return
        if claim:
            app.services.claim(self.case_id)
        self.marker = view.marker
        self.post_message(self.Loaded(view))
        self.suggest()

    @work(thread=True, exclusive=True, group="suggest", exit_on_error=False)
    def suggest(self) -> None:
        """The model's category for the case, when the bureau has trained one (a thread: the
        first suggestion loads the model, which takes longer than a frame)."""
        found = self.capp.services.suggestion(self.case_id)
        if found is not None:
            self.post_message(self.Suggested(found))

    @on(Suggested)
    def _suggested(self, message: Suggested) -> None:
        self.suggestion = message
        line = Text(" ")
        line.append(self.capp.t("triage.case.suggested"), style="dim")
        line.append(" " + clean(message.category, one_line=True), style="bold")
        line.append(f" {message.score:.0%}")
        if self.detail is not None and self.detail.category == message.category:
            line.append("  " + self.capp.t("triage.case.same"), style="dim")
        else:
            line.append("  " + self.capp.t("triage.case.accept_hint"), style="dim")
        widget = self.query_one("#case-suggest", Static)
        widget.update(line)
        widget.add_class("-shown")

    def action_accept_category(self) -> None:
        if self.suggestion is None:
            self.notify(self.capp.t("triage.case.none"), severity="warning", markup=False)
            return
        self.accept_category(self.suggestion.suggestion)

    @work(thread=True, exclusive=True, group="case-action", exit_on_error=False)
    def accept_category(self, suggestion: CategorySuggestion) -> None:
        from caseworker.domain.errors import DomainError

        app = self.capp
        try:
            app.services.accept_category(self.case_id, suggestion)
        except DomainError as exc:
            self.post_message(ActionRefused(app.catalog.refusal(exc)))
            return
        self.post_message(CaseChanged(self.case_id))

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll(self) -> None:
        marker = self.capp.services.case_marker(self.case_id)
        if self.marker is not None and marker != self.marker:
            self.marker = marker
            self.post_message(self.StoreChanged())

    @on(StoreChanged)
    def _store_changed(self) -> None:
        self.load()

    @on(Refused)
    def _refused_to_read(self, message: Refused) -> None:
        # Said once, and the clerk is back where they came from: an empty case view, or one
        # still showing a case that has since left their unit (their own 退回, a reassignment),
        # would only invite actions the rules refuse. A case that was on screen is not an
        # error of theirs, so it is said as news, not as the refusal.
        if self.detail is None:
            self.notify(message.text, severity="error", markup=False)
        else:
            self.notify(self.capp.t("case.left_unit", id=self.case_id), markup=False)
        if self.is_current:
            self.app.pop_screen()

    def _case_changed(self, case_id: int) -> None:
        """This console changed a case (the app's case_changed signal): read this one again
        when it is the one changed (another case's change shows at the next poll)."""
        if case_id == self.case_id:
            self.load()

    @on(ActionRefused)
    def _refused(self, message: ActionRefused) -> None:
        self.notify(message.text, severity="error", markup=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            why = self.capp.catalog.refusal(event.worker.error)
            self.notify(why, severity="error", markup=False)

    @on(Loaded)
    def _loaded(self, message: Loaded) -> None:
        self.detail, self.history = message.detail, message.history
        d = message.detail
        self.query_one("#case-head", Static).update(self._head(d))
        self.query_one("#case-clocks", Static).update(self._clocks(d))
        self.query_one("#case-history", Static).update(self._timeline(message.history))
        timeline = self.query_one("#case-timeline", VerticalScroll)
        timeline.call_after_refresh(timeline.scroll_end, animate=False, immediate=True)
        body = self.query_one("#case-message", MessageText)
        body.update(d.body, heading=self.capp.t("case.body"))
        self.query_one("#case-records", Static).update(self._records(d))

    # ------------------------------------------------------------------ drawing

    def _head(self, d: CaseDetail) -> Text:
        t = self.capp.t
        top = Text(no_wrap=True, overflow="ellipsis")
        top.append(" ← ", style="bold")
        if self.origin:
            top.append(clean(self.origin, one_line=True) + " / ")
        top.append(f"{d.id} ", style="bold")
        top.append(clean(d.title, one_line=True), style="bold")
        top.append("   " + clean(self.capp.channel_label(d.channel), one_line=True))
        if d.addressee:
            top.append(" · " + t("case.to", who=clean(d.addressee, one_line=True)))
        second = Text(" ", no_wrap=True, overflow="ellipsis")
        # What the clerk acts on first (state, urgency, who handles it), then the citizen's
        # details: a narrow terminal cuts the line's end, not the status.
        bits = [t(f"status.{d.status}")]
        if d.urgency == "urgent":
            bits.append("⚡" + t("urgency.urgent"))
        bits.append(t("case.lead", unit=clean(d.lead_unit, one_line=True) or "—"))
        if d.co_units:
            bits.append(t("case.co_units", units="、".join(clean(u) for u in d.co_units)))
        bits += [
            t("case.author", who=clean(d.author, one_line=True) or "—"),
            clean(d.contact, one_line=True),
            clean(d.region, one_line=True),
            t("case.received", at=when(d.received_at)),
            clean(d.category, one_line=True),
            t(f"kind.{d.kind}") if d.kind else "",
        ]
        second.append(" · ".join(b for b in bits if b))
        out = Text(no_wrap=True, overflow="ellipsis")
        out.append_text(top)
        out.append("\n")
        out.append_text(second)
        return out

    def _clocks(self, d: CaseDetail) -> Table:
        app = self.capp
        now = app.now()
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True)
        this_year = now.astimezone(SHANGHAI).year
        for clock in d.clocks:
            stage = app.t(f"stage.{clock.stage.value}")
            fmt = (
                "%m-%d %H:%M"
                if clock.due_at.astimezone(SHANGHAI).year == this_year
                else ("%Y-%m-%d %H:%M")
            )
            due = when(clock.due_at, fmt) + ("≈" if clock.provisional else "")
            if clock.state is ClockState.STOPPED:
                late = clock.finished_late()
                state = Text(
                    app.t(
                        "clock.done_late" if late else "clock.done_on_time",
                        at=when(clock.stopped_at, "%m-%d %H:%M"),
                    ),
                    style="dim" if not late else mood_style(self.app, Mood.OVERDUE),
                )
            else:
                warn_at = None if not clock.needs_warning(now) else now
                c = countdown(
                    due_at=clock.due_at,
                    warn_at=warn_at,
                    now=now,
                    calendar=app.rules.calendar,
                    catalog=app.catalog,
                    paused=clock.state is ClockState.PAUSED,
                    provisional=clock.provisional,
                    natural_days=clock.limit.unit is LimitUnit.DAYS,
                )
                state = Text(c.text, style=mood_style(self.app, c.mood))
            table.add_row(Text(stage), Text(due), state)
        return table

    def _timeline(self, history: list[EventInfo]) -> Table:
        """Who, when, what and why, one event a row; long reasons wrap inside their column."""
        t = self.capp.t
        table = Table.grid(padding=(0, 1))
        table.add_column(no_wrap=True, style="dim")
        table.add_column(no_wrap=True, max_width=14, overflow="ellipsis")
        table.add_column(ratio=1)
        for e in history:
            what = Text()
            done = t(f"action.{e.action}")
            what.append(done, style="bold")
            level = e.detail.get("level") if isinstance(e.detail, dict) else None
            if e.action == "supervise" and isinstance(level, str):
                what.append(" " + t(f"supervision.{level}"))
            state = t(f"status.{e.to_status}") if e.to_status else ""
            # The new state, unless the action already names it ("accepted", not twice).
            if state and e.to_status != e.from_status and state != done:
                what.append(" → " + state)
            if e.lapsed_extensions:  # why a request never got its decision
                what.append(" · " + t("case.extension_lapsed"))
            if e.reason:
                what.append(t("case.note_sep") + clean(e.reason, one_line=True))
            table.add_row(
                when(e.effective_at, "%m-%d %H:%M"), Text(clean(e.actor, one_line=True)), what
            )
        return table

    def _records(self, d: CaseDetail) -> Text:
        from caseworker.services.cases import OUTCOMES, RATINGS  # loaded by now: the case was read

        t = self.capp.t
        out = Text()
        sep = t("case.note_sep")  # "：" in Chinese, ": " in English

        def named(value: str, stored: tuple[str, ...], key: str) -> str:
            """An outcome or rating (stored by its Chinese name) as this language says it."""
            if value in stored:
                return t(f"{key}.{stored.index(value)}")
            return clean(value, one_line=True)

        def section(title: str) -> None:
            out.append("\n" + title + "\n", style="bold")

        if d.replies:
            section(t("case.replies"))
            for r in d.replies:
                head = f"#{r.id} {t('reply.' + r.state)} · "
                head += t("reply.final") if r.final else t("reply.interim")
                if r.outcome:
                    head += f" · {named(r.outcome, OUTCOMES, 'dialog.reply.outcomes')}"
                if r.unit:
                    head += f" · {clean(r.unit, one_line=True)}"
                head += f" · {when(r.published_at or r.updated_at)}"
                out.append(head + "\n", style="dim")
                out.append_text(plain(r.text))
                out.append("\n")
        if d.ratings:
            section(t("case.ratings"))
            for rating in d.ratings:
                value = named(rating["value"] or "", RATINGS, "dialog.rate.values")
                line = f"{when(rating['rated_at'])} {value}"
                if rating["comment"]:
                    line += sep + clean(rating["comment"], one_line=True)
                out.append(line + "\n")
        if d.extensions:
            section(t("case.extensions"))
            for e in d.extensions:
                out.append(
                    t(
                        "case.extension_line",
                        days=e["days"],
                        state=t(f"extension.{e['state']}"),
                        at=when(e["requested_at"]),
                    )
                    + sep
                    + clean(e["reason"], one_line=True)
                    + "\n"
                )
        if d.supervisions:
            section(t("case.supervisions"))
            for s in d.supervisions:
                out.append(
                    f"{when(s['created_at'])} {t('supervision.' + s['level'])} "
                    f"{clean(s['by'] or '', one_line=True)}{sep}{clean(s['note'], one_line=True)}\n"
                )
        if d.instructions:
            section(t("case.instructions"))
            for i in d.instructions:
                owner = " · " + t("case.owner") if i["owner"] else ""
                out.append(
                    f"{when(i['created_at'])} {clean(i['leader'], one_line=True)}{owner}{sep}"
                    f"{clean(i['text'], one_line=True)}\n"
                )
        if d.pauses:
            section(t("case.pauses"))
            for p in d.pauses:
                out.append(
                    f"{when(p['started_at'])} – {when(p['ended_at'])}{sep}"
                    f"{clean(p['reason'], one_line=True)}\n"
                )
        links = []
        if d.repeat_of:
            links.append(t("case.repeat_of", id=d.repeat_of))
        if d.merged_into:
            links.append(t("case.merged_into", id=d.merged_into))
        if d.repeats:
            links.append(t("case.repeats", n=d.repeats))
        if links:
            section(t("case.links"))
            out.append(" · ".join(links) + "\n")
        return out

    # ------------------------------------------------------------------ documents

    class LettersReady(Message):
        def __init__(self, choices: list[DocumentChoice]) -> None:
            super().__init__()
            self.choices = choices

    def action_letters(self) -> None:
        """`l`: the case's letters and brief, each with its number, in the documents dialog."""
        self.load_letters()

    @work(thread=True, exclusive=True, group="letters", exit_on_error=False)
    def load_letters(self) -> None:
        choices = self.capp.services.letter_choices(self.case_id, Path.cwd())
        self.post_message(self.LettersReady(choices))

    @on(LettersReady)
    def _letters_ready(self, message: LettersReady) -> None:
        from caseworker.screens.dialogs.documents import DocumentsDialog

        app = self.capp
        case_id = self.case_id

        def write(
            choice: DocumentChoice,
            target: Path,
            proposal: str | None,
            progress: Callable[[str], None],
        ) -> Written:
            return app.services.write_case_document(case_id, choice, target, proposal, progress)

        title = app.t("documents.dialog.title", case=case_id)

        def written(_path: str | None) -> None:
            self.load()  # the history shows the issuing

        self.app.push_screen(DocumentsDialog(title, message.choices, write), written)

    # ------------------------------------------------------------------ actions

    def action_case_action(self, action: str) -> None:
        self.capp.run_case_action(self, action, self.case_id)

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_reload(self) -> None:
        self.load()

    def action_take_next(self) -> None:
        self.app.pop_screen()
        screen = self.app.screen
        if isinstance(screen, ConsoleScreen):
            screen.take_next()
