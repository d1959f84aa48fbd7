"""`casework doctor`: find every case whose workflow and read model disagree, report it,
and repair what is safe.

A case the read model holds open should have a running workflow whose state is the
store's head. Temporal's UI and CLI can break that: a workflow terminated there leaves
its case open with actions answering 404; one reset to an earlier point decides again
what the store already holds. The doctor reads the open cases and their heads in one
query, then describes each case's workflow (and asks a running one for its state) with
bounded concurrency, and says what it found:

- `terminated`: repairable. `repair` records `case.terminated` (who and why, from the
  history's termination event) through the store, hash chain and projections as any
  event; its id is derived from the terminated run, so a second repair records nothing.
- `not_found`, `timed_out`, `failed`, `canceled`, `completed` while the row is open,
  `behind`/`ahead` (a running workflow whose state's seq is not the store's head),
  `unanswered` (a running workflow that does not answer its query): reported, never
  repaired, since what happened cannot be read off safely.

`restart` starts a stopped case's workflow again, from its recorded events, through the
`continued` input that continue-as-new already uses (`CaseContinuation`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, func, select
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistoryEventFilterType
from temporalio.client import WorkflowExecutionStatus as Status
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.case import (
    CASE_RESTARTED,
    CASE_TERMINATED,
    CaseContinuation,
    CaseState,
    CaseView,
    Outcome,
    Refused,
    evolve_all,
)
from casework.domain.events import NewEvent
from casework.domain.org import Actor, Role
from casework.domain.registry import CASE_TYPES
from casework.store.event_store import ConcurrencyConflict, EventStore
from casework.store.queries import UnknownCase
from casework.store.tables import case_events, cases

CONCURRENCY = 32
"""Describes and queries in flight at once: Temporal's frontend and the workers' query
handling take this without slowing the cases."""
QUERY_TIMEOUT = 5.0
REPAIRABLE = frozenset({"terminated"})
EVENT_IDS = uuid.UUID("0c6f5a4e-2f55-4f3b-9f0c-6b1f4d9a7c21")
"""Namespace of the doctor's event ids (uuid5 of case id and run id): a repair or restart
sent twice records once."""
MAX_TEXT = 500

_STATUS_FINDING = {
    Status.TERMINATED: "terminated",
    Status.TIMED_OUT: "timed_out",
    Status.FAILED: "failed",
    Status.CANCELED: "canceled",
    Status.COMPLETED: "completed",
}


class Finding(BaseModel):
    """One case whose workflow and read model disagree."""

    case_id: str
    kind: str
    """terminated | not_found | timed_out | failed | canceled | completed | behind | ahead
    | unanswered"""
    store_seq: int
    workflow_seq: int | None = None
    run_id: str | None = None
    identity: str | None = None
    """Who terminated the workflow (Temporal's identity of the caller)."""
    reason: str | None = None
    repairable: bool = False
    repaired: bool = False


def require_operator(actor: Actor) -> None:
    """The doctor reads every case and writes to any: an administrator or a city officer."""
    if not (actor.has_role(Role.ADMIN) or actor.has_role(Role.CITY_OFFICER)):
        raise Refused(
            "role_not_held",
            "需要 admin 或 city_officer 角色 (role admin or city_officer required)",
        )


def open_heads(engine: Engine) -> dict[str, int]:
    """Every case the read model holds open, with the seq of its last stored event."""
    query = (
        select(cases.c.case_id, func.max(case_events.c.seq))
        .join(case_events, case_events.c.case_id == cases.c.case_id)
        .where(cases.c.status == "open")
        .group_by(cases.c.case_id)
        .order_by(cases.c.case_id)
    )
    with engine.connect() as conn:
        return {row[0]: int(row[1]) for row in conn.execute(query)}


def _clip(text: str | None) -> str | None:
    return text[:MAX_TEXT] if text else text


async def _termination(client: Client, case_id: str, run_id: str) -> tuple[str, str, datetime]:
    """Who terminated the run, why and when (its history's last event)."""
    handle = client.get_workflow_handle(case_id, run_id=run_id)
    async for event in handle.fetch_history_events(
        event_filter_type=WorkflowHistoryEventFilterType.CLOSE_EVENT  # the last event only
    ):
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
            attrs = event.workflow_execution_terminated_event_attributes
            return attrs.identity, attrs.reason, event.event_time.ToDatetime(tzinfo=UTC)
    raise LookupError(f"{case_id}: no termination event in run {run_id}")


async def examine_case(client: Client, case_id: str, store_seq: int) -> Finding | None:
    """What is wrong with one open case, or None when its workflow runs at the store's head."""
    handle = client.get_workflow_handle(case_id)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Finding(case_id=case_id, kind="not_found", store_seq=store_seq)
        raise
    run_id = described.run_id
    if described.status == Status.RUNNING:
        try:
            view = await asyncio.wait_for(handle.query("view", result_type=CaseView), QUERY_TIMEOUT)
        except (TimeoutError, RPCError):
            return Finding(case_id=case_id, kind="unanswered", store_seq=store_seq, run_id=run_id)
        if view.seq == store_seq:
            return None
        kind = "behind" if view.seq < store_seq else "ahead"
        return Finding(
            case_id=case_id, kind=kind, store_seq=store_seq, workflow_seq=view.seq, run_id=run_id
        )
    kind = _STATUS_FINDING.get(described.status or Status.RUNNING, "unknown")
    finding = Finding(case_id=case_id, kind=kind, store_seq=store_seq, run_id=run_id)
    if kind == "terminated":
        identity, reason, _ = await _termination(client, case_id, run_id)
        finding.identity, finding.reason = _clip(identity), _clip(reason)
        finding.repairable = True
    return finding


async def examine(
    client: Client, engine: Engine, concurrency: int = CONCURRENCY
) -> tuple[int, list[Finding]]:
    """How many open cases were looked at, and what was found wrong with them."""
    heads = await asyncio.to_thread(open_heads, engine)
    gate = asyncio.Semaphore(concurrency)

    async def one(case_id: str, seq: int) -> Finding | None:
        async with gate:
            finding = await examine_case(client, case_id, seq)
        if finding is not None and finding.kind in ("behind", "ahead"):
            # A running case may be between deciding and recording: look once more.
            await asyncio.sleep(1)
            fresh = await asyncio.to_thread(open_heads_of, engine, [case_id])
            if case_id not in fresh:
                return None  # closed meanwhile
            async with gate:
                finding = await examine_case(client, case_id, fresh[case_id])
        return finding

    found = await asyncio.gather(*(one(c, s) for c, s in heads.items()))
    return len(heads), [f for f in found if f is not None]


def open_heads_of(engine: Engine, case_ids: Sequence[str]) -> dict[str, int]:
    query = (
        select(cases.c.case_id, func.max(case_events.c.seq))
        .join(case_events, case_events.c.case_id == cases.c.case_id)
        .where(cases.c.status == "open", cases.c.case_id.in_(list(case_ids)))
        .group_by(cases.c.case_id)
    )
    with engine.connect() as conn:
        return {row[0]: int(row[1]) for row in conn.execute(query)}


def _event_id(case_id: str, what: str, run_id: str) -> str:
    return str(uuid.uuid5(EVENT_IDS, f"{case_id}/{what}/{run_id}"))


async def repair(
    client: Client, engine: Engine, findings: Sequence[Finding], operator: Actor
) -> list[Finding]:
    """Record the termination of every repairable finding (`case.terminated`), closing
    its case in the read model. Returns the findings with `repaired` set."""
    require_operator(operator)
    store = EventStore(engine)
    done: list[Finding] = []
    for finding in findings:
        if finding.kind not in REPAIRABLE or finding.run_id is None:
            done.append(finding)
            continue
        # Looked at again: the run named is what is recorded, and it is final.
        identity, reason, at = await _termination(client, finding.case_id, finding.run_id)
        event = NewEvent(
            event_id=_event_id(finding.case_id, "terminated", finding.run_id),
            case_id=finding.case_id,
            type=CASE_TERMINATED,
            payload={
                "outcome": Outcome.TERMINATED.value,
                "reason": _clip(reason) or None,
                "terminated_by": _clip(identity) or None,
                "run_id": finding.run_id,
            },
            actor_id=operator.id,
            occurred_at=at,
        )
        try:
            await asyncio.to_thread(
                store.append, finding.case_id, finding.store_seq, [event], actors=[operator]
            )
        except ConcurrencyConflict:
            done.append(finding)  # the case moved on since it was examined: not touched
            continue
        done.append(finding.model_copy(update={"repaired": True}))
    return done


# -- restart ------------------------------------------------------------------------------


def _patches(events: Sequence[Any]) -> set[str]:
    """The patch ids a run's history holds markers for (`workflow.patched`)."""
    found: set[str] = set()
    for event in events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        attrs = event.marker_recorded_event_attributes
        if attrs.marker_name != "core_patch":
            continue
        if "patch-data" not in attrs.details:
            continue
        for payload in attrs.details["patch-data"].payloads:
            try:
                found.add(str(json.loads(payload.data)["id"]))
            except (ValueError, KeyError, TypeError):
                continue
    return found


async def restart(
    client: Client,
    engine: Engine,
    case_id: str,
    task_queue: str,
    operator: Actor,
    processes: Any,
) -> CaseView:
    """Start the stopped workflow of an open case again from its recorded events. Records
    `case.restarted` (who) first; refused while the workflow runs, once the case is
    closed (a recorded termination is final), or when Temporal no longer holds the run
    to take the case's start input from. `processes`: the worker's configuration
    (`ProcessConfig`), for a case opened with the configuration then in force."""
    require_operator(operator)
    store = EventStore(engine)
    stored = await asyncio.to_thread(store.read, case_id)
    if not stored:
        raise UnknownCase(f"未找到案件 (no such case): {case_id}")
    state = evolve_all(CaseState(case_id=case_id), [e.as_new_event() for e in stored])
    if state.status.value != "open":
        raise Refused(
            "case_closed",
            f"案件已结案 ({state.outcome}) 不能重启 (case {case_id} is closed; not restarted)",
        )
    handle = client.get_workflow_handle(case_id)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise Refused(
                "workflow_not_found",
                f"Temporal 中已无此案件的流程记录，无法重启 (no workflow history left for "
                f"{case_id}: its start input is gone)",
            ) from None
        raise
    if described.status == Status.RUNNING:
        raise Refused("workflow_running", f"案件流程仍在运行 (the workflow of {case_id} runs)")
    kind = CASE_TYPES.get(state.case_type or "")
    if kind is None:
        raise Refused("unknown_type", f"{case_id}: unknown case type {state.case_type!r}")
    run = client.get_workflow_handle(case_id, run_id=described.run_id)
    history = [e async for e in run.fetch_history_events()]
    started = history[0].workflow_execution_started_event_attributes
    [start] = await client.data_converter.decode(started.input.payloads)
    if not isinstance(start, dict):
        raise Refused("unknown_input", f"{case_id}: the workflow's input is not an object")
    before = start.get("continued") or {}
    patches = _patches(history)
    event = NewEvent(
        event_id=_event_id(case_id, "restarted", described.run_id),
        case_id=case_id,
        type=CASE_RESTARTED,
        payload={
            "run_id": described.run_id,
            "status": _STATUS_FINDING.get(described.status or Status.RUNNING, "unknown"),
        },
        actor_id=operator.id,
        occurred_at=datetime.now(UTC),
    )
    if stored[-1].event_id != event.event_id:
        await asyncio.to_thread(store.append, case_id, state.seq, [event], actors=[operator])
        state = evolve_all(state, [event])
    continued = CaseContinuation(
        state=state,
        clocks=bool(before.get("clocks", "task-clocks" in patches)),
        flags={**dict.fromkeys(patches, True), **(before.get("flags") or {})},
        # Time rules are read again from the worker's configuration from now on.
        rules_read_at=datetime.now(UTC) if "config" in start else None,
        run=int(before.get("run", 1)) + 1,
    )
    if "config" in start and start["config"] is None:
        # Opened with the worker's configuration, read once in the first run: the
        # configuration in force now (amounts already decided are in the events).
        start["config"] = getattr(processes, kind.config_key).model_dump(mode="json")
    if "personal" in start:
        start["personal"] = None  # recorded in `case.opened`; never sent again
    start["continued"] = continued.model_dump(mode="json")
    new = await client.start_workflow(
        kind.workflow_name,
        start,
        id=case_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
    return await new.execute_update("sync", result_type=CaseView)
