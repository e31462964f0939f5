"""What every command shares: the global options, opening the store, and clean failures."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, NoReturn
from zoneinfo import ZoneInfo

import typer

from caseworker.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine
    from sqlmodel import Session

    from caseworker.i18n.catalog import Catalog
    from caseworker.services.cases import Desk
    from caseworker.services.rules import Rules
    from caseworker.store.engine import Store
    from caseworker.store.plain import SqliteReader

SHANGHAI = ZoneInfo("Asia/Shanghai")


class CommandFailed(Exception):
    """A refusal to report on one line with exit code 1."""


class TimeOutOfBounds(typer.BadParameter):
    """A well-formed time outside the span caseworker can hold (domain.bounds)."""


def parse_time(text: str, what: str = "time") -> datetime:
    """An ISO 8601 time; without an offset it is Asia/Shanghai time.

    A time outside 1970-2199 is refused here, before it can overflow a deadline or the move
    to UTC deep in a command (see domain.bounds).
    """
    from caseworker.domain.bounds import time_in_bounds

    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{what} {text!r} is not an ISO 8601 time") from None
    value = value if value.tzinfo is not None else value.replace(tzinfo=SHANGHAI)
    if not time_in_bounds(value):
        raise TimeOutOfBounds(f"{what} {text!r} is outside 1970-01-01 .. 2199-12-31")
    return value


def settings_of(ctx: typer.Context) -> Settings:
    obj = ctx.find_root().obj
    assert isinstance(obj, Settings)
    return obj


def catalog_of(ctx: typer.Context, language: str | None = None) -> Catalog:
    """The message catalog of the run's language (`--lang`), or of `language` when given."""
    from caseworker.i18n.catalog import Catalog

    return Catalog(language or settings_of(ctx).language)


def say(ctx: typer.Context, key: str, **params: object) -> str:
    """A message in the run's language (`--lang`, default from the locale)."""
    return catalog_of(ctx).t(key, **params)


def option_time(ctx: typer.Context, text: str, option: str) -> datetime:
    """An ISO 8601 time given to `option`; anything else is a usage error in the run's language."""
    try:
        return parse_time(text, option)
    except TimeOutOfBounds:
        fail(say(ctx, "cli.time_out_of_bounds", option=option, text=text), 2)
    except typer.BadParameter:
        fail(say(ctx, "cli.bad_time", option=option, text=text), 2)


def check_choice(ctx: typer.Context, option: str, value: str, choices: tuple[str, ...]) -> None:
    """A usage error (exit 2) in the run's language unless `value` is one of `choices`."""
    if value not in choices:
        catalog = catalog_of(ctx)
        listed = ("、" if catalog.lang == "zh" else ", ").join(choices)
        fail(catalog.t("cli.bad_choice", option=option, value=value, choices=listed), 2)


def check_range(ctx: typer.Context, option: str, value: int, low: int, high: int) -> None:
    """A usage error (exit 2) in the run's language unless low <= value <= high: a number past
    what the store holds would otherwise overflow deep in a command."""
    if not low <= value <= high:
        fail(say(ctx, "cli.out_of_range", option=option, low=low, high=high), 2)


@dataclass
class Opened:
    """An open store with the rules loaded, for one command."""

    settings: Settings
    store: Store
    rules: Rules

    def desk(self) -> Desk:
        from caseworker.services.cases import Desk

        return Desk(rules=self.rules, clock=self.settings.clock(), clerk=self.settings.clerk)

    def now(self) -> datetime:
        return self.settings.clock().now()

    @property
    def engine(self) -> Engine:
        """The store's engine, for reads with plain SQL that need no ORM (no session)."""
        return self.store.engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.store.session() as session:
            yield session


@contextmanager
def opened(ctx: typer.Context, *, create: bool = False, identify: bool = True) -> Iterator[Opened]:
    """Open the store named by the global options, with the policy and calendar loaded, acting
    as the clerk the login may act as (services.identity); anyone else is refused here, before
    the command reads or changes anything.

    `identify=False` is for `init`, which names the first supervisor itself. Either way the
    settings handed on carry the login that counts (the database role on PostgreSQL).
    """
    from caseworker.services.clocks import calendar_changed
    from caseworker.services.identity import (
        acting_clerk,
        connection_login,
        is_demo,
        is_owner,
        upgrade_refusal,
    )
    from caseworker.services.rules import load_rules
    from caseworker.store.engine import open_store

    settings = settings_of(ctx)
    rules = load_rules(settings.policy_file, settings.calendar_file)
    refusal = upgrade_refusal(settings.database, settings.login)
    if refusal is not None:
        raise refusal
    store = open_store(settings.database, create=create)
    try:
        # Plain queries on a Core connection: a command that only reads never imports the ORM.
        with store.engine.connect() as connection:
            login = connection_login(connection, settings.login)
            settings = settings.with_(login=login)
            if identify:
                who = acting_clerk(
                    connection, login=login, wanted=settings.clerk, demo=is_demo(connection)
                )
                settings = settings.with_(clerk=who.clerk)
            # A clerk's role on PostgreSQL may not rewrite every case's clocks (nor see them
            # all): the owner's next command does it.
            stale = is_owner(connection) and calendar_changed(connection, rules)
        if stale:
            from caseworker.services.clocks import recompute_if_calendar_changed

            with store.session() as session:
                recompute_if_calendar_changed(session, rules, settings.clock().now())
        ctx.find_root().obj = settings
        yield Opened(settings=settings, store=store, rules=rules)
    finally:
        store.close()


@dataclass
class Reading:
    """A SQLite store read through sqlite3 alone, with the rules loaded (`read_plainly`)."""

    settings: Settings
    rules: Rules
    db: SqliteReader

    def now(self) -> datetime:
        return self.settings.clock().now()


@contextmanager
def read_plainly(ctx: typer.Context) -> Iterator[Reading | None]:
    """For a command that only reads, with plain queries (store.plain): the store named by the
    global options read through sqlite3, without importing SQLAlchemy, acting as the clerk the
    login may act as (a refusal as `opened` says it). None when the store needs more than
    that: PostgreSQL, a file to create or upgrade, a read-only or unreadable file, or deadlines
    to recompute for a changed calendar; the command then uses `opened`, which does it.
    """
    from caseworker.services.clocks import calendar_changed
    from caseworker.services.identity import acting_clerk, is_demo
    from caseworker.services.rules import load_rules
    from caseworker.store.plain import open_plain

    settings = settings_of(ctx)
    rules = load_rules(settings.policy_file, settings.calendar_file)
    db = open_plain(settings.database)
    if db is None:
        yield None
        return
    try:
        # As `opened` on SQLite: the login is the OS user's, who is the schema's owner.
        who = acting_clerk(db, login=settings.login, wanted=settings.clerk, demo=is_demo(db))
        if calendar_changed(db, rules):
            reading = None
        else:
            settings = settings.with_(clerk=who.clerk)
            ctx.find_root().obj = settings
            reading = Reading(settings=settings, rules=rules, db=db)
    except BaseException:
        db.close()
        raise
    try:
        yield reading
    finally:
        db.close()


def fail(message: str, code: int = 1) -> NoReturn:
    """Refuse in one line on stderr; data the message quotes cannot drive the terminal."""
    from caseworker.output_safety import terminal_safe

    typer.echo(f"caseworker: {terminal_safe(message, one_line=True)}", err=True)
    raise typer.Exit(code)


def to_json(value: Any) -> str:
    """JSON with times in ISO 8601 (Asia/Shanghai offset) and Chinese kept readable.

    Characters a terminal would obey are written as \\u escapes (the same JSON value), so the
    JSON can be printed as is (output_safety.json_terminal_safe).
    """
    from caseworker.output_safety import json_terminal_safe

    def default(obj: Any) -> Any:
        if isinstance(obj, datetime):
            return obj.astimezone(SHANGHAI).isoformat()
        if isinstance(obj, date):
            return obj.isoformat()
        raise TypeError(type(obj).__name__)

    # orjson writes the same indented text about twenty times faster (a report of thousands of
    # rows spent a third of its run in the standard encoder); what it declines (integers past
    # 64 bits, lone surrogates, keys that are not strings) the standard encoder still writes.
    import orjson

    try:
        text = orjson.dumps(
            value, default=default, option=orjson.OPT_INDENT_2 | orjson.OPT_PASSTHROUGH_DATETIME
        ).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        text = json.dumps(value, ensure_ascii=False, default=default, indent=2)
    return json_terminal_safe(text)


def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(SHANGHAI).strftime(fmt) if value else "—"


def read_stdin_json(ctx: typer.Context) -> Any:
    """One JSON value from standard input; anything else is a usage error in the run's
    language (`cli.stdin.*`)."""
    try:
        text = sys.stdin.read()
    except UnicodeDecodeError as exc:
        fail(say(ctx, "cli.stdin.not_utf8", byte=exc.start + 1), 2)
    if not text.strip():
        fail(say(ctx, "cli.stdin.empty"), 2)
    try:
        doc = json.loads(text)
        # Bytes that are not UTF-8, or a lone surrogate escape ("\\ud800"), in any value.
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
        return doc
    except UnicodeEncodeError:
        fail(say(ctx, "cli.stdin.surrogate"), 2)
    except json.JSONDecodeError as exc:
        fail(say(ctx, "cli.stdin.not_json", error=exc.msg, line=exc.lineno), 2)
    except (ValueError, RecursionError) as exc:  # a number of thousands of digits, deep nesting
        fail(say(ctx, "cli.stdin.unreadable", error=type(exc).__name__), 2)
