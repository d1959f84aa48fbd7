"""The worker's small HTTP endpoint (CASEWORK_WORKER_HTTP_ADDRESS), for probes and scrapes.

- `/healthz` (liveness): 200 while the Temporal worker runs, 503 once it has stopped
  (a worker whose poller died must be restarted, even though the process lives).
- `/readyz` (readiness): the worker runs, and its database and Temporal answer.
- `/metrics`: casework's own series of this process (events appended, payments), with
  CASEWORK_METRICS_TOKEN as on the API. The Temporal SDK's series are on their own port
  (CASEWORK_TEMPORAL_METRICS_ADDRESS), served by the SDK's Rust runtime. The task gauges
  are the API's: N workers would report N copies of the same projection.

No sign-in, like the API's probes: they say "ok" or what is unreachable, nothing more.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from temporalio.client import Client

from casework.api.health import readiness
from casework.metrics import CONTENT_TYPE, exposition, scrape_allowed


def create_worker_app(
    engine: Any, client: Client, running: Callable[[], bool], token: str | None = None
) -> FastAPI:
    """`running`: whether the Temporal worker is still polling (`Worker.is_running`)."""
    app = FastAPI(title="casework worker", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        alive = running()
        return JSONResponse(
            {"status": "ok" if alive else "worker stopped"}, status_code=200 if alive else 503
        )

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        code, body = await readiness(engine, client)
        body["checks"]["worker"] = "ok" if running() else "stopped"
        if not running():
            code, body["status"] = 503, "not ready"
        return JSONResponse(body, status_code=code)

    @app.get("/metrics")
    def metrics(request: Request) -> Response:
        if not scrape_allowed(request.headers.get("authorization"), token):
            raise HTTPException(
                401, "metrics token required", headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(exposition(), media_type=CONTENT_TYPE)

    return app


def split_address(address: str) -> tuple[str, int]:
    """`HOST:PORT` (or `[v6]:PORT`) -> (host, port); a clear error naming the setting."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(
            f"CASEWORK_WORKER_HTTP_ADDRESS: expected HOST:PORT, e.g. 0.0.0.0:9100 (got {address!r})"
        )
    return host.strip("[]") or "0.0.0.0", int(port)
