"""Messages screens and dialogs use to tell each other that the store changed."""

from __future__ import annotations

from textual.message import Message


class CaseChanged(Message):
    """A case was changed by this console (the queue and case view reload it)."""

    def __init__(self, case_id: int) -> None:
        super().__init__()
        self.case_id = case_id


class ActionRefused(Message):
    """An action was refused by a rule or a conflict; `text` says why, for a notice."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
