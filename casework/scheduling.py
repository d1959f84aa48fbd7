"""Temporal Schedules from one configuration file (casework/schedules.toml): the annual
review, the year-end report, each open programme's list deadline, the daily
report-only doctor and the monthly report-only retention check. `apply` creates
or updates them and deletes the deadlines of programmes no longer open (paid, closed);
applied twice, the second changes nothing."""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Engine, select
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.service import RPCError, RPCStatusCode

from casework.store.tables import programmes

DEFAULT_FILE = Path(__file__).with_name("schedules.toml")
PREFIX = "casework-"
"""Every schedule casework owns has an id with this prefix (others are left alone)."""


class YearlyRun(BaseModel):
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)
    hour: int = Field(ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)
    year_offset: int = Field(default=0, ge=-1, le=1)


class DeadlineTime(BaseModel):
    hour: int = Field(default=23, ge=0, le=23)
    minute: int = Field(default=59, ge=0, le=59)


class DailyRun(BaseModel):
    hour: int = Field(default=6, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class MonthlyRun(BaseModel):
    day: int = Field(default=1, ge=1, le=28)
    hour: int = Field(default=7, ge=0, le=23)
    minute: int = Field(default=0, ge=0, le=59)


class ScheduleFile(BaseModel):
    time_zone: str = "Asia/Shanghai"
    annual_review: YearlyRun
    annual_report: YearlyRun
    programme_deadline: DeadlineTime = Field(default_factory=DeadlineTime)
    doctor: DailyRun = Field(default_factory=DailyRun)
    privacy_due: MonthlyRun = Field(default_factory=MonthlyRun)


class ScheduleFileError(ValueError):
    pass


def load(path: Path | None = None) -> ScheduleFile:
    path = path or DEFAULT_FILE
    try:
        return ScheduleFile.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except OSError as e:
        raise ScheduleFileError(
            f"field --file: 无法读取 (cannot read) {path}: {e.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as e:
        raise ScheduleFileError(f"field --file: TOML 无效 (invalid TOML) in {path}: {e}") from None
    except ValueError as e:
        raise ScheduleFileError(
            f"field --file: 配置无效 (invalid schedules) in {path}: {e}"
        ) from None


class Wanted(BaseModel):
    """One schedule as the configuration wants it."""

    schedule_id: str
    workflow: str
    arg: dict[str, Any]
    workflow_id: str
    words: str
    calendar: dict[str, int]
    time_zone: str

    def schedule(self, task_queue: str) -> Schedule:
        c = self.calendar
        spec = ScheduleCalendarSpec(
            # A daily run names no month or day: every one.
            **({"month": [ScheduleRange(c["month"])]} if "month" in c else {}),
            **({"day_of_month": [ScheduleRange(c["day"])]} if "day" in c else {}),
            hour=[ScheduleRange(c["hour"])],
            minute=[ScheduleRange(c["minute"])],
            second=[ScheduleRange(0)],
            **({"year": [ScheduleRange(c["year"])]} if "year" in c else {}),
            comment=self.words,
        )
        return Schedule(
            action=ScheduleActionStartWorkflow(
                self.workflow, self.arg, id=self.workflow_id, task_queue=task_queue
            ),
            spec=ScheduleSpec(calendars=[spec], time_zone_name=self.time_zone),
        )


def _yearly(kind: str, run: YearlyRun, tz: str, words: str) -> Wanted:
    return Wanted(
        schedule_id=f"{PREFIX}{kind}",
        workflow="assess-start",
        arg={"kind": kind, "year_offset": run.year_offset},
        workflow_id=f"assess-start-{kind}",
        words=f"{words}: 每年{run.month}月{run.day}日 {run.hour:02d}:{run.minute:02d} ({tz})",
        calendar={"month": run.month, "day": run.day, "hour": run.hour, "minute": run.minute},
        time_zone=tz,
    )


def open_programme_deadlines(engine: Engine) -> list[tuple[str, date]]:
    """(programme id, lists_due_on) of every programme still open: one whose run has paid
    it (`paid`, which happens only once its lists are due) needs its deadline no more."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(programmes.c.programme_id, programmes.c.spec).where(
                programmes.c.status == "open"
            )
        ).all()
    found = []
    for r in rows:
        try:
            due = json.loads(r.spec).get("lists_due_on")
            found.append((r.programme_id, date.fromisoformat(due)))
        except (ValueError, TypeError, AttributeError):
            continue  # no deadline to schedule
    return found


def wanted(config: ScheduleFile, engine: Engine) -> list[Wanted]:
    tz = config.time_zone
    out = [
        _yearly("annual-review", config.annual_review, tz, "年度复核 annual review"),
        _yearly("annual-report", config.annual_report, tz, "年度报告 year-end report"),
        Wanted(
            schedule_id=f"{PREFIX}doctor",
            workflow="casework-doctor",
            arg={},
            workflow_id="casework-doctor",
            words=f"一致性检查 doctor (report only): 每天 {config.doctor.hour:02d}:"
            f"{config.doctor.minute:02d} ({tz})",
            calendar={"hour": config.doctor.hour, "minute": config.doctor.minute},
            time_zone=tz,
        ),
        Wanted(
            schedule_id=f"{PREFIX}privacy-due",
            workflow="casework-privacy-due",
            arg={},
            workflow_id="casework-privacy-due",
            words=f"保存期检查 retention check (report only): 每月 {config.privacy_due.day} 日 "
            f"{config.privacy_due.hour:02d}:{config.privacy_due.minute:02d} ({tz})",
            calendar={
                "day": config.privacy_due.day,
                "hour": config.privacy_due.hour,
                "minute": config.privacy_due.minute,
            },
            time_zone=tz,
        ),
    ]
    t = config.programme_deadline
    for programme_id, due in open_programme_deadlines(engine):
        out.append(
            Wanted(
                schedule_id=f"{PREFIX}programme-deadline-{programme_id}",
                workflow="programme-deadline",
                arg={"programme_id": programme_id},
                workflow_id=f"programme-deadline-{programme_id}",
                words=f"名单上报截止 lists due {programme_id}: {due.isoformat()} {t.hour:02d}:{t.minute:02d} ({tz})",
                calendar={
                    "year": due.year,
                    "month": due.month,
                    "day": due.day,
                    "hour": t.hour,
                    "minute": t.minute,
                },
                time_zone=tz,
            )
        )
    return out


class Applied(BaseModel):
    schedule_id: str
    change: str  # created | updated | unchanged | deleted


async def _same(client: Client, current: Schedule, want: Schedule) -> bool:
    """Same action and same times: the calendars' comments spell out every field set."""
    a, b = current.action, want.action
    if not isinstance(a, ScheduleActionStartWorkflow) or not isinstance(
        b, ScheduleActionStartWorkflow
    ):
        return False
    args = await client.data_converter.decode(list(a.args)) if a.args else []  # raw payloads
    return (
        a.workflow == b.workflow
        and a.id == b.id
        and a.task_queue == b.task_queue
        and list(args) == list(b.args)
        and [c.comment for c in current.spec.calendars] == [c.comment for c in want.spec.calendars]
        and current.spec.time_zone_name == want.spec.time_zone_name
    )


async def existing_ids(client: Client) -> list[str]:
    return [s.id async for s in await client.list_schedules() if s.id.startswith(PREFIX)]


async def apply(
    client: Client, engine: Engine, config: ScheduleFile, task_queue: str
) -> list[Applied]:
    """Create or update what the configuration wants; delete casework's other schedules."""
    results = []
    want = wanted(config, engine)
    for w in want:
        schedule = w.schedule(task_queue)
        handle = client.get_schedule_handle(w.schedule_id)
        try:
            current = await handle.describe()
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            await client.create_schedule(w.schedule_id, schedule)
            results.append(Applied(schedule_id=w.schedule_id, change="created"))
            continue
        if await _same(client, current.schedule, schedule):
            results.append(Applied(schedule_id=w.schedule_id, change="unchanged"))
            continue

        def replace(_: ScheduleUpdateInput, s: Schedule = schedule) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=s)

        await handle.update(replace)
        results.append(Applied(schedule_id=w.schedule_id, change="updated"))
    keep = {w.schedule_id for w in want}
    for sid in await existing_ids(client):
        if sid.startswith(f"{PREFIX}programme-deadline-") and sid not in keep:
            await client.get_schedule_handle(sid).delete()
            results.append(Applied(schedule_id=sid, change="deleted"))
    return results


class Listed(BaseModel):
    schedule_id: str
    workflow: str
    words: str
    next_runs: list[datetime]
    paused: bool


async def listed(client: Client) -> list[Listed]:
    out = []
    for sid in sorted(await existing_ids(client)):
        d = await client.get_schedule_handle(sid).describe()
        action = d.schedule.action
        cals = d.schedule.spec.calendars
        out.append(
            Listed(
                schedule_id=sid,
                workflow=action.workflow
                if isinstance(action, ScheduleActionStartWorkflow)
                else "-",
                words="; ".join(c.comment for c in cals if c.comment) or "-",
                next_runs=list(d.info.next_action_times[:3]),
                paused=d.schedule.state.paused,
            )
        )
    return out
