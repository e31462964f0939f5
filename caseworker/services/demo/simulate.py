"""Living one demo case's life in memory, step by legal step, and turning it into table rows.

Every step asks `lifecycle.check_action` first, with the acting clerk's role and unit, so each
demo history is one the real commands could have written. Steps are spread over office hours
on working days (WorkCalendar) and stop at `now`: whatever has not happened yet by then is the
case's open work. The clock columns come from `services.clocks`, as the services compute them.
"""

from __future__ import annotations

import json
import random
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from caseworker.domain.calendar import SHANGHAI, WorkCalendar
from caseworker.domain.deadlines import Pause, Stage, deadline_for
from caseworker.domain.lifecycle import (
    ENDED_STATES,
    OPEN_STATES,
    Action,
    Actor,
    ExtensionState,
    Status,
    check_action,
    check_reopen,
    check_reply_edit,
)
from caseworker.services.clocks import CaseRecords, apply_clocks, case_clocks
from caseworker.services.demo import texts
from caseworker.services.demo.bureau import Bureau, DemoClerk, DemoUnit
from caseworker.services.rules import Rules
from caseworker.store.models import CaseRow
from caseworker.store.types import END_OF_TIME

OPENS, CLOSES = time(8, 30), time(17, 30)

CHANNEL_SHARES = (
    ("hotline-12345", 30),
    ("leader-board", 25),
    ("complaint-portal", 12),
    ("local-leader-mailbox", 10),
    ("party-secretary-mailbox", 8),
    ("governor-mailbox", 7),
    ("social-media", 8),
)
CHANNEL_PREFIX = {
    "hotline-12345": "GD",
    "leader-board": "LB",
    "complaint-portal": "TS",
    "local-leader-mailbox": "LX",
    "party-secretary-mailbox": "SJ",
    "governor-mailbox": "SZ",
    "social-media": "WM",
}

# Steps a case may be left standing before (a stall): its open work at `now`.
# The urgent lane (绿色通道) is assigned the same day: accepted within minutes of receipt and
# assigned within the next hour and a half, so receipt to assignment runs from a few minutes
# to under two hours, a good part of it within the hour (a 9:34 post, a 9:58 assignment).
URGENT_ACCEPT_HOURS = (0.05, 0.4)
URGENT_ASSIGN_HOURS = (0.05, 1.5)
STALL_POINTS = ("accept", "assign", "acknowledge", "draft", "submit", "publish", "close")


class _Stop(Exception):
    """The next step would happen after `now` (or the case stalls here): its life so far stands."""


@dataclass
class Content:
    """What a message says and where it comes from; shared by a repeat and its original."""

    topic: texts.Topic
    city: str
    district: str
    town: str
    author: str
    contact: str
    channel: str
    kind: str
    urgency: str
    slots: texts.Slots


@dataclass
class Plan:
    """How one case's life goes, decided up front from its own random stream."""

    fate: str = "normal"  # normal / reject / reject_accepted / merge / reject_repeat
    stall: str | None = None
    wrong_unit_first: bool = False
    co_unit: bool = False
    instruct: bool = False
    owner: bool = False
    pause: bool = False
    extension: bool = False
    approve_extension: bool = True
    interim: bool = False
    send_back: bool = False
    late: bool = False
    rating: str | None = None
    reopen: bool = False
    follow_up: bool = False


@dataclass
class Spec:
    """One case to build: when it arrives, its serial (its random streams), and its role."""

    received_at: datetime
    serial: int
    original: int = -1  # serial of the case it repeats (same citizen or the common issue)
    role: str = ""  # "kindergarten", or "training:<scenario>:<role>"
    same_as: int = -1  # serial whose words it copies without being linked (a training duplicate)
    original_at: datetime | None = None  # when the repeated case arrived (the citizen cites it)


@dataclass
class Rows:
    """Table rows produced by simulated cases, ready for bulk inserts."""

    cases: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    supervisions: list[dict[str, Any]] = field(default_factory=list)
    instructions: list[dict[str, Any]] = field(default_factory=list)
    pauses: list[dict[str, Any]] = field(default_factory=list)
    links: list[dict[str, Any]] = field(default_factory=list)
    co_units: list[dict[str, Any]] = field(default_factory=list)


# Row ids of a case's records are case id * ID_STRIDE + n: fixed by the case alone, so cases
# can be simulated in any order or process and still write the same ids on any database.
ID_STRIDE = 64


_CASE_COLUMNS = [c.name for c in CaseRow.__table__.columns]  # type: ignore[attr-defined]


class Simulator:
    """Simulates cases in id order, remembering what later repeats and merges need."""

    def __init__(
        self, rules: Rules, bureau: Bureau, now: datetime, seed: int, specs: list[Spec]
    ) -> None:
        self.rules, self.bureau, self.now, self.seed = rules, bureau, now, seed
        self.calendar: WorkCalendar = rules.calendar
        self.rows = Rows()
        self.id_of = {spec.serial: n for n, spec in enumerate(specs, start=1)}
        originals = {s.original for s in specs if s.original >= 0}
        self.spec_of = {s.serial: s for s in specs if s.serial in originals}
        self.mergeable: dict[int, bool] = {}
        self.kg_estate = texts.KINDERGARTEN_ESTATE
        self.unit_name = {u.id: u.name for u in bureau.units}
        self.training: dict[str, list[int]] = {}
        self.cities: list[str] = []
        self._workday: dict[date, bool] = {}
        self._next_workday: dict[date, date] = {}
        self.towns: dict[tuple[str, str], list[str]] = {}
        for unit in bureau.units:
            if unit.city and unit.city not in self.cities:
                self.cities.append(unit.city)
            if unit.city and unit.district:
                towns = self.towns.setdefault((unit.city, unit.district), [])
                if unit.level == "township":
                    short = unit.name.removeprefix(unit.city).removeprefix(unit.district)
                    towns.append(short.removesuffix("办事处").removesuffix("人民政府"))

    # ------------------------------------------------------------ content

    def content(self, serial: int, role: str) -> Content:
        """The message's facts, drawn from the case's own stream (or its original's)."""
        rng = random.Random(_stream(self.seed, serial, 0))
        if role == "kindergarten":
            topic = texts.KINDERGARTEN
            city, district = texts.KINDERGARTEN_DISTRICT
        else:
            topic = _training_topic(role) or rng.choice(texts.TOPICS)
            city = rng.choice(self.cities)
            district = rng.choice(self.bureau.districts(city))
        towns = self.towns[(city, district)]
        town = towns[rng.randrange(len(towns))] if towns else district
        author, contact = texts.author_and_contact(rng)
        channel = _weighted(rng, CHANNEL_SHARES)
        if channel == "social-media":
            author = f"{rng.choice(('抖音', '微博', '微信'))}用户{rng.randrange(10**6):06d}"
        kind = rng.choice(topic.kinds)
        urgency = "urgent" if rng.random() < max(topic.urgent_share, 0.03) else "normal"
        if role.startswith("training:assign-urgent"):
            urgency, channel = "urgent", "leader-board"
        if role.startswith("training:"):
            channel = "leader-board" if channel == "hotline-12345" else channel
        addressee = _addressee(rng, channel, city, district)
        received = datetime(2000, 1, 1, tzinfo=SHANGHAI)  # replaced per case in `simulate`
        slots = texts.draw_slots(
            rng,
            city=city,
            district=district,
            town=town,
            addressee=addressee or "领导",
            unit="",
            received=received,
            estate=self.kg_estate if role == "kindergarten" else None,
        )
        slots.values["addressee_field"] = addressee or ""
        slots.values["unit_short"] = f"{district}{topic.depts[0]}"  # until a unit is assigned
        return Content(topic, city, district, town, author, contact, channel, kind, urgency, slots)

    def plan(self, rng: random.Random, spec: Spec, content: Content, age: timedelta) -> Plan:
        """The turns this case's life takes; shares chosen to make a believable bureau."""
        plan = Plan()
        old = age > timedelta(days=25)
        roll = rng.random()
        if spec.original >= 0 and spec.role != "kindergarten":
            plan.fate = "merge" if roll < 0.45 else "reject_repeat" if roll < 0.75 else "normal"
        elif spec.role == "kindergarten":
            plan.fate = "merge" if roll < 0.15 else "normal"
        elif roll < 0.035:
            plan.fate = "reject"
        elif roll < 0.06:
            plan.fate = "reject_accepted"
        if rng.random() < (0.02 if old else 0.16):
            plan.stall = rng.choice(STALL_POINTS)
        plan.wrong_unit_first = rng.random() < 0.07
        plan.co_unit = rng.random() < 0.1
        plan.instruct = rng.random() < 0.03 or (spec.role == "kindergarten" and rng.random() < 0.2)
        plan.owner = rng.random() < 0.25
        plan.pause = rng.random() < 0.05
        plan.extension = content.channel != "hotline-12345" and rng.random() < 0.06
        plan.approve_extension = rng.random() < 0.85
        plan.interim = rng.random() < 0.07
        plan.send_back = rng.random() < 0.1
        plan.late = rng.random() < 0.1
        value = rng.random()
        plan.rating = (
            None
            if value < 0.25
            else "满意"
            if value < 0.78
            else "基本满意"
            if value < 0.9
            else "不满意"
        )
        plan.reopen = plan.rating == "不满意" and rng.random() < 0.5
        plan.follow_up = rng.random() < 0.08
        if spec.role.startswith("training:"):
            _training_plan(plan, spec.role)
        return plan

    # ------------------------------------------------------------ one case

    def simulate(self, spec: Spec) -> None:
        case_id = self.id_of[spec.serial]
        # A repeat by the same citizen (or a training duplicate) tells the same facts again.
        repeat = spec.original >= 0 and spec.role != "kindergarten"
        source = spec.original if repeat else spec.serial
        source = spec.same_as if spec.same_as >= 0 else source
        content = self.content(source, spec.role)
        rng = random.Random(_stream(self.seed, spec.serial, 1))
        if spec.role == "kindergarten" and spec.original >= 0:
            own = self.content(spec.serial, "")
            content.author, content.contact = own.author, own.contact
            content.channel, content.kind = own.channel, rng.choice(texts.KINDERGARTEN.kinds)
            content.urgency = "normal"
            content.slots.values.update(
                {k: own.slots.values[k] for k in ("n", "n2", "hundreds", "money", "years")}
            )
        plan = self.plan(rng, spec, content, self.now - spec.received_at)
        life = CaseLife(self, case_id, spec, content, plan, rng)
        life.run()
        if spec.role.startswith("training:"):
            self.training.setdefault(spec.role, []).append(case_id)

    def may_merge_into(self, serial: int) -> bool:
        """Whether a case can take repeats merged into it: its own plan never rejects it.

        Decided from the original's plan, not its simulated end, so a repeat needs nothing
        from another case's simulation (cases may be simulated in separate processes).
        """
        known = self.mergeable.get(serial)
        if known is None:
            spec = self.spec_of[serial]
            rng = random.Random(_stream(self.seed, serial, 1))
            plan = self.plan(
                rng, spec, self.content(serial, spec.role), self.now - spec.received_at
            )
            known = self.mergeable[serial] = plan.fate not in ("reject", "reject_accepted")
        return known

    # ------------------------------------------------------------ time

    def office(self, at: datetime, rng: random.Random) -> datetime:
        """The next moment within office hours on a working day, from `at` on."""
        local = at.astimezone(SHANGHAI)
        day = local.date()
        workday = self._workday.get(day)
        if workday is None:
            workday = self._workday[day] = self.calendar.is_workday(day)
        moment = local.time()
        if workday and OPENS <= moment <= CLOSES:
            return at
        if not workday or moment > CLOSES:
            following = self._next_workday.get(day)
            if following is None:
                following = self._next_workday[day] = self.calendar.add_workdays(day, 1)[0]
            day = following
        start = datetime.combine(day, OPENS, tzinfo=SHANGHAI)
        return start + timedelta(seconds=rng.randrange(80 * 60))


# Why a supervisor turns an extension down (the unit is told).
DENIAL_REASONS = (
    "现场勘查可在原期限内完成，请抓紧办理",
    "该事项已有明确政策依据，无需延期",
    "已延期过一次，请按期办结",
)


class CaseLife:
    """One case walked through the lifecycle; its rows are appended to the simulator's."""

    def __init__(
        self,
        sim: Simulator,
        case_id: int,
        spec: Spec,
        content: Content,
        plan: Plan,
        rng: random.Random,
    ) -> None:
        self.sim, self.id, self.spec, self.content, self.plan, self.rng = (
            sim,
            case_id,
            spec,
            content,
            plan,
            rng,
        )
        self.status: Status = Status.RECEIVED
        self.t = spec.received_at
        self.lead: DemoUnit | None = None
        self.co: list[int] = []
        self.co_rows: list[dict[str, Any]] = []
        self.assigned_at: datetime | None = None
        self.replied_at: datetime | None = None
        self.closed_at: datetime | None = None
        self.assign_started_at = spec.received_at
        self.clock_started_at = spec.received_at
        self.paused_since: datetime | None = None
        self.pauses: list[dict[str, Any]] = []
        self.extensions: list[dict[str, Any]] = []
        self.reply: dict[str, Any] | None = None
        self.repeat_of_id: int | None = None
        self.merged_into_id: int | None = None
        self.supervised = 0
        self.rated = False
        self.rating: str | None = None  # the newest rating since receipt or the last reopening
        self.events = 0
        self.last_actor = ""
        self.last_at = spec.received_at
        self.clerk = rng.choice(sim.bureau.bureau_clerks)
        self.supervisor = rng.choice(sim.bureau.supervisors)
        self.dues: dict[tuple[Stage, datetime], datetime] = {}
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------ plumbing

    def next_id(self, table: str) -> int:
        n = self.counts.get(table, 0)
        self.counts[table] = n + 1
        assert n < ID_STRIDE, f"case {self.id} has more than {ID_STRIDE} {table}"
        return self.id * ID_STRIDE + n

    def limit_due(self, stage: Stage, start: datetime) -> datetime:
        key = (stage, start)
        due = self.dues.get(key)
        if due is None:
            limit = self.sim.rules.policy.limit_for(
                stage,
                channel=self.content.channel,
                kind=self.content.kind,
                urgency=self.content.urgency,
            )
            due = self.dues[key] = deadline_for(start, limit, self.sim.calendar).due_at
        return due

    def at(self, hours_lo: float, hours_hi: float, *, office: bool = True) -> datetime:
        """When the next step happens; stops the case's life if that is after `now`."""
        hours = hours_lo + self.rng.random() * (hours_hi - hours_lo)
        t = self.t + timedelta(seconds=int(hours * 3600))
        if office and self.content.urgency != "urgent":
            t = self.sim.office(t, self.rng)
        return t

    def go(self, t: datetime, step: str | None = None) -> None:
        """Advance to `t` unless it is in the future or the plan stalls before `step`."""
        if step is not None and self.plan.stall == step:
            raise _Stop
        self.supervise_until(t)
        if t > self.sim.now:
            raise _Stop
        self.t = max(t, self.t)

    def act(
        self,
        action: Action,
        who: DemoClerk,
        *,
        reason: str | None = None,
        detail: dict[str, Any] | None = None,
        keep_status: bool = False,
    ) -> None:
        """Check the step against the lifecycle, then record it as an event."""
        actor = Actor(name=who.name, role=who.role, unit_id=who.unit_id)
        target = check_action(
            action,
            case_label=str(self.id),
            status=self.status,
            actor=actor,
            lead_unit_id=self.lead.id if self.lead else None,
            co_unit_ids=self.co,
        )
        if action is Action.REOPEN:  # only after the citizen's 不满意, as the service insists
            check_reopen(case_label=str(self.id), latest_rating=self.rating)
        if target in ENDED_STATES and target is not self.status and not keep_status:
            # Ending the case lapses a request still awaiting its decision, as the services do.
            lapsed = self.lapse_extensions(who)
            if lapsed:
                detail = {**(detail or {}), "lapsed_extensions": lapsed}
        before = self.status
        self.status = before if keep_status else target
        self.event(action.value, who.name, before.value, reason, detail)

    def lapse_extensions(self, who: DemoClerk) -> list[int]:
        """Settle the requests still awaiting a decision as lapsed by `who`, now."""
        lapsed = []
        for row in self.extensions:
            if row["state"] == ExtensionState.REQUESTED.value:
                row.update(
                    state=ExtensionState.LAPSED.value, decided_by_id=who.id, decided_at=self.t
                )
                lapsed.append(int(row["id"]))
        return lapsed

    def event(
        self,
        action: str,
        actor: str,
        before: str | None,
        reason: str | None,
        detail: dict[str, Any] | None,
    ) -> None:
        self.sim.rows.events.append(
            {
                "id": self.next_id("events"),
                "case_id": self.id,
                "actor": actor,
                "action": action,
                "from_status": before,
                "to_status": self.status.value,
                "reason": reason,
                "detail": _JSON.encode(detail) if detail else None,
                "effective_at": self.t,
                "recorded_at": self.t,
            }
        )
        self.events += 1
        self.last_actor, self.last_at = actor, self.t

    def handler(self) -> DemoClerk:
        assert self.lead is not None
        return self.rng.choice(self.sim.bureau.handlers[self.lead.id])

    def fill(self, template: str) -> str:
        return self.content.slots.fill(template)

    # ------------------------------------------------------------ the life

    def run(self) -> None:
        self.event("receive", self.clerk.name, None, None, None)
        with suppress(_Stop):
            self.live()
        if self.status in OPEN_STATES:
            self.supervise_until(self.sim.now)
        self.write()

    def live(self) -> None:
        plan, sim = self.plan, self.sim
        original = self.spec.original
        if original >= 0:
            self.go(self.at(0.2, 6))
            target = sim.id_of[original]
            self.act(Action.LINK_REPEAT, self.clerk, detail={"original": target})
            self.link(target, "repeat_of")
            self.repeat_of_id = target
        if plan.fate == "reject_repeat" or plan.fate == "reject":
            self.go(self.at(0.3, 20), "accept")
            reason = (
                texts.REPEAT_REJECT_REASON
                if plan.fate == "reject_repeat"
                else self.rng.choice(texts.REJECT_REASONS)
            )
            self.closed_at = self.t
            self.act(Action.REJECT, self.clerk, reason=reason)
            return
        if plan.fate == "merge" and original >= 0 and sim.may_merge_into(original):
            self.go(self.at(0.3, 20), "accept")
            target = sim.id_of[original]
            self.link(target, "merged_into")
            self.merged_into_id = target
            self.closed_at = self.t
            self.act(
                Action.MERGE, self.clerk, reason="重复留言，并入原件办理", detail={"into": target}
            )
            return
        self.go(self.at(*self.pace((0.2, 8), URGENT_ACCEPT_HOURS)), "accept")
        self.act(Action.ACCEPT, self.clerk)
        if plan.fate == "reject_accepted":
            self.go(self.at(0.5, 30))
            self.closed_at = self.t
            self.act(Action.REJECT, self.clerk, reason=self.rng.choice(texts.REJECT_REASONS))
            return
        right = self.right_unit()
        if plan.wrong_unit_first:
            wrong = self.other_unit(right)
            self.assign(wrong, with_co=False)
            self.go(self.at(2, 40), "acknowledge")
            within = deadline_for(
                self.assigned_at or self.t, sim.rules.policy.return_window, sim.calendar
            ).due_at
            if self.t <= within:
                self.give_back(right)
            self.assign(right, with_co=plan.co_unit)
        else:
            self.assign(right, with_co=plan.co_unit)
        if plan.instruct:
            self.go(self.at(1, 48))
            self.instruct()
        self.go(self.at(0.3, 20), "acknowledge")
        self.act(Action.ACKNOWLEDGE, self.handler())
        if plan.pause:
            self.pause_and_maybe_resume()
        if plan.extension:
            self.go(self.at(24, 24 * 8))
            self.request_extension()
        self.handle_replies()
        self.go(self.at(1, 72), "close")
        self.closed_at = self.t
        self.act(Action.CLOSE, self.clerk)
        self.rate_and_reopen()

    def right_unit(self) -> DemoUnit:
        """The unit the topic belongs to, at district level when the district has it."""
        depts = self.content.topic.depts
        dept = depts[0] if self.rng.random() < 0.7 else self.rng.choice(depts)
        return self.sim.bureau.unit_for(self.content.city, self.content.district, dept)

    def other_unit(self, right: DemoUnit) -> DemoUnit:
        choices = [
            u
            for u in self.sim.bureau.units
            if u.dept
            and u.city == self.content.city
            and u.id != right.id
            and u.district in (None, self.content.district)
        ]
        return self.rng.choice(choices)

    def pace(self, normal: tuple[float, float], urgent: tuple[float, float]) -> tuple[float, float]:
        """The hours a step takes: the urgent lane's own, shorter, for an urgent case."""
        return urgent if self.content.urgency == "urgent" else normal

    def assign(self, unit: DemoUnit, *, with_co: bool) -> None:
        self.go(self.at(*self.pace((0.1, 8), URGENT_ASSIGN_HOURS)), "assign")
        co: list[DemoUnit] = []
        if with_co:
            co = [self.other_unit(unit)]
        self.content.slots.values["unit"] = unit.name
        self.content.slots.values["unit_short"] = unit.name.removeprefix(
            self.content.city
        ).removeprefix(self.content.district)
        if self.assigned_at is None:
            self.assigned_at = self.t
        self.act(
            Action.ASSIGN, self.clerk, detail={"lead": unit.name, "co_units": [u.name for u in co]}
        )
        self.lead = unit
        for other in co:
            self.co.append(other.id)
            row = {
                "id": self.next_id("case_co_units"),
                "case_id": self.id,
                "unit_id": other.id,
                "assigned_at": self.t,
                "released_at": None,
            }
            self.co_rows.append(row)
            self.sim.rows.co_units.append(row)

    def give_back(self, right: DemoUnit) -> None:
        """The wrong unit returns the case (退回) and the bureau reassigns it."""
        assert self.lead is not None
        self.content.slots.values["other"] = right.name
        reason = self.fill(self.rng.choice(texts.RETURN_REASONS))
        unit_name = self.lead.name
        self.act(Action.RETURN, self.handler(), reason=reason, detail={"unit": unit_name})
        for row in self.co_rows:
            if row["released_at"] is None:
                row["released_at"] = self.t
        self.co = []
        self.lead = None
        self.assigned_at = None
        self.assign_started_at = self.t
        if self.plan.stall is None and self.rng.random() < 0.3:
            self.plan.stall = "assign"  # returned, waiting on the bureau to reassign

    def instruct(self) -> None:
        leader = self.rng.choice(texts.LEADER_TITLES)
        leader = (
            f"{self.content.city}{leader}"
            if leader.startswith("市")
            else f"{self.content.city}{leader}"
            if "市" in leader
            else f"{self.content.district}{leader.removeprefix('区')}"
        )
        owner = self.plan.owner
        text = (
            texts.OWNER_TEXT.format(leader=leader)
            if owner
            else self.fill(self.rng.choice(texts.INSTRUCTIONS))
        )
        self.act(
            Action.INSTRUCT, self.clerk, reason=text, detail={"leader": leader, "owner": owner}
        )
        self.sim.rows.instructions.append(
            {
                "id": self.next_id("instructions"),
                "case_id": self.id,
                "leader": leader,
                "text": text,
                "owner": owner,
                "created_by_id": self.clerk.id,
                "created_at": self.t,
            }
        )

    def pause_and_maybe_resume(self) -> None:
        self.go(self.at(4, 24 * 5))
        reason = self.rng.choice(texts.PAUSE_REASONS)
        self.act(Action.PAUSE, self.clerk, reason=reason)
        row = {
            "id": self.next_id("pauses"),
            "case_id": self.id,
            "reason": reason,
            "started_at": self.t,
            "ended_at": None,
            "started_by_id": self.clerk.id,
            "ended_by_id": None,
        }
        self.pauses.append(row)
        self.sim.rows.pauses.append(row)
        self.paused_since = started = self.t
        self.go(self.at(24 * 2, 24 * 12))
        self.act(Action.RESUME, self.clerk, detail={"paused_since": started.isoformat()})
        row["ended_at"], row["ended_by_id"] = self.t, self.clerk.id
        self.paused_since = None

    def request_extension(self) -> None:
        days = self.rng.choice((10, 15, 20, 30))
        reason = self.rng.choice(texts.EXTENSION_REASONS)
        who = self.handler()
        ext_id = self.next_id("extensions")
        self.act(
            Action.REQUEST_EXTENSION, who, reason=reason, detail={"extension": ext_id, "days": days}
        )
        row = {
            "id": ext_id,
            "case_id": self.id,
            "days": days,
            "reason": reason,
            "state": "requested",
            "requested_by_id": who.id,
            "requested_at": self.t,
            "decided_by_id": None,
            "decided_at": None,
        }
        self.extensions.append(row)
        self.sim.rows.extensions.append(row)
        if not self.plan.approve_extension:
            # Some requests a supervisor turns down, with a reason; the rest stay pending (and
            # lapse if the case is closed first). The choice and the day after draw nothing
            # from the case's random stream, so every other case of a seed reads as before. By
            # the case's id: an extension's id is a multiple of ID_STRIDE, always even.
            if self.id % 2 == 0:
                self.go(self.t + timedelta(hours=26))
                reason = DENIAL_REASONS[ext_id % len(DENIAL_REASONS)]
                self.act(
                    Action.DENY_EXTENSION,
                    self.supervisor,
                    reason=reason,
                    detail={"extension": ext_id, "days": days},
                )
                row.update(state="denied", decided_by_id=self.supervisor.id, decided_at=self.t)
            return
        self.go(self.at(2, 48))
        self.act(
            Action.APPROVE_EXTENSION, self.supervisor, detail={"extension": ext_id, "days": days}
        )
        row.update(state="approved", decided_by_id=self.supervisor.id, decided_at=self.t)

    def handle_replies(self) -> None:
        """An optional interim reply, then the final one: draft, submit, review, publish."""
        plan = self.plan
        if plan.interim:
            self.go(self.at(24, 24 * 4), "draft")
            self.write_reply(final=False)
            self.go(self.at(0.2, 6), "submit")
            self.submit()
            self.go(self.at(0.5, 12), "publish")
            self.publish()
        due = self.limit_due(Stage.REPLY, self.clock_started_at)
        span = (due - self.clock_started_at).total_seconds() / 3600
        share = self.rng.uniform(1.0, 1.5) if plan.late else self.rng.uniform(0.15, 0.9)
        target = self.clock_started_at + timedelta(seconds=int(span * share * 3600))
        self.go(max(self.sim.office(target, self.rng), self.at(0.5, 4)), "draft")
        self.write_reply(final=True)
        self.go(self.at(0.1, 20), "submit")
        self.submit()
        if plan.send_back:
            self.go(self.at(1, 30))
            note = self.rng.choice(texts.SEND_BACK_NOTES)
            assert self.reply is not None
            self.reply.update(state="sent_back", review_note=note, updated_at=self.t)
            self.act(Action.SEND_BACK, self.clerk, reason=note, detail={"reply": self.reply["id"]})
            self.go(self.at(2, 48))
            self.write_reply(final=True)
            self.go(self.at(0.1, 10))
            self.submit()
        self.go(self.at(1, 30), "publish")
        self.publish()

    def write_reply(self, *, final: bool) -> None:
        who = self.handler()
        outcome = self.content.topic.outcome if final else None
        if final and outcome == "支持" and self.rng.random() < 0.08:
            outcome = "不支持"
        text = (
            texts.compose_reply(
                self.rng,
                self.content.topic,
                self.content.slots,
                outcome or "解释说明",
                self.t.astimezone(SHANGHAI),
            )
            if final
            else texts.compose_interim(self.rng, self.content.slots)
        )
        if self.reply is None:
            self.reply = {
                "id": self.next_id("replies"),
                "case_id": self.id,
                "state": "draft",
                "final": final,
                "outcome": outcome,
                "text": text,
                "author_id": who.id,
                "unit_id": who.unit_id,
                "created_at": self.t,
                "updated_at": self.t,
                "published_at": None,
                "review_note": None,
            }
            self.sim.rows.replies.append(self.reply)
        else:  # rewriting the open reply: never one under review, never another unit's
            assert self.lead is not None
            check_reply_edit(
                case_label=str(self.id),
                reply_state=self.reply["state"],
                reply_unit_id=self.reply["unit_id"],
                reply_unit=self.lead.name,
                actor=Actor(name=who.name, role=who.role, unit_id=who.unit_id),
                lead_unit_id=self.lead.id,
            )
        self.reply.update(text=text, final=final, outcome=outcome, state="draft", updated_at=self.t)
        self.act(
            Action.DRAFT_REPLY,
            who,
            detail={"reply": self.reply["id"], "final": final, "outcome": outcome},
        )

    def submit(self) -> None:
        assert self.reply is not None
        self.reply.update(state="submitted", updated_at=self.t)
        self.act(Action.SUBMIT_REPLY, self.handler(), detail={"reply": self.reply["id"]})

    def publish(self) -> None:
        reply = self.reply
        assert reply is not None
        reply.update(state="published", published_at=self.t, updated_at=self.t)
        if self.replied_at is None:
            self.replied_at = self.t
        self.act(
            Action.PUBLISH,
            self.clerk,
            keep_status=not reply["final"],
            detail={"reply": reply["id"], "final": reply["final"], "outcome": reply["outcome"]},
        )
        self.reply = None

    def rate_and_reopen(self) -> None:
        plan = self.plan
        if plan.rating is None:
            return
        self.go(self.at(2, 24 * 5, office=False))
        self.rate(plan.rating, self.rng.choice(texts.RATING_COMMENTS[plan.rating]) or None)
        if plan.reopen:
            self.go(self.at(2, 48))
            said = (self.sim.rows.ratings[-1]["comment"] or "问题未解决").rstrip("。")
            reason = f"留言人评价不满意：{said}，重新办理"
            self.clock_started_at = self.t
            self.replied_at = None
            self.closed_at = None
            self.act(Action.REOPEN, self.clerk, reason=reason)
            self.rating = None
            self.plan.interim = self.plan.send_back = self.plan.late = False
            self.handle_replies()
            self.go(self.at(1, 72), "close")
            self.closed_at = self.t
            self.act(Action.CLOSE, self.clerk)
            self.go(self.at(2, 24 * 5, office=False))
            self.rate("基本满意", texts.FOLLOW_UPS[0])
        elif plan.follow_up:
            self.go(self.at(24 * 7, 24 * 30, office=False))
            comment = self.rng.choice(texts.FOLLOW_UPS)
            self.rate(plan.rating, comment)

    def rate(self, value: str, comment: str | None) -> None:
        self.act(
            Action.RATE,
            self.clerk,
            reason=comment,
            detail={"rating": value, "follow_up": self.rated},
        )
        self.rating = value
        self.sim.rows.ratings.append(
            {
                "id": self.next_id("ratings"),
                "case_id": self.id,
                "value": value,
                "comment": comment,
                "follow_up": self.rated,
                "rated_at": self.t,
                "recorded_by_id": self.clerk.id,
            }
        )
        self.rated = True

    def link(self, target: int, kind: str) -> None:
        self.sim.rows.links.append(
            {
                "id": self.next_id("case_links"),
                "case_id": self.id,
                "target_id": target,
                "kind": kind,
                "created_by_id": self.clerk.id,
                "created_at": self.t,
            }
        )

    def supervise_until(self, until: datetime) -> None:
        """Chase the case (督办) once its reply is overdue, as a supervisor would before `until`."""
        if self.status not in OPEN_STATES or self.replied_at is not None or self.supervised >= 3:
            return
        if self.status is Status.RECEIVED and self.supervised:
            return
        due = self.limit_due(Stage.REPLY, self.clock_started_at)
        if until < due:
            return
        offsets = ((20, "remind"), (24 * 8, "flag"), (24 * 30, "summon"))[self.supervised :]
        for hours, level in offsets:
            when = self.sim.office(due + timedelta(hours=hours), self.rng)
            if when > until or when > self.sim.now or when < self.t:
                return
            self.t = when
            notes = {
                "remind": texts.REMIND_NOTES,
                "flag": texts.FLAG_NOTES,
                "summon": texts.SUMMON_NOTES,
            }[level]
            note = self.rng.choice(notes)
            self.act(Action.SUPERVISE, self.supervisor, reason=note, detail={"level": level})
            self.sim.rows.supervisions.append(
                {
                    "id": self.next_id("supervisions"),
                    "case_id": self.id,
                    "level": level,
                    "note": note,
                    "created_by_id": self.supervisor.id,
                    "created_at": self.t,
                }
            )
            self.supervised += 1

    # ------------------------------------------------------------ the row

    def write(self) -> None:
        c, spec = self.content, self.spec
        sim = self.sim
        slots = c.slots
        cited = (spec.original_at or spec.received_at).astimezone(SHANGHAI)
        slots.values["date"] = f"{cited.month}月{cited.day}日"
        title, body = texts.compose_message(
            self.rng, c.topic, slots, repeat=spec.original >= 0 and spec.role != "kindergarten"
        )
        category = c.topic.category
        if c.topic.key == "praise" and self.lead is not None and self.lead.dept:
            category = _PRAISE_CATEGORY.get(self.lead.dept, category)
        extra: dict[str, Any] = {"demo": True, "subcategory": c.topic.sub}
        if spec.role == "kindergarten":
            extra["common_issue"] = f"{c.district}{sim.kg_estate}幼儿园学位"
        if spec.role.startswith("training:"):
            _, scenario, role = spec.role.split(":")
            extra["training"] = {"scenario": scenario, "role": role}
        received = spec.received_at
        case = _CaseFacts(
            id=self.id,
            channel=c.channel,
            external_id=f"{CHANNEL_PREFIX[c.channel]}{received.astimezone(SHANGHAI):%Y%m%d}"
            f"{self.id:07d}",
            addressee=slots.values["addressee_field"] or None,
            author=c.author,
            contact=c.contact,
            title=title,
            body=body,
            received_at=received,
            region=f"{c.city}{c.district}",
            category=category,
            kind=c.kind,
            urgency=c.urgency,
            status=self.status.value,
            lead_unit_id=self.lead.id if self.lead else None,
            assign_started_at=self.assign_started_at,
            clock_started_at=self.clock_started_at,
            assigned_at=self.assigned_at,
            replied_at=self.replied_at,
            closed_at=self.closed_at,
            paused_since=self.paused_since,
            assign_due_at=END_OF_TIME,
            reply_due_at=END_OF_TIME,
            close_due_at=END_OF_TIME,
            repeat_of_id=self.repeat_of_id,
            merged_into_id=self.merged_into_id,
            extra=json.dumps(extra, ensure_ascii=False),
            version=self.events,
            created_at=received,
            updated_at=self.last_at,
            updated_by=self.last_actor,
        )
        records = CaseRecords(
            pauses=[Pause(p["started_at"], p["ended_at"]) for p in self.pauses],
            approved_extension_days=sum(
                e["days"]
                for e in self.extensions
                if e["state"] == "approved" and e["decided_at"] >= self.clock_started_at
            ),
        )
        row = cast(CaseRow, case)
        apply_clocks(row, case_clocks(row, records, sim.rules, sim.now))
        sim.rows.cases.append({name: getattr(case, name) for name in _CASE_COLUMNS})


class _CaseFacts:
    """A case row's columns as a plain object: what the clock functions read and write.

    Building a real CaseRow costs more than the rest of a case's simulation (ORM
    instrumentation); the clock code only reads and sets attributes, so a plain object serves,
    and every column of the table is still written (the defaults for those not set here).
    """

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(_CASE_DEFAULTS)
        self.__dict__.update(values)


_CASE_DEFAULTS: dict[str, Any] = {
    c.name: (c.default.arg if c.default is not None and not callable(c.default.arg) else None)
    for c in CaseRow.__table__.columns  # type: ignore[attr-defined]
}
_CASE_DEFAULTS.update(provisional=False, next_due_at=END_OF_TIME, warn_at=END_OF_TIME)


_JSON = json.JSONEncoder(ensure_ascii=False)


def _stream(seed: int, serial: int, purpose: int) -> int:
    """The seed of one case's own random stream (its words, or its life)."""
    return (seed * 4_000_037 + serial) * 2 + purpose


_PRAISE_CATEGORY = {
    "卫健委": "卫生计生",
    "教育局": "教育文体",
    "人社局": "劳动和社会保障",
    "城管执法": "城乡建设",
}


def _weighted(rng: random.Random, shares: tuple[tuple[str, int], ...]) -> str:
    total = sum(weight for _, weight in shares)
    pick = rng.uniform(0, total)
    for value, weight in shares:
        pick -= weight
        if pick <= 0:
            return value
    return shares[-1][0]


def _addressee(rng: random.Random, channel: str, city: str, district: str) -> str | None:
    if channel == "leader-board":
        return rng.choice(("江南省委书记", f"{city}委书记", f"{city}长", f"{district}委书记"))
    if channel == "party-secretary-mailbox":
        return f"{city}委书记"
    if channel == "governor-mailbox":
        return "江南省省长"
    if channel == "local-leader-mailbox":
        return rng.choice((f"{city}长", f"{district}长"))
    return None


# ---------------------------------------------------------------- training material

_TRAINING_TOPICS = {
    "assign-urgent": ("stranded-family", "lost-id-exam", "pond-rubbish"),
    "reject-duplicate": ("street-light",),
    "draft-publish": ("school-too-far",),
    "request-extension": ("property-certificate",),
}


def _training_topic(role: str) -> texts.Topic | None:
    if not role.startswith("training:"):
        return None
    scenario = role.split(":")[1]
    keys = _TRAINING_TOPICS[scenario]
    key = keys[sum(map(ord, role)) % len(keys)]
    return next(t for t in texts.TOPICS if t.key == key)


def _training_plan(plan: Plan, role: str) -> None:
    """Training cases stand exactly where the exercise starts, with nothing else going on."""
    _, scenario, part = role.split(":")
    plan.fate = "normal"
    plan.wrong_unit_first = plan.co_unit = plan.instruct = plan.pause = False
    plan.extension = plan.interim = plan.send_back = plan.late = False
    plan.stall = {
        "assign-urgent": "accept",  # arrived this morning, not yet accepted: the first step
        "reject-duplicate": "draft" if part == "original" else "accept",
        "draft-publish": "draft",
        "request-extension": "draft",
    }[scenario]
