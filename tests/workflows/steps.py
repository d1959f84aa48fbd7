"""Moving a hardship case along with the demo people, and looking at what it left behind.

The cast (casework/demo/people.py): the case is opened by OPENER; GR2 and GR3 review and
visit; OFFICER and LEADER sign the district levels; CITY_OFFICER and CITY_LEADER the city
levels. OFFICER2 holds district_officer and district_leader both. SUPERVISOR supervises
崇川区, CITY_SUPERVISOR every district.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import CaseState, CaseView
from casework.domain.hardship import HardshipConfig, Period, Stage
from casework.domain.supervision import escalates_at
from casework.service import ActionRefused
from casework.store.tables import case_tasks, cases, notifications, relief_fund_ledger
from tests.workflows.conftest import Harness, civil_affairs_done, findings, wait_for

OPENER = "chongchuan.grassroots1"
GR2 = "chongchuan.grassroots2"
GR3 = "chongchuan.grassroots3"
OFFICER = "chongchuan.officer1"
OFFICER2 = "chongchuan.officer2"
LEADER = "chongchuan.leader"
CITY_OFFICER = "city.officer1"
CITY_LEADER = "city.leader"
SUPERVISOR = "chongchuan.supervisor"
CITY_SUPERVISOR = "city.supervisor"
DISTRICT = "崇川区"

NOTICE_SECONDS = 600
QUICK = HardshipConfig(
    limits={Stage.PUBLIC_NOTICE: Period(seconds=NOTICE_SECONDS)}, disbursement_retry_seconds=5
)
"""A ten-minute public notice and quick transfer retries; every other limit as configured
by default (a configuration names only what it changes)."""

REGISTERED = {"national_ref": "GH-320602-2026-0001"}
"""What the registration step records: the national hardship-worker system's reference."""

OVER_THRESHOLD = 600_000
"""6,000 元: above the 5,000 元 city threshold."""


async def state(h: Harness, case_id: str) -> CaseState:
    return await h.env.client.get_workflow_handle(case_id).query(
        "case_state", result_type=CaseState
    )


async def end_notice(h: Harness, case_id: str) -> CaseView:
    """Let the public notice run out (skipping time) and wait for the next stage."""
    s = await state(h, case_id)
    assert s.stage == Stage.PUBLIC_NOTICE, s.stage
    ends = datetime.fromisoformat(s.facts["notice_ends_at"])
    now = await h.env.get_current_time()
    await h.env.sleep(max((ends - now).total_seconds(), 0) + 1)
    return await wait_for(lambda st: st.stage != Stage.PUBLIC_NOTICE, h, case_id)


async def visit(h: Harness, case_id: str, by: str = GR2, **extra: Any) -> CaseView:
    """The home visit by GR2 and GR3, once the civil-affairs check has answered: they
    find the household as the application declared it, unless `extra` says otherwise."""
    await civil_affairs_done(h, case_id)
    declared = events_of(h, case_id, "eligibility.assessed")[0].payload["figures"]
    measured = {
        "household_size": declared["size"],
        **{k: v for k, v in declared.items() if k != "size"},
        **extra,
    }
    return await h.act(case_id, by, "approve", "已入户调查", findings(GR2, GR3, **measured))


async def advance(h: Harness, case_id: str, to: str) -> CaseView:
    """Work the case with the usual people, stage by stage, until it is at `to`."""
    for _ in range(20):
        s = await state(h, case_id)
        if s.stage == to or s.status != "open":
            break
        stage = s.stage
        if stage == Stage.GRASSROOTS_REVIEW:
            await h.act(case_id, GR2, "approve", "材料齐全")
        elif stage == Stage.HOME_VISIT:
            await visit(h, case_id)
        elif stage == Stage.PUBLIC_NOTICE:
            await end_notice(h, case_id)
        elif stage == Stage.DISTRICT_REVIEW:
            await h.act(case_id, OFFICER, "approve", "审核通过")
        elif stage == Stage.DISTRICT_APPROVAL:
            await h.act(case_id, LEADER, "approve", "同意")
        elif stage == Stage.CITY_REVIEW:
            await h.act(case_id, CITY_OFFICER, "approve", "市总审核通过")
        elif stage == Stage.CITY_APPROVAL:
            await h.act(case_id, CITY_LEADER, "approve", "同意")
        elif stage == Stage.DISBURSEMENT:
            await after_disbursement(h, case_id)
        elif stage == Stage.AWAITING_FUNDS:  # woken by a top-up: give it a moment
            await h.env.sleep(5)
        elif stage == Stage.RECEIPT_CONFIRMATION:
            await h.act(case_id, GR2, "approve", "电话回访，申请人确认已到账")
        elif stage == Stage.REGISTRATION:
            await h.act(case_id, OFFICER, "approve", "已录入全国系统", REGISTERED)
        else:
            raise AssertionError(f"no step for stage {stage!r}")
    s = await state(h, case_id)
    assert s.stage == to, f"{case_id} stopped at {s.stage} ({s.status}, {s.closed_reason})"
    return CaseView.of(s)


async def after_disbursement(h: Harness, case_id: str) -> CaseView:
    """Wait until the transfer succeeded or the case ended, skipping retry back-offs."""
    for _ in range(40):
        s = await state(h, case_id)
        if s.stage != Stage.DISBURSEMENT or s.status != "open":
            return await h.result(case_id) if s.status != "open" else CaseView.of(s)
        await h.env.sleep(5)
    raise AssertionError(f"{case_id} still at disbursement")


def event_types(h: Harness, case_id: str) -> list[str]:
    return [e.type for e in h.store.read(case_id)]


def events_of(h: Harness, case_id: str, type_: str) -> list[Any]:
    return [e for e in h.store.read(case_id) if e.type == type_]


def tasks(h: Harness, case_id: str) -> list[dict[str, Any]]:
    """The case's rows in the `case_tasks` projection, in the order they were opened."""
    order = [e.payload["task_id"] for e in events_of(h, case_id, "task.opened")]
    with h.engine.connect() as conn:
        rows = {
            r["task_id"]: dict(r)
            for r in conn.execute(select(case_tasks).where(case_tasks.c.case_id == case_id))
            .mappings()
            .all()
        }
    assert set(rows) == set(order), "case_tasks and task.opened events disagree"
    return [rows[t] for t in order]


def case_row(h: Harness, case_id: str) -> dict[str, Any]:
    with h.engine.connect() as conn:
        return dict(conn.execute(select(cases).where(cases.c.case_id == case_id)).mappings().one())


def ledger(h: Harness, case_id: str) -> list[tuple[str, int]]:
    with h.engine.connect() as conn:
        rows = conn.execute(
            select(relief_fund_ledger.c.entry, relief_fund_ledger.c.amount_fen)
            .where(relief_fund_ledger.c.case_id == case_id)
            .order_by(relief_fund_ledger.c.seq)
        ).all()
    return [(r.entry, r.amount_fen) for r in rows]


async def history(h: Harness, case_id: str) -> WorkflowHistory:
    return await h.env.client.get_workflow_handle(case_id).fetch_history()


def history_types(hist: WorkflowHistory) -> list[str]:
    return [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in hist.events]


WORKFLOW_TASK_ONLY = {"WORKFLOW_TASK_SCHEDULED", "WORKFLOW_TASK_STARTED", "WORKFLOW_TASK_COMPLETED"}
"""What a rejected Update may leave on the time-skipping test server, which does not
implement speculative workflow tasks (a real server drops even these)."""


# -- time and task clocks ------------------------------------------------------------


def end_of_day(day: date) -> datetime:
    """24:00 Beijing time of `day`, in UTC: how deadlines are expressed."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA_TZ).astimezone(UTC)


def beijing_date(moment: datetime, days: int = 0) -> str:
    """The Beijing date `days` after `moment`'s, as YYYY-MM-DD (an extension's `until`)."""
    return (moment.astimezone(CHINA_TZ).date() + timedelta(days=days)).isoformat()


async def escalation_of(h: Harness, case_id: str, config: HardshipConfig = QUICK) -> datetime:
    """When the open task escalates under `config` (its calendar and grace)."""
    s = await state(h, case_id)
    assert s.task is not None
    at = escalates_at(
        s.task, WorkingCalendar(config.calendar), config.escalation_grace_working_days
    )
    assert at is not None
    return at


async def sleep_until(h: Harness, moment: datetime) -> None:
    """Skip the server's clock forward to `moment` (it never goes back)."""
    now = await h.env.get_current_time()
    assert moment >= now, f"{moment} is in the server's past ({now})"
    await h.env.sleep((moment - now).total_seconds())


async def settled_state(h: Harness, case_id: str) -> CaseState:
    """The open case's state once what it has decided is recorded. The `sync` Update
    runs after any workflow task in flight (which the test server's describe does not
    show), so a timer that has fired has been handled."""
    await h.settled(case_id)
    await h.env.client.get_workflow_handle(case_id).execute_update("sync", result_type=CaseView)
    return await state(h, case_id)


async def quiesce(h: Harness, case_id: str) -> None:
    """Until the case has nothing in flight: no activity, and two `sync` Updates in a row
    (each handled after any workflow task before it) see the same recorded events.
    Teardown terminates running cases; one terminated in the middle of a workflow task
    (which the test server's describe does not show) holds time skipping for the rest
    of the session."""
    handle = h.env.client.get_workflow_handle(case_id)
    seen = None
    for _ in range(50):
        if not await h.settled(case_id):
            return  # closed
        seq = (await handle.execute_update("sync", result_type=CaseView)).seq
        if seq == seen:
            return
        seen = seq
    raise AssertionError(f"{case_id} never settled")


def notices(h: Harness, case_id: str) -> list[dict[str, Any]]:
    """The case's rows in the `notifications` outbox, in event order."""
    with h.engine.connect() as conn:
        rows = conn.execute(
            select(notifications)
            .where(notifications.c.case_id == case_id)
            .order_by(notifications.c.seq)
        ).mappings()
        return [dict(r) for r in rows]


async def search_attributes(h: Harness, case_id: str) -> dict[str, Any]:
    """The workflow's search attributes as the server has them (what the UI filters)."""
    described = await h.env.client.get_workflow_handle(case_id).describe()
    return {pair.key.name: pair.value for pair in described.typed_search_attributes}


def person(h: Harness, who: str) -> dict[str, Any]:
    """A user as the `data.to` of a reassignment: id, roles and district."""
    return h.directory.get(who).actor().model_dump(mode="json")


async def refused_code(
    h: Harness,
    case_id: str,
    who: str,
    action: str,
    comment: str | None = "意见",
    data: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> str:
    """Send an action that must be refused; check the case is as it was. Its code."""
    stored = h.store.read(case_id)
    before = await state(h, case_id)
    with pytest.raises(ActionRefused) as err:
        await h.act(case_id, who, action, comment, data, task_id=task_id)
    assert err.value.message
    assert h.store.read(case_id) == stored
    assert await state(h, case_id) == before
    return err.value.code
