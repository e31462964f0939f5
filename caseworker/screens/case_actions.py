"""Every case action the queue and the case view offer: load, ask in a dialog, apply, report.

`start_action(screen, action, case_id)` is the one entry point. It loads what the dialog needs
in a thread worker, pushes the dialog, and on a result applies the service in another worker in
one transaction. The screen then gets `CaseChanged`, or `ActionRefused` with the rule's own
words; a refusal that the clerk can fix (a version conflict, input the service refused) re-opens
the dialog with everything they typed and the reason shown in it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

from caseworker.screens.messages import ActionRefused, CaseChanged

if TYPE_CHECKING:
    from sqlmodel import Session
    from textual.screen import ModalScreen, Screen

    from caseworker.i18n.catalog import Catalog
    from caseworker.screens.dialogs.merge import MergeDialog
    from caseworker.screens.dialogs.reply import ReplyComposer, ReplyResult
    from caseworker.services.cases import Desk
    from caseworker.store.engine import Store

WORKER_GROUP = "case-action"


class _Console(Protocol):
    """What the console app provides (see caseworker/app.py)."""

    store: Store
    catalog: Catalog

    def desk(self) -> Desk: ...

    def call_from_thread(self, callback: Callable[..., Any], *args: Any) -> Any: ...

    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...


Loader = Callable[["Session", "Desk", int], Any]
DialogMaker = Callable[["Screen[Any]", int, Any, Any, "str | None"], "ModalScreen[Any]"]
Runner = Callable[["Session", "Desk", int, Any], None]


@dataclass(frozen=True)
class _Spec:
    """One action: the lifecycle action checked before asking, and its load/dialog/apply."""

    rule: str  # caseworker.domain.lifecycle.Action value
    load: Loader
    dialog: DialogMaker
    run: Runner


def start_action(screen: Screen[Any], action: str, case_id: int) -> None:
    """Run one case action from `screen` (see the module docstring)."""
    spec = _specs().get(action)
    if spec is None:
        catalog = _console(screen).catalog
        screen.post_message(ActionRefused(catalog.t("refused.unknown_action", action=action)))
        return
    _open(screen, spec, case_id, None, None)


def _console(screen: Screen[Any]) -> _Console:
    return cast(_Console, screen.app)


def _open(
    screen: Screen[Any], spec: _Spec, case_id: int, prefill: Any, refusal: str | None
) -> None:
    """Load the dialog's data in a worker, then push it (prefilled after a refusal).

    After a refusal the rule is not checked again before re-opening: the clerk sees their text
    and the reason together, even when the other clerk's change means they cannot go on.
    """
    app = _console(screen)

    def load() -> None:
        from textual.worker import get_current_worker

        from caseworker.domain.errors import DomainError
        from caseworker.domain.lifecycle import Action
        from caseworker.services.console_data import precheck

        try:
            with app.store.session() as session:
                desk = app.desk()
                if refusal is None:
                    precheck(session, desk, case_id, Action(spec.rule))
                data = spec.load(session, desk, case_id)
        except DomainError as exc:
            screen.post_message(ActionRefused(app.catalog.refusal(exc)))
            return
        except Exception as exc:  # the store itself failed: say so, never a traceback
            screen.post_message(ActionRefused(_store_failure(app.catalog, exc)))
            return
        if get_current_worker().is_cancelled:  # the clerk started another action meanwhile
            return
        app.call_from_thread(_push, screen, spec, case_id, data, prefill, refusal)

    screen.run_worker(load, thread=True, exclusive=True, group=WORKER_GROUP, exit_on_error=False)


def _push(
    screen: Screen[Any], spec: _Spec, case_id: int, data: Any, prefill: Any, refusal: str | None
) -> None:
    def done(result: Any) -> None:
        if result is not None:
            _apply(screen, spec, case_id, result)

    _console(screen).push_screen(spec.dialog(screen, case_id, data, prefill, refusal), done)


def _apply(screen: Screen[Any], spec: _Spec, case_id: int, result: Any) -> None:
    """Apply the dialog's result in one transaction; nothing is half done when refused."""
    app = _console(screen)

    def run() -> None:
        from caseworker.domain.errors import DomainError, InvalidInput
        from caseworker.services.cases import VersionConflict
        from caseworker.services.console_data import check_version

        try:
            with app.store.session() as session:
                check_version(session, case_id, getattr(result, "version", None), spec.rule)
                spec.run(session, app.desk(), case_id, result)
        except (VersionConflict, InvalidInput) as exc:
            why = app.catalog.refusal(exc)
            screen.post_message(ActionRefused(why))
            # Reopened even when the change rules the action out, so nothing typed is lost;
            # the reason then says the action is no longer possible instead of "try again".
            app.call_from_thread(_open, screen, spec, case_id, result, why)
            return
        except DomainError as exc:
            screen.post_message(ActionRefused(app.catalog.refusal(exc)))
            return
        except Exception as exc:
            screen.post_message(ActionRefused(_store_failure(app.catalog, exc)))
            return
        screen.post_message(CaseChanged(case_id))

    screen.run_worker(run, thread=True, exclusive=True, group=WORKER_GROUP, exit_on_error=False)


def _store_failure(catalog: Catalog, exc: Exception) -> str:
    """Anything that is not a rule's refusal (a locked or lost database): one line, no trace."""
    orig = getattr(exc, "orig", None)
    return catalog.t("refused.not_saved", error=orig or exc)


# ---------------------------------------------------------------- worker-backed dialog helpers


def _autosaver(screen: Screen[Any], case_id: int, version: int) -> Callable[..., None]:
    """The composer's autosave: one save at a time, each expecting the version the last left."""
    app = _console(screen)
    lock = threading.Lock()
    known = {"version": version}

    def autosave(dialog: ReplyComposer, state: ReplyResult) -> None:
        def save() -> None:
            from caseworker.domain.errors import DomainError
            from caseworker.services.cases import VersionConflict, find_case
            from caseworker.services.console_data import save_draft

            with lock:
                desk = app.desk()
                try:
                    with app.store.session() as session:
                        new_version = save_draft(
                            session,
                            desk,
                            case_id,
                            text=state.text,
                            final=state.final,
                            outcome=state.outcome,
                            expected_version=known["version"],
                        )
                except VersionConflict as exc:
                    with app.store.session() as session:
                        known["version"] = find_case(session, case_id).version
                    app.call_from_thread(
                        dialog.autosave_refused, app.catalog.refusal(exc), known["version"]
                    )
                    return
                except DomainError as exc:
                    app.call_from_thread(dialog.autosave_refused, app.catalog.refusal(exc), None)
                    return
                except Exception as exc:  # the store failed: say so, the text stays typed
                    why = _store_failure(app.catalog, exc)
                    app.call_from_thread(dialog.autosave_refused, why, None)
                    return
                known["version"] = new_version
            app.call_from_thread(dialog.draft_saved, state, new_version, desk.now())
            screen.post_message(CaseChanged(case_id))

        screen.run_worker(save, thread=True, group="reply-autosave", exit_on_error=False)

    return autosave


def _merge_search(screen: Screen[Any], case_id: int) -> Callable[[MergeDialog, str], None]:
    app = _console(screen)

    def search(dialog: MergeDialog, query: str) -> None:
        def find() -> None:
            from caseworker.services.console_data import search_merge_targets

            channels = list(app.desk().rules.policy.channels)
            with app.store.session() as session:
                targets = search_merge_targets(session, query, exclude=case_id, channels=channels)
            app.call_from_thread(dialog.show_targets, query, targets)

        screen.run_worker(
            find, thread=True, exclusive=True, group="merge-search", exit_on_error=False
        )

    return search


# ---------------------------------------------------------------- the actions


def _specs() -> dict[str, _Spec]:
    """Built on first use, so opening the console does not import every dialog."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _build_specs()
    return _SPECS


_SPECS: dict[str, _Spec] | None = None


def _note_action(name: str, rule: str, run: Runner) -> _Spec:
    from caseworker.screens.dialogs.note import NOTE_SPECS, NoteDialog
    from caseworker.services import console_data as data

    def load(session: Session, desk: Desk, case_id: int) -> Any:
        summary = data.case_summary(session, desk, case_id)
        reason = data.pause_reason(session, case_id) if name == "resume" else None
        return summary, reason

    def dialog(
        screen: Screen[Any], case_id: int, loaded: Any, prefill: Any, refusal: str | None
    ) -> ModalScreen[Any]:
        summary, context = loaded
        return NoteDialog(
            summary, NOTE_SPECS[name], context=context, prefill=prefill, refusal=refusal
        )

    return _Spec(rule, load, dialog, run)


def _build_specs() -> dict[str, _Spec]:
    from caseworker.screens.dialogs.assign import AssignDialog
    from caseworker.screens.dialogs.extension import (
        ExtensionApprovalDialog,
        ExtensionRequestDialog,
    )
    from caseworker.screens.dialogs.instruction import InstructionDialog
    from caseworker.screens.dialogs.merge import MergeDialog
    from caseworker.screens.dialogs.rating import RatingDialog
    from caseworker.screens.dialogs.reject import RejectDialog
    from caseworker.screens.dialogs.reply import ReplyComposer
    from caseworker.screens.dialogs.review import ReviewDialog
    from caseworker.screens.dialogs.supervise import SuperviseDialog
    from caseworker.services import cases
    from caseworker.services import console_data as data
    from caseworker.services.people import UnknownName
    from caseworker.store.models import Unit

    def summary(session: Session, desk: Desk, case_id: int) -> Any:
        return data.case_summary(session, desk, case_id)

    def unit_code(session: Session, unit_id: int) -> str:
        unit = session.get(Unit, unit_id)
        if unit is None:
            raise UnknownName(
                f"unit {unit_id} no longer exists", key="refused.unit_gone", id=unit_id
            )
        return unit.code

    def run_assign(session: Session, desk: Desk, case_id: int, r: Any) -> None:
        cases.assign_case(
            session,
            desk,
            case_id,
            lead=unit_code(session, r.lead_id),
            co_units=[unit_code(session, u) for u in r.co_unit_ids],
            note=r.note or None,
            expected_version=r.version,
        )

    def run_reply(session: Session, desk: Desk, case_id: int, r: Any) -> None:
        data.save_draft(
            session,
            desk,
            case_id,
            text=r.text,
            final=r.final,
            outcome=r.outcome,
            expected_version=r.version,
        )
        draft = data.open_reply(session, case_id)
        if draft is not None and draft.state == "draft":
            cases.submit_reply(session, desk, case_id)

    def run_review(session: Session, desk: Desk, case_id: int, r: Any) -> None:
        if r.decision == "publish":
            cases.publish_reply(session, desk, case_id)
        else:
            cases.send_back_reply(session, desk, case_id, note=r.note)

    def simple(make: Callable[[Any, Any, str | None], ModalScreen[Any]]) -> DialogMaker:
        return lambda screen, case_id, loaded, prefill, refusal: make(loaded, prefill, refusal)

    return {
        "accept": _note_action(
            "accept",
            "accept",
            lambda s, d, c, r: cases.accept_case(
                s, d, c, note=r.note or None, expected_version=r.version
            ),
        ),
        "reject": _Spec(
            "reject",
            summary,
            simple(lambda loaded, p, why: RejectDialog(loaded, prefill=p, refusal=why)),
            lambda s, d, c, r: cases.reject_case(
                s, d, c, reason=r.recorded(), expected_version=r.version
            ),
        ),
        "assign": _Spec(
            "assign",
            data.assign_data,
            simple(lambda loaded, p, why: AssignDialog(loaded, prefill=p, refusal=why)),
            run_assign,
        ),
        "return": _note_action(
            "return",
            "return",
            lambda s, d, c, r: cases.return_case(
                s, d, c, reason=r.note, expected_version=r.version
            ),
        ),
        "reply": _Spec(
            "draft_reply",
            data.reply_data,
            lambda screen, case_id, loaded, p, why: ReplyComposer(
                loaded, _autosaver(screen, case_id, loaded.case.version), prefill=p, refusal=why
            ),
            run_reply,
        ),
        "review": _Spec(
            "publish",
            data.review_data,
            simple(lambda loaded, p, why: ReviewDialog(loaded, prefill=p, refusal=why)),
            run_review,
        ),
        "close": _note_action(
            "close", "close", lambda s, d, c, r: cases.close_case(s, d, c, note=r.note or None)
        ),
        "rate": _Spec(
            "rate",
            summary,
            simple(lambda loaded, p, why: RatingDialog(loaded, prefill=p, refusal=why)),
            lambda s, d, c, r: cases.rate_case(s, d, c, value=r.value, comment=r.comment or None),
        ),
        "reopen": _note_action(
            "reopen", "reopen", lambda s, d, c, r: cases.reopen_case(s, d, c, reason=r.note)
        ),
        "extend": _Spec(
            "request_extension",
            data.extension_data,
            simple(lambda loaded, p, why: ExtensionRequestDialog(loaded, prefill=p, refusal=why)),
            lambda s, d, c, r: _ignore(
                cases.request_extension(s, d, c, days=r.days, reason=r.reason)
            ),
        ),
        "approve_extension": _Spec(
            "approve_extension",
            data.approval_data,
            simple(lambda loaded, p, why: ExtensionApprovalDialog(loaded, prefill=p, refusal=why)),
            _decide_extension,
        ),
        "supervise": _Spec(
            "supervise",
            summary,
            simple(lambda loaded, p, why: SuperviseDialog(loaded, prefill=p, refusal=why)),
            lambda s, d, c, r: cases.supervise_case(s, d, c, level=r.level, note=r.note),
        ),
        "instruct": _Spec(
            "instruct",
            summary,
            simple(lambda loaded, p, why: InstructionDialog(loaded, prefill=p, refusal=why)),
            lambda s, d, c, r: cases.instruct_case(
                s, d, c, leader=r.leader, text=r.text, owner=r.owner
            ),
        ),
        "pause": _note_action(
            "pause", "pause", lambda s, d, c, r: cases.pause_case(s, d, c, reason=r.note)
        ),
        "resume": _note_action("resume", "resume", _resume),
        "merge": _Spec(
            "merge",
            summary,
            lambda screen, case_id, loaded, p, why: MergeDialog(
                loaded, _merge_search(screen, case_id), prefill=p, refusal=why
            ),
            lambda s, d, c, r: cases.merge_case(s, d, c, into=r.target_id, reason=r.reason or None),
        ),
    }


def _ignore(_value: object) -> None:
    return None


def _resume(session: Session, desk: Desk, case_id: int, result: Any) -> None:
    """The clerk's note goes on the resume event the service appends; nothing is rewritten."""
    from caseworker.services import cases

    cases.resume_case(session, desk, case_id, note=result.note or None)


def _decide_extension(session: Session, desk: Desk, case_id: int, result: Any) -> None:
    """The supervisor's decision on the pending request: approve it, or deny it with a reason."""
    from caseworker.services import cases

    if result.deny:
        cases.deny_extension(session, desk, case_id, reason=result.reason)
    else:
        cases.approve_extension(session, desk, case_id)
