"""The command side for every edge (CLI, API, web): open cases and act on them through
Temporal. Reads go to the store's projections (`casework.store.queries`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, ActRequest, CaseView
from casework.domain.hardship import CASE_PREFIX, HardshipApplication, StartHardshipCase
from casework.domain.org import Actor, Role
from casework.store.intake import Intake

HARDSHIP_WORKFLOW = "HardshipRelief"


class ActionRefused(Exception):
    """The rules refused what was asked; `code` is stable, `message` is for people."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class CaseNotFound(LookupError):
    pass


class CaseService:
    def __init__(self, client: Client, engine: Engine, task_queue: str) -> None:
        self.client = client
        self.intake = Intake(engine)
        self.task_queue = task_queue

    async def open_hardship(self, application: HardshipApplication, actor: Actor) -> CaseView:
        """Open a hardship relief case; returns its view once the opening is recorded."""
        district = application.applicant.district
        if not actor.has_role(Role.GRASSROOTS_OFFICER):
            raise ActionRefused("role_not_held", "立案需要 grassroots_officer 角色 (role required)")
        if not actor.covers(district):
            raise ActionRefused(
                "outside_jurisdiction",
                f"申请人所在区县 {district} 不在您的管辖范围 {actor.district} 内 (outside jurisdiction)",
                "applicant.district",
            )
        a = application.applicant
        year = datetime.now(UTC).astimezone(CHINA_TZ).year
        case_id = await asyncio.to_thread(
            self.intake.register, CASE_PREFIX, year, a.id_number, a.phone, a.bank_account
        )
        start = StartHardshipCase(
            case_id=case_id,
            opened_by=actor,
            application=application.masked(),
        )
        try:
            handle = await self.client.start_workflow(
                HARDSHIP_WORKFLOW,
                start,
                id=case_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            )
        except BaseException:
            await asyncio.to_thread(self.intake.discard, case_id)
            raise
        return await handle.execute_update("sync", result_type=CaseView)

    async def act(
        self,
        case_id: str,
        actor: Actor,
        action: Action,
        comment: str | None = None,
        data: dict | None = None,  # type: ignore[type-arg]
        idempotency_key: str | None = None,
        expected_stage: str | None = None,
    ) -> CaseView:
        """Send an action; a repeated `idempotency_key` is applied once (Temporal update id)."""
        req = ActRequest(
            actor=actor,
            action=action,
            comment=comment,
            data=data or {},
            expected_stage=expected_stage,
        )
        handle = self.client.get_workflow_handle(case_id)
        try:
            return await handle.execute_update("act", req, id=idempotency_key, result_type=CaseView)
        except WorkflowUpdateFailedError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError):
                details = cause.details[0] if cause.details else {}
                field = details.get("field") if isinstance(details, dict) else None
                raise ActionRefused(cause.type or "refused", cause.message, field) from None
            raise
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise CaseNotFound(
                    f"未找到案件或案件已结束 (no such open case): {case_id}"
                ) from None
            raise
