"""The line of reply checks in the composer and the review dialog, marked for plain terminals."""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from caseworker.services.console_data import ReplyChecks

PASS, FAIL, WARN = "✓", "✗", "!"


def checks_line(checks: ReplyChecks, answered: bool | None, t: Callable[..., str]) -> Text:
    """Each check as a mark and a label: green when it passes, red when it blocks, yellow warns."""
    line = Text()

    def part(ok: bool, key: str, *, warn: bool = False, extra: str = "") -> None:
        if line:
            line.append(" · ", style="dim")
        mark, style = (PASS, "green") if ok else ((WARN, "yellow") if warn else (FAIL, "red"))
        line.append(f"{mark} {t(key)}", style=style)
        if extra:
            line.append(f" {extra}", style=style)

    part(not checks.empty, "dialog.reply.check.not_empty")
    part(
        not checks.placeholders,
        "dialog.reply.check.placeholders",
        extra=" ".join(checks.placeholders[:3]),
    )
    part(
        not checks.sensitive,
        "dialog.reply.check.numbers",
        warn=True,
        extra=" ".join(_masked(n) for n in checks.sensitive[:2]),
    )
    if answered is not None:
        part(answered, "dialog.reply.check.answered")
    return line


def _masked(number: str) -> str:
    """Enough of a number to find it in the text without repeating it whole on screen."""
    return number[:3] + "…" + number[-2:] if len(number) > 6 else number
