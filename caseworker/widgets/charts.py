"""Charts for the supervisor screen, drawn by plotext through textual-plotext.

plotext measures labels with `len()`, so a Chinese unit name (two cells a character) would push
its bar out of line. Labels are therefore drawn as ASCII placeholders exactly as wide as the
real label, and swapped for the real text in plotext's output: the layout is plotext's, the
alignment right. Every chart is rebuilt from its data on each render, so a redraw (resize,
theme) never accumulates state, and the same data always draws the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from string import ascii_uppercase
from typing import Any, cast

from rich.cells import cell_len
from rich.text import Text
from textual.app import RenderResult
from textual_plotext import PlotextPlot

LABEL_CELLS = 12  # the widest bar label, in terminal cells


def fit(label: str, cells: int = LABEL_CELLS) -> str:
    """The label cut to `cells` terminal cells, with an ellipsis when it was cut."""
    if cell_len(label) <= cells:
        return label
    out = ""
    for char in label:
        if cell_len(out + char) > cells - 1:
            break
        out += char
    return out + "…"


def int_ticks(top: int, count: int = 5) -> list[int]:
    """Whole, round ticks (1, 2 or 5 times a power of ten apart) from 0 to at least `top`."""
    rough = max(1, -(-top // (count - 1)))
    scale = 1
    while scale * 10 <= rough:
        scale *= 10
    step = next(m * scale for m in (1, 2, 5, 10) if m * scale >= rough)
    return list(range(0, max(top, 1) + step, step))


@dataclass(frozen=True)
class Series:
    """One stacked series: its name (shown in the legend beside the chart) and colour."""

    name: str
    color: int  # a 256-colour palette index, shared by plotext and the Rich legend
    counts: list[int]


class Chart(PlotextPlot):
    """A plot that draws itself from data, or says there is nothing to draw."""

    DEFAULT_CSS = """
    Chart { width: 1fr; height: 1fr; min-height: 4; }
    """

    def __init__(self, empty: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.empty = empty
        self.labels: dict[str, str] = {}  # placeholder -> label

    def has_data(self) -> bool:
        raise NotImplementedError

    def draw(self) -> None:
        raise NotImplementedError

    def render(self) -> RenderResult:
        if not self.has_data() or self.size.width < 10 or self.size.height < 4:
            return Text(self.empty, style="dim")
        plt = self.plt
        plt.clear_figure()
        plt.plotsize(self.size.width, self.size.height)
        plt._set_size(self.size.width, self.size.height)  # as PlotextPlot.render does
        plt.theme(self._get_plotext_theme_name(self.app.theme))
        self.labels = {}
        self.draw()
        return Text.from_ansi(self._relabel(plt.build()), no_wrap=True)

    def placeholder(self, label: str) -> str:
        """An ASCII stand-in as wide as `label`, unique within this chart."""
        if cell_len(label) == len(label):
            return label
        token = ascii_uppercase[len(self.labels) % 26] * cell_len(label)
        self.labels[token] = label
        return token

    def _relabel(self, drawn: str) -> str:
        """Put the real labels back, only left of the axis where plotext draws them."""
        if not self.labels:
            return drawn
        lines = []
        for line in drawn.split("\n"):
            axis = line.find("┤")
            if axis > 0:
                head = line[:axis]
                for token, label in self.labels.items():
                    if token in head:
                        head = head.replace(token, label, 1)
                        break
                line = head + line[axis:]
            lines.append(line)
        return "\n".join(lines)


class BarChart(Chart):
    """Horizontal bars, one per label, the first at the top."""

    def __init__(self, empty: str, *, color: int, id: str | None = None) -> None:
        super().__init__(empty, id=id)
        self.color = color
        self.values: list[tuple[str, int]] = []

    def show(self, values: Sequence[tuple[str, int]]) -> None:
        self.values = [(fit(label), n) for label, n in values]
        self.refresh()

    def has_data(self) -> bool:
        return bool(self.values)

    def draw(self) -> None:
        plt = self.plt
        # plotext needs two rows a bar (and one more) or neighbouring bars bleed into each
        # other; the worst units get the rows, the table beside the chart lists them all.
        shown = self.values[: max(1, (self.size.height - 1) // 2)]
        # plotext draws the first bar at the bottom; the worst unit belongs on top.
        labels = [self.placeholder(label) for label, _ in reversed(shown)]
        plt.bar(
            labels,
            [n for _, n in reversed(shown)],
            orientation="horizontal",
            width=0.6,
            color=self.color,
        )
        ticks = int_ticks(max(n for _, n in shown))
        plt.xticks([float(t) for t in ticks], [str(t) for t in ticks])
        plt.xlim(0, ticks[-1])


class StackedDays(Chart):
    """Counts per day, stacked by series; the x axis names a day every week."""

    def __init__(self, empty: str, *, id: str | None = None) -> None:
        super().__init__(empty, id=id)
        self.days: list[date] = []
        self.series: list[Series] = []

    def show(self, days: Sequence[date], series: Sequence[Series]) -> None:
        self.days, self.series = list(days), list(series)
        self.refresh()

    def has_data(self) -> bool:
        return bool(self.days) and any(any(s.counts) for s in self.series)

    def draw(self) -> None:
        plt = self.plt
        xs = list(range(len(self.days)))
        # plotext fills the bottom row only under its first series, so a day with none of the
        # first channel would look shorter; an empty first series keeps every bar honest.
        colors = cast(Any, [0] + [s.color for s in self.series])  # one per series
        plt.stacked_bar(
            xs, [[0] * len(xs)] + [s.counts for s in self.series], color=colors, width=0.7
        )
        step = 7 if self.size.width >= 50 else 14
        marks = xs[::-1][::step][::-1]  # today always named, then a week back each
        plt.xticks([float(i) for i in marks], [f"{self.days[i]:%m-%d}" for i in marks])
        totals = [sum(s.counts[i] for s in self.series) for i in xs]
        ticks = int_ticks(max(totals), count=min(5, max(2, self.size.height // 3)))
        plt.yticks([float(t) for t in ticks], [str(t) for t in ticks])
        plt.ylim(0, ticks[-1])


def legend(series: Sequence[Series]) -> Text:
    """The series names in their chart colours (plotext's own legend misplaces Chinese)."""
    out = Text()
    for n, s in enumerate(series):
        if n:
            out.append("  ")
        name = Text("█ ", style=f"color({s.color})")
        name.append(s.name)
        name.append(f" {sum(s.counts)}", style="dim")
        out.append_text(name)
    return out
