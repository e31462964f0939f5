"""Check boxes and radio buttons whose state shows by a glyph, not by colour alone.

Textual's own draw the same mark on and off and tell them apart by colour, which a clerk with
a monochrome terminal, a colour-blind eye or a projector cannot see: ours draw ✓ / blank and
● / ○.
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Checkbox, RadioButton


class GlyphCheckbox(Checkbox):
    """A check box drawn ✓ when ticked and blank when not."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "✓" if self.value else " "
        return super()._button


class GlyphRadioButton(RadioButton):
    """A radio button drawn ● when chosen and ○ when not."""

    @property
    def _button(self) -> Content:
        self.BUTTON_INNER = "●" if self.value else "○"
        return super()._button
