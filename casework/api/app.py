"""The FastAPI application. Built by a factory: nothing connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from casework.api import cases, me
from casework.service import CaseService
from casework.web import pages


def create_app(engine: Any, service: CaseService | None) -> FastAPI:
    """The API under /api and the officers' pages (inbox, case page) at /."""
    app = FastAPI(
        title="casework",
        description="工会案件审批 API (trade-union case approval workflows)",
        version="0.1.0",
    )
    app.state.engine = engine
    app.state.service = service
    app.include_router(cases.router)
    app.include_router(me.router)
    app.include_router(pages.router)
    static = Path(pages.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/healthz", tags=["ops"])
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
