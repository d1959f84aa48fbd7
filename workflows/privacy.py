"""The scheduled retention check (`casework-privacy-due`, monthly from
casework/schedules.toml): a thin workflow around one activity that lists, in the log
and the metrics, what `casework privacy sweep` would erase. Erasing is irreversible and
stays an administrator's decision."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from casework.domain.contracts import PRIVACY_DUE_REPORT, PrivacyDueReport

PRIVACY_DUE_WORKFLOW = "casework-privacy-due"


@workflow.defn(name=PRIVACY_DUE_WORKFLOW)
class PrivacyDueWorkflow:
    @workflow.run
    async def run(self, _: dict[str, Any] | None = None) -> PrivacyDueReport:
        return await workflow.execute_activity(
            PRIVACY_DUE_REPORT,
            result_type=PrivacyDueReport,
            start_to_close_timeout=timedelta(minutes=30),
            retry_policy=RetryPolicy(maximum_attempts=3),
        )
