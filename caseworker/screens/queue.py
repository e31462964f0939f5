"""The queue screen: queues with live counts beside the case table of the chosen queue.

All reads happen in thread workers that post messages back; the table ticks its countdowns
from memory once a second, and a cheap poll of the store's change marker reloads the visible
window (cursor kept on the same case) when someone else changed something.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Click, Mount
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Footer, Input, Static
from textual.worker import Worker, WorkerState

from caseworker.domain.queues import PAGE_SIZE, CaseLine, ClerkBadge, Filters, QueueKey
from caseworker.keys import install
from caseworker.screens import ConsoleScreen
from caseworker.screens.messages import ActionRefused
from caseworker.widgets.case_table import CaseTable
from caseworker.widgets.safe import clean

if TYPE_CHECKING:
    from caseworker.screens.contract import ConsoleApp
    from caseworker.screens.filter import FilterResult

SHANGHAI = ZoneInfo("Asia/Shanghai")
QUEUES = tuple(QueueKey)
# Queues only some roles are shown: 待批延期 is the supervisors' (they alone decide extensions).
ROLE_QUEUES = {QueueKey.EXTENSIONS: "supervisor"}
SPINNER_AFTER = 0.15  # seconds a queue's first page may take before the table says "loading"
# Seconds a switch waits to be drawn together with the queue's first page. Drawn at once, the
# switch costs a frame of its own, and Textual paces the next one 17 to 33 ms behind it.
SWITCH_HOLD = 0.1


def queues_for(role: str | None, chosen: QueueKey | None = None) -> tuple[QueueKey, ...]:
    """The sidebar's queues for a clerk of `role` (None: not read yet), in order; a queue kept
    for another role is still listed while it is the chosen one (a drill-down may open it)."""
    return tuple(key for key in QUEUES if ROLE_QUEUES.get(key, role) == role or key is chosen)


def header_text(app: ConsoleApp, now: datetime, who: ClerkBadge | None = None) -> Text:
    """The top line: program, clerk (with role and, for a unit handler, unit, once `who` is
    read), local date and whether today is a working day."""
    t = app.t
    local = now.astimezone(SHANGHAI)
    weekday = t(f"weekday.{local.weekday()}")
    workday = (
        t("header.workday") if app.rules.calendar.is_workday(local.date()) else t("header.day_off")
    )
    left = Text(" caseworker · ", style="bold")
    name = clean(app.settings.clerk, one_line=True)
    if who is None or who.role is None:
        left.append(name)
    else:  # names are data: formatted into plain text, never markup
        role = t(f"header.role.{who.role}")
        unit = clean(who.unit, one_line=True) if who.role == "handler" and who.unit else ""
        key = "header.who_unit" if unit else "header.who"
        left.append(t(key, name=name, role=role, unit=unit))
    right = f"{local:%Y-%m-%d} {weekday} {local:%H:%M} · {workday} "
    line = Text.assemble(left, "   ", right)
    if app.search_left > 0:  # a bulk import's cases wait for the search index
        line.append("· " + t("search_backlog.note", n=f"{app.search_left:,}") + " ", style="dim")
    return line


class QueueList(Widget, can_focus=False):
    """The sidebar: every queue with its count; the chosen one is marked with ▶."""

    DEFAULT_CSS = """
    QueueList { width: 20; height: 1fr; border: round $primary 50%; padding: 0 0; }
    """

    class Chosen(Message):
        def __init__(self, key: QueueKey) -> None:
            super().__init__()
            self.key = key

    def __init__(self, app: ConsoleApp, id: str | None = None) -> None:
        super().__init__(id=id)
        self._app = app
        self.current: QueueKey | None = None  # marked once the opening read says which
        self.counts: dict[QueueKey, int] = {}
        self.border_title = app.t("queue.sidebar")

    def render(self) -> Text:
        out = Text(no_wrap=True, overflow="ellipsis")
        width = max(10, self.size.width)
        for i, key in enumerate(self.shown()):
            if i:
                out.append("\n")
            chosen = key is self.current
            label = self._app.t(f"queue.{key.value}")
            count = self.counts.get(key)
            number = f"{count:,}" if count is not None else "…"
            line = Text(("▶" if chosen else " ") + label, style="bold" if chosen else "")
            pad = width - line.cell_len - len(number)
            line.append(" " * max(1, pad))
            line.append(number, style="" if chosen else "dim")
            if chosen:
                line.stylize("reverse")
            out.append_text(line)
        return out

    def shown(self) -> tuple[QueueKey, ...]:
        return queues_for(self._app.role, self.current)

    def on_click(self, event: Click) -> None:
        shown = self.shown()
        if 0 <= event.y < len(shown):
            self.post_message(self.Chosen(shown[event.y]))


class QueueScreen(ConsoleScreen):
    """Queues and the chosen queue's cases, most urgent first."""

    SCOPE = "queue"
    AUTO_FOCUS = "#cases"
    BINDINGS: ClassVar[list[BindingType]] = []

    class RowsLoaded(Message):
        def __init__(
            self,
            mode: str,
            lines: list[CaseLine],
            at_end: bool,
            keep: int | None,
            generation: int,
            at_start: bool = False,
        ) -> None:
            super().__init__()
            self.mode, self.lines, self.at_end = mode, lines, at_end
            self.keep, self.generation = keep, generation
            self.at_start = at_start  # mode "around": whether the rows begin the queue

    class CountsLoaded(Message):
        def __init__(self, counts: dict[QueueKey, int] | None, shown: int, generation: int) -> None:
            super().__init__()
            self.counts, self.shown, self.generation = counts, shown, generation

    class StoreChanged(Message):
        pass

    class OpeningQueue(Message):
        """The queue the clerk opens on: 待交办 for the bureau, 我的 for a unit handler."""

        def __init__(self, key: QueueKey, generation: int) -> None:
            super().__init__()
            self.key, self.generation = key, generation

    class OpeningRead(Message):
        """The opening page's read has ended (with or without rows): start the rest."""

    class OpenCase(Message):
        def __init__(self, case_id: int) -> None:
            super().__init__()
            self.case_id = case_id

    class WhoRead(Message):
        def __init__(self, who: ClerkBadge) -> None:
            super().__init__()
            self.who = who

    def __init__(self) -> None:
        super().__init__()
        self.who: ClerkBadge | None = None  # read once the screen is up
        self.queue = QueueKey.ACCEPTED
        self.filters = Filters()
        self.generation = 0
        self.marker: tuple[int, int, int] | None = None
        self.shown_count: int | None = None
        self.recount = False  # the shown count was the sidebar's: recount once rows are in
        self.held = False  # a switch waits for its first page before it is drawn
        # After a dashboard drill-down: the unit's name for the title, and the queue and
        # filters to go back to with Escape.
        self.unit_name: str | None = None
        self.shown_minute: datetime | None = None  # the minute the countdowns last showed
        self.drilled_from: tuple[QueueKey, Filters] | None = None

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        app = self.capp
        install(self, "queue", self.capp.catalog)
        yield Static(header_text(app, app.now(), self.who), id="header")
        yield Static(id="queue-bar")
        with Horizontal(id="body"):
            yield QueueList(app, id="queues")
            with Vertical(id="main"):
                yield Static(id="queue-title")
                yield Input(id="search", placeholder=app.t("search.placeholder"))
                yield CaseTable(
                    catalog=app.catalog,
                    calendar=app.rules.calendar,
                    now=app.now,
                    channel_label=app.channel_label,
                    id="cases",
                )
        yield Footer()

    def on_mount(self) -> None:
        # The opening queue comes from plain SQL so the first screen does not wait for the
        # ORM's import; the sidebar's counts and the app's background work follow it.
        # The titles wait for the opening read, which says which queue this clerk opens on.
        self.generation += 1
        self.query_one(CaseTable).fetching = True
        self.load_opening(self.generation)
        self.capp.case_changed.subscribe(self, self._case_changed)
        # Immediate: the header changes while the app handles the news, so the last word of
        # the catch-up (0 left) is never a callback still queued behind other messages.
        self.capp.search_changed.subscribe(self, self._search_changed, immediate=True)
        self.set_interval(1.0, self._tick)
        self.set_interval(self.capp.poll_seconds, self._poll_if_shown)

    def _tick(self, force: bool = False) -> None:
        """Countdowns tick from the rows in memory; the database is not asked. Only while this
        screen is the one shown, and only when the minute changes: the countdowns and the
        header's time show minutes, so an idle console redraws once a minute, not every second.
        """
        if not self.in_view:
            return
        minute = self.capp.now().replace(second=0, microsecond=0)
        if minute == self.shown_minute and not force:
            return
        self.shown_minute = minute
        self.query_one(CaseTable).refresh()
        self.show_header()

    def _poll_if_shown(self) -> None:
        if self.in_view:  # not under a case view: asked again when shown (resume)
            self.poll()

    def on_screen_resume(self) -> None:
        """Back on screen: what changed meanwhile, and the time, at once."""
        if self.shown_minute is not None:  # not the first time it is shown
            self._tick(force=True)
            self.poll()

    def _search_changed(self, left: int) -> None:
        """The search index's catch-up moved on (the app's search_changed signal)."""
        self.show_header()

    def show_header(self) -> None:
        # One line of fixed height at full width (app.tcss): new text never needs a layout.
        self.query_one("#header", Static).update(
            header_text(self.capp, self.capp.now(), self.who), layout=False
        )

    @on(Mount)
    def _read_who(self) -> None:
        self.load_who()

    @work(thread=True, exclusive=True, group="who", exit_on_error=False)
    def load_who(self) -> None:
        """The clerk's role and unit for the header (Console.badge: no ORM import)."""
        self.post_message(self.WhoRead(self.capp.services.badge()))

    @on(WhoRead)
    def _who_read(self, message: WhoRead) -> None:
        self.who = message.who
        if message.who.role != self.capp.role:
            # The footer leaves out the case keys the role never uses (they still refuse, with
            # the reason, if pressed).
            self.capp.role = message.who.role
            install(self, "queue", self.capp.catalog, self.capp.role)
            self.refresh_bindings()
            if self.query_one(QueueList).current is not None:  # the opening's titles are up
                self._update_titles()  # the sidebar and the bar list the role's queues
            self._count_unlisted()
        self.show_header()

    def _update_titles(self) -> None:
        t = self.capp.t
        label = t(f"queue.{self.queue.value}")
        count = "…" if self.shown_count is None else f"{self.shown_count:,}"
        counted = t("queue.count", n=count)
        if self.filters.search.strip() and self.shown_count is not None:
            # Only a search's count is capped; the ORM is imported by then (the search ran).
            caps = self.capp.services.search_caps()
            if self.shown_count >= caps.cap:
                counted = t("queue.count", n="≥" + count)
            elif self.shown_count == caps.too_many:
                counted = t("queue.count_many", n=f"{caps.dense:,}")
        parts = [label, counted, t("queue.order")]
        if self.filters.active():
            parts.append(t("queue.filtered", what=self._filter_summary()))
        # The title and the narrow layout's bar are one line each at full width (app.tcss): a
        # switch repaints them without a layout of the whole screen.
        title = Text(" · ".join(parts), no_wrap=True)
        self.query_one("#queue-title", Static).update(title, layout=False)
        queues = self.query_one(QueueList)
        queues.current = self.queue
        queues.refresh()
        items = []
        shown = queues.shown()
        for key in shown:
            chosen = key is self.queue
            n = queues.counts.get(key)
            label_k = t(f"queue.{key.value}") + (f" {n:,}" if n is not None else "")
            items.append(
                Text(
                    ("[" + label_k + "]") if chosen else (" " + label_k + " "),
                    style="reverse bold" if chosen else "",
                )
            )
        # The chosen queue is always in view: when the bar is wider than the screen, queues
        # before it give way; a ‹ says there are more to the left, a › more to the right.
        width = self.size.width
        chosen_at, start = shown.index(self.queue), 0
        more_right = 1 if chosen_at < len(items) - 1 else 0
        while start < chosen_at and (
            sum(item.cell_len for item in items[start : chosen_at + 1]) + (1 if start else 0)
            > width - more_right
        ):
            start += 1
        bar = Text(no_wrap=True, overflow="ellipsis")
        if start:
            bar.append("‹", style="dim")
        end = start
        for n, item in enumerate(items[start:], start):
            room = width - bar.cell_len - (1 if n < len(items) - 1 else 0)
            if n > chosen_at and item.cell_len > room:
                break
            bar.append_text(item)
            end = n + 1
        if end < len(items):
            bar.append("›", style="dim")
        self.query_one("#queue-bar", Static).update(bar, layout=False)

    def on_resize(self) -> None:
        if self.is_mounted:
            self._update_titles()  # the narrow bar keeps the chosen queue in view

    def _filter_summary(self) -> str:
        f = self.filters
        bits = [
            clean(v, one_line=True)
            for v in (
                f.channel and self.capp.channel_label(f.channel),
                f.category,
                f.region,
                f.urgency and self.capp.t(f"urgency.{f.urgency}"),
            )
            if v
        ]
        if (f.unit_ids or f.unassigned) and self.unit_name:
            bits.append(clean(self.unit_name, one_line=True))
        elif f.unit_ids:
            bits.append(self.capp.t("filter.unit_short", n=len(f.unit_ids)))
        if f.case_ids:
            bits.append(
                self.capp.t(
                    "queue.case_set", name=clean(f.case_set, one_line=True), n=len(f.case_ids)
                )
            )
        if f.search.strip():
            bits.append("“" + clean(f.search, one_line=True) + "”")
        return ", ".join(bits)

    # ------------------------------------------------------------------ loading

    def reset_rows(self) -> None:
        """Load the queue from the top (queue, filter or search changed).

        Without filters the sidebar already knows the queue's size, so it is shown with the
        rows and recounted only after they are in: a count over a million closed cases takes
        longer than the page itself and must not hold the rows back or compete with them.
        The new titles and rows are drawn in one frame (see SWITCH_HOLD); until then the
        screen, and the table the keys act on, still show the previous queue.
        """
        self.generation += 1
        known = None if self.filters.active() else self.query_one(QueueList).counts.get(self.queue)
        self.shown_count = known
        self.recount = known is not None
        self.held = True
        self.query_one(CaseTable).fetching = True
        self.load_rows("reset", None, None, None, self.generation)
        self.set_timer(SWITCH_HOLD, partial(self._show_switch, self.generation))
        self.set_timer(SPINNER_AFTER, partial(self._spin_if_slow, self.generation))
        if known is None:
            self.load_counts(self.generation, everything=not self.query_one(QueueList).counts)

    def _show_switch(self, generation: int) -> None:
        """The first page is slow: draw the switch (titles, an empty table) without it."""
        if generation == self.generation and self.held:
            self.held = False
            table = self.query_one(CaseTable)
            table.show([], at_start=True, at_end=True)
            table.fetching = True
            self._update_titles()

    def _spin_if_slow(self, generation: int) -> None:
        """Textual's loading indicator, only for a load slow enough to be noticed: shown at
        once, it cost more than most pages take (it covers the table and takes its focus)."""
        table = self.query_one(CaseTable)
        if generation == self.generation and table.fetching and not table.lines:
            table.loading = True  # the queue's first page, not a prefetch, is still out

    def reload_window(self) -> None:
        """Re-read the rows on screen (someone changed something), keeping the cursor's case."""
        table = self.query_one(CaseTable)
        current = table.current
        keep = current.id if current else None
        if table.at_start or not table.lines or self.held:  # held: the rows are another queue's
            self.load_rows(
                "refresh", None, None, keep, self.generation, limit=max(len(table.lines), 100)
            )
        else:
            first = table.lines[0]
            self.load_rows(
                "refresh",
                None,
                first.key,
                keep,
                self.generation,
                limit=len(table.lines),
                inclusive=True,
            )
        self.load_counts(self.generation)

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def load_opening(self, generation: int) -> None:
        """The first page and size of the opening queue (Console.opening: no ORM import)."""
        try:
            opening = self.capp.services.opening(PAGE_SIZE)
            self.post_message(self.OpeningQueue(opening.queue, generation))
            lines = opening.lines
            self.post_message(
                self.RowsLoaded("reset", lines, len(lines) < PAGE_SIZE, None, generation)
            )
            self.post_message(self.CountsLoaded(None, opening.count, generation))
        finally:
            self.post_message(self.OpeningRead())

    @on(OpeningQueue)
    def _opening_queue(self, message: OpeningQueue) -> None:
        if message.generation == self.generation:
            self.queue = message.key
            self._update_titles()

    @on(OpeningRead)
    def _opening_read(self) -> None:
        # Once the first page is on screen: the sidebar's counts (which import the ORM) and
        # the app's own background work.
        self.call_after_refresh(self._after_opening)

    def _after_opening(self) -> None:
        self.load_counts(self.generation, everything=True)
        self.capp.start_search_catch_up()

    @work(thread=True, exclusive=True, group="rows", exit_on_error=False)
    def load_rows(
        self,
        mode: str,
        after: tuple[datetime, int] | None,
        before: tuple[datetime, int] | None,
        keep: int | None,
        generation: int,
        *,
        limit: int = PAGE_SIZE,
        inclusive: bool = False,
    ) -> None:
        page = self.capp.services.page(
            self.queue,
            self.filters,
            after=after,
            before=before,
            limit=limit,
            inclusive=inclusive,
            # A refresh follows the cursor's case when it moved out of the window (its
            # deadline changed).
            follow=keep if mode == "refresh" else None,
        )
        if page.around:
            self.post_message(
                self.RowsLoaded("around", page.lines, page.at_end, keep, generation, page.at_start)
            )
            return
        self.post_message(self.RowsLoaded(mode, page.lines, page.at_end, keep, generation))

    @work(thread=True, exclusive=True, group="counts", exit_on_error=False)
    def load_counts(self, generation: int, everything: bool = True) -> None:
        """The current queue's count; with `everything`, the sidebar's too (store changed)."""
        console = self.capp.services
        shown = console.shown_count(self.queue, self.filters)
        self.post_message(self.CountsLoaded(None, shown, generation))
        if everything:  # the shown queue's count first; the sidebar's follow
            # Only the queues the sidebar lists for this clerk's role: a queue kept for another
            # role (待批延期, the supervisors') costs a COUNT nobody sees.
            listed = queues_for(self.capp.role, self.queue)
            self.post_message(self.CountsLoaded(console.queue_counts(listed), shown, generation))

    @work(thread=True, exclusive=True, group="poll", exit_on_error=False)
    def poll(self) -> None:
        found = self.capp.services.marker()
        marker = found.change
        if self.marker is not None and marker != self.marker:
            self.post_message(self.StoreChanged())
        self.marker = marker
        if found.search_pending and not self.capp.catching_up:  # an import since we opened
            self.app.call_from_thread(self.capp.start_search_catch_up)

    @on(RowsLoaded)
    def _rows_loaded(self, message: RowsLoaded) -> None:
        if message.generation != self.generation:
            return
        if self.held:  # the switch's first page: drawn in the same frame as its titles
            self.held = False
            self._update_titles()
        table = self.query_one(CaseTable)
        lines, at_end = message.lines, message.at_end
        if message.mode == "down":
            table.extend(lines, at_end=at_end)
        elif message.mode == "up":
            table.prepend(lines, at_start=at_end)
        elif message.mode == "refresh":
            at_start = table.at_start or not table.lines
            table.show(lines, at_start=at_start, at_end=at_end, keep=message.keep)
        elif message.mode == "around":
            table.show(lines, at_start=message.at_start, at_end=at_end, keep=message.keep)
        else:
            table.show(lines, at_start=True, at_end=at_end, keep=message.keep)
            if self.recount:  # the count came from the sidebar: check it now the rows are in
                self.recount = False
                self.load_counts(self.generation, everything=False)

    @on(CountsLoaded)
    def _counts_loaded(self, message: CountsLoaded) -> None:
        if message.generation != self.generation:
            return
        queues = self.query_one(QueueList)
        if message.counts is not None:
            queues.counts = message.counts
            self.capp.freeze_start_up_heap()  # the counts' worker has imported the ORM
            self._count_unlisted()
        elif queues.counts and not self.filters.active():
            queues.counts[self.queue] = message.shown  # the sidebar agrees with the title
        self.shown_count = message.shown
        if not self.held:  # a held switch shows its titles with its rows
            self._update_titles()

    def _count_unlisted(self) -> None:
        """Count again when the sidebar lists a queue it has no count for: the clerk's role,
        read after the counts began, lists a queue of that role (待批延期)."""
        counts = self.query_one(QueueList).counts
        if counts and any(k not in counts for k in queues_for(self.capp.role, self.queue)):
            self.load_counts(self.generation)

    @on(StoreChanged)
    def _store_changed(self) -> None:
        self.reload_window()

    def _case_changed(self, case_id: int) -> None:
        """This console changed a case (the app's case_changed signal): the rows again."""
        self.reload_window()

    @on(ActionRefused)
    def _action_refused(self, message: ActionRefused) -> None:
        self.notify(message.text, severity="error", markup=False)

    @on(CaseTable.WantRows)
    def _want_rows(self, message: CaseTable.WantRows) -> None:
        table = self.query_one(CaseTable)
        if message.direction == "top":
            self.load_rows("reset", None, None, None, self.generation)
        elif message.direction == "down" and table.lines:
            self.load_rows("down", table.lines[-1].key, None, None, self.generation)
        elif message.direction == "up" and table.lines:
            self.load_rows("up", None, table.lines[0].key, None, self.generation)

    @on(CaseTable.Chosen)
    def _chosen(self, message: CaseTable.Chosen) -> None:
        self.open_case(message.case_id)

    @on(QueueList.Chosen)
    def _queue_chosen(self, message: QueueList.Chosen) -> None:
        self.switch_queue(message.key)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state is WorkerState.ERROR and event.worker.error is not None:
            error = event.worker.error
            self.query_one(CaseTable).fetching = False
            why = self.capp.catalog.refusal(error)
            self.notify(
                self.capp.t("notice.load_failed", error=why), severity="error", markup=False
            )

    # ------------------------------------------------------------------ actions

    def switch_queue(self, key: QueueKey) -> None:
        self.queue = key
        self.reset_rows()

    def action_next_queue(self) -> None:
        shown = queues_for(self.capp.role, self.queue)
        self.switch_queue(shown[(shown.index(self.queue) + 1) % len(shown)])

    def action_previous_queue(self) -> None:
        shown = queues_for(self.capp.role, self.queue)
        self.switch_queue(shown[(shown.index(self.queue) - 1) % len(shown)])

    def action_reload(self) -> None:
        self.reload_window()

    def open_case(self, case_id: int) -> None:
        self.capp.open_case(case_id, origin=self.capp.t(f"queue.{self.queue.value}"))

    def action_open_case(self) -> None:
        current = self.query_one(CaseTable).current
        if current is None:
            self.notify(self.capp.t("notice.no_case"), severity="warning", markup=False)
            return
        self.open_case(current.id)

    def action_case_action(self, action: str) -> None:
        current = self.query_one(CaseTable).current
        self.capp.run_case_action(self, action, current.id if current else None)

    def action_take_next(self) -> None:
        self.find_next(self.queue, self.filters)

    def take_next(self) -> None:
        self.action_take_next()

    @work(thread=True, exclusive=True, group="next", exit_on_error=False)
    def find_next(self, key: QueueKey, filters: Filters) -> None:
        app = self.capp
        found = app.services.take_next(key, filters)
        if found is None:
            self.app.call_from_thread(
                self.notify, app.t("notice.nothing_next"), severity="information", markup=False
            )
        else:
            self.post_message(self.OpenCase(found))

    @on(OpenCase)
    def _open_found(self, message: OpenCase) -> None:
        self.open_case(message.case_id)

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.display = True
        box.value = self.filters.search
        box.focus()

    @on(Input.Submitted, "#search")
    def _search(self, event: Input.Submitted) -> None:
        self.filters = replace(self.filters, search=event.value.strip())
        box = self.query_one("#search", Input)
        box.display = bool(self.filters.search)
        self.query_one(CaseTable).focus()
        self.reset_rows()

    def key_escape(self) -> None:
        box = self.query_one("#search", Input)
        if not box.has_focus and self.back_to_dashboard():
            return
        if box.has_focus or self.filters.search:
            box.value = ""
            box.display = False
            self.query_one(CaseTable).focus()
            if self.filters.search:
                self.filters = replace(self.filters, search="")
                self.reset_rows()

    def action_filter(self) -> None:
        self.load_filter_choices()

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def load_filter_choices(self) -> None:
        from caseworker.screens.filter import FilterChoices, FilterScreen

        app = self.capp
        options = app.services.filter_options()
        choices = FilterChoices(
            channels=[(app.channel_label(c), c) for c in options.channels],
            categories=options.categories,
            regions=options.regions,
            units=options.units,
        )
        self.app.call_from_thread(
            self.app.push_screen, FilterScreen(choices, self.filters), self._filtered
        )

    def _filtered(self, result: FilterResult | None) -> None:
        if result is None:
            return
        self._apply_filter(result)

    @work(thread=True, exclusive=True, group="filter", exit_on_error=False)
    def _apply_filter(self, result: FilterResult) -> None:
        unit_ids: tuple[int, ...] = ()
        if result.unit_id is not None:
            unit_ids = self.capp.services.unit_subtree(result.unit_id)
        filters = Filters(
            channel=result.channel,
            category=result.category,
            unit_ids=unit_ids,
            region=result.region,
            urgency=result.urgency,
            search=self.filters.search,
            case_ids=self.filters.case_ids,  # a common issue's cases stay narrowed to
            case_set=self.filters.case_set,
        )
        self.app.call_from_thread(self._set_filters, filters)

    def _set_filters(self, filters: Filters) -> None:
        if (filters.unit_ids, filters.unassigned) != (
            self.filters.unit_ids,
            self.filters.unassigned,
        ):
            self.unit_name = None  # another unit chosen in the filter dialog
        self.filters = filters
        self.drilled_from = None
        self.reset_rows()

    def show_queue(
        self,
        key: QueueKey,
        filters: Filters,
        *,
        unit_name: str | None = None,
        from_dashboard: bool = False,
    ) -> None:
        """Open one queue with these filters (where the supervisor screen drills down to): the
        title names the unit, and Escape goes back to the dashboard on the queue left before."""
        if from_dashboard:
            self.drilled_from = (self.queue, self.filters)
        self.queue = key
        self.filters = filters
        self.unit_name = unit_name
        self.query_one("#search", Input).display = bool(filters.search)
        self.reset_rows()

    def back_to_dashboard(self) -> bool:
        """Escape after a drill-down: the queue as it was, and the dashboard again."""
        if self.drilled_from is None:
            return False
        self.queue, self.filters = self.drilled_from
        self.drilled_from, self.unit_name = None, None
        self.query_one("#search", Input).display = bool(self.filters.search)
        self.reset_rows()
        # Once this key is done with: pushed now, the dashboard's own escape would take it too.
        self.call_after_refresh(self.capp.show_dashboard)
        return True

    def action_clear_filters(self) -> None:
        self.filters = Filters()
        self.unit_name, self.drilled_from = None, None
        self.query_one("#search", Input).display = False
        self.reset_rows()

    def action_back(self) -> None:
        """Nothing to go back to from the queues."""
