"""A line logged inside a workflow's sandbox (the working-day calendar's warning about a
year it does not know, from a domain module) goes through the log processors like any
other: adding the trace context must not import the tracing module inside the sandbox,
where OpenTelemetry's import reads the environment the sandbox forbids."""

from __future__ import annotations

import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

with workflow.unsafe.imports_passed_through():
    from casework.logging import add_trace_context


@workflow.defn(name="LogsInsideTheSandbox")
class LogsInsideTheSandbox:
    @workflow.run
    async def run(self) -> dict[str, str]:
        return dict(add_trace_context(None, "warning", {"event": "calendar.unknown_year"}))


async def test_the_trace_context_processor_runs_inside_the_sandbox(
    env: WorkflowEnvironment,
) -> None:
    queue = f"tq-{uuid.uuid4()}"
    async with Worker(env.client, task_queue=queue, workflows=[LogsInsideTheSandbox]):
        line = await env.client.execute_workflow(
            LogsInsideTheSandbox.run,
            id=f"log-{uuid.uuid4()}",
            task_queue=queue,
            execution_timeout=timedelta(seconds=30),
        )
    assert line == {"event": "calendar.unknown_year"}
