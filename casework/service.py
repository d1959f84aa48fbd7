"""The command side for every edge (CLI, API, web): open cases and act on them through
Temporal. Reads go to the store's projections (`casework.store.queries`)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

from sqlalchemy import Engine
from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, ActRequest, CaseView, Refused
from casework.domain.case_type import Application, CaseType, after_close_event_id
from casework.domain.org import Actor
from casework.domain.register import (
    ExitRequest,
    HouseholdExitStart,
    HouseholdRecord,
    check_exit_allowed,
    exit_event_id,
)
from casework.domain.registry import CASE_TYPES
from casework.domain.registry import case_type as registered
from casework.domain.text import check_text
from casework.privacy.codec import keyring_of
from casework.privacy.keys import Keyring
from casework.service_errors import ActionPending as ActionPending
from casework.service_errors import ActionRefused as ActionRefused
from casework.service_errors import CaseNotFound as CaseNotFound
from casework.store.directory import Directory, UnknownUser, UserDisabled
from casework.store.event_store import canonical_json
from casework.store.households import HouseholdDetail, HouseholdRegister
from casework.store.identities import ApplicationInProgress, PersonOnRegister
from casework.store.intake import Intake, KeyReused
from casework.store.queries import Queries

T = TypeVar("T")

HARDSHIP_WORKFLOW = "HardshipRelief"
"""The hardship workflow's type name (kept for the fingerprints of earlier openings)."""
HOUSEHOLD_EXIT_WORKFLOW = "HouseholdExit"
TASK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
"""A task id as the workflows make them (a UUID) and the API's schema states it."""
TASK_ID = re.compile(TASK_ID_PATTERN[1:-1])
MAX_ACTION_DATA_BYTES = 64_000
"""An action's data (home-visit findings and the like) as JSON, in UTF-8 bytes."""


def _type_of(case_id: str) -> CaseType | None:
    """The registered type whose case numbers `case_id` has (its prefix)."""
    return next((t for t in CASE_TYPES.values() if case_id.startswith(f"{t.prefix}-")), None)


def opening_fingerprint(case_type: str, actor: Actor, application: Application) -> str:
    """What an opening asked for, as sha256 hex: the type, the opener and the application
    as the workflow gets it (personal fields masked), so that the digest reveals
    nothing the case row does not show."""
    asked = {
        "type": case_type,
        "opened_by": actor.id,
        "application": application.masked().model_dump(mode="json"),
    }
    return hashlib.sha256(canonical_json(asked).encode()).hexdigest()


UPDATE_ABORTED_TRIES = 20
"""Sendings of one Update that the server asks to send again: aborted because the
worker holding the case died before accepting it, or refused while the case's last
workflow task failed or timed out and is being retried (a worker killed or starved).
Backing off to 4 s, 20 sendings span about a minute: a killed worker's workflow task
times out after 10 s and a starved one's retry can take several of those (8 s, six
sendings, ran out in a loaded CI run). A caller with a shorter wait hears
`ActionPending` first."""


def send_again(err: RPCError) -> bool:
    """Whether the server answered that the Update should be sent again: aborted (its
    worker died before accepting it) or refused as not ready (the workflow's task is
    being retried). Still so after `sent_again_if_aborted`'s minute: the caller with a
    wait answers "pending, send it again later" (`ActionPending`)."""
    if err.status == RPCStatusCode.UNAVAILABLE:
        return "aborted" in err.message  # "workflow update was aborted"
    # WorkflowNotReady: "... due to Workflow Task in failed state"
    return err.status == RPCStatusCode.FAILED_PRECONDITION and "Workflow Task" in err.message


async def sent_again_if_aborted(send: Callable[[], Awaitable[T]]) -> T:
    """`send()`, again (backing off, about a minute in all) while the server answers that
    the Update should be sent again (`send_again`). The same Update id each time, so
    it is applied at most once."""
    for attempt in range(UPDATE_ABORTED_TRIES):
        try:
            return await send()
        except RPCError as err:
            if not send_again(err) or attempt == UPDATE_ABORTED_TRIES - 1:
                raise
        await asyncio.sleep(min(0.25 * 2**attempt, 4.0))
    raise AssertionError("unreachable")


async def _opening_refusal(handle: WorkflowHandle[Any, Any]) -> ActionRefused | None:
    """The refusal a case workflow failed with at its opening, if that is how it ended."""
    try:
        await handle.result()
    except WorkflowFailureError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.non_retryable:
            details = cause.details[0] if cause.details else {}
            field = details.get("field") if isinstance(details, dict) else None
            return ActionRefused(cause.type or "refused", cause.message, field)
    return None


class CaseService:
    def __init__(
        self, client: Client, engine: Engine, task_queue: str, keyring: Keyring | None = None
    ) -> None:
        """`keyring`: the master keys for personal data; by default those of the client's
        payload codec (`casework.temporal.connect`)."""
        self.client = client
        self.engine = engine
        self.intake = Intake(engine, keyring or keyring_of(client.data_converter))
        self.task_queue = task_queue

    async def open_hardship(
        self,
        application: Any,
        actor: Actor,
        idempotency_key: str | None = None,
        wait: float | None = None,
    ) -> CaseView:
        """Open a hardship relief case (`open_case("hardship", ...)`)."""
        return await self.open_case("hardship", application, actor, idempotency_key, wait)

    async def open_case(
        self,
        case_type: str | CaseType,
        application: Any,
        actor: Actor,
        idempotency_key: str | None = None,
        wait: float | None = None,
    ) -> CaseView:
        """Open a case of a registered type from its validated application; returns its
        view once the opening is recorded.

        `idempotency_key`: sending the same opening again with it (after a timeout, a
        lost answer) returns the case it opened instead of opening another; the same key
        with a different application is refused. `wait`: as for `act`."""
        try:
            kind = case_type if isinstance(case_type, CaseType) else registered(case_type)
            if not isinstance(application, kind.application_model):
                raise TypeError(f"{kind.name}: expected a {kind.application_model.__name__}")
            app = cast(Application, application)
            kind.check_opener(actor, app)
        except Refused as r:
            raise ActionRefused(r.code, r.message, r.field) from None
        year = datetime.now(UTC).astimezone(CHINA_TZ).year
        if idempotency_key is None and wait is not None:
            idempotency_key = f"open-{uuid.uuid4()}"  # so that "try again" can name one
        # The number, the case's data key and the personal fields sealed with it: the
        # workflow input carries ciphertext, never the clear values.
        try:
            case_id, personal, again = await asyncio.to_thread(
                self.intake.register,
                kind.prefix,
                year,
                app.personal_fields(),
                idempotency_key,
                opening_fingerprint(kind.workflow_name, actor, app),
                # One person, one application or file at a time (the register).
                app.identity() if kind.one_file_per_person else None,
            )
        except KeyReused as e:
            raise ActionRefused("idempotency_key_reused", str(e), "key") from None
        except PersonOnRegister as e:
            raise ActionRefused("already_on_register", str(e), "applicant.id_number") from None
        except ApplicationInProgress as e:
            raise ActionRefused("application_open", str(e), "applicant.id_number") from None
        start = kind.start_input(case_id, actor, app.masked(), personal)
        handle: WorkflowHandle[Any, Any]
        try:
            handle = await self.client.start_workflow(
                kind.workflow_name,
                start,
                id=case_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                # A case number names one case for ever, closed or not.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
        except WorkflowAlreadyStartedError:
            if idempotency_key is None:  # not ours: a number Temporal already knows
                await asyncio.to_thread(self.intake.discard, case_id)
                raise
            # Another sending of this opening (at the same time, or before) started it.
            handle = self.client.get_workflow_handle(case_id)
        except BaseException:
            # With a key the registration stays, for the sending again to start; without
            # one nobody can find it again, so its data key goes.
            if idempotency_key is None:
                await asyncio.to_thread(self.intake.discard, case_id)
            raise
        sync = sent_again_if_aborted(lambda: handle.execute_update("sync", result_type=CaseView))
        try:
            return await (sync if wait is None else asyncio.wait_for(sync, wait))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if wait is None or idempotency_key is None:
                raise
            raise ActionPending(case_id, idempotency_key, wait) from None
        except WorkflowUpdateFailedError:
            # The workflow ended before its opening was recorded: a rule the worker
            # checks refused it (a file not on the register, ...). Its refusal, as for
            # an action; nothing was recorded, so without a key its registration goes.
            refused = await _opening_refusal(handle)
            if refused is None:
                raise
            if idempotency_key is None:
                await asyncio.to_thread(self.intake.discard, case_id)
            raise refused from None
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                if wait is not None and idempotency_key is not None and send_again(err):
                    # Still not accepted after a minute of sending again, as an action.
                    raise ActionPending(case_id, idempotency_key, wait) from None
                raise
            # The workflow has ended ("update … not found"). Either the worker refused
            # the opening (this sending, or the first one of this key): that refusal; or
            # the first sending opened it and it has closed since: its recorded view.
            refused = await _opening_refusal(handle)
            if refused is not None:
                if idempotency_key is None:
                    await asyncio.to_thread(self.intake.discard, case_id)
                raise refused from None
            if again:
                return await asyncio.to_thread(Queries(self.engine).case_view, case_id)
            raise

    async def act(
        self,
        case_id: str,
        actor: Actor,
        action: Action | str,
        comment: str | None = None,
        data: dict | None = None,  # type: ignore[type-arg]
        idempotency_key: str | None = None,
        expected_stage: str | None = None,
        wait: float | None = None,
        task_id: str | None = None,
    ) -> CaseView:
        """Send an action; a repeated `idempotency_key` is applied once (Temporal update id).

        `wait`: give up waiting for the outcome after this many seconds and raise
        `ActionPending`, which names the key to send again (one is made if none given).

        `task_id`: the open task acted on where the case has several (an audit's
        rectifications, `CaseView.parallel_tasks`); None: the stage's task, or the one
        task the actor may work. A task the case does not hold is refused naming
        `task_id` (`unknown_task`), as is a choice left open (`task_required`).

        A reassignment's `data.to` (a user id, or an object with `id`) is resolved here
        from the directory, whatever roles or district it claims."""
        kind = _type_of(case_id)
        if kind is not None and str(action) in kind.after_close:
            return await self._after_close(
                kind, case_id, actor, str(action), comment, idempotency_key, wait
            )
        if action == Action.REASSIGN and data and "to" in data:
            data = {**data, "to": await asyncio.to_thread(self._assignee, data["to"])}
        if task_id is not None and not TASK_ID.fullmatch(task_id):
            raise ActionRefused(
                "invalid_task_id",
                "任务编号格式不对 (task_id: 1-64 letters, digits, '.', '_', ':' or '-'; "
                f"got {task_id[:70]!r})",
                "task_id",
            )
        req = ActRequest(
            actor=actor,
            action=action,
            comment=comment,
            data=data or {},
            expected_stage=expected_stage,
            task_id=task_id,
        )
        if comment is not None:
            # Checked here, for every edge, rather than in ActRequest: workflow
            # histories already holding such a comment must still replay.
            try:
                check_text(comment, line_breaks=True)
            except ValueError as e:
                raise ActionRefused("invalid_comment", str(e), "comment") from None
        size = len(json.dumps(data or {}, ensure_ascii=False).encode())
        if size > MAX_ACTION_DATA_BYTES:
            # Every edge (CLI, API, web) goes through here: far larger data would pass
            # Temporal's payload limit and fail the case's workflow task, not the action.
            raise ActionRefused(
                "data_too_large",
                f"附加数据过大 (data too large: {size} bytes, at most {MAX_ACTION_DATA_BYTES})",
                "data",
            )
        req = await asyncio.to_thread(self._sealed, case_id, req)
        key = idempotency_key or str(uuid.uuid4())
        handle = self.client.get_workflow_handle(case_id)
        try:
            update = sent_again_if_aborted(
                lambda: handle.execute_update("act", req, id=key, result_type=CaseView)
            )
            return await (update if wait is None else asyncio.wait_for(update, wait))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if wait is None:
                raise
            raise ActionPending(case_id, key, wait) from None
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
            if wait is not None and send_again(err):
                # Still not accepted after a minute of sending again: the worker's log
                # says why; the same key later applies it once.
                raise ActionPending(case_id, key, wait) from None
            raise

    async def _after_close(
        self,
        kind: CaseType,
        case_id: str,
        actor: Actor,
        action: str,
        comment: str | None,
        idempotency_key: str | None,
        wait: float | None,
    ) -> CaseView:
        """An action on a closed case (a title revoked): the case's workflow has ended,
        so a workflow of its own per request records it (`CaseType.after_close`), as a
        household's exit does. The same key sent again records it once; a refused
        request may be corrected and sent again with it."""
        if comment is not None:
            try:
                check_text(comment, line_breaks=True)
            except ValueError as e:
                raise ActionRefused("invalid_comment", str(e), "comment") from None
        if not (comment or "").strip():
            raise ActionRefused("comment_required", "须说明原因 (give the reason)", "comment")
        key = idempotency_key or str(uuid.uuid4())
        start = {
            "case_id": case_id,
            "actor": actor.model_dump(mode="json"),
            "reason": comment,
            "event_id": after_close_event_id(action, case_id, key),
        }
        workflow_id = f"{case_id}/{action}/{key}"
        try:
            handle = await self.client.start_workflow(
                kind.after_close[action],
                start,
                id=workflow_id,
                task_queue=self.task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            handle = self.client.get_workflow_handle(workflow_id)
        outcome = handle.result()
        try:
            await (outcome if wait is None else asyncio.wait_for(outcome, wait))
        except TimeoutError:
            if wait is None:
                raise
            raise ActionPending(case_id, key, wait) from None
        except WorkflowFailureError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                details = cause.details[0] if cause.details else {}
                field = details.get("field") if isinstance(details, dict) else None
                raise ActionRefused(cause.type or "refused", cause.message, field) from None
            raise
        return await asyncio.to_thread(Queries(self.engine).case_view, case_id)

    def _sealed(self, case_id: str, req: ActRequest) -> ActRequest:
        """`req` with the personal fields its case type names for the action
        (`CaseType.sealed_action_data`) sealed with the case's data key; a blank one
        is left out. The value is checked as text here, since the workflow only ever
        sees the ciphertext."""
        kind = next((t for t in CASE_TYPES.values() if case_id.startswith(f"{t.prefix}-")), None)
        fields = kind.sealed_action_data.get(str(req.action), ()) if kind else ()
        if not fields:
            return req
        data = req.data
        sealed = dict(data)
        for name in fields:
            value = sealed.pop(name, None)
            if value is None or (isinstance(value, str) and not value.strip()):
                continue
            if not isinstance(value, str) or len(value) > 50:
                raise ActionRefused(
                    "invalid_data",
                    f"data.{name}: 1 到 50 个字 (1 to 50 characters)",
                    f"data.{name}",
                )
            try:
                text = check_text(value.strip(), line_breaks=False)
            except ValueError as e:
                raise ActionRefused("invalid_data", f"data.{name}: {e}", f"data.{name}") from None
            sealed[name] = self.intake.personal.seal(case_id, name, text).model_dump()
        return req.model_copy(update={"data": sealed})

    def _assignee(self, to: object) -> dict[str, Any]:
        """The new assignee of a reassignment, as the directory has them now."""
        user_id = to.get("id") if isinstance(to, dict) else to
        if not isinstance(user_id, str) or not user_id:
            raise ActionRefused(
                "invalid_target", "须指定接手人 (data.to: the new assignee's user id)", "data.to"
            )
        try:
            user = Directory(self.engine).active(user_id)
        except UserDisabled as e:
            raise ActionRefused("actor_disabled", f"data.to: {e}", "data.to") from None
        except UnknownUser as e:
            raise ActionRefused("unknown_actor", f"data.to: {e}", "data.to") from None
        return user.actor().model_dump(mode="json")

    # -- the household register --------------------------------------------------------

    async def exit_household(
        self,
        case_id: str,
        actor: Actor,
        request: ExitRequest,
        idempotency_key: str | None = None,
        wait: float | None = None,
    ) -> HouseholdDetail:
        """Take the household filed by `case_id` off the register (解困脱困), through the
        `HouseholdExit` workflow, whose activity checks the rules again, checks the actor
        against the directory and records `household.exited`, in one transaction.
        Returns the file as it is then.

        `idempotency_key`: sent again with the same key, the exit is recorded once and
        the same answer comes back; a refused request may be corrected and sent again
        with it. `wait`: as for `act`."""
        if request.comment is not None:
            try:
                check_text(request.comment, line_breaks=True)
            except ValueError as e:
                raise ActionRefused("invalid_comment", str(e), "comment") from None
        key = idempotency_key or str(uuid.uuid4())
        event_id = exit_event_id(case_id, key)
        register = HouseholdRegister(self.engine)
        if not await asyncio.to_thread(register.exit_recorded, case_id, event_id):
            # What needs no figures is refused here, without a workflow; the worker
            # checks it all again when it records.
            household = await asyncio.to_thread(register.get, case_id)
            try:
                check_exit_allowed(household, request, actor)
            except Refused as r:
                raise ActionRefused(r.code, r.message, r.field) from None
        start = HouseholdExitStart(case_id=case_id, actor=actor, request=request, event_id=event_id)
        workflow_id = f"{case_id}/exit/{key}"
        handle: WorkflowHandle[Any, HouseholdRecord]
        try:
            handle = await self.client.start_workflow(
                HOUSEHOLD_EXIT_WORKFLOW,
                start,
                id=workflow_id,
                task_queue=self.task_queue,
                result_type=HouseholdRecord,
                id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                # A refused exit may be sent again, corrected, with its key; one that
                # was recorded answers with its outcome.
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
            )
        except WorkflowAlreadyStartedError:
            handle = self.client.get_workflow_handle(workflow_id, result_type=HouseholdRecord)
        outcome = handle.result()
        try:
            await (outcome if wait is None else asyncio.wait_for(outcome, wait))
        except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
            if wait is None:
                raise
            raise ActionPending(case_id, key, wait) from None
        except WorkflowFailureError as err:
            cause = err.cause
            if isinstance(cause, ApplicationError) and cause.non_retryable:
                details = cause.details[0] if cause.details else {}
                field = details.get("field") if isinstance(details, dict) else None
                raise ActionRefused(cause.type or "refused", cause.message, field) from None
            raise
        detail = await asyncio.to_thread(register.detail, case_id)
        assert detail is not None  # recorded, so on file
        return detail
