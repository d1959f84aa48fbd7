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

The sandbox also re-imports the workflow modules for every workflow run (new module,
classes and functions: no state shared between runs), and each re-import compiled or
unmarshalled their code again: a cached open case held its own copy of the code objects
of workflows/case.py and workflows/hardship_relief.py, most of the memory a case costs
the worker (BENCHMARKS.md, issue #18). `share_workflow_code` keeps the compiled code of
the `workflows` package's modules once per process; every run still executes the module
body inside the sandbox, with the sandbox's imports and restrictions, into a module of
its own. Code objects are immutable, so sharing them shares no state.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import threading
from collections.abc import Sequence
from types import CodeType
from typing import Any, ClassVar

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
    """The SDK's sandboxed runner (same restrictions), with `_DirectContextInstance`.

    Each new `Worker` validates every workflow it registers by creating it once in the
    sandbox (importing its modules there, about 15 ms a workflow, 0.3 s a worker on the
    CI machine). The outcome depends only on the workflow class and the restrictions, so
    a validation that passed is remembered for the process: a second worker with the
    same workflows (tests build hundreds; `casework up` builds one) does not repeat
    it. A failing validation is never remembered and fails every time, as in the SDK."""

    _validated: ClassVar[dict[tuple[Any, ...], Any]] = {}
    """(workflow class, name, runner class) -> the restrictions it passed under."""

    def prepare_workflow(self, defn: Any) -> None:
        key = (defn.cls, defn.name, self.runner_class)
        if self._validated.get(key) is self.restrictions:
            return
        super().prepare_workflow(defn)
        self._validated[key] = self.restrictions

    def create_instance(self, det: WorkflowInstanceDetails) -> WorkflowInstance:
        return _DirectContextInstance(det, self.runner_class, self.restrictions)


class _SharedCodeLoader(importlib.machinery.SourceFileLoader):
    """A module's source loader whose compiled code is kept, per file as it is on disk
    (path, modification time and size: as Python checks its bytecode cache), and given
    to every later import of the module. Each import still executes it into a new
    module."""

    _codes: dict[tuple[str, int, int], CodeType] = {}
    _lock = threading.Lock()

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        st = os.stat(path)
        key = (path, st.st_mtime_ns, st.st_size)
        code = self._codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is None:  # pragma: no cover - a source file always has code
                raise ImportError(f"no code for {fullname}", name=fullname)
            with self._lock:
                code = self._codes.setdefault(key, code)
        return code


class _SharedCodeFinder(importlib.abc.MetaPathFinder):
    """Finds the modules of `packages` as the other finders do, and loads those that
    come from source files through `_SharedCodeLoader`."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = tuple(packages)

    def covers(self, fullname: str) -> bool:
        return any(fullname == p or fullname.startswith(f"{p}.") for p in self.packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: Any = None
    ) -> importlib.machinery.ModuleSpec | None:
        if not self.covers(fullname):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if type(spec.loader) is not importlib.machinery.SourceFileLoader or not spec.origin:
            return spec
        return importlib.util.spec_from_file_location(
            fullname,
            spec.origin,
            loader=_SharedCodeLoader(fullname, spec.origin),
            submodule_search_locations=spec.submodule_search_locations,
        )


WORKFLOW_PACKAGES = ("workflows",)
_install_lock = threading.Lock()


def share_workflow_code(packages: Sequence[str] = WORKFLOW_PACKAGES) -> None:
    """Load the modules of `packages` through `_SharedCodeLoader` from now on, in this
    process (idempotent)."""
    with _install_lock:
        for finder in sys.meta_path:
            if isinstance(finder, _SharedCodeFinder) and finder.packages == tuple(packages):
                return
        sys.meta_path.insert(0, _SharedCodeFinder(packages))


def workflow_runner() -> CaseworkSandbox:
    """The runner every casework worker (and replayer) uses."""
    share_workflow_code()
    return CaseworkSandbox()
