"""A command group whose subcommands are built when first looked up.

`caseworker report overdue` runs every morning in cron: building every command of the tool
(and importing their modules) before it would be most of its own start-up. The root group
knows its commands' names up front, in the order `--help` lists them, and imports a command's
module only when the command line names it, `--help` lists it or something walks the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping

from typer._click import Command

Loader = Callable[[str], Mapping[str, Command]]
Loaded = Callable[[str, Command], None]


class LazyCommands(MutableMapping[str, Command]):
    """A group's subcommands by name; `load(name)` builds the command of that name (and any
    other its module defines, which are kept too). Iterating lists every name in order and
    builds each; looking one up builds only its own."""

    def __init__(self, names: list[str], load: Loader) -> None:
        self._names = list(names)
        self._load = load
        self._built: dict[str, Command] = {}
        self._hooks: list[Loaded] = []

    def built(self) -> dict[str, Command]:
        """The commands built so far, without building any."""
        return dict(self._built)

    def when_built(self, hook: Loaded) -> None:
        """Call `hook(name, command)` on each command built from now on (the help's
        translation, which must reach commands built after it ran)."""
        self._hooks.append(hook)

    def __getitem__(self, name: str) -> Command:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            for other, command in self._load(name).items():
                if other in self._names and other not in self._built:
                    self._built[other] = command
                    for hook in self._hooks:
                        hook(other, command)
        return self._built[name]

    def __setitem__(self, name: str, command: Command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._names))

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._names
