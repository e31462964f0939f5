"""Every console key in one list: bindings, the help screen and the command palette read it.

Keys are remappable in a TOML file in the user config directory (e.g.
~/.config/caseworker/keys.toml), by binding id:

    [keys]
    "case.assign" = "A"          # one key
    "queue.search" = "slash,ctrl+s"   # several, comma separated

`caseworker keys` is not needed: the help screen (?) shows the keys in force and their ids.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from platformdirs import user_config_path
from textual.binding import Binding
from textual.dom import DOMNode

from caseworker.i18n.catalog import Catalog

# The lifecycle rule (domain.lifecycle.Action) each case action is checked against; the
# dialogs' entry point (screens/case_actions) checks the same, and a test holds them equal.
CASE_ACTION_RULES = {
    "accept": "accept",
    "reject": "reject",
    "assign": "assign",
    "return": "return",
    "reply": "draft_reply",
    "review": "publish",
    "close": "close",
    "rate": "rate",
    "reopen": "reopen",
    "extend": "request_extension",
    "approve_extension": "approve_extension",
    "supervise": "supervise",
    "instruct": "instruct",
    "pause": "pause",
    "resume": "resume",
    "merge": "merge",
}
# The case actions of the dialogs' entry point (screens/case_actions.start_action).
CASE_ACTIONS = tuple(CASE_ACTION_RULES)


def offered_to(role: str | None, binding_id: str) -> bool:
    """Whether a key (by binding id) is offered to a clerk of `role` (None: not known yet) in
    the footer, the help and the palette: a unit handler is not shown the bureau's case keys
    (case.assign, case.reject, ...), nor a clerk a unit's; every other key is offered. Pressed
    anyway, such a key is refused with the reason."""
    rule = CASE_ACTION_RULES.get(binding_id.removeprefix("case."))
    if role is None or rule is None:
        return True
    from caseworker.domain.lifecycle import RULES, Action, Role

    try:
        who = Role(role)
    except ValueError:  # a name the store does not know: every key, each refused with a reason
        return True
    return who in RULES[Action(rule)].roles


@dataclass(frozen=True)
class KeySpec:
    """One thing a key does: its binding id, default keys, the action it runs, and where."""

    id: str
    keys: str
    action: str
    scopes: frozenset[str]  # "queue", "case", "dashboard", "app"
    footer: bool = False


def _case(action: str, keys: str, footer: bool = False) -> KeySpec:
    return KeySpec(
        f"case.{action}", keys, f"case_action('{action}')", frozenset({"queue", "case"}), footer
    )


KEYS: tuple[KeySpec, ...] = (
    KeySpec("queue.open", "enter", "open_case", frozenset({"queue"}), True),
    _case("assign", "a", True),
    _case("reply", "r", True),
    _case("reject", "x", True),
    _case("close", "c"),
    _case("extend", "e"),
    _case("supervise", "s"),
    _case("merge", "m"),
    _case("accept", "y"),
    _case("return", "b"),
    _case("review", "v"),
    _case("rate", "t"),
    _case("reopen", "o"),
    _case("approve_extension", "E"),
    _case("instruct", "i"),
    _case("pause", "p"),
    _case("resume", "P"),
    KeySpec("queue.next", "n", "take_next", frozenset({"queue", "case"}), True),
    KeySpec("queue.search", "slash", "search", frozenset({"queue"}), True),
    # `:` and not `g`: in the case list g is "top" (home), as in less and vim.
    KeySpec("queue.goto", "colon", "goto", frozenset({"queue", "case"})),
    KeySpec("queue.filter", "f", "filter", frozenset({"queue"}), True),
    KeySpec("queue.clear", "F", "clear_filters", frozenset({"queue"})),
    KeySpec("queue.next_queue", "tab", "next_queue", frozenset({"queue"})),
    KeySpec("queue.previous_queue", "shift+tab", "previous_queue", frozenset({"queue"})),
    KeySpec("queue.reload", "ctrl+r", "reload", frozenset({"queue", "case"})),
    KeySpec("case.back", "escape", "back", frozenset({"case"}), True),
    KeySpec("case.letters", "l", "letters", frozenset({"case"})),
    KeySpec("case.accept_category", "K", "accept_category", frozenset({"case"})),
    KeySpec("dashboard.open", "D", "app.dashboard", frozenset({"queue"})),
    KeySpec("dashboard.drill", "enter", "drill", frozenset({"dashboard"}), True),
    KeySpec("dashboard.period", "p", "next_period", frozenset({"dashboard"}), True),
    KeySpec("dashboard.reload", "ctrl+r", "reload", frozenset({"dashboard"})),
    KeySpec("dashboard.bulletin", "b", "bulletin", frozenset({"dashboard"})),
    KeySpec("dashboard.back", "escape", "back", frozenset({"dashboard"}), True),
    KeySpec("dashboard.link_issue", "l", "link_issue", frozenset({"dashboard"})),
    KeySpec("dashboard.brief", "B", "brief", frozenset({"dashboard"})),
    KeySpec("app.help", "question_mark", "help", frozenset({"app"}), True),
    KeySpec("app.quit", "ctrl+q", "quit", frozenset({"app"})),
    KeySpec("app.palette", "ctrl+p", "command_palette", frozenset({"app"})),
)


def spec(binding_id: str) -> KeySpec:
    return next(k for k in KEYS if k.id == binding_id)


def bindings(scope: str, catalog: Catalog, role: str | None = None) -> list[Binding]:
    """The bindings of one scope, described in the catalog's language; the footer shows no
    case key that `role` never uses (offered_to)."""
    out = []
    for key in KEYS:
        if scope not in key.scopes:
            continue
        out.append(
            Binding(
                key.keys,
                key.action,
                catalog.t(f"key.{key.id}"),
                show=key.footer and offered_to(role, key.id),
                id=key.id,
                tooltip=catalog.t(f"keytip.{key.id}"),
                priority=key.id in ("app.quit", "app.palette"),
            )
        )
    return out


def keymap_path() -> Path:
    """Where a clerk's key overrides live."""
    return user_config_path("caseworker", appauthor=False) / "keys.toml"


class KeymapError(Exception):
    """The keymap file cannot be used; the message names the file and the entry."""


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """Binding id -> keys from the TOML file; a missing file means the defaults."""
    path = path or keymap_path()
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KeymapError(f"{path}: {exc}") from None
    table = data.get("keys", {})
    if not isinstance(table, dict):
        raise KeymapError(f'{path}: [keys] must be a table of binding id = "keys"')
    known = {k.id for k in KEYS}
    out = {}
    for binding_id, keys in table.items():
        if binding_id not in known:
            raise KeymapError(f"{path}: unknown binding id {binding_id!r}")
        if not isinstance(keys, str) or not keys.strip():
            example = '"a" or "a,ctrl+b"'
            raise KeymapError(f"{path}: {binding_id} needs keys as text, e.g. {example}")
        out[binding_id] = keys.strip()
    clashes = conflicts(out)
    if clashes:
        raise KeymapError(f"{path}: " + "; ".join(clashes))
    return out


def _overlap(a: KeySpec, b: KeySpec) -> bool:
    """Whether two keys can be pressed on the same screen: app keys are live on every one."""
    return bool(a.scopes & b.scopes) or "app" in a.scopes or "app" in b.scopes


def conflicts(keymap: dict[str, str]) -> list[str]:
    """The keys that the overrides give to two bindings live on one screen, each named with the
    two binding ids (e.g. binding `y` to case.assign takes case.accept's key): Textual would
    silently run only one of them."""
    keys = {
        k.id: {p.strip() for p in keymap.get(k.id, k.keys).split(",") if p.strip()} for k in KEYS
    }
    out = []
    for i, first in enumerate(KEYS):
        for second in KEYS[i + 1 :]:
            if first.id not in keymap and second.id not in keymap:
                continue  # the defaults share keys only across screens
            if not _overlap(first, second):
                continue
            for key in sorted(keys[first.id] & keys[second.id]):
                out.append(f"key {key!r} is bound to both {first.id} and {second.id}")
    return out


def install(node: DOMNode, scope: str, catalog: Catalog, role: str | None = None) -> None:
    """Give one screen (or the app) the bindings of its scope, in the catalog's language (again
    once the clerk's role is known: see bindings)."""
    node._bindings = node._bindings.copy()
    ours = list(Binding.make_bindings(bindings(scope, catalog, role)))
    for binding in ours:  # our keys replace Textual's defaults on the same node (e.g. tab)
        node._bindings.key_to_bindings.pop(binding.key, None)
    for binding in ours:
        node._bindings._add_binding(binding)
