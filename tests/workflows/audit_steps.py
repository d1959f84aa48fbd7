"""Moving an audit project (工会经费审计) along with the demo people, through the real
service and worker, as tests/workflows/legal_aid_steps.py does for legal aid.

The cast (casework/demo/people.py): LEAD (the city's audit lead) opens the project and
signs the report; AUDITOR and AUDITOR2 are its team; UNIT and UNIT2 are officers of the
audited district (崇川区), who reply to the draft and rectify; SUPERVISOR supervises it.

Actions on one of several open tasks (a finding's rectification) name the task: until
the service takes a task id (the edges' work), they go to the workflow's `act` Update
directly, as the service would send them (the worker still checks who acts).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from casework.domain.audit import (
    APPLICATION_EXAMPLE,
    CASE_PREFIX,
    CASE_TYPE,
    AuditApplication,
    Finding,
    findings,
)
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import ActRequest, CaseView
from casework.domain.registry import known_action
from casework.store.tables import case_sequences
from tests.workflows.conftest import Harness, _case_number_blocks
from tests.workflows.legal_aid_steps import today
from tests.workflows.steps import sleep_until, state

LEAD = "city.auditlead"
AUDITOR = "city.auditor"
AUDITOR2 = "city.auditor2"
UNIT = "chongchuan.officer1"
UNIT2 = "chongchuan.officer2"
SUPERVISOR = "chongchuan.supervisor"
DISTRICT = "崇川区"

FINDING: dict[str, Any] = {
    "finding_type": "irregular_spending",
    "amount_fen": 1_250_000,
    "description": "帮扶资金列支职工疗休养费用",
    "evidence": "底稿 W-03，凭证 2025-07-112",
}


def number_audit_cases(h: Harness) -> None:
    """Audit project numbers from a block of this harness's own (the Temporal server may
    outlive the test's database)."""
    first = next(_case_number_blocks) * 1000
    year = datetime.now(UTC).astimezone(CHINA_TZ).year  # as the service numbers them
    with h.engine.begin() as conn:
        for y in (year, year + 1):
            conn.execute(
                insert(case_sequences).values(prefix=CASE_PREFIX, year=y, last_value=first)
            )


async def open_audit(h: Harness, starts_on: date, by: str = LEAD, **overrides: Any) -> CaseView:
    """Open the README's special audit of 崇川区's relief money, fieldwork planned for
    `starts_on`, through the service as the edges do."""
    app = AuditApplication.model_validate(
        {**APPLICATION_EXAMPLE, "fieldwork_starts_on": starts_on.isoformat(), **overrides}
    )
    view = await h.service.open_case(CASE_TYPE, app, h.directory.get(by).actor())
    h.opened.append(view.case_id)
    return view


async def act_on(
    h: Harness,
    case_id: str,
    who: str,
    action: str,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
    task_id: str | None = None,
) -> CaseView:
    """An action naming the open task it is on (`task_id`), sent to the case's workflow."""
    req = ActRequest(
        actor=h.directory.get(who).actor(),
        action=known_action(action),
        comment=comment,
        data=data or {},
        task_id=task_id,
    )
    handle = h.env.client.get_workflow_handle(case_id)
    return await handle.execute_update("act", req, result_type=CaseView)


async def refused_on(h: Harness, case_id: str, who: str, action: str, **kw: Any) -> str:
    """The code of an action (as `act_on`) that must be refused; nothing recorded."""
    stored = h.store.read(case_id)
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await act_on(h, case_id, who, action, **kw)
    assert h.store.read(case_id) == stored
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    return str(cause.type)


async def findings_of(h: Harness, case_id: str) -> dict[str, Finding]:
    return {f.id: f for f in findings(await state(h, case_id))}


async def task_of(h: Harness, case_id: str, finding_id: str) -> str:
    task = (await findings_of(h, case_id))[finding_id].task_id
    assert task is not None, finding_id
    return task


async def into_fieldwork(h: Harness) -> str:
    """A project opened today with fieldwork in 3 days: the notice issued, the days
    skipped, fieldwork started. Its id."""
    t0 = await today(h)
    cid = (await open_audit(h, t0 + timedelta(days=3))).case_id
    await h.act(cid, AUDITOR, "approve", "审计通知书已送达")
    await sleep_until(h, datetime.combine(t0 + timedelta(days=3), datetime.min.time(), CHINA_TZ))
    await h.act(cid, AUDITOR, "start-fieldwork", "进点")
    return cid


async def record(h: Harness, case_id: str, by: str = AUDITOR, **data: Any) -> CaseView:
    return await h.act(case_id, by, "record-finding", None, {**FINDING, **data})


async def send_draft(h: Harness, case_id: str) -> CaseView:
    return await h.act(case_id, AUDITOR, "approve", "征求意见稿：发现问题如附件")


async def into_rectification(h: Harness, amounts: tuple[int, ...] = (1_000_000, 50_000)) -> str:
    """A project whose findings (one per amount) are in rectification: recorded, the
    draft sent, the unit's reply (no objection), the lead's report."""
    cid = await into_fieldwork(h)
    for amount in amounts:
        await record(h, cid, amount_fen=amount)
    await send_draft(h, cid)
    await h.act(cid, UNIT, "approve", "对征求意见稿无异议")
    view = await h.act(cid, LEAD, "approve", "审计报告和审计决定：限期六十日整改")
    assert view.stage == "rectification", view.stage
    return cid
