"""The FastAPI application. Built by a factory: nothing connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from casework.api import cases, me
from casework.auth.edge import EdgeAuth, set_session_cookie
from casework.service import CaseService
from casework.settings import Settings
from casework.web import oidc, pages


def create_app(
    engine: Any, service: CaseService | None, settings: Settings | None = None
) -> FastAPI:
    """The API under /api and the officers' pages (inbox, case page) at /. `settings`:
    sign-in options (proxy, OIDC, session lengths); by default from CASEWORK_*."""
    app = FastAPI(
        title="casework",
        description="工会案件审批 API (trade-union case approval workflows)",
        version="0.1.0",
    )
    app.state.engine = engine
    app.state.service = service
    app.state.auth = EdgeAuth.from_settings(engine, settings)
    app.include_router(cases.router)
    app.include_router(me.router)
    app.include_router(pages.router)
    app.include_router(oidc.router)
    static = Path(pages.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.middleware("http")
    async def session_cookie(request: Request, call_next: Any) -> Any:
        # A page that started a session on its own (a trusted proxy's user) sets it here.
        response = await call_next(request)
        started = getattr(request.state, "started_session", None)
        if started is not None:
            set_session_cookie(response, app.state.auth, request, started)
        return response

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
