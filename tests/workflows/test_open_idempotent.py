"""Opening a case with an idempotency key (`case open --key`, the API's `Idempotency-Key`
header, the web form's hidden key): sent again after a timeout or a lost answer, the
opening finds the case it opened instead of opening a second one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import CASE_PREFIX
from casework.service import HARDSHIP_WORKFLOW, ActionRefused, opening_fingerprint
from casework.store.tables import case_sequences
from tests.factories import application
from tests.workflows.conftest import Harness
from tests.workflows.steps import OPENER, event_types


def last_number(h: Harness) -> int:
    with h.engine.connect() as conn:
        return max(conn.execute(select(case_sequences.c.last_value)).scalars())


async def latest_run(h: Harness, case_id: str) -> tuple[str, WorkflowExecutionStatus | None]:
    """The run id and status of the case's latest workflow run ("" if none started).
    (The raw call: the test server's description of an unset time search attribute
    does not decode.)"""
    client = h.env.client
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=case_id)
            )
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return "", None
        raise
    info = described.workflow_execution_info
    return info.execution.run_id, WorkflowExecutionStatus(info.status)


async def test_the_same_opening_sent_twice_opens_one_case(harness: Harness) -> None:
    h = harness
    actor = h.directory.get(OPENER).actor()
    app = application()
    before = last_number(h)
    first = await h.service.open_hardship(app, actor, "web-form-1")
    again = await h.service.open_hardship(app, actor, "web-form-1")
    assert again == first
    assert last_number(h) == before + 1
    assert event_types(h, first.case_id).count("case.opened") == 1
    # Both sendings at once (another applicant's): still that one case.
    other = application()
    both = await asyncio.gather(
        *(h.service.open_hardship(other, actor, "web-form-2") for _ in range(2))
    )
    assert both[0].case_id == both[1].case_id != first.case_id
    assert last_number(h) == before + 2


async def test_an_opening_registered_but_never_started_is_started_when_sent_again(
    harness: Harness,
) -> None:
    """The first sending allocated the number and died before starting the workflow
    (process killed, connection lost): the second starts that case."""
    h = harness
    actor = h.directory.get(OPENER).actor()
    app = application()
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    registered = h.service.intake.register(
        CASE_PREFIX,
        year,
        app.personal_fields(),
        "cli-open-1",
        opening_fingerprint(HARDSHIP_WORKFLOW, actor, app),
    )
    assert await latest_run(h, registered.case_id) == ("", None)
    view = await h.service.open_hardship(app, actor, "cli-open-1")
    assert (view.case_id, view.stage) == (registered.case_id, "grassroots_review")
    run, status = await latest_run(h, view.case_id)
    assert run and status == WorkflowExecutionStatus.RUNNING
    assert event_types(h, view.case_id).count("case.opened") == 1


async def test_a_closed_case_is_found_not_opened_again(harness: Harness) -> None:
    """Sent again after the case has ended (withdrawn here): its final view, and no
    second run of its workflow (a case number names one case for ever)."""
    h = harness
    actor = h.directory.get(OPENER).actor()
    app = application()
    opened = await h.service.open_hardship(app, actor, "k-closed")
    run, _status = await latest_run(h, opened.case_id)
    await h.act(opened.case_id, OPENER, "withdraw", "申请人撤回")
    await h.result(opened.case_id)
    again = await h.service.open_hardship(app, actor, "k-closed")
    assert (again.case_id, again.status, again.outcome) == (opened.case_id, "closed", "withdrawn")
    assert await latest_run(h, opened.case_id) == (run, WorkflowExecutionStatus.COMPLETED)


async def test_the_key_sent_with_another_application_is_refused(harness: Harness) -> None:
    h = harness
    actor = h.directory.get(OPENER).actor()
    opened = await h.service.open_hardship(application(), actor, "k-1")
    other = application(requested_amount_fen=450000)
    with pytest.raises(ActionRefused) as refused:
        await h.service.open_hardship(other, actor, "k-1")
    assert (refused.value.code, refused.value.field) == ("idempotency_key_reused", "key")
    assert opened.case_id in refused.value.message
    # Another officer sending the same application with that key is refused too.
    colleague = h.directory.get("chongchuan.grassroots2").actor()
    with pytest.raises(ActionRefused):
        await h.service.open_hardship(application(), colleague, "k-1")
