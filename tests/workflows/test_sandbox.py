"""The worker's sandbox (casework.sandbox) answers the SDK's serialization-context
questions without entering the sandbox, and gives the answers the SDK's own path gives;
workflow code still runs inside the sandbox, under its restrictions."""

from __future__ import annotations

from typing import Any

import temporalio.workflow
from sqlalchemy import Engine
from temporalio.api.enums.v1 import CommandType
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox._runner import _fake_info

from casework.sandbox import CaseworkSandbox, _DirectContextInstance
from worker import build_worker
from workflows.hardship_relief import HardshipReliefWorkflow


def details() -> WorkflowInstanceDetails:
    from temporalio.api.common.v1 import Payloads
    from temporalio.api.failure.v1 import Failure

    return WorkflowInstanceDetails(
        payload_converter_factory=DataConverter.default._new_payload_converter,
        failure_converter_class=DataConverter.default.failure_converter_class,
        interceptor_classes=[],
        defn=temporalio.workflow._Definition.must_from_class(HardshipReliefWorkflow),
        info=_fake_info,
        randomness_seed=1,
        extern_functions={},
        disable_eager_activity_execution=False,
        worker_level_failure_exception_types=[],
        patch_activation_callback=None,
        last_completion_result=Payloads(),
        last_failure=Failure(),
    )


async def test_contexts_are_the_ones_the_sdk_path_gives() -> None:
    instance = CaseworkSandbox().create_instance(details())
    assert isinstance(instance, _DirectContextInstance)
    # The in-sandbox instance is found (an SDK that renamed it would fall back silently).
    assert instance._inner() is not None
    asked = [
        None,
        CommandInfo(CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK, 7),
        CommandInfo(CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION, 3),
    ]
    for info in asked:
        direct = instance.get_serialization_context(info)
        through_sandbox = super(_DirectContextInstance, instance).get_serialization_context(info)
        assert direct == through_sandbox
        assert instance.get_external_store_context(info) == super(
            _DirectContextInstance, instance
        ).get_external_store_context(info)
    assert instance.get_serialization_context(None) is not None


async def test_the_workflow_module_is_still_imported_inside_the_sandbox() -> None:
    instance = CaseworkSandbox().create_instance(details())
    assert isinstance(instance, _DirectContextInstance)
    inner: Any = instance.globals_and_locals["__temporal_workflow_class"]
    # The sandbox re-imported the workflow's module: a class of its own, not ours.
    assert inner is not HardshipReliefWorkflow
    assert inner.__name__ == HardshipReliefWorkflow.__name__


async def test_workers_run_casework_sandbox(
    env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    worker = build_worker(env.client, sqlite_engine, task_queue="sandbox-check")
    assert isinstance(worker.config().get("workflow_runner"), CaseworkSandbox)
