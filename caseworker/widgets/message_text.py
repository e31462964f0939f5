"""A citizen's message drawn with the Line API, wrapped for Chinese (see widgets/kinsoku.py).

Rich and Textual wrap CJK text at any character, so a line can start with "，" or end with "（";
this widget wraps with `wrap_cjk` at its own width instead. The text is data: it is cleaned of
escape and control characters (widgets/safe.py) and drawn as plain segments, never parsed as
markup. Wrapped lines are cached per width, so a 20,000-character body wraps once per resize.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

from caseworker.widgets.kinsoku import wrap_cjk
from caseworker.widgets.safe import clean


class MessageText(Widget):
    """A bold heading over the message text, as tall as the wrapped text needs."""

    DEFAULT_CSS = """
    MessageText {
        height: auto;
    }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.heading = ""
        self.text = ""
        self._wrapped: tuple[int, list[str]] | None = None

    def update(self, text: str | None, *, heading: str = "") -> None:
        """Show `text` (citizen text, drawn literally) under `heading`."""
        self.heading, self.text = heading, clean(text)
        self._wrapped = None
        self.refresh(layout=True)

    def lines(self, width: int) -> list[str]:
        """Every line drawn at `width` cells: the heading, then the wrapped text."""
        if self._wrapped is None or self._wrapped[0] != width:
            self._wrapped = (width, [self.heading, *wrap_cjk(self.text, width)])
        return self._wrapped[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_size.width
        style = self.rich_style
        lines = self.lines(width)
        if not 0 <= y < len(lines):
            return Strip.blank(width, style)
        line_style = style + Style(bold=True) if y == 0 else style
        return Strip([Segment(lines[y], line_style)]).crop_extend(0, width, style)
