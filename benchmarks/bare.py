"""The baseline workflow: an Update handler that does nothing but increment a counter.

Kept free of casework imports so the sandbox re-imports nothing else per run.
"""

from __future__ import annotations

from temporalio import workflow


@workflow.defn(name="BenchCounter")
class CounterWorkflow:
    def __init__(self) -> None:
        self.count = 0
        self.done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.done)
        return self.count

    @workflow.update
    def bump(self) -> int:
        self.count += 1
        return self.count

    @workflow.signal
    def finish(self) -> None:
        self.done = True
