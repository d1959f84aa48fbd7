"""The worker's sandbox (casework.sandbox) answers the SDK's serialization-context
questions without entering the sandbox, and gives the answers the SDK's own path gives;
workflow code still runs inside the sandbox, under its restrictions. Runs share the
workflow modules' compiled code, and nothing else."""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
import temporalio.workflow
from sqlalchemy import Engine
from temporalio.api.enums.v1 import CommandType
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import WorkflowInstanceDetails
from temporalio.worker._command_aware_visitor import CommandInfo
from temporalio.worker.workflow_sandbox import RestrictedWorkflowAccessError
from temporalio.worker.workflow_sandbox._runner import _fake_info

from casework.sandbox import (
    CaseworkSandbox,
    _DirectContextInstance,
    _SharedCodeFinder,
    share_workflow_code,
    workflow_runner,
)
from worker import WORKFLOWS, build_worker
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


def sandboxed_module(instance: Any, name: str) -> Any:
    """The module `name` as the sandbox of this workflow run imported it."""
    return instance.importer.new_modules[name]


async def test_runs_share_the_workflow_code_and_nothing_else() -> None:
    runner = workflow_runner()
    assert any(
        isinstance(f, _SharedCodeFinder) and f.covers("workflows.case") for f in sys.meta_path
    )
    a, b = runner.create_instance(details()), runner.create_instance(details())
    case_a, case_b = sandboxed_module(a, "workflows.case"), sandboxed_module(b, "workflows.case")
    # Each run imported the module itself: its own module, functions, classes, globals.
    assert case_a is not case_b
    assert case_a.CaseWorkflow is not case_b.CaseWorkflow
    assert case_a.activity_failure is not case_b.activity_failure
    assert case_a.activity_failure.__globals__ is not case_b.activity_failure.__globals__
    # ...from the same compiled code.
    assert case_a.activity_failure.__code__ is case_b.activity_failure.__code__
    relief_a = sandboxed_module(a, "workflows.hardship_relief")
    relief_b = sandboxed_module(b, "workflows.hardship_relief")
    assert relief_a.HardshipReliefWorkflow is not relief_b.HardshipReliefWorkflow
    assert relief_a._paused.__code__ is relief_b._paused.__code__
    # What one run changes in its module, another does not see.
    case_a.UPDATES_PER_RUN = -1
    assert case_b.UPDATES_PER_RUN != -1


async def test_shared_code_still_runs_under_the_sandbox_restrictions() -> None:
    instance: Any = workflow_runner().create_instance(details())
    module = sandboxed_module(instance, "workflows.case")
    # parse_time's globals are the run's module, whose imports went through the sandbox:
    # `datetime` there is the sandbox's restricted proxy, not the class itself.
    clock = module.parse_time.__globals__["datetime"]
    from datetime import datetime

    assert clock is not datetime
    context = instance.importer.restriction_context
    context.is_runtime = True
    try:
        with pytest.raises(RestrictedWorkflowAccessError):
            clock.now()
    finally:
        context.is_runtime = False


def test_a_module_changed_on_disk_is_compiled_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "shared_code_probe"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "steps.py"
    source.write_text("def step():\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))  # the finder goes after
    share_workflow_code(("shared_code_probe",))

    def fresh() -> Any:
        for name in ("shared_code_probe.steps", "shared_code_probe"):
            monkeypatch.delitem(sys.modules, name, raising=False)
        return importlib.import_module("shared_code_probe.steps")

    first, second = fresh(), fresh()
    assert first is not second
    assert first.step is not second.step
    assert first.step.__code__ is second.step.__code__
    later = os.stat(source).st_mtime_ns + 2_000_000_000
    source.write_text("def step():\n    return 2\n")
    os.utime(source, ns=(later, later))
    third = fresh()
    assert third.step() == 2
    assert third.step.__code__ is not first.step.__code__


async def test_a_passed_validation_is_remembered_a_failed_one_is_not(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each Worker validates its workflows in the sandbox; a class that passed once in
    this process is not validated again, one that failed fails every time."""
    created: list[str] = []
    sdk_create = CaseworkSandbox.create_instance

    def counting(self: CaseworkSandbox, det: WorkflowInstanceDetails) -> Any:
        created.append(str(det.defn.name))
        return sdk_create(self, det)

    monkeypatch.setattr(CaseworkSandbox, "create_instance", counting)
    monkeypatch.setattr(CaseworkSandbox, "_validated", {})
    defn = temporalio.workflow._Definition.must_from_class(HardshipReliefWorkflow)
    workflow_runner().prepare_workflow(defn)
    workflow_runner().prepare_workflow(defn)
    assert created == [str(defn.name)]

    def refuse(self: CaseworkSandbox, det: WorkflowInstanceDetails) -> Any:
        created.append(str(det.defn.name))
        raise RestrictedWorkflowAccessError("datetime.datetime.now")

    monkeypatch.setattr(CaseworkSandbox, "create_instance", refuse)
    [other] = [w for w in WORKFLOWS if w is not HardshipReliefWorkflow][:1]
    bad = temporalio.workflow._Definition.must_from_class(other)
    for _ in range(2):
        with pytest.raises(RestrictedWorkflowAccessError):
            workflow_runner().prepare_workflow(bad)
    assert created == [str(defn.name), str(bad.name), str(bad.name)]
