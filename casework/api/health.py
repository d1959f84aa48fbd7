"""Liveness and readiness for probes and load balancers: `/healthz` and `/readyz`.

Both answer without sign-in: a kubelet, Docker's health check or a load balancer has no
user and no token, and they reveal nothing but "ok" or which dependency is unreachable
(no address, no error text, no version). The cause goes to the log, masked.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

router = APIRouter(tags=["ops"])

CHECK_TIMEOUT = 2.0
"""Seconds each dependency has to answer; a probe's own timeout is longer (deploy/)."""


def _log() -> Any:
    return structlog.get_logger("casework.health")


async def database_reachable(engine: Any) -> bool:
    """`SELECT 1` on a pooled connection, within CHECK_TIMEOUT."""

    def ping() -> None:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    try:
        await asyncio.wait_for(asyncio.to_thread(ping), CHECK_TIMEOUT)
        return True
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready"
        _log().warning("health.database_unreachable", error=type(exc).__name__)
        return False


async def temporal_reachable(client: Client | None) -> bool:
    """The frontend answers for our namespace (which also proves the namespace exists)."""
    if client is None:
        return False
    try:
        await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace),
            timeout=timedelta(seconds=CHECK_TIMEOUT),
        )
        return True
    except Exception as exc:  # noqa: BLE001
        _log().warning("health.temporal_unreachable", error=type(exc).__name__)
        return False


async def readiness(engine: Any, client: Client | None) -> tuple[int, dict[str, Any]]:
    """(status code, body): 200 when the database and Temporal both answer, else 503
    naming the one that does not."""
    database, temporal = await asyncio.gather(
        database_reachable(engine), temporal_reachable(client)
    )
    checks = {
        "database": "ok" if database else "unreachable",
        "temporal": "ok" if temporal else "unreachable",
    }
    ready = database and temporal
    return (200 if ready else 503), {"status": "ready" if ready else "not ready", "checks": checks}


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database and Temporal are reachable",
    responses={503: {"description": "Not ready; `checks` names what is unreachable"}},
)
async def readyz(request: Request) -> JSONResponse:
    service = request.app.state.service
    code, body = await readiness(request.app.state.engine, service.client if service else None)
    return JSONResponse(body, status_code=code)
