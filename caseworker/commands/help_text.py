"""`--help` in the run's language: the Chinese of every command's and option's help.

English help stays in the code (`help=` and docstrings); the Chinese lives in zh.toml's
[cli_help] table, keyed by where each text is shown (`help_keys`), and is put into the Click
command tree before it parses the command line, so Typer draws the same help in Chinese.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from typer import Context
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from caseworker.config import default_language

if TYPE_CHECKING:
    from caseworker.i18n.catalog import Catalog

PREFIX = "cli_help."

Command = TyperCommand | TyperGroup
Param = TyperOption | TyperArgument


def translate_help(root: object, args: Sequence[str]) -> None:
    """Give the command tree Chinese help when the run's language is zh; English is left alone."""
    if not isinstance(root, TyperGroup) or help_language(root, args) != "zh":
        return
    from caseworker.i18n.catalog import Catalog

    zh = Catalog("zh")
    for key, holder in help_keys(root).items():
        if zh.has(PREFIX + key):
            holder.help = zh.t(PREFIX + key)
            if isinstance(holder, Command):
                holder.short_help = None  # the commands panel then shows the Chinese help
    for _path, command in _tree(root, str(root.name)):
        _label(command, zh)


def _label(command: Command, catalog: Catalog) -> None:
    """Typer's own words on `command`'s help page: its panel titles and the `--help` line.

    Typer's panel titles are fixed English, but every command and parameter may name its panel
    (`rich_help_panel`, as an app would to group options), so each is given the title, in the
    catalog's language, of the panel it would be in.
    """
    # Click makes a command's --help option when first asked (and keeps it): ask now.
    help_option = command.get_help_option(Context(command, **command.context_settings))
    if help_option is not None:
        help_option.help = catalog.t("cli.help.help_option")
    arguments, options = catalog.t("cli.help.arguments"), catalog.t("cli.help.options")
    # Unset, a panel is None or a placeholder Typer leaves, both false.
    for param in [*command.params, help_option]:
        if isinstance(param, Param) and not param.rich_help_panel:
            param.rich_help_panel = arguments if isinstance(param, TyperArgument) else options
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            if isinstance(sub, Command) and not sub.rich_help_panel:
                sub.rich_help_panel = catalog.t("cli.help.commands")


def help_language(root: TyperGroup, args: Sequence[str]) -> str:
    """The run's language as the root command will read it: `--lang` among the root options,
    else its environment variable, else the locale.

    Only the words before the subcommand are the root's (`train check --lang` is the exercise's
    language), and the word after a root option that takes a value is that value (`--clerk
    --lang` names a clerk).
    """
    lang = next(p for p in root.params if p.name == "lang")
    takes_value = {
        name for p in root.params if isinstance(p, TyperOption) and not p.is_flag for name in p.opts
    }
    chosen: str | None = None
    words = iter(args)
    for word in words:
        if word == "--" or not word.startswith("-"):
            break
        name, equals, value = word.partition("=")
        if name in lang.opts:
            chosen = value if equals else next(words, None)
        elif name in takes_value and not equals:
            next(words, None)
    if chosen is None and isinstance(lang.envvar, str):
        chosen = os.environ.get(lang.envvar) or None
    return chosen or default_language()


def help_keys(root: TyperGroup) -> dict[str, Command | Param]:
    """Every command and parameter with help text, by its key in [cli_help]: the command path
    (`caseworker case assign`), then an option's longest name (`--output`, not `-o`) or an
    argument's name in capitals (`REF`)."""
    keys: dict[str, Command | Param] = {}
    for path, command in _tree(root, str(root.name)):
        if command.help:
            keys[path] = command
        for param in command.params:
            if isinstance(param, Param) and param.help:
                keys[f"{path} {_param_name(param)}"] = param
    return keys


def _param_name(param: Param) -> str:
    if isinstance(param, TyperArgument):
        return str(param.name).upper()
    return max(param.opts, key=len)


def _tree(command: Command, path: str) -> Iterator[tuple[str, Command]]:
    """`command` and every command below it, each with its path."""
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            if isinstance(sub, Command):
                yield from _tree(sub, f"{path} {name}")
