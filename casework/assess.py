"""Starting a run of the calendar by hand (`casework assess run|status`), as its
Schedule does: one run per (kind, year), workflow id `assess-{kind}-{year}`; started
again, the existing run is reported instead of a second one (docs/DECISIONS.md)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from casework.domain.batch import RunProgress
from casework.domain.org import CITY, Role
from casework.store.directory import User

ASSESS_KINDS = ("annual-review", "annual-report")
ASSESS_ROLES = frozenset({Role.CITY_OFFICER, Role.CITY_LEADER, Role.ADMIN})
"""Who may start a run or read its progress: city-level officers, leaders, admins."""


def assess_workflow_id(kind: str, year: int) -> str:
    return f"assess-{kind}-{year}"


class NotAllowed(Exception):
    """The user may not do this (code `forbidden`)."""


def check_city_role(user: User, what: str) -> None:
    """Runs and the year-end report are the city's: a city-level officer, leader or admin."""
    if user.district != CITY or not ASSESS_ROLES.intersection(user.roles):
        raise NotAllowed(
            f"{user.id} 无权{what} (not allowed): 须为市总工会的 city_officer、city_leader 或 admin"
        )


def reads_reports(user: User) -> bool:
    """Whether the year-end report is theirs to read (the same rule as starting runs)."""
    return user.district == CITY and bool(ASSESS_ROLES.intersection(user.roles))


class RunInfo(BaseModel):
    workflow_id: str
    kind: str
    year: int
    status: str
    started_at: datetime | None
    closed_at: datetime | None = None
    already: bool = False
    """True: this run existed before the request; nothing new was started."""
    progress: RunProgress | None = None


class RunNotFound(LookupError):
    pass


def check_kind(kind: str) -> str:
    if kind not in ASSESS_KINDS:
        raise ValueError(
            f"field KIND: 未知运行类型 (unknown kind) {kind!r}; one of: {', '.join(ASSESS_KINDS)}"
        )
    return kind


async def describe_run(client: Client, kind: str, year: int, with_progress: bool = True) -> RunInfo:
    wid = assess_workflow_id(kind, year)
    handle = client.get_workflow_handle(wid)
    try:
        d = await handle.describe()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            raise RunNotFound(f"{wid}: 尚未运行 (no run of {kind} for {year})") from None
        raise
    status = d.status.name.lower() if d.status is not None else "unknown"
    info = RunInfo(
        workflow_id=wid,
        kind=kind,
        year=year,
        status=status,
        started_at=d.start_time,
        closed_at=d.close_time,
    )
    if with_progress:
        try:
            info.progress = await handle.query("progress", result_type=RunProgress)
        except Exception:  # noqa: BLE001 - a closed run without a worker, an old run: no progress
            info.progress = None
    return info


async def start_run(client: Client, kind: str, year: int, task_queue: str) -> RunInfo:
    """Start the (kind, year) run, or report the one that exists."""
    wid = assess_workflow_id(check_kind(kind), year)
    try:
        await client.start_workflow(
            kind,
            {"year": year},
            id=wid,
            task_queue=task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        info = await describe_run(client, kind, year, with_progress=False)
        info.already = True
        return info
    return await describe_run(client, kind, year, with_progress=False)
