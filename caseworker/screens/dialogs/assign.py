"""Assignment (交办): find units in the tree, choose the lead and co-units, add a note, and see
the deadlines before confirming. A missing lead or a co-unit equal to the lead is refused here."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from caseworker.screens.dialogs._base import CaseDialog, local_time
from caseworker.services.console_data import AssignData, AssignResult, UnitCandidate

SHOWN = 40  # candidates listed at once; typing narrows the tree
NAME_CELLS, FIGURE_CELLS, LINE_CELLS = 28, 24, 88


class AssignDialog(CaseDialog[AssignResult]):
    """Enter on a candidate makes it the lead; ctrl+o adds it as a co-unit."""

    DEFAULT_CSS = """
    AssignDialog #candidates { height: 9; border: round $panel; }
    AssignDialog #preview { margin-top: 1; }
    AssignDialog .unit-buttons { height: auto; }
    AssignDialog .unit-buttons Button { margin-right: 1; min-width: 10; }
    AssignDialog #lead, AssignDialog #co-units { height: auto; }
    AssignDialog #preview { color: $text-muted; margin-top: 1; }
    """

    BINDINGS = [  # noqa: RUF012
        Binding("ctrl+l", "make_lead", "lead", id="dialog.assign.make_lead"),
        Binding("ctrl+o", "add_co_unit", "co-unit", id="dialog.assign.add_co_unit"),
    ]

    def __init__(
        self, data: AssignData, *, prefill: AssignResult | None = None, refusal: str | None = None
    ) -> None:
        super().__init__(data.case, refusal=refusal)
        self.data = data
        self.units = {u.id: u for u in data.units}
        self.scores = dict(data.suggested)
        self.shown: list[UnitCandidate] = []
        self.lead: UnitCandidate | None = None
        self.co_units: list[UnitCandidate] = []
        self.prefill = prefill
        if prefill is not None:
            self.lead = self.units.get(prefill.lead_id)
            self.co_units = [self.units[u] for u in prefill.co_unit_ids if u in self.units]

    def compose(self) -> ComposeResult:
        with Vertical(id="frame") as frame:
            frame.border_title = self.t("dialog.assign.title", id=self.case.id)
            yield self.case_line()
            yield Input(
                compact=True,
                placeholder=self.t("dialog.assign.search_placeholder"),
                id="unit-search",
            )
            yield OptionList(id="candidates")
            with Horizontal(classes="unit-buttons"):
                yield Button(self.t("dialog.assign.make_lead"), id="make-lead", compact=True)
                yield Button(self.t("dialog.assign.add_co_unit"), id="add-co", compact=True)
                yield Button(self.t("dialog.assign.clear_co_units"), id="clear-co", compact=True)
            yield Static(id="lead")
            yield Static(id="co-units")
            yield Label(self.t("dialog.assign.note"), classes="field-label")
            yield Input(
                compact=True,
                value=self.prefill.note if self.prefill else "",
                placeholder=self.t("dialog.assign.note_placeholder"),
                id="note",
            )
            yield Static(self.preview(), id="preview")
            yield self.error_line()
            with Horizontal(classes="buttons"):
                yield from self.buttons("dialog.assign.confirm")

    def on_mount(self) -> None:
        self.filter("")
        self.show_choice(clear=False)
        self.query_one("#unit-search", Input).focus()

    # ------------------------------------------------------------ the candidate list

    def figures(self, unit: UnitCandidate) -> str:
        rate = unit.on_time_rate
        shown = f"{rate * 100:.1f}%" if rate is not None else "—"
        return self.t("dialog.assign.figures", open=unit.open_cases, rate=shown)

    def filter(self, query: str) -> None:
        """Units whose name, code or place in the tree contains every typed word."""
        words = query.lower().split()
        matches = [
            u
            for u in self.data.units
            if all(w in u.name.lower() or w in u.code.lower() or w in u.path.lower() for w in words)
        ]
        if not words and self.scores:
            # The model's units first, marked with their scores; the clerk still chooses.
            first = [self.units[u] for u, _ in self.data.suggested if u in self.units]
            matches = first + [u for u in matches if u.id not in self.scores]
        self.shown = matches[:SHOWN]
        options = self.query_one("#candidates", OptionList)
        width = options.content_region.width - 1 if options.content_region.width else LINE_CELLS
        options.clear_options()
        for unit in self.shown:
            # Columns: the unit (indented by its depth in the tree), its figures, and when
            # searching, where it sits, so two 教育局 of different districts can be told apart.
            suggested = not words and unit.id in self.scores
            name = Text("  " * unit.depth if not words and not suggested else "")
            name.append(unit.name, style="bold")
            name.pad_right(max(NAME_CELLS - name.cell_len, 1))
            name.append(self.figures(unit))
            if suggested:
                name.pad_right(max(NAME_CELLS + FIGURE_CELLS - name.cell_len, 1))
                score = f"{self.scores[unit.id]:.0%}"
                name.append(self.t("triage.assign.suggested", score=score), style="bold")
            parent = unit.path.rpartition(" / ")[0]
            if words and parent:
                name.pad_right(max(NAME_CELLS + FIGURE_CELLS - name.cell_len, 1))
                name.append(parent, style="dim")
            name.truncate(width, overflow="ellipsis")
            options.add_option(Option(name, id=str(unit.id)))
        if self.shown:
            options.highlighted = 0
        if len(matches) > SHOWN:
            options.add_option(
                Option(
                    Text(self.t("dialog.assign.more", n=len(matches) - SHOWN), style="dim"),
                    disabled=True,
                )
            )

    def highlighted(self) -> UnitCandidate | None:
        options = self.query_one("#candidates", OptionList)
        index = options.highlighted
        return self.shown[index] if index is not None and index < len(self.shown) else None

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "unit-search":
            event.stop()
            self.filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "unit-search":
            # Enter chooses the lead only while there is none: once one is chosen, a search is
            # as likely for a co-unit, so Enter moves to the list (enter lead, ctrl+o co-unit)
            # instead of silently replacing the lead.
            if self.lead is None:
                self.action_make_lead()
                self.query_one("#note", Input).focus()
            else:
                self.query_one("#candidates", OptionList).focus()
        else:
            self.action_confirm()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_make_lead()

    def button_pressed(self, button_id: str) -> None:
        if button_id == "make-lead":
            self.action_make_lead()
        elif button_id == "add-co":
            self.action_add_co_unit()
        elif button_id == "clear-co":
            self.co_units = []
            self.show_choice()

    # ------------------------------------------------------------ lead and co-units

    def action_make_lead(self) -> None:
        unit = self.highlighted()
        if unit is not None:
            self.lead = unit
            self.show_choice()

    def action_add_co_unit(self) -> None:
        unit = self.highlighted()
        if unit is not None and all(u.id != unit.id for u in self.co_units):
            self.co_units.append(unit)
            self.show_choice()

    def show_choice(self, *, clear: bool = True) -> None:
        lead = Text(self.t("dialog.assign.lead") + "  ", style="bold")
        if self.lead is None:
            lead.append(self.t("dialog.assign.no_lead"), style="dim")
        else:
            lead.append(self.lead.name)
            lead.append(f"  {self.figures(self.lead)}", style="dim")
        self.query_one("#lead", Static).update(lead)
        co = Text(self.t("dialog.assign.co_units") + "  ", style="bold")
        if not self.co_units:
            co.append(self.t("dialog.assign.no_co_units"), style="dim")
        co.append("、".join(u.name for u in self.co_units))
        self.query_one("#co-units", Static).update(co)
        if clear:
            self.clear_refusal()

    def preview(self) -> Text:
        line = Text(self.t("dialog.assign.preview") + "  ")
        parts = []
        for d in self.data.deadlines:
            mark = "≈" if d.provisional else ""
            parts.append(f"{self.t(f'dialog.stage.{d.stage}')} {mark}{local_time(d.due_at)}")
        line.append(" · ".join(parts) or "—")
        return line

    def result(self) -> AssignResult | None:
        if self.lead is None:
            self.refuse(self.t("dialog.refused.lead_required"))
            self.query_one("#unit-search", Input).focus()
            return None
        for unit in self.co_units:
            if unit.id == self.lead.id:
                self.refuse(self.t("dialog.refused.co_unit_is_lead", unit=unit.name))
                return None
        note = self.query_one("#note", Input).value.strip()
        return AssignResult(
            self.lead.id, tuple(u.id for u in self.co_units), note, self.case.version
        )
