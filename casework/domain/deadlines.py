"""Case deadlines (案件期限): named clocks a case carries beside the clock of its open task.

A legal-aid case carries the one-year limitation period for labour arbitration
(`limitation`) and, after an award, the 15 days to sue (`sue`); any process may set
deadlines of its own. Each change is an event of the case:

- `deadline.set`: name, labels (zh, en), the rule (period, warnings, escalation, the
  period an interruption restarts), the day the period counts from and the due moment;
- `deadline.warned` / `deadline.escalated` / `deadline.passed`: recorded by the
  workflow when the clock reaches a warning (N days before), the escalation to the
  supervisors (N days before) and the due moment itself;
- `deadline.interrupted` (中断): the full period (`restarts_with`) starts again from the
  day of the interrupting fact; `deadline.suspended` (中止): the clock stops;
  `deadline.resumed`: it goes on with the days that were left;
- `deadline.met` (e.g. arbitration filed in time) / `deadline.cleared` (no longer
  relevant): the clock ends.

**How a period is counted** (calendar days, months and years, not working days:
statutory periods; 民法典 第二百零一至二百零三条, as labour arbitration and the courts count):

1. The day of the event the period runs from is not counted; it starts the next day.
2. Years and months end on the corresponding day of the last month; a month without
   that day ends on its last day. One year from 29 February 2024 ends on 28 February
   2025; one month from 31 January ends on the last day of February. Days are counted
   after years and months.
3. A last day that is not a working day (a weekend or a statutory holiday, on the
   calendar the process uses, make-up working days included) moves to the next working
   day.
4. The deadline is 24:00 Beijing time (Asia/Shanghai, UTC+8 all year) of the last day.

A warning or escalation N days before is due at the start (00:00 Beijing time) of the
day from which N days are left, the last day included: 30 days before a period whose last
day is 15 March is 00:00 on 14 February. A clock that reaches several alarms at once (a
case opened late, or woken after an interruption recorded late) records only the
latest of them: `passed` alone once due, else the escalation and the nearest warning
after it. A suspension keeps the whole days left after the day it stops (never fewer than
none); the resumption gives them again, counted after the day it resumes, and moves the
new last day to a working day again.

Pure, like the rest of the domain. The helpers a process calls (`set_deadline`,
`meet_deadline`, `clear_deadline`) are also `Process` methods; the actions people take
(`interrupt-deadline`, `suspend-deadline`, `resume-deadline`) go through `decide`
(`decide_deadline`), allowed to the roles the process names (`Process.deadline_roles`).
"""

from __future__ import annotations

import re
from calendar import monthrange
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from casework.domain.calendar import CHINA_TZ, WorkingCalendar, end_of_day
from casework.domain.events import SYSTEM, NewEvent
from casework.domain.refusal import Refused, require_comment

if TYPE_CHECKING:  # the case layer builds on this module, not the other way round
    from casework.domain.case import ActRequest, CaseState, Context, Process

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,31}$"
"""A deadline's name: what `data.deadline` and the projections use (`limitation`)."""

INTERRUPT = "interrupt-deadline"
SUSPEND = "suspend-deadline"
RESUME = "resume-deadline"
DEADLINE_ACTIONS = frozenset({INTERRUPT, SUSPEND, RESUME})
"""The actions on a case's deadlines, each naming it in `data.deadline`, with a reason."""


class DeadlineStatus(StrEnum):
    RUNNING = "running"
    SUSPENDED = "suspended"  # 中止: the clock stands still
    PASSED = "passed"  # the due moment went by
    MET = "met"  # what it waited for happened in time (arbitration filed)
    CLEARED = "cleared"  # no longer relevant


ACTIVE = frozenset({DeadlineStatus.RUNNING, DeadlineStatus.SUSPENDED, DeadlineStatus.PASSED})
"""A deadline someone still has to mind."""


def add_months(day: date, months: int) -> date:
    """The corresponding day `months` later; the month's last day when it has none."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year, month = day.year + years, month0 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


class CalendarPeriod(BaseModel):
    """A statutory period in calendar years, months and days (counted as the module says)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    years: int = Field(default=0, ge=0, le=30)
    months: int = Field(default=0, ge=0, le=360)
    days: int = Field(default=0, ge=0, le=3660)

    @model_validator(mode="after")
    def _not_empty(self) -> CalendarPeriod:
        if not (self.years or self.months or self.days):
            raise ValueError("give years, months or days")
        return self

    def label(self) -> tuple[str, str]:
        """How people read it: (Chinese, English)."""
        zh, en = [], []
        for n, z, e in ((self.years, "年", "year"), (self.months, "个月", "month")):
            if n:
                zh.append(f"{n} {z}")
                en.append(f"{n} {e}{'s' if n > 1 else ''}")
        if self.days:
            zh.append(f"{self.days} 日")
            en.append(f"{self.days} day{'s' if self.days > 1 else ''}")
        return " ".join(zh), " ".join(en)

    def last_day(self, runs_from: date) -> date:
        """The last day of the period that runs from the day after `runs_from`, before a
        non-working day moves it (rules 1 and 2)."""
        return add_months(runs_from, 12 * self.years + self.months) + timedelta(days=self.days)


class DeadlineRule(BaseModel):
    """What a deadline is: its period, when it warns and escalates, and the period an
    interruption restarts. A process may take it from its configuration."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    period: CalendarPeriod
    warn_days_before: tuple[int, ...] = ()
    """Warnings this many days before the due moment (60 and 30 for the limitation)."""
    escalate_days_before: int | None = Field(default=None, ge=1, le=3660)
    """Escalation to the supervisors this many days before (10 for the limitation)."""
    restarts_with: CalendarPeriod | None = None
    """The period an interruption (中断) starts again; None: `period`."""

    @field_validator("warn_days_before")
    @classmethod
    def _warnings(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if any(not 1 <= n <= 3660 for n in v):
            raise ValueError("each warning is 1 to 3660 days before")
        return tuple(sorted(set(v), reverse=True))

    @property
    def restart_period(self) -> CalendarPeriod:
        return self.restarts_with or self.period

    def offsets(self) -> list[int]:
        """Every alarm as days before the due moment, earliest first; 0 is the due moment."""
        found = {*self.warn_days_before, 0}
        if self.escalate_days_before is not None:
            found.add(self.escalate_days_before)
        return sorted(found, reverse=True)


class DeadlineState(BaseModel):
    """One named deadline of a case, as its events leave it."""

    name: str
    label: tuple[str, str]
    """How people call it: (Chinese, English), e.g. (仲裁时效, arbitration limitation)."""
    rule: DeadlineRule
    runs_from: date
    """The day the running period counts from (not itself counted)."""
    last_day: date
    """The period's last day as rules 1-2 give it; `due_at` may lie later (rule 3)."""
    due_at: datetime
    """24:00 Beijing time of the last day, moved to a working day, in UTC."""
    set_at: datetime
    status: DeadlineStatus = DeadlineStatus.RUNNING
    suspended_at: datetime | None = None
    days_left: int | None = None
    """While suspended: the whole days that were left after the day it stopped."""
    warned_days_before: int | None = None
    """The nearest warning recorded (days before)."""
    escalated: bool = False
    alarms_done: int | None = None
    """Every alarm this many days before the due moment or more is recorded (0: passed;
    None: none yet). Relative to the due moment, so a resumption that moves it does not
    warn again for what was already said."""
    interruptions: int = 0

    def alarm_at(self, days_before: int) -> datetime:
        return self.due_at - timedelta(days=days_before)

    def pending_offsets(self) -> list[int]:
        done = self.alarms_done
        return [o for o in self.rule.offsets() if done is None or o < done]

    def next_alarm(self) -> datetime | None:
        """When the clock must next be looked at (None: not running, or nothing left)."""
        if self.status is not DeadlineStatus.RUNNING:
            return None
        pending = self.pending_offsets()
        return self.alarm_at(pending[0]) if pending else None

    def listed_from(self) -> datetime | None:
        """From when supervisors see it as stuck: a running deadline from its first
        alarm (the earliest warning, or the escalation, or the due moment), a passed one
        from its due moment; never while suspended or once met or cleared."""
        if self.status is DeadlineStatus.RUNNING:
            return self.alarm_at(self.rule.offsets()[0])
        if self.status is DeadlineStatus.PASSED:
            return self.due_at
        return None

    def effective_last_day(self) -> date:
        """The last day after rule 3 (the local day `due_at` ends)."""
        return local_date(self.due_at - timedelta(microseconds=1))


class DeadlineView(BaseModel):
    """A deadline as callers see it (`case show`)."""

    name: str
    label: tuple[str, str]
    status: DeadlineStatus
    due_at: datetime
    warned_days_before: int | None
    escalated: bool
    days_left: int | None
    """While suspended, the days that were left."""

    @classmethod
    def of(cls, d: DeadlineState) -> DeadlineView:
        return cls(
            name=d.name,
            label=d.label,
            status=d.status,
            due_at=d.due_at,
            warned_days_before=d.warned_days_before,
            escalated=d.escalated,
            days_left=d.days_left,
        )


def local_date(moment: datetime) -> date:
    return moment.astimezone(CHINA_TZ).date()


def working_day_on_or_after(day: date, calendar: WorkingCalendar) -> date:
    """Rule 3: a last day that is not a working day moves to the next working day."""
    for _ in range(60):  # the longest run of days off is far shorter
        if calendar.is_working_day(day):
            return day
        day += timedelta(days=1)
    return day


def due_moment(last_day: date, calendar: WorkingCalendar) -> datetime:
    """The due moment of a period whose last day (rules 1-2) is `last_day`."""
    return end_of_day(working_day_on_or_after(last_day, calendar))


# -- helpers a process calls ---------------------------------------------------------------


def set_deadline(
    state: CaseState,
    ctx: Context,
    calendar: WorkingCalendar,
    name: str,
    label: tuple[str, str],
    rule: DeadlineRule,
    runs_from: date,
    actor_id: str = SYSTEM,
    reason: str | None = None,
) -> NewEvent:
    """`deadline.set`: the deadline `name` runs `rule.period` from the day after
    `runs_from` (a date in the past is fine: the clock catches up with alarms already
    reached when the workflow next looks). Setting a name again replaces it."""
    if not _valid_name(name):
        raise ValueError(f"deadline name {name!r} does not match {NAME_PATTERN}")
    last_day = rule.period.last_day(runs_from)
    return ctx.event(
        state,
        "deadline.set",
        actor_id,
        name=name,
        label=list(label),
        rule=rule.model_dump(mode="json"),
        runs_from=runs_from.isoformat(),
        last_day=last_day.isoformat(),
        due_at=due_moment(last_day, calendar).isoformat(),
        **({"reason": reason} if reason else {}),
    )


def meet_deadline(
    state: CaseState, ctx: Context, name: str, reason: str, actor_id: str = SYSTEM
) -> list[NewEvent]:
    """`deadline.met`: what the deadline waited for happened (a passed one too: the
    process decides whether that is accepted). Nothing if it is not active."""
    return _end(state, ctx, name, "deadline.met", reason, actor_id)


def clear_deadline(
    state: CaseState, ctx: Context, name: str, reason: str, actor_id: str = SYSTEM
) -> list[NewEvent]:
    """`deadline.cleared`: the deadline no longer matters. Nothing if it is not active."""
    return _end(state, ctx, name, "deadline.cleared", reason, actor_id)


def _end(
    state: CaseState, ctx: Context, name: str, type_: str, reason: str, actor_id: str
) -> list[NewEvent]:
    d = state.deadlines.get(name)
    if d is None or d.status not in ACTIVE:
        return []
    return [ctx.event(state, type_, actor_id, name=name, reason=reason)]


def _valid_name(name: str) -> bool:
    return re.fullmatch(NAME_PATTERN, name) is not None


# -- the clock -----------------------------------------------------------------------------


def next_alarm(state: CaseState) -> datetime | None:
    """When the workflow must next look at the case's deadlines (None: nothing to wait for)."""
    if state.status != "open":
        return None
    moments = [m for d in state.deadlines.values() if (m := d.next_alarm()) is not None]
    return min(moments, default=None)


def alarm_events(state: CaseState, ctx: Context) -> list[NewEvent]:
    """What the clocks of the case's deadlines have reached by `ctx.now`, not yet recorded."""
    if state.status != "open":
        return []
    events: list[NewEvent] = []
    for name in sorted(state.deadlines):
        d = state.deadlines[name]
        if d.status is not DeadlineStatus.RUNNING:
            continue
        reached = [o for o in d.pending_offsets() if d.alarm_at(o) <= ctx.now]
        if not reached:
            continue
        due = d.due_at.isoformat()
        if 0 in reached:
            events.append(ctx.event(state, "deadline.passed", SYSTEM, name=name, due_at=due))
            continue
        escalation = d.rule.escalate_days_before
        if escalation in reached:
            events.append(
                ctx.event(
                    state,
                    "deadline.escalated",
                    SYSTEM,
                    name=name,
                    days_before=escalation,
                    due_at=due,
                    district=state.district,
                )
            )
        warnings = [
            o
            for o in reached
            if o in d.rule.warn_days_before and (escalation not in reached or o < escalation)
        ]
        if warnings:
            events.append(
                ctx.event(
                    state,
                    "deadline.warned",
                    SYSTEM,
                    name=name,
                    days_before=min(warnings),
                    due_at=due,
                )
            )
    return events


# -- what people do ------------------------------------------------------------------------

_WANTED = {
    INTERRUPT: (ACTIVE, "no_active_deadline", "没有可中断的期限 (no active deadline to interrupt)"),
    SUSPEND: (
        frozenset({DeadlineStatus.RUNNING}),
        "no_running_deadline",
        "没有正在计算的期限 (no running deadline to suspend)",
    ),
    RESUME: (
        frozenset({DeadlineStatus.SUSPENDED}),
        "no_suspended_deadline",
        "没有已中止的期限 (no suspended deadline to resume)",
    ),
}
_WHAT = {INTERRUPT: "期限中断", SUSPEND: "期限中止", RESUME: "期限恢复计算"}
_KEYS = {INTERRUPT: {"deadline", "on"}, SUSPEND: {"deadline"}, RESUME: {"deadline"}}


def check_may_act_on_deadlines(process: Process, state: CaseState, req: ActRequest) -> None:
    """The roles the process names (`Process.deadline_roles`), in the case's jurisdiction."""
    roles = process.deadline_roles
    actor = req.actor
    if not any(actor.has_role(r) for r in roles):
        needed = ", ".join(sorted(r.value for r in roles)) or "-"
        raise Refused(
            "role_not_held",
            f"期限的中断、中止与恢复须由以下角色办理：{needed} "
            f"(interrupting, suspending and resuming deadlines needs one of: {needed})",
        )
    if not actor.covers(state.district):
        raise Refused(
            "outside_jurisdiction",
            f"案件属于 {state.district}，不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
        )
    process.check_deadline_actor(state, actor)


def decide_deadline(
    process: Process, state: CaseState, req: ActRequest, ctx: Context
) -> list[NewEvent]:
    """interrupt-deadline / suspend-deadline / resume-deadline on `data.deadline`."""
    action = str(req.action)
    d = _chosen_deadline(process, state, req)
    calendar = process.calendar
    if action == INTERRUPT:
        return [_interrupt(state, d, req, ctx, calendar)]
    if action == SUSPEND:
        return [_suspend(state, d, req, ctx)]
    return [_resume(state, d, req, ctx, calendar)]


def _chosen_deadline(process: Process, state: CaseState, req: ActRequest) -> DeadlineState:
    """Who may act, whether the case has a deadline this action applies to, and the
    one `data.deadline` names."""
    action = str(req.action)
    check_may_act_on_deadlines(process, state, req)
    statuses, none_code, none_message = _WANTED[action]
    if not any(d.status in statuses for d in state.deadlines.values()):
        raise Refused(none_code, none_message)
    name = req.data.get("deadline")
    known = ", ".join(sorted(state.deadlines))
    if not isinstance(name, str) or not name.strip():
        raise Refused(
            "deadline_required",
            f"须指明期限 (data.deadline: which deadline; one of: {known})",
            "data.deadline",
        )
    d = state.deadlines.get(name.strip())
    if d is None:
        raise Refused(
            "unknown_deadline",
            f"案件没有此期限 (no deadline {name[:40]!r}; one of: {known})",
            "data.deadline",
        )
    extra = sorted(set(req.data) - _KEYS[action])
    if extra:
        raise Refused(
            "unexpected_data", f"不接受的附加数据 (unexpected data: {', '.join(extra)})", "data"
        )
    if d.status in (DeadlineStatus.MET, DeadlineStatus.CLEARED):
        raise Refused(
            "deadline_closed",
            f"期限 {d.label[0]} 已结束 ({d.status.value}) (the deadline has ended)",
            "data.deadline",
        )
    return d


def _interrupt(
    state: CaseState, d: DeadlineState, req: ActRequest, ctx: Context, calendar: WorkingCalendar
) -> NewEvent:
    """中断: the full restart period runs again from the day of the interrupting fact."""
    on = _interrupted_on(req.data.get("on"), local_date(ctx.now), d)
    reason = require_comment(req, _WHAT[INTERRUPT])
    last_day = d.rule.restart_period.last_day(on)
    return ctx.event(
        state,
        "deadline.interrupted",
        req.actor.id,
        name=d.name,
        on=on.isoformat(),
        reason=reason,
        previous_due_at=d.due_at.isoformat(),
        runs_from=on.isoformat(),
        last_day=last_day.isoformat(),
        due_at=due_moment(last_day, calendar).isoformat(),
    )


def _suspend(state: CaseState, d: DeadlineState, req: ActRequest, ctx: Context) -> NewEvent:
    """中止: the clock stops, keeping the whole days left after today."""
    if d.status is DeadlineStatus.SUSPENDED:
        raise Refused(
            "already_suspended", f"期限 {d.label[0]} 已中止 (already suspended)", "data.deadline"
        )
    if d.status is DeadlineStatus.PASSED or ctx.now >= d.due_at:
        raise Refused(
            "deadline_passed",
            f"期限 {d.label[0]} 已届满，不能中止 (the deadline has passed)",
            "data.deadline",
        )
    reason = require_comment(req, _WHAT[SUSPEND])
    return ctx.event(
        state,
        "deadline.suspended",
        req.actor.id,
        name=d.name,
        reason=reason,
        days_left=max((d.last_day - local_date(ctx.now)).days, 0),
        due_at=d.due_at.isoformat(),
    )


def _resume(
    state: CaseState, d: DeadlineState, req: ActRequest, ctx: Context, calendar: WorkingCalendar
) -> NewEvent:
    """The clock goes on with the days that were left, counted after today."""
    if d.status is not DeadlineStatus.SUSPENDED:
        raise Refused(
            "not_suspended",
            f"期限 {d.label[0]} 未中止 (the deadline is not suspended)",
            "data.deadline",
        )
    reason = require_comment(req, _WHAT[RESUME])
    left = d.days_left or 0
    last_day = local_date(ctx.now) + timedelta(days=left)
    return ctx.event(
        state,
        "deadline.resumed",
        req.actor.id,
        name=d.name,
        reason=reason,
        days_left=left,
        last_day=last_day.isoformat(),
        due_at=due_moment(last_day, calendar).isoformat(),
    )


def _interrupted_on(value: object, today: date, d: DeadlineState) -> date:
    """The day of the interrupting fact (`data.on`, default today): not in the future,
    not before the running period began, not after it ended."""
    if value is None:
        on = today
    else:
        try:
            on = date.fromisoformat(str(value).strip())
        except ValueError:
            raise Refused(
                "invalid_on", f"日期格式应为 YYYY-MM-DD (bad date {str(value)[:40]!r})", "data.on"
            ) from None
    if on > today:
        raise Refused(
            "on_in_future", "中断事由发生日不能晚于今天 (data.on is in the future)", "data.on"
        )
    if on < d.runs_from:
        raise Refused(
            "on_before_start",
            f"中断事由发生日早于期限起算日 {d.runs_from} (data.on is before the period began)",
            "data.on",
        )
    if on > d.effective_last_day():
        raise Refused(
            "deadline_passed",
            f"期限 {d.label[0]} 已于 {d.effective_last_day()} 届满，不能再中断 "
            "(the period had ended before that day)",
            "data.on",
        )
    return on


# -- evolve ----------------------------------------------------------------------------


def evolve_deadlines(
    deadlines: dict[str, DeadlineState], event: NewEvent
) -> dict[str, DeadlineState]:
    """The deadlines after a `deadline.*` event. Pure; no rule checks."""
    p = event.payload
    name = p.get("name")
    if not isinstance(name, str):
        return deadlines
    t = event.type
    if t == "deadline.set":
        new = DeadlineState(
            name=name,
            label=(p["label"][0], p["label"][1]),
            rule=DeadlineRule.model_validate(p["rule"]),
            runs_from=date.fromisoformat(p["runs_from"]),
            last_day=date.fromisoformat(p["last_day"]),
            due_at=datetime.fromisoformat(p["due_at"]),
            set_at=event.occurred_at,
        )
        return {**deadlines, name: new}
    d = deadlines.get(name)
    if d is None:
        return deadlines
    changes: dict[str, Any]
    if t == "deadline.warned":
        n = int(p["days_before"])
        changes = {"warned_days_before": n, "alarms_done": _done(d, n)}
    elif t == "deadline.escalated":
        changes = {"escalated": True, "alarms_done": _done(d, int(p["days_before"]))}
    elif t == "deadline.passed":
        changes = {"status": DeadlineStatus.PASSED, "alarms_done": 0}
    elif t == "deadline.interrupted":
        changes = {
            "runs_from": date.fromisoformat(p["runs_from"]),
            "last_day": date.fromisoformat(p["last_day"]),
            "due_at": datetime.fromisoformat(p["due_at"]),
            "status": DeadlineStatus.RUNNING,
            "suspended_at": None,
            "days_left": None,
            "warned_days_before": None,
            "escalated": False,
            "alarms_done": None,
            "interruptions": d.interruptions + 1,
        }
    elif t == "deadline.suspended":
        changes = {
            "status": DeadlineStatus.SUSPENDED,
            "suspended_at": event.occurred_at,
            "days_left": int(p["days_left"]),
        }
    elif t == "deadline.resumed":
        changes = {
            "status": DeadlineStatus.RUNNING,
            "suspended_at": None,
            "days_left": None,
            "last_day": date.fromisoformat(p["last_day"]),
            "due_at": datetime.fromisoformat(p["due_at"]),
        }
    elif t == "deadline.met":
        changes = {"status": DeadlineStatus.MET}
    elif t == "deadline.cleared":
        changes = {"status": DeadlineStatus.CLEARED}
    else:
        return deadlines
    return {**deadlines, name: d.model_copy(update=changes)}


def _done(d: DeadlineState, days_before: int) -> int:
    return days_before if d.alarms_done is None else min(d.alarms_done, days_before)
