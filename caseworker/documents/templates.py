"""The templates of the bureau's documents: which placeholders each may use, checking a
template a bureau edited, and rendering one into a Word file.

A template is a .docx with Jinja placeholders (docxtpl): `{{ case_title }}`, loops over rows
(`{%tr for row in ranking %}`). Values are inserted as text, never read as template code, and
escaped for XML, so a citizen's `{{ }}` or `<b>` prints as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from caseworker.config import DATA_DIR
from caseworker.domain.errors import DomainError

TEMPLATE_DIR = DATA_DIR / "templates"

TEMPLATE_FILES = {
    "assign": "assign.docx",
    "supervise": "supervise.docx",
    "approval": "approval.docx",
    "brief": "brief.docx",
    "bulletin": "bulletin.docx",
}

_COMMON = {
    "bureau_name": "the bureau's name (policy [bureau].name)",
    "bureau_short_name": "its short name",
    "bureau_address": "its address",
    "bureau_contact": "its contact line",
    "doc_number": "the 发文字号, e.g. 江信交〔2025〕12号",
    "doc_date": "the date of issue, e.g. 2025年11月14日",
}
_CASE = {
    "case_id": "the case's id",
    "case_ref": "its external id (the platform's number)",
    "case_title": "the message's title",
    "case_channel": "the channel (领导留言板, 12345热线 …)",
    "case_addressee": "the leader written to, or —",
    "case_author": "the author, masked as export --redact masks",
    "case_received": "the received date, e.g. 2025年11月14日",
    "case_received_time": "the received date and time, e.g. 2025年11月14日 09:12",
    "case_region": "the region, or —",
    "case_category": "the category, or —",
    "case_excerpt": "the first 150 characters of the message, masked",
    "case_paragraphs": "the full message, masked, as a list of paragraphs",
    "lead_unit": "the lead unit (主办)",
    "co_units": "the co-units (协办), joined with 、, or —",
    "assign_note": "the bureau's note given with the assignment, or —",
    "reply_due": "the first-reply deadline as a date",
    "close_due": "the close deadline as a date",
}
PLACEHOLDERS: dict[str, dict[str, str]] = {
    "assign": {**_COMMON, **_CASE},
    "supervise": {
        **_COMMON,
        **_CASE,
        "late_stage": "the stage that is late (交办, 首次答复, 办结)",
        "late_due": "that stage's deadline as a date",
        "overdue_workdays": "working days overdue",
        "overdue_days": "natural days overdue",
        "supervision_level": "催办, 挂牌督办 or 约谈 (the latest supervision record)",
        "supervision_note": "that record's note, or —",
        "answer_by": "the date by which the unit must answer (3 working days)",
    },
    "approval": {
        **_COMMON,
        **_CASE,
        "proposal": "the bureau's proposal (拟办意见), or empty",
        "instructions": "recorded instructions: rows with leader, text, date",
    },
    "brief": {
        **_COMMON,
        "issue_title": "the common issue (the first case's title)",
        "message_count": "how many messages",
        "citizen_count": "how many distinct citizens",
        "period_from": "the first message's date",
        "period_to": "the last message's date",
        "regions": "the regions, joined with 、",
        "units": "the lead units, joined with 、",
        "representatives": "up to 3 messages: rows with title, received, author, excerpt",
        "replies": "the latest 5 published replies: rows with unit, date, text",
        "reply_count": "how many replies were published",
        "ratings": "the ratings, e.g. 满意 3 件、不满意 1 件, or 暂无评价",
        "cases": "every case: rows with n, ref, received, author, title, unit, status",
    },
    "bulletin": {
        **_COMMON,
        "period_name": "周调度, 月通报 or 季考核",
        "period_label": "e.g. 2025年10月 or 2025年第4季度 or 2025年10月13日至19日",
        "period_from": "the first day",
        "period_to": "the last day",
        "as_of": "the time the figures were read",
        "intake_total": "messages received in the period",
        "channels": "rows with name, count, share",
        "ranking": "rows with rank, unit, on_time, satisfaction, timely (each like 96.2% (25/26))",
        "ranking_number": "the number of the recorded ranking (report rankings)",
        "rule_version": "the measures' rule version",
        "overdue_units": "rows with unit, count, worst (the worst cases)",
        "overdue_total": "overdue cases in all",
        "per_capita": "rows with region, population, intake, per10k",
        "urgent": "urgent lane, receipt to assignment: rows with unit, count, median, p90",
        "chart_ranking": "the ranking bar chart (an image), or empty",
        "chart_channels": "the intake by channel chart (an image), or empty",
    },
}


class TemplateRefused(DomainError):
    """A template that cannot be used; the message names the file and what is wrong."""


def template_path(kind: str, override: Path | None = None) -> Path:
    """The template to use: the one given, else the shipped data/templates file."""
    return override if override is not None else TEMPLATE_DIR / TEMPLATE_FILES[kind]


def _environment() -> Any:
    from jinja2 import Environment, StrictUndefined

    return Environment(autoescape=True, undefined=StrictUndefined)


def check_template(kind: str, path: Path) -> Any:
    """Open `path` as the template of `kind`; refuse an unreadable file, broken template code or
    a placeholder the kind does not define (naming it and the file). Returns the DocxTemplate."""
    from docxtpl import DocxTemplate
    from jinja2 import TemplateSyntaxError

    if not path.is_file():
        raise TemplateRefused(
            f"template {path} not found", key="refused.template_missing", file=str(path)
        )
    try:
        template = DocxTemplate(path)
        used = template.get_undeclared_template_variables(jinja_env=_environment())
    except TemplateSyntaxError as exc:
        raise TemplateRefused(
            f"template {path}: broken placeholder code: {exc.message}",
            key="refused.template_syntax",
            file=str(path),
            problem=str(exc.message),
        ) from None
    except Exception as exc:  # a file Word could not open either (not a zip, no document)
        raise TemplateRefused(
            f"template {path} is not a Word document: {exc}",
            key="refused.template_unreadable",
            file=str(path),
        ) from None
    unknown = sorted(set(used) - set(PLACEHOLDERS[kind]))
    if unknown:
        raise TemplateRefused(
            f"template {path}: unknown placeholder {unknown[0]!r}"
            + (f" (and {', '.join(unknown[1:])})" if unknown[1:] else "")
            + "; see data/templates/README.md",
            key="refused.template_placeholder",
            file=str(path),
            placeholder=unknown[0],
        )
    return template


# XML 1.0 forbids most control characters; a citizen's text may hold them (pasted text).
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def plain(text: str | None) -> str:
    """Citizen or clerk text made safe for a Word run: no control characters, one line."""
    if not text:
        return ""
    return _NOT_XML.sub("", " ".join(text.split("\n"))).replace("\r", "")


def paragraphs(text: str | None) -> list[str]:
    """Text split into its non-empty paragraphs, each made `plain`."""
    return [plain(p).strip() for p in (text or "").splitlines() if plain(p).strip()]


@dataclass(frozen=True)
class Chart:
    """A PNG to place where a template says {{ chart_… }}, `width_mm` wide."""

    png: bytes
    width_mm: float


def render(kind: str, path: Path, context: Mapping[str, Any], output: Path) -> None:
    """Write the document of `kind` from the template at `path` with `context` to `output`.

    Every value is a plain string, a number, a list of rows (dicts of strings) or a Chart.
    """
    import io

    from docx.shared import Mm
    from docxtpl import InlineImage
    from jinja2 import UndefinedError

    template = check_template(kind, path)
    values: dict[str, Any] = {}
    for name, value in context.items():
        if isinstance(value, Chart):
            values[name] = InlineImage(template, io.BytesIO(value.png), width=Mm(value.width_mm))
        else:
            values[name] = value
    try:
        template.render(values, jinja_env=_environment())
    except UndefinedError as exc:  # a row's field the kind does not have ({{ row.nothing }})
        raise TemplateRefused(
            f"template {path}: unknown placeholder: {exc.message}",
            key="refused.template_placeholder",
            file=str(path),
            placeholder=str(exc.message),
        ) from None
    template.save(output)
