"""`/metrics` (Prometheus text format) and the middleware that counts requests.

No sign-in: Prometheus has no casework user. With CASEWORK_METRICS_TOKEN set, a scrape
must send `Authorization: Bearer <token>` (401 otherwise); without it the endpoint is
for the network only, and deploy/'s reverse proxy does not forward `/metrics`. The
series hold counts per district and stage and per route template, never a case id or
anything personal.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException, Request, Response

from casework.metrics import (
    CONTENT_TYPE,
    HTTP_LATENCY,
    HTTP_REQUESTS,
    UNROUTED,
    exposition,
    scrape_allowed,
    task_registry,
)

router = APIRouter(tags=["ops"])


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def metrics(request: Request) -> Response:
    if not scrape_allowed(request.headers.get("authorization"), request.app.state.metrics_token):
        raise HTTPException(401, "metrics token required", headers={"WWW-Authenticate": "Bearer"})
    return Response(exposition(request.app.state.task_metrics), media_type=CONTENT_TYPE)


def route_template(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNROUTED


def install(app: FastAPI, engine: Any, token: str | None) -> None:
    """Serve /metrics and count every request by its route template."""
    app.state.metrics_token = token
    app.state.task_metrics = task_registry(engine)
    app.include_router(router)

    @app.middleware("http")
    async def count_requests(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = route_template(request)
            HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
            HTTP_REQUESTS.labels(request.method, route, str(status)).inc()
