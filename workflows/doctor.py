"""The scheduled doctor (`casework-doctor`, daily from casework/schedules.toml): a thin
workflow around one activity that runs `casework doctor` report-only and logs and
counts what it finds. Repairs stay a person's decision (`casework doctor --repair`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from casework.domain.contracts import DOCTOR_REPORT, DoctorReport

DOCTOR_WORKFLOW = "casework-doctor"


@workflow.defn(name=DOCTOR_WORKFLOW)
class DoctorWorkflow:
    @workflow.run
    async def run(self, _: dict[str, Any] | None = None) -> DoctorReport:
        return await workflow.execute_activity(
            DOCTOR_REPORT,
            result_type=DoctorReport,
            # Tens of thousands of open cases, 32 described at once: minutes, not hours.
            start_to_close_timeout=timedelta(hours=1),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
