"""The filter dialog: channel, category, unit (with its subtree), region and urgency."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Select

from caseworker.domain.queues import Filters

if TYPE_CHECKING:
    from caseworker.screens.contract import ConsoleApp


@dataclass(frozen=True)
class FilterChoices:
    """What the dialog offers, loaded by the queue screen in a worker."""

    channels: list[tuple[str, str]]
    categories: list[str]
    regions: list[str]
    units: list[tuple[str, int]] = field(default_factory=list)


@dataclass(frozen=True)
class FilterResult:
    channel: str | None
    category: str | None
    unit_id: int | None
    region: str | None
    urgency: str | None


class FilterScreen(ModalScreen[FilterResult | None]):
    """Choose filters; empty choices mean "any"."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(
            "escape",
            "dismiss(None)",
            "cancel",
            id="filter.cancel",
            tooltip="Close without changing the filters",
        ),
    ]
    DEFAULT_CSS = """
    FilterScreen { align: center middle; }
    FilterScreen > Vertical {
        width: 70; height: auto; border: round $primary; background: $surface; padding: 0 1;
    }
    FilterScreen Label { margin-top: 1; }
    FilterScreen Horizontal { height: auto; align-horizontal: right; margin-top: 1; }
    """

    def __init__(self, choices: FilterChoices, current: Filters) -> None:
        super().__init__()
        self.choices = choices
        self.current = current

    def compose(self) -> ComposeResult:
        t = cast("ConsoleApp", self.app).t
        c, f = self.choices, self.current
        unit = f.unit_ids[0] if f.unit_ids else None
        with Vertical() as box:
            box.border_title = t("filter.title")
            yield Label(t("filter.channel"))
            yield self._select("channel", c.channels, f.channel, t)
            yield Label(t("filter.category"))
            yield self._select("category", [(v, v) for v in c.categories], f.category, t)
            yield Label(t("filter.unit"))
            yield self._select("unit", c.units, unit, t)
            yield Label(t("filter.region"))
            yield self._select("region", [(v, v) for v in c.regions], f.region, t)
            yield Label(t("filter.urgency"))
            urgencies = [(t("urgency.normal"), "normal"), (t("urgency.urgent"), "urgent")]
            yield self._select("urgency", urgencies, f.urgency, t)
            with Horizontal():
                yield Button(t("filter.clear"), id="clear")
                yield Button(t("filter.apply"), id="apply", variant="primary")

    @staticmethod
    def _select(name: str, options: list[tuple[str, Any]], value: Any, t: Any) -> Select[Any]:
        from rich.text import Text

        shown = [(Text(label), v) for label, v in options]
        values = {v for _, v in options}
        return Select(
            shown,
            prompt=t("filter.any"),
            id=f"f-{name}",
            value=value if value in values else Select.NULL,
        )

    def _text(self, name: str) -> str | None:
        """The chosen value of a text field's select; None for "any"."""
        value = self.query_one(f"#f-{name}", Select).value
        return value if isinstance(value, str) else None

    def _unit(self) -> int | None:
        value = self.query_one("#f-unit", Select).value
        return value if isinstance(value, int) else None

    @on(Button.Pressed, "#apply")
    def _apply(self) -> None:
        self.dismiss(
            FilterResult(
                channel=self._text("channel"),
                category=self._text("category"),
                unit_id=self._unit(),
                region=self._text("region"),
                urgency=self._text("urgency"),
            )
        )

    @on(Button.Pressed, "#clear")
    def _clear(self) -> None:
        self.dismiss(FilterResult(None, None, None, None, None))
