"""The workflow sandbox casework's workers run, with the SDK's own restrictions.

The SDK's sandbox asks each workflow for the serialization context of every payload
it encodes or decodes (three or four times per payload sequence: codec, external
storage and their reference passes), and each question is a piece of code compiled and executed inside
the sandbox with its import hooks applied. Profiled in the throughput benchmark, those
questions were about an eighth of the worker's CPU per action (BENCHMARKS.md, issue
#18). The answer is a small value built from the workflow's info and its pending
commands; computing it needs no module of the sandbox. `CaseworkSandbox` asks the
sandboxed workflow instance for it directly; workflow code still runs inside the
sandbox exactly as before, under the same restrictions.
"""

from __future__ import annotations

from typing import Any

from temporalio.converter import SerializationContext
from temporalio.worker import WorkflowInstance, WorkflowInstanceDetails
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner
from temporalio.worker.workflow_sandbox._runner import _Instance

_IN_SANDBOX = "__temporal_in_sandbox"
"""Where the SDK's sandbox keeps the workflow instance it created inside the sandbox."""


class _DirectContextInstance(_Instance):
    """A sandboxed workflow whose serialization and storage contexts are read without
    entering the sandbox (everything else as in the SDK)."""

    def _inner(self) -> Any:
        return self.globals_and_locals.get(_IN_SANDBOX)

    def get_serialization_context(self, command_info: Any) -> SerializationContext | None:
        inner = self._inner()
        if inner is None:  # not created (yet): the SDK's way
            return super().get_serialization_context(command_info)
        context: SerializationContext | None = inner.get_serialization_context(command_info)
        return context

    def get_external_store_context(self, command_info: Any) -> Any:
        inner = self._inner()
        if inner is None:
            return super().get_external_store_context(command_info)
        return inner.get_external_store_context(command_info)


class CaseworkSandbox(SandboxedWorkflowRunner):
    """The SDK's sandboxed runner (same restrictions), with `_DirectContextInstance`."""

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _DirectContextInstance(det, self.runner_class, self.restrictions)


def workflow_runner() -> CaseworkSandbox:
    """The runner every casework worker (and replayer) uses."""
    return CaseworkSandbox()
