"""Triage from the bureau's own history: train, suggest, accepted suggestions, common issues.

The model is learnt from the cases that carry a category or a lead unit and kept in the store
(table `triage_models`); suggestions come from the newest one. A suggestion is never applied
on its own: a clerk accepts it, and the history records that it was a suggestion.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from caseworker.clock import recorded_now
from caseworker.config import DATA_DIR
from caseworker.domain.errors import InvalidInput, NotPermitted
from caseworker.domain.lifecycle import OPEN_STATES, Role, Status
from caseworker.domain.triage_clusters import (
    Cluster,
    ClusterDoc,
    clusters_of,
    group_terms,
    text_terms,
)
from caseworker.domain.triage_model import (
    BATCH,
    BODY_CHARS,
    FEATURES_VERSION,
    SVM_MAX_ROWS,
    UNIT_WEIGHTS_KEPT,
    CrossValidation,
    Message,
    TriageModel,
    cross_validate,
    features,
    fit_idf,
    fit_linear,
    keywords_of,
    trainable,
    weigh,
)
from caseworker.domain.triage_text import KeywordTree, keyword_tree_from_toml
from caseworker.services.cases import Desk, readable_case, save
from caseworker.services.people import resolve_actor
from caseworker.store.audit import seal_new_event
from caseworker.store.engine import Store
from caseworker.store.models import (
    CaseRow,
    CaseSignature,
    CommonIssueCase,
    CommonIssueRow,
    EventRow,
    TriageModelRow,
    Unit,
)

MIN_CASES = 50  # fewer labelled cases than this teach nothing worth suggesting
# A year of cases, back from the newest labelled one: a bureau's categories and units follow
# its recent work. Training memory is about 5 KB a case (README); the cap keeps it bounded.
TRAINING_DAYS = 365
MIN_HISTORY = 30_000  # a younger or quieter bureau: its newest cases, however old
MAX_TRAINING_CASES = 500_000
MAX_CV_CASES = 3_000  # cross-validation reads an even sample of this many

CATEGORISE = "categorise"  # the event of a clerk setting a case's category

Progress = Callable[[str, float], None]


def category_tree(path: Path | None = None) -> KeywordTree:
    """The keyword knowledge of the category tree (data/category_tree.toml by default)."""
    path = path or DATA_DIR / "category_tree.toml"
    return keyword_tree_from_toml(path.read_text(encoding="utf-8"))


def message_of(case: CaseRow) -> Message:
    return Message(case.title, case.body, case.region, case.addressee, case.channel)


@dataclass(frozen=True)
class TrainResult:
    """What `triage train` did: the stored model's id and how well it did."""

    model_id: int | None
    trained_at: datetime
    category_cases: int
    unit_cases: int
    category_cv: CrossValidation | None
    unit_cv: CrossValidation | None
    categories: int = 0
    units: int = 0
    too_little: bool = False


def _sample(items: list[int], limit: int) -> list[int]:
    """At most `limit` of the positions, spread evenly (deterministic)."""
    if len(items) <= limit:
        return items
    step = len(items) / limit
    return [items[int(k * step)] for k in range(limit)]


def _rows(x: Any, positions: list[int]) -> Any:
    """The rows of x at `positions` (x itself when they are all of it: a year is not copied)."""
    return x if len(positions) == x.shape[0] else x[positions]


def train(
    store: Store,
    *,
    clerk: str,
    now: datetime,
    tree: KeywordTree | None = None,
    max_cases: int = MAX_TRAINING_CASES,
    min_cases: int = MIN_CASES,
    progress: Progress | None = None,
) -> TrainResult:
    """Learn category and lead unit from the labelled cases of the year up to the newest one
    (at least the newest MIN_HISTORY however old, at most `max_cases`) and store the model.

    The cases are read with one cursor, BATCH at a time, and each batch's features computed
    as it comes: memory holds the features (a few KB a case), never a year of text.
    """
    from scipy.sparse import csr_matrix, vstack

    tree = tree if tree is not None else category_tree()
    keywords = keywords_of(tree)
    say = progress or (lambda _stage, _done: None)
    labelled = col(CaseRow.category).is_not(None) | col(CaseRow.lead_unit_id).is_not(None)
    parts: list[Any] = []
    categories: list[str | None] = []
    units: list[str | None] = []
    with store.session() as session:
        resolve_actor(session, clerk)
        conn = session.connection()
        newest = conn.execute(sa_select(func.max(CaseRow.received_at)).where(labelled)).scalar()
        cutoff = newest - timedelta(days=TRAINING_DAYS) if newest is not None else None

        def counted(*where: Any) -> int:
            return int(
                conn.execute(
                    sa_select(func.count()).select_from(CaseRow).where(*where)
                ).scalar_one()
            )

        year = counted(labelled, col(CaseRow.received_at) > cutoff) if cutoff else 0
        wanted = min(max_cases, max(year, min(counted(labelled), MIN_HISTORY)))
        query = (
            sa_select(
                col(CaseRow.title),
                func.substr(CaseRow.body, 1, BODY_CHARS),
                col(CaseRow.region),
                col(CaseRow.addressee),
                col(CaseRow.channel),
                col(CaseRow.category),
                col(Unit.code),
            )
            .join(Unit, col(Unit.id) == col(CaseRow.lead_unit_id), isouter=True)
            .where(labelled)
            .order_by(col(CaseRow.received_at).desc(), col(CaseRow.id).desc())
            .limit(wanted)
        )
        result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(query)
        for rows in result.partitions(BATCH):
            parts.append(
                features([Message(r[0], r[1] or "", r[2], r[3], r[4]) for r in rows], keywords)
            )
            categories.extend(r[5] for r in rows)
            units.extend(r[6] for r in rows)
            say("read", len(categories) / max(1, wanted))
    say("read", 1.0)
    cat_rows = [i for i, c in enumerate(categories) if c]
    cat_pos = [cat_rows[k] for k in trainable([categories[i] or "" for i in cat_rows], min_cases)]
    unit_rows = [i for i, u in enumerate(units) if u]
    unit_pos = [unit_rows[k] for k in trainable([units[i] or "" for i in unit_rows], min_cases)]
    if not cat_pos and not unit_pos:
        return TrainResult(None, now, len(cat_rows), len(unit_rows), None, None, too_little=True)
    x = vstack(parts, format="csr", dtype=np.float32) if len(parts) > 1 else parts[0]
    del parts
    assert isinstance(x, csr_matrix)
    # Cross-validation reads an even sample of the plain features (its folds learn their own
    # idf); the model is fitted on every case, idf-weighted in place.
    cat_sample = _sample(cat_pos, MAX_CV_CASES) if cat_pos else []
    unit_sample = _sample(unit_pos, MAX_CV_CASES) if unit_pos else []
    cat_x = x[cat_sample] if cat_sample else None
    unit_x = x[unit_sample] if unit_sample else None
    idf = fit_idf(x)
    weigh(x, idf)
    say("features", 1.0)
    category = unit = None
    cat_cv = unit_cv = None
    if cat_pos:
        category = fit_linear(_rows(x, cat_pos), [categories[i] or "" for i in cat_pos])
        say("category", 1.0)
        cat_cv = cross_validate(cat_x, [categories[i] or "" for i in cat_sample])
        say("category-cv", 1.0)
    if unit_pos:
        labels = [units[i] or "" for i in unit_pos]
        unit = fit_linear(_rows(x, unit_pos), labels, UNIT_WEIGHTS_KEPT)
        say("unit", 1.0)
        unit_cv = cross_validate(
            unit_x, [units[i] or "" for i in unit_sample], keep=UNIT_WEIGHTS_KEPT
        )
        say("unit-cv", 1.0)
    info = {
        "features": FEATURES_VERSION,
        "cases_read": len(categories),
        "fit": "linear-svm" if max(len(cat_pos), len(unit_pos)) <= SVM_MAX_ROWS else "sgd-svm",
        "category_cv_rows": cat_cv.rows if cat_cv else 0,
        "unit_cv_rows": unit_cv.rows if unit_cv else 0,
    }
    model = TriageModel(keywords, idf, category, unit, info)
    row = TriageModelRow(
        features=FEATURES_VERSION,
        trained_at=now,
        trained_by=clerk,
        category_cases=len(cat_pos),
        unit_cases=len(unit_pos),
        category_top1=cat_cv.top1 if cat_cv else None,
        category_top3=cat_cv.top3 if cat_cv else None,
        unit_top1=unit_cv.top1 if unit_cv else None,
        unit_top3=unit_cv.top3 if unit_cv else None,
        detail=json.dumps(info, ensure_ascii=False),
        model=model.to_bytes(),
    )
    with store.session() as session:
        session.add(row)
        session.flush()
        model_id = row.id
    return TrainResult(
        model_id,
        now,
        len(cat_pos),
        len(unit_pos),
        cat_cv,
        unit_cv,
        categories=len(category.labels) if category else 0,
        units=len(unit.labels) if unit else 0,
    )


@dataclass
class LoadedModel:
    """The newest stored model, ready to suggest, with the unit names it suggests by code."""

    id: int
    trained_at: datetime
    model: TriageModel
    unit_names: dict[str, str]
    tree: KeywordTree


_CACHE: dict[tuple[str, int], LoadedModel] = {}


def latest_model(session: Session, *, tree: KeywordTree | None = None) -> LoadedModel | None:
    """The newest trained model (read once per store and model id), or None before training."""
    newest = session.exec(
        select(TriageModelRow.id, TriageModelRow.trained_at)
        .order_by(col(TriageModelRow.id).desc())
        .limit(1)
    ).first()
    if newest is None:
        return None
    model_id, trained_at = newest
    assert model_id is not None
    key = (str(session.get_bind().engine.url), model_id)
    cached = _CACHE.get(key)
    if cached is not None:
        return cached
    data = session.exec(select(TriageModelRow.model).where(TriageModelRow.id == model_id)).one()
    model = TriageModel.from_bytes(data)
    names = dict(session.exec(select(Unit.code, Unit.name)).all())
    loaded = LoadedModel(model_id, trained_at, model, names, tree or category_tree())
    _CACHE.clear()
    _CACHE[key] = loaded
    return loaded


@dataclass(frozen=True)
class Suggestion:
    """What the model suggests for one message: `triage suggest`'s JSON shape."""

    external_id: str | None
    id: int | None
    categories: list[dict[str, Any]]
    units: list[dict[str, Any]]
    repeats: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "id": self.id,
            "categories": self.categories,
            "units": self.units,
            "repeats": self.repeats,
        }


def suggest_message(
    loaded: LoadedModel,
    message: Message,
    *,
    external_id: str | None = None,
    case_id: int | None = None,
    repeats: list[dict[str, Any]] | None = None,
) -> Suggestion:
    """The top three categories and lead units for one message."""
    cats, units = loaded.model.suggest(message, 3)
    return Suggestion(
        external_id,
        case_id,
        [{"label": label, "score": score} for label, score in cats],
        [
            {"code": code, "name": loaded.unit_names.get(code, code), "score": score}
            for code, score in units
        ],
        repeats or [],
    )


def case_repeats(session: Session, case: CaseRow) -> list[dict[str, Any]]:
    """The case's known repeat links: the original it repeats, and the cases repeating it."""
    out: list[dict[str, Any]] = []
    if case.repeat_of_id is not None:
        out.append({"id": case.repeat_of_id, "similarity": 1.0})
    later = session.exec(
        select(CaseRow.id)
        .where(CaseRow.repeat_of_id == case.id)
        .order_by(col(CaseRow.id))
        .limit(20)
    ).all()
    out.extend({"id": i, "similarity": 1.0} for i in later)
    return out


def suggest_cases(
    session: Session, loaded: LoadedModel, refs: Sequence[str | int], *, clerk: str | None
) -> list[Suggestion]:
    """Suggestions for stored cases (a unit handler only for their units' cases)."""
    out = []
    for ref in refs:
        case = readable_case(session, ref, clerk=clerk)
        out.append(
            suggest_message(
                loaded,
                message_of(case),
                external_id=case.external_id,
                case_id=case.id,
                repeats=case_repeats(session, case),
            )
        )
    return out


def stored_reposts(session: Session, messages: Sequence[Message]) -> list[list[dict[str, Any]]]:
    """For each message not in the store, the stored cases of the same text (a re-post), by
    the key the import records (services.repeats)."""
    from caseworker.domain.triage_repeats import signature_key

    keys = [signature_key(m.title, m.body) for m in messages]
    found: dict[str, list[int]] = {}
    unique = sorted(set(keys))
    for start in range(0, len(unique), 500):
        part = unique[start : start + 500]
        for case_id, key in session.exec(
            select(CaseSignature.case_id, CaseSignature.text_key).where(
                col(CaseSignature.text_key).in_(part)
            )
        ).all():
            found.setdefault(key, []).append(case_id)
    return [[{"id": i, "similarity": 1.0} for i in sorted(found.get(k, []))[:20]] for k in keys]


def suggest_messages(
    session: Session, loaded: LoadedModel, rows: Sequence[tuple[str | None, Message]]
) -> Iterable[Suggestion]:
    """Suggestions for messages not in the store (a file's rows), with the stored cases each
    one re-posts."""
    reposts = stored_reposts(session, [message for _, message in rows])
    for (external_id, message), repeats in zip(rows, reposts, strict=True):
        yield suggest_message(loaded, message, external_id=external_id, repeats=repeats)


def unit_suggestions(
    session: Session, case_id: int, *, clerk: str | None
) -> list[tuple[int, float]]:
    """The lead units the model suggests for a case, as (unit id, score); [] without a model."""
    loaded = latest_model(session)
    if loaded is None or loaded.model.unit is None:
        return []
    found = suggest_cases(session, loaded, [case_id], clerk=clerk)[0].units
    ids = {code: uid for code, uid in session.exec(select(Unit.code, Unit.id)).all() if uid}
    return [(ids[u["code"]], float(u["score"])) for u in found if u["code"] in ids]


# ---------------------------------------------------------------- accepting a suggestion


def accept_category(
    session: Session,
    desk: Desk,
    ref: str | int,
    *,
    category: str,
    score: float | None = None,
    model_id: int | None = None,
) -> None:
    """Set a case's category; with `model_id`, record that it was the model's suggestion."""
    actor, _ = resolve_actor(session, desk.clerk)
    if actor.role not in (Role.CLERK, Role.SUPERVISOR):
        raise NotPermitted(
            f"{actor.name} ({actor.role.value}) may not set a category",
            key="triage.refused.role",
            clerk=actor.name,
        )
    category = category.strip()
    if not category:
        raise InvalidInput("a category is required", key="triage.refused.no_category")
    case = readable_case(session, ref, clerk=desk.clerk)
    if Status(case.status) not in OPEN_STATES:
        raise InvalidInput(
            f"case {case.id} is {case.status}: its category stays as it was",
            key="triage.refused.closed",
            id=case.id,
        )
    previous = case.category
    case.category = category
    case.updated_at = recorded_now()
    case.updated_by = actor.name
    session.add(case)
    assert case.id is not None
    detail: dict[str, Any] = {"category": category, "previous": previous}
    if model_id is not None:
        detail.update(suggested=True, score=score, model=model_id)
    event = EventRow(
        case_id=case.id,
        actor=actor.name,
        action=CATEGORISE,
        from_status=case.status,
        to_status=case.status,
        detail=json.dumps(detail, ensure_ascii=False),
        effective_at=desk.now(),
        recorded_at=recorded_now(),
    )
    save(session, case)  # the case's change first: a lost race is a conflict, not a fork
    seal_new_event(session.connection(), event)
    session.add(event)


@dataclass(frozen=True)
class TriageStats:
    """How often the clerks took the model's word: categories set, and how many as suggested."""

    categorised: int
    accepted: int
    by_clerk: dict[str, tuple[int, int]]
    model: dict[str, Any] | None

    @property
    def rate(self) -> float | None:
        return self.accepted / self.categorised if self.categorised else None


def triage_stats(session: Session) -> TriageStats:
    """Every category a clerk set, and how many of them were an accepted suggestion."""
    total: Counter[str] = Counter()
    accepted: Counter[str] = Counter()
    for actor, detail in session.exec(
        select(EventRow.actor, EventRow.detail).where(EventRow.action == CATEGORISE)
    ).all():
        total[actor] += 1
        try:
            if json.loads(detail or "{}").get("suggested"):
                accepted[actor] += 1
        except json.JSONDecodeError:
            continue
    newest = session.exec(select(TriageModelRow).order_by(col(TriageModelRow.id).desc())).first()
    model = None
    if newest is not None:
        model = {
            "id": newest.id,
            "trained_at": newest.trained_at,
            "category_cases": newest.category_cases,
            "category_top1": newest.category_top1,
            "category_top3": newest.category_top3,
            "unit_cases": newest.unit_cases,
            "unit_top1": newest.unit_top1,
            "unit_top3": newest.unit_top3,
        }
    return TriageStats(
        sum(total.values()),
        sum(accepted.values()),
        {name: (total[name], accepted[name]) for name in sorted(total)},
        model,
    )


# ---------------------------------------------------------------- common issues


def _likes(extra: str | None) -> int:
    if not extra:
        return 0
    try:
        value = json.loads(extra).get("likes", 0)
    except (json.JSONDecodeError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0


CLUSTER_READ = 2_000  # rows fetched at a time while the messages are grouped
OPENING_READ = 200  # what clustering reads of a body (it keeps the first 160 characters)


def clusters(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    min_size: int = 3,
    now: datetime,
    progress: Progress | None = None,
) -> list[Cluster]:
    """The common issues among the cases received in [since, until), hottest first.

    Two passes, so memory holds no message's text beyond a batch: the first streams title and
    opening in id order and keeps only their words' ids (domain.triage_clusters.group_terms);
    the second reads again, by id, only the cases that fell into a group.
    """
    window = []
    if since is not None:
        window.append(col(CaseRow.received_at) >= since)
    if until is not None:
        window.append(col(CaseRow.received_at) < until)
    conn = session.connection()
    total = int(
        conn.execute(sa_select(func.count()).select_from(CaseRow).where(*window)).scalar_one()
    )
    texts = (
        sa_select(col(CaseRow.id), col(CaseRow.title), func.substr(CaseRow.body, 1, OPENING_READ))
        .where(*window)
        .order_by(col(CaseRow.id))
    )
    rows = conn.execution_options(stream_results=True, yield_per=CLUSTER_READ).execute(texts)
    grouping = group_terms(
        ((r[0], text_terms(r[1], r[2] or "")) for r in rows),
        min_size=min_size,
        total=total,
        progress=progress,
    )
    wanted = sorted(i for group in grouping.groups for i in group)
    docs: dict[int, ClusterDoc] = {}
    for at in range(0, len(wanted), 500):
        query = (
            sa_select(
                col(CaseRow.id),
                col(CaseRow.external_id),
                col(CaseRow.title),
                func.substr(CaseRow.body, 1, OPENING_READ),
                col(CaseRow.author),
                col(CaseRow.received_at),
                col(CaseRow.extra),
                col(CaseRow.region),
                col(Unit.name),
            )
            .join(Unit, col(Unit.id) == col(CaseRow.lead_unit_id), isouter=True)
            .where(col(CaseRow.id).in_(wanted[at : at + 500]))
        )
        for r in conn.execute(query).all():
            docs[r[0]] = ClusterDoc(
                id=r[0],
                external_id=r[1],
                title=r[2],
                body=r[3] or "",
                author=r[4],
                received_at=r[5],
                likes=_likes(r[6]),
                region=r[7],
                unit=r[8],
            )
    return clusters_of(grouping, docs, until or now)


def cluster_json(rank: int, cluster: Cluster) -> dict[str, Any]:
    """One cluster as `triage clusters --format json` writes it."""
    return {
        "id": rank,
        "label": cluster.label,
        "size": len(cluster.docs),
        "heat": cluster.heat,
        "first": cluster.first,
        "last": cluster.last,
        "regions": sorted({d.region for d in cluster.docs if d.region}),
        "units": sorted({d.unit for d in cluster.docs if d.unit}),
        "cases": [{"id": d.id, "external_id": d.external_id} for d in cluster.docs],
    }


def record_common_issue(
    session: Session, desk: Desk, *, title: str, case_ids: Sequence[int], note: str | None = None
) -> int:
    """Link cases as one common issue (共性问题), the record a brief (专报) is written from."""
    actor, _ = resolve_actor(session, desk.clerk)
    if actor.role not in (Role.CLERK, Role.SUPERVISOR):
        raise NotPermitted(
            f"{actor.name} ({actor.role.value}) may not record a common issue",
            key="triage.refused.role",
            clerk=actor.name,
        )
    title = title.strip()
    if not title or not case_ids:
        raise InvalidInput("a common issue needs a title and cases", key="triage.refused.issue")
    when = desk.now()
    issue = CommonIssueRow(title=title, note=note, created_by=actor.name, created_at=when)
    session.add(issue)
    session.flush()
    assert issue.id is not None
    for case_id in dict.fromkeys(case_ids):
        readable_case(session, case_id, clerk=desk.clerk)
        session.add(
            CommonIssueCase(issue_id=issue.id, case_id=case_id, added_by=actor.name, added_at=when)
        )
    session.flush()
    return issue.id


@dataclass(frozen=True)
class CommonIssue:
    """A recorded common issue: its title and its cases, as a brief (专报) reads them."""

    id: int
    title: str
    case_ids: tuple[int, ...]


def common_issue(session: Session, issue_id: int) -> CommonIssue:
    """The recorded common issue `issue_id` (`triage issue`, or `l` on the supervisor screen)."""
    row = session.get(CommonIssueRow, issue_id)
    if row is None or row.id is None:
        raise InvalidInput(
            f"no common issue {issue_id}", key="issues.refused.no_issue", id=issue_id
        )
    ids = session.exec(
        select(CommonIssueCase.case_id)
        .where(CommonIssueCase.issue_id == row.id)
        .order_by(col(CommonIssueCase.case_id))
    ).all()
    return CommonIssue(row.id, row.title, tuple(ids))


def issue_of_cases(session: Session, case_ids: Sequence[int]) -> CommonIssue | None:
    """The latest common issue recorded with exactly these cases (a cluster linked as one
    issue), if any: its brief then carries the issue's own title."""
    wanted = set(case_ids)
    if not wanted:
        return None
    candidates = session.exec(
        select(CommonIssueCase.issue_id)
        .where(CommonIssueCase.case_id == min(wanted))
        .order_by(col(CommonIssueCase.issue_id).desc())
    ).all()
    for issue_id in candidates:
        issue = common_issue(session, issue_id)
        if set(issue.case_ids) == wanted:
            return issue
    return None


def recent_common_issues(session: Session, *, limit: int) -> list[CommonIssue]:
    """The latest recorded common issues, newest first."""
    ids = session.exec(
        select(CommonIssueRow.id).order_by(col(CommonIssueRow.id).desc()).limit(limit)
    ).all()
    return [common_issue(session, i) for i in ids if i is not None]
