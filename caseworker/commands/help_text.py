"""`--help` in the run's language: the Chinese of every command's and option's help.

English help stays in the code (`help=` and docstrings); the Chinese lives in zh.toml's
[cli_help] table, keyed by where each text is shown (`help_keys`), and is put into the Click
command tree before it parses the command line, so Typer draws the same help in Chinese.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING

from typer import Context
from typer.core import TyperArgument, TyperCommand, TyperGroup, TyperOption

from caseworker.commands.lazy import LazyCommands
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
    path = str(root.name)
    commands = root.commands
    if not isinstance(commands, LazyCommands):
        _translate(root, path, zh)
        return
    # The root's subcommands are built when looked up (commands.lazy): the root now, each
    # subcommand as it is built, before Typer draws its help.
    _translate(root, path, zh, below=False)
    commands_title = zh.t("cli.help.commands")

    def built(name: str, command: object) -> None:
        if isinstance(command, Command):
            _translate(command, f"{path} {name}", zh)
            if not command.rich_help_panel:
                command.rich_help_panel = commands_title

    commands.when_built(built)
    for name, command in commands.built().items():
        built(name, command)


def _translate(command: Command, path: str, zh: Catalog, *, below: bool = True) -> None:
    """The Chinese help on `command` (at `path`) and its parameters, and on every command below
    it unless `below` is false."""
    for key, holder in help_keys(command, path, below=below).items():
        if zh.has(PREFIX + key):
            holder.help = zh.t(PREFIX + key)
            if isinstance(holder, Command):
                holder.short_help = None  # the commands panel then shows the Chinese help
    for _path, sub in _tree(command, path, below=below):
        _label(sub, zh)


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
        for sub in _subcommands(command).values():
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


def help_keys(
    root: Command, at: str | None = None, *, below: bool = True
) -> dict[str, Command | Param]:
    """Every command and parameter with help text, by its key in [cli_help]: the command path
    (`caseworker case assign`), then an option's longest name (`--output`, not `-o`) or an
    argument's name in capitals (`REF`). `root` is at path `at` (default: its name); with
    `below` false, only `root` itself and its parameters."""
    keys: dict[str, Command | Param] = {}
    for path, command in _tree(root, str(root.name) if at is None else at, below=below):
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


def _tree(command: Command, path: str, *, below: bool = True) -> Iterator[tuple[str, Command]]:
    """`command` and every command below it (unless `below` is false), each with its path."""
    yield path, command
    if below and isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            if isinstance(sub, Command):
                yield from _tree(sub, f"{path} {name}")


def _subcommands(group: TyperGroup) -> Mapping[str, object]:
    """A group's subcommands built so far: a lazy root's are not built for this."""
    commands = group.commands
    return commands.built() if isinstance(commands, LazyCommands) else dict(commands)
