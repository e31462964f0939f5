"""Every case action the queue and the case view offer: load, ask in a dialog, apply, report.

`start_action(screen, action, case_id)` is the one entry point. It loads what the dialog needs
in a thread worker (the console facade's `load`), pushes the dialog, and on a result applies it
in another worker in one transaction (`apply`). The screen then gets `CaseChanged`, or
`ActionRefused` with the rule's own words; a refusal that the clerk can fix (a version conflict,
input the service refused) re-opens the dialog with everything they typed and the reason shown
in it.

Each action pairs a typed kind of the services (services.console_actions.ActionKind[D, R]: the
dialog's data D, its result R) with the dialog that shows D and gives back R; mypy checks that
the two agree, so no dialog's result travels untyped.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from caseworker.screens.messages import ActionRefused, CaseChanged

if TYPE_CHECKING:
    from textual.screen import ModalScreen, Screen

    from caseworker.i18n.catalog import Catalog
    from caseworker.screens.dialogs.merge import MergeDialog
    from caseworker.screens.dialogs.reply import ReplyComposer
    from caseworker.services.console import Console
    from caseworker.services.console_actions import ActionKind, Versioned
    from caseworker.services.console_data import CaseSummary, ReplyData, ReplyResult

WORKER_GROUP = "case-action"

D = TypeVar("D")
R = TypeVar("R", bound="Versioned")


class ActionHost(Protocol):
    """What a case action needs of the app: the services' facade (services.console) and the
    clerk's words."""

    services: Console
    catalog: Catalog


# Builds a kind's dialog: (the screen, the case, the loaded data, a prefill after a refusal,
# the refusal) -> the dialog, dismissed with the kind's result or None.
DialogMaker = Callable[["Screen[Any]", int, D, "R | None", "str | None"], "ModalScreen[R | None]"]


class CaseAction(ABC):
    """One action of the console, whatever its dialog's data and result."""

    @property
    @abstractmethod
    def name(self) -> str:
        """The console's name of the action (keys.CASE_ACTIONS)."""

    @property
    @abstractmethod
    def rule(self) -> str:
        """The lifecycle action (its value) checked before the dialog opens."""

    @abstractmethod
    def start(self, screen: Screen[Any], case_id: int) -> None:
        """Load, ask, apply (see the module docstring)."""


@dataclass(frozen=True)
class TypedAction(CaseAction, Generic[D, R]):
    """An action whose dialog shows a `D` and gives back the `R` its kind applies."""

    kind: ActionKind[D, R]
    dialog: DialogMaker[D, R]

    @property
    def name(self) -> str:
        return self.kind.name

    @property
    def rule(self) -> str:
        return self.kind.rule.value

    def start(self, screen: Screen[Any], case_id: int) -> None:
        _open(screen, self, case_id, None, None)


def start_action(screen: Screen[Any], action: str, case_id: int) -> None:
    """Run one case action from `screen` (see the module docstring)."""
    found = _specs().get(action)
    if found is None:
        catalog = _host(screen).catalog
        screen.post_message(ActionRefused(catalog.t("refused.unknown_action", action=action)))
        return
    found.start(screen, case_id)


def _host(screen: Screen[Any]) -> ActionHost:
    return cast(ActionHost, screen.app)


def _open(
    screen: Screen[Any],
    action: TypedAction[D, R],
    case_id: int,
    prefill: R | None,
    refusal: str | None,
) -> None:
    """Load the dialog's data in a worker, then push it (prefilled after a refusal).

    After a refusal the rule is not checked again before re-opening: the clerk sees their text
    and the reason together, even when the other clerk's change means they cannot go on.
    """
    host = _host(screen)

    def load() -> None:
        from textual.worker import get_current_worker

        from caseworker.domain.errors import DomainError

        try:
            data = host.services.load(action.kind, case_id, check=refusal is None)
        except DomainError as exc:
            screen.post_message(ActionRefused(host.catalog.refusal(exc)))
            return
        except Exception as exc:  # the store itself failed: say so, never a traceback
            screen.post_message(ActionRefused(_store_failure(host.catalog, exc)))
            return
        if get_current_worker().is_cancelled:  # the clerk started another action meanwhile
            return
        screen.app.call_from_thread(_push, screen, action, case_id, data, prefill, refusal)

    screen.run_worker(load, thread=True, exclusive=True, group=WORKER_GROUP, exit_on_error=False)


def _push(
    screen: Screen[Any],
    action: TypedAction[D, R],
    case_id: int,
    data: D,
    prefill: R | None,
    refusal: str | None,
) -> None:
    def done(result: R | None) -> None:
        if result is not None:
            _apply(screen, action, case_id, result)

    screen.app.push_screen(action.dialog(screen, case_id, data, prefill, refusal), done)


def _apply(screen: Screen[Any], action: TypedAction[D, R], case_id: int, result: R) -> None:
    """Apply the dialog's result in one transaction; nothing is half done when refused."""
    host = _host(screen)

    def run() -> None:
        from caseworker.domain.errors import DomainError, InvalidInput
        from caseworker.services.cases import VersionConflict

        try:
            host.services.apply(action.kind, case_id, result)
        except (VersionConflict, InvalidInput) as exc:
            why = host.catalog.refusal(exc)
            screen.post_message(ActionRefused(why))
            # Reopened even when the change rules the action out, so nothing typed is lost;
            # the reason then says the action is no longer possible instead of "try again".
            screen.app.call_from_thread(_open, screen, action, case_id, result, why)
            return
        except DomainError as exc:
            screen.post_message(ActionRefused(host.catalog.refusal(exc)))
            return
        except Exception as exc:
            screen.post_message(ActionRefused(_store_failure(host.catalog, exc)))
            return
        screen.post_message(CaseChanged(case_id))

    screen.run_worker(run, thread=True, exclusive=True, group=WORKER_GROUP, exit_on_error=False)


def _store_failure(catalog: Catalog, exc: Exception) -> str:
    """Anything that is not a rule's refusal (a locked or lost database): one line, no trace."""
    orig = getattr(exc, "orig", None)
    return catalog.t("refused.not_saved", error=orig or exc)


# ---------------------------------------------------------------- worker-backed dialog helpers


def _autosaver(
    screen: Screen[Any], case_id: int, version: int
) -> Callable[[ReplyComposer, ReplyResult], None]:
    """The composer's autosave: one save at a time, each expecting the version the last left."""
    host = _host(screen)
    lock = threading.Lock()
    known = {"version": version}

    def autosave(dialog: ReplyComposer, state: ReplyResult) -> None:
        def save() -> None:
            from caseworker.domain.errors import DomainError
            from caseworker.services.cases import VersionConflict

            services = host.services
            with lock:
                try:
                    new_version = services.autosave(
                        case_id,
                        text=state.text,
                        final=state.final,
                        outcome=state.outcome,
                        expected_version=known["version"],
                    )
                except VersionConflict as exc:
                    known["version"] = services.case_version(case_id)
                    screen.app.call_from_thread(
                        dialog.autosave_refused, host.catalog.refusal(exc), known["version"]
                    )
                    return
                except DomainError as exc:
                    screen.app.call_from_thread(
                        dialog.autosave_refused, host.catalog.refusal(exc), None
                    )
                    return
                except Exception as exc:  # the store failed: say so, the text stays typed
                    why = _store_failure(host.catalog, exc)
                    screen.app.call_from_thread(dialog.autosave_refused, why, None)
                    return
                known["version"] = new_version
            screen.app.call_from_thread(dialog.draft_saved, state, new_version, services.now())
            screen.post_message(CaseChanged(case_id))

        screen.run_worker(save, thread=True, group="reply-autosave", exit_on_error=False)

    return autosave


def _merge_search(screen: Screen[Any], case_id: int) -> Callable[[MergeDialog, str], None]:
    host = _host(screen)

    def search(dialog: MergeDialog, query: str) -> None:
        def find() -> None:
            targets = host.services.merge_targets(query, exclude=case_id)
            screen.app.call_from_thread(dialog.show_targets, query, targets)

        screen.run_worker(
            find, thread=True, exclusive=True, group="merge-search", exit_on_error=False
        )

    return search


# ---------------------------------------------------------------- the actions


def _specs() -> dict[str, CaseAction]:
    """Built on first use, so opening the console does not import every dialog."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _build_specs()
    return _SPECS


_SPECS: dict[str, CaseAction] | None = None


def _build_specs() -> dict[str, CaseAction]:
    from caseworker.screens.dialogs.assign import AssignDialog
    from caseworker.screens.dialogs.extension import (
        ExtensionApprovalDialog,
        ExtensionRequestDialog,
    )
    from caseworker.screens.dialogs.instruction import InstructionDialog
    from caseworker.screens.dialogs.merge import MergeDialog
    from caseworker.screens.dialogs.note import NOTE_SPECS, NoteDialog
    from caseworker.screens.dialogs.rating import RatingDialog
    from caseworker.screens.dialogs.reject import RejectDialog
    from caseworker.screens.dialogs.reply import ReplyComposer
    from caseworker.screens.dialogs.review import ReviewDialog
    from caseworker.screens.dialogs.supervise import SuperviseDialog
    from caseworker.services import console_actions as kinds
    from caseworker.services.console_actions import NoteData
    from caseworker.services.console_data import (
        AssignData,
        AssignResult,
        EndingData,
        ExtensionApproval,
        ExtensionData,
        ExtensionRequest,
        InstructionResult,
        MergeResult,
        NoteResult,
        RatingResult,
        RejectResult,
        ReviewResult,
        SuperviseResult,
    )

    def note(kind: ActionKind[NoteData, NoteResult]) -> TypedAction[NoteData, NoteResult]:
        def dialog(
            screen: Screen[Any],
            case_id: int,
            data: NoteData,
            prefill: NoteResult | None,
            refusal: str | None,
        ) -> NoteDialog:
            spec = NOTE_SPECS[kind.name]
            return NoteDialog(
                data.case, spec, context=data.context, prefill=prefill, refusal=refusal
            )

        return TypedAction(kind, dialog)

    def reject(
        screen: Screen[Any],
        case_id: int,
        data: EndingData,
        prefill: RejectResult | None,
        refusal: str | None,
    ) -> RejectDialog:
        return RejectDialog(data, prefill=prefill, refusal=refusal)

    def close(
        screen: Screen[Any],
        case_id: int,
        data: EndingData,
        prefill: NoteResult | None,
        refusal: str | None,
    ) -> NoteDialog:
        return NoteDialog(
            data.case,
            NOTE_SPECS["close"],
            lapsing_days=data.lapsing_days,
            prefill=prefill,
            refusal=refusal,
        )

    def assign(
        screen: Screen[Any],
        case_id: int,
        data: AssignData,
        prefill: AssignResult | None,
        refusal: str | None,
    ) -> AssignDialog:
        return AssignDialog(data, prefill=prefill, refusal=refusal)

    def reply(
        screen: Screen[Any],
        case_id: int,
        data: ReplyData,
        prefill: ReplyResult | None,
        refusal: str | None,
    ) -> ReplyComposer:
        autosave = _autosaver(screen, case_id, data.case.version)
        return ReplyComposer(data, autosave, prefill=prefill, refusal=refusal)

    def review(
        screen: Screen[Any],
        case_id: int,
        data: ReplyData,
        prefill: ReviewResult | None,
        refusal: str | None,
    ) -> ReviewDialog:
        return ReviewDialog(data, prefill=prefill, refusal=refusal)

    def rate(
        screen: Screen[Any],
        case_id: int,
        data: CaseSummary,
        prefill: RatingResult | None,
        refusal: str | None,
    ) -> RatingDialog:
        return RatingDialog(data, prefill=prefill, refusal=refusal)

    def extend(
        screen: Screen[Any],
        case_id: int,
        data: ExtensionData,
        prefill: ExtensionRequest | None,
        refusal: str | None,
    ) -> ExtensionRequestDialog:
        return ExtensionRequestDialog(data, prefill=prefill, refusal=refusal)

    def approve(
        screen: Screen[Any],
        case_id: int,
        data: ExtensionData,
        prefill: ExtensionApproval | None,
        refusal: str | None,
    ) -> ExtensionApprovalDialog:
        return ExtensionApprovalDialog(data, prefill=prefill, refusal=refusal)

    def supervise(
        screen: Screen[Any],
        case_id: int,
        data: CaseSummary,
        prefill: SuperviseResult | None,
        refusal: str | None,
    ) -> SuperviseDialog:
        return SuperviseDialog(data, prefill=prefill, refusal=refusal)

    def instruct(
        screen: Screen[Any],
        case_id: int,
        data: CaseSummary,
        prefill: InstructionResult | None,
        refusal: str | None,
    ) -> InstructionDialog:
        return InstructionDialog(data, prefill=prefill, refusal=refusal)

    def merge(
        screen: Screen[Any],
        case_id: int,
        data: EndingData,
        prefill: MergeResult | None,
        refusal: str | None,
    ) -> MergeDialog:
        return MergeDialog(data, _merge_search(screen, case_id), prefill=prefill, refusal=refusal)

    actions: list[CaseAction] = [
        note(kinds.ACCEPT),
        TypedAction(kinds.REJECT, reject),
        TypedAction(kinds.ASSIGN, assign),
        note(kinds.RETURN),
        TypedAction(kinds.REPLY, reply),
        TypedAction(kinds.REVIEW, review),
        TypedAction(kinds.CLOSE, close),
        TypedAction(kinds.RATE, rate),
        note(kinds.REOPEN),
        TypedAction(kinds.EXTEND, extend),
        TypedAction(kinds.APPROVE_EXTENSION, approve),
        TypedAction(kinds.SUPERVISE, supervise),
        TypedAction(kinds.INSTRUCT, instruct),
        note(kinds.PAUSE),
        note(kinds.RESUME),
        TypedAction(kinds.MERGE, merge),
    ]
    return {a.name: a for a in actions}
