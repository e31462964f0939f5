"""Merging a repeat into its original (合并): search the target by id, external id or title."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from caseworker.screens.dialogs._base import CaseDialog, visible
from caseworker.services.console_data import EndingData, MergeResult, MergeTarget


class MergeDialog(CaseDialog[MergeResult]):
    """The search runs in the caller's worker (`search`); results come back via show_targets."""

    SEARCH_DELAY = 0.25  # seconds

    DEFAULT_CSS = """
    MergeDialog #targets { height: 8; border: round $panel; }
    """

    def __init__(
        self,
        data: EndingData,
        search: Callable[[MergeDialog, str], None],
        *,
        prefill: MergeResult | None = None,
        refusal: str | None = None,
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.search = search
        self.prefill = prefill
        self.targets: list[MergeTarget] = []
        self.chosen: MergeTarget | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.merge.title", id=self.case.id)
            yield self.case_line()
            yield Label(self.t("dialog.merge.search"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.query if self.prefill else "",
                placeholder=self.t("dialog.merge.search_placeholder"),
                id="query",
            )
            yield OptionList(id="targets")
            yield Static(Text(self.t("dialog.merge.none_chosen")), id="chosen")
            yield Label(self.t("dialog.merge.reason"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.reason if self.prefill else "",
                placeholder=self.t("dialog.merge.reason_placeholder"),
                id="reason",
            )
            yield from self.lapse_line(self.data.lapsing_days)
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.merge.confirm")

    def on_mount(self) -> None:
        query = self.query_one("#query", Input).value
        if query.strip():
            self.search(self, query)

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "query":
            # Debounced: a title search may scan many cases; ask once typing pauses.
            if self._timer is not None:
                self._timer.stop()
            value = event.value
            self._timer = self.set_timer(self.SEARCH_DELAY, lambda: self.search(self, value))

    def show_targets(self, query: str, targets: list[MergeTarget]) -> None:
        """Called (on the UI thread) with the cases found for `query`; stale answers are dropped."""
        if query != self.query_one("#query", Input).value:
            return
        self.targets = targets
        options = self.query_one("#targets", OptionList)
        width = options.content_region.width - 1 if options.content_region.width else 90
        options.clear_options()
        for target in targets:
            line = Text(f"{target.id:>7}  {target.external_id:<10} ")
            line.append(self.t(f"dialog.status.{target.status}"), style="dim")
            line.append("  ")
            line.append(visible(target.title))
            line.truncate(width, overflow="ellipsis")
            options.add_option(Option(line, id=str(target.id)))
        if self.prefill and self.chosen is None:
            self._choose(next((t for t in targets if t.id == self.prefill.target_id), None))
        elif targets:
            options.highlighted = 0

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._choose(next((t for t in self.targets if str(t.id) == event.option_id), None))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._choose(next((t for t in self.targets if str(t.id) == event.option_id), None))
        self.query_one("#reason", Input).focus()

    def _choose(self, target: MergeTarget | None) -> None:
        self.chosen = target
        line = Text()
        if target is None:
            line.append(self.t("dialog.merge.none_chosen"))
        else:
            line.append(self.t("dialog.merge.into", id=target.id) + " ", style="bold")
            line.append(visible(target.title))
        self.query_one("#chosen", Static).update(line)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "query":
            self.query_one("#targets", OptionList).focus()
        else:
            self.action_confirm()

    def result(self) -> MergeResult | None:
        if self.chosen is None:
            self.refuse(self.t("dialog.refused.target_required"))
            self.query_one("#query", Input).focus()
            return None
        reason = self.query_one("#reason", Input).value.strip()
        query = self.query_one("#query", Input).value
        return MergeResult(self.chosen.id, reason, query, self.case.version)
