"""The queue's case table: draws only the visible rows of a window of keyset pages.

The table never holds a whole queue. It keeps a window of at most MAX_ROWS rows, asks its
screen for the next or previous page (`WantRows`) while the cursor is still two screens from
an edge, so paging rarely waits for the database, and drops rows far from the cursor; a move
past the rows loaded so far is finished when they arrive. Each line is drawn on demand (Line
API), so a 1-second countdown tick costs only the visible rows, from memory.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from caseworker.domain.calendar import WorkCalendar
from caseworker.domain.queues import CaseLine
from caseworker.i18n.catalog import Catalog
from caseworker.widgets.countdown import Mood, countdown
from caseworker.widgets.safe import clean

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_ROWS = 600  # rows kept in memory; beyond this the far end is dropped
TRIM = 200
PREFETCH_SCREENS = 2  # ask for more when the cursor is this many screens from an edge


@dataclass(frozen=True)
class Column:
    key: str
    width: int  # 0: takes the remaining width
    drop_order: int  # higher drops first when the terminal is narrow


COLUMNS = (
    Column("due", 16, 0),
    Column("id", 6, 0),
    Column("channel", 10, 3),
    Column("title", 0, 0),
    Column("category", 8, 4),
    Column("unit", 10, 5),
    Column("status", 8, 2),
    Column("received", 11, 6),
)
MIN_TITLE = 28


def layout(width: int) -> list[tuple[Column, int]]:
    """The columns that fit in `width` with their widths; the title takes what is left."""
    shown = list(COLUMNS)
    while True:
        fixed = sum(c.width for c in shown if c.width) + len(shown) - 1
        if width - fixed >= MIN_TITLE or len(shown) <= 3:
            break
        victim = max(shown, key=lambda c: c.drop_order)
        if victim.drop_order == 0:
            break
        shown.remove(victim)
    fixed = sum(c.width for c in shown if c.width) + len(shown) - 1
    return [(c, c.width or max(MIN_TITLE, width - fixed)) for c in shown]


def shows_provisional(line: CaseLine, calendar: WorkCalendar) -> bool:
    """Whether the deadline a row shows is provisional (≈).

    The row's flag says some running clock of the case is provisional, which is what the
    calendar check recomputes; the row shows the nearest deadline, provisional only when its day
    is in a year nobody has entered yet (an ordinary case received in November has an exact
    assign deadline and a provisional close in January).
    """
    due_day = line.next_due_at.astimezone(SHANGHAI).date()
    return line.provisional and calendar.is_provisional(due_day)


class CaseTable(Widget, can_focus=True):
    """A window of queue rows with a cursor; the screen feeds it pages."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "down,j",
            "cursor_down",
            "down",
            show=False,
            id="table.down",
            tooltip="Move the cursor down",
        ),
        Binding("up,k", "cursor_up", "up", show=False, id="table.up", tooltip="Move the cursor up"),
        Binding(
            "pagedown,ctrl+f",
            "page_down",
            "page down",
            show=False,
            id="table.page_down",
            tooltip="Next page",
        ),
        Binding(
            "pageup,ctrl+b",
            "page_up",
            "page up",
            show=False,
            id="table.page_up",
            tooltip="Previous page",
        ),
        Binding(
            "home,g",
            "first",
            "first",
            show=False,
            id="table.first",
            tooltip="Back to the most urgent case",
        ),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "case-table--header",
        "case-table--cursor",
        "case-table--overdue",
        "case-table--warning",
        "case-table--paused",
        "case-table--none",
        "case-table--empty",
    }
    DEFAULT_CSS = """
    CaseTable { height: 1fr; }
    CaseTable > .case-table--header { text-style: bold; color: $text-muted; }
    CaseTable > .case-table--cursor { background: $surface-lighten-1; }
    CaseTable:focus > .case-table--cursor { background: $primary 45%; }
    CaseTable > .case-table--overdue { color: $error; text-style: bold; }
    CaseTable > .case-table--warning { color: $warning; }
    CaseTable > .case-table--paused { color: $text-muted; text-style: italic; }
    CaseTable > .case-table--none { color: $text-muted; }
    CaseTable > .case-table--empty { color: $text-muted; }
    """

    class WantRows(Message):
        """The cursor is near an edge of the window: load the next (or previous) page."""

        def __init__(self, direction: str) -> None:
            super().__init__()
            self.direction = direction

    class Highlighted(Message):
        def __init__(self, case_id: int | None) -> None:
            super().__init__()
            self.case_id = case_id

    class Chosen(Message):
        """Enter (or a click) on a row: open the case."""

        def __init__(self, case_id: int) -> None:
            super().__init__()
            self.case_id = case_id

    def __init__(
        self,
        *,
        catalog: Catalog,
        calendar: WorkCalendar,
        now: Callable[[], datetime],
        channel_label: Callable[[str], str],
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.catalog = catalog
        self.calendar = calendar
        self.now = now
        self.channel_label = channel_label
        self.lines: list[CaseLine] = []
        self.cursor = 0
        self.top = 0
        self.at_start = True
        self.at_end = True
        # A page is asked for and not in yet. Not Textual's `loading`, which covers the table
        # with an indicator and takes its focus away: prefetching must not be seen or felt.
        self.fetching = False
        self.pending = 0  # rows a move still has to go once the next (or previous) page is in
        self.empty_text = catalog.t("queue.empty")
        self._strips: dict[tuple[object, ...], Strip] = {}

    # ------------------------------------------------------------------ feeding

    @property
    def visible_rows(self) -> int:
        return max(1, self.size.height - 1)

    @property
    def ahead(self) -> int:
        """How near an edge of the window the cursor may come before the next page is asked."""
        return PREFETCH_SCREENS * self.visible_rows

    @property
    def current(self) -> CaseLine | None:
        if 0 <= self.cursor < len(self.lines):
            return self.lines[self.cursor]
        return None

    def show(
        self, lines: list[CaseLine], *, at_start: bool, at_end: bool, keep: int | None = None
    ) -> None:
        """Replace the window; the cursor stays on case `keep` if it is still there."""
        old_offset = self.cursor - self.top
        self.lines = list(lines)
        self.at_start, self.at_end = at_start, at_end
        self.fetching = False
        self.loading = False  # the screen may have shown Textual's indicator while switching
        self.pending = 0
        index = next((i for i, line in enumerate(self.lines) if line.id == keep), None)
        if index is None:
            index = min(self.cursor, len(self.lines) - 1) if keep is not None else 0
        self.cursor = max(0, index)
        self.top = max(0, self.cursor - max(0, min(old_offset, self.visible_rows - 1)))
        self._settle()

    def extend(self, lines: list[CaseLine], *, at_end: bool) -> None:
        """Rows that follow the window (the next page)."""
        known = {line.id for line in self.lines}
        self.lines.extend(line for line in lines if line.id not in known)
        self.at_end = at_end
        self.fetching = False
        if self.pending > 0:
            self.cursor += self.pending
            self.top += self.pending
            self.pending = 0
        if len(self.lines) > MAX_ROWS and self.cursor >= TRIM + self.ahead:
            del self.lines[:TRIM]
            self.cursor -= TRIM
            self.top -= TRIM
            self.at_start = False
        self._settle()

    def prepend(self, lines: list[CaseLine], *, at_start: bool) -> None:
        """Rows that come before the window (the previous page)."""
        known = {line.id for line in self.lines}
        fresh = [line for line in lines if line.id not in known]
        self.lines[:0] = fresh
        self.cursor += len(fresh)
        self.top += len(fresh)
        self.at_start = at_start
        self.fetching = False
        if self.pending < 0:
            self.cursor += self.pending
            self.top += self.pending
            self.pending = 0
        if len(self.lines) > MAX_ROWS and len(self.lines) - self.cursor > TRIM + self.ahead:
            del self.lines[-TRIM:]
            self.at_end = False
        self._settle()

    # ------------------------------------------------------------------ moving

    def _settle(self, announce: bool = True) -> None:
        last = len(self.lines) - 1
        self.pending = 0
        if self.cursor > last and not self.at_end and self.lines:
            self.pending = self.cursor - last  # finished when the next page arrives
        elif self.cursor < 0 and not self.at_start:
            self.pending = self.cursor
        self.cursor = max(0, min(self.cursor, last))
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + self.visible_rows:
            self.top = self.cursor - self.visible_rows + 1
        self.top = max(0, min(self.top, max(0, len(self.lines) - self.visible_rows)))
        if not self.fetching:
            if not self.at_end and self.cursor >= len(self.lines) - self.ahead:
                self.fetching = True
                self.post_message(self.WantRows("down"))
            elif not self.at_start and self.cursor < self.ahead:
                self.fetching = True
                self.post_message(self.WantRows("up"))
        if announce:
            self.post_message(self.Highlighted(self.current.id if self.current else None))
        self.refresh()

    def move(self, delta: int) -> None:
        self.cursor += self.pending + delta  # from where an unfinished move was headed
        self._settle()

    def action_cursor_down(self) -> None:
        self.move(1)

    def action_cursor_up(self) -> None:
        self.move(-1)

    def action_page_down(self) -> None:
        self.top += self.visible_rows
        self.move(self.visible_rows)

    def action_page_up(self) -> None:
        self.top -= self.visible_rows
        self.move(-self.visible_rows)

    def action_first(self) -> None:
        if self.at_start:
            self.cursor = 0
            self._settle()
        else:
            self.fetching = True
            self.post_message(self.WantRows("top"))

    def on_click(self, event: Click) -> None:
        row = event.y - 1
        if row < 0:
            return
        index = self.top + row
        if index < len(self.lines):
            if index == self.cursor and event.chain >= 2:
                self.post_message(self.Chosen(self.lines[index].id))
            self.cursor = index
            self._settle()

    def on_resize(self) -> None:
        self._settle(announce=False)

    def notify_style_update(self) -> None:
        self._strips.clear()  # the theme or focus changed: cached strips carry old styles
        super().notify_style_update()

    # ------------------------------------------------------------------ drawing

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(name, partial=True)

    def _cells(self, columns: list[tuple[Column, int]], values: dict[str, Text]) -> Text:
        out = Text(no_wrap=True, end="")
        for i, (column, width) in enumerate(columns):
            if i:
                out.append(" ")
            cell = values.get(column.key, Text("")).copy()
            cell.truncate(width, overflow="ellipsis", pad=True)
            out.append_text(cell)
        return out

    def _header(self, columns: list[tuple[Column, int]]) -> Text:
        t = self.catalog.t
        return self._cells(columns, {c.key: Text(t(f"column.{c.key}")) for c, _ in columns})

    def _title(self, line: CaseLine) -> Text:
        """The title, after a mark naming the original when the case repeats one (重复件)."""
        title = Text()
        if line.repeat_of is not None:
            title.append(self.catalog.t("triage.queue.repeat", id=line.repeat_of) + " ", "bold")
        title.append(clean(line.title, one_line=True))
        return title

    def _row(self, line: CaseLine, columns: list[tuple[Column, int]], now: datetime) -> Text:
        t = self.catalog.t
        urgent, provisional = line.urgency == "urgent", shows_provisional(line, self.calendar)
        due = countdown(
            due_at=line.next_due_at,
            warn_at=line.warn_at,
            now=now,
            calendar=self.calendar,
            catalog=self.catalog,
            paused=line.paused,
            urgent=urgent,
            provisional=provisional,
        )
        mood_style = {
            Mood.OVERDUE: "case-table--overdue",
            Mood.WARNING: "case-table--warning",
            Mood.PAUSED: "case-table--paused",
            Mood.NONE: "case-table--none",
        }.get(due.mood)
        style = self._style(mood_style) if mood_style else ""
        due_text = Text(due.text, style=style)
        width = next((w for c, w in columns if c.key == "due"), 0)
        marks = ("⚡" if urgent else "") + ("≈" if provisional else "")
        if marks and due_text.cell_len > width and due.text.endswith(" " + marks):
            # A long countdown (English "99 wd overdue") gives way, never the ⚡ / ≈ marks.
            due_text = Text(due.text[: -len(marks) - 1], style=style)
            due_text.truncate(width - cell_len(marks) - 1, overflow="ellipsis")
            due_text.append(" " + marks)
        values = {
            "due": due_text,
            "id": Text(str(line.id)),
            "channel": Text(clean(self.channel_label(line.channel), one_line=True)),
            "title": self._title(line),
            "category": Text(clean(line.category, one_line=True) or "—"),
            "unit": Text(clean(line.lead_unit, one_line=True) or "—"),
            "status": Text(t(f"status.{line.status}")),
            "received": Text(line.received_at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")),
        }
        return self._cells(columns, values)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        index = self.top + y - 1
        if y > 0 and index < len(self.lines):
            return self._row_strip(index, width)
        base = self.rich_style
        if y == 0:
            text = Text(" ") + self._header(layout(width - 1))
            return self._strip(text, width, base + self._style("case-table--header"))
        if not self.lines and y == 1:
            text = Text(" " + self.empty_text)
            return self._strip(text, width, base + self._style("case-table--empty"))
        return Strip.blank(width, base)

    def _row_strip(self, index: int, width: int) -> Strip:
        selected = index == self.cursor
        line = self.lines[index]
        now = self.now()
        # Countdowns change by the minute at most, so a row's strip is reused within one. It is
        # looked up before anything else: even the widget's style (rich_style) is not cheap.
        key = (line, selected, width, now.replace(second=0, microsecond=0), self.has_focus)
        cached = self._strips.get(key)
        if cached is not None:
            return cached
        base = self.rich_style
        columns = layout(width - 1)  # one cell of gutter for the cursor mark
        # The cursor reads without colour too: its row starts with "▶".
        text = Text("▶" if selected else " ") + self._row(line, columns, now)
        style = base + self._style("case-table--cursor") if selected else base
        strip = self._strip(text, width, style)
        if len(self._strips) > 4 * MAX_ROWS:
            self._strips.clear()
        self._strips[key] = strip
        return strip

    def _strip(self, text: Text, width: int, style: Style) -> Strip:
        segments = [
            Segment(s.text, style + s.style if s.style else style)
            for s in text.render(self.app.console, end="")
        ]
        return Strip(segments).crop_extend(0, width, style)
