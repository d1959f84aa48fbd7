"""The SDK core's own (Rust) log lines reach Python logging, where they are masked."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from casework.temporal import runtime


@activity.defn
async def nothing() -> None:
    pass


async def test_core_warnings_go_through_python_logging(
    env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    """A worker started against the test server makes the core warn (no heartbeat-details
    capability on that server). With casework's runtime the warning arrives as a record
    of the `temporalio.core` logger, so the masking of casework.logging applies to it,
    instead of being printed straight to stderr by the core."""
    client = await Client.connect(
        env.client.service_client.config.target_host,
        namespace=env.client.namespace,
        runtime=runtime(),
    )
    caplog.set_level(logging.WARNING, logger="temporalio.core")
    async with Worker(client, task_queue=f"core-logs-{uuid.uuid4()}", activities=[nothing]):
        for _ in range(50):
            if any(r.name.startswith("temporalio.core") for r in caplog.records):
                break
            await asyncio.sleep(0.1)
    core = [r for r in caplog.records if r.name.startswith("temporalio.core")]
    assert core, "no core log line reached Python logging"
    assert any("heartbeat" in r.getMessage() for r in core)
