"""The FastAPI application. Built by a factory: nothing connects at import time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from casework.api import (
    campaigns,
    cases,
    funds,
    health,
    households,
    me,
    metrics,
    programmes,
    refunds,
    reports,
    reviews,
    supervision,
)
from casework.api.errors import validation_failed
from casework.auth.edge import EdgeAuth, set_session_cookie
from casework.config import ConfigError
from casework.domain.calendar import STATUTORY, WorkingCalendar
from casework.service import CaseService
from casework.settings import Settings
from casework.tracing import CURRENT_CASE, case_of_path, instrument_app
from casework.web import annual_report, oidc, pages
from casework.web import campaigns as campaigns_page
from casework.web import funds as funds_page
from casework.web import refunds as refunds_page
from casework.web.site import error_page

API_DESCRIPTION = """工会案件审批 API (trade-union case approval workflows).

Every operation needs a signed-in user: a personal access token
(`Authorization: Bearer cw_…`, from `casework tokens create --as USER`), or the browser's
session cookie (writes also need its `X-CSRF-Token`). Reads and actions follow the
jurisdiction rule: a case outside the user's district (city-level staff: every district)
answers 404, like a case that does not exist.

Errors are JSON with a `detail`: a problem `{"code", "message", "field"}` for 400
(malformed body), 403, 409 (refused by the rules), 413 and 503; a message for 401 and
404; `[{"loc", "msg", "type"}]` for 422 (never repeating the input). Bodies are strict
JSON in UTF-8, at most 256,000 bytes and 20 levels deep.
"""


def create_app(
    engine: Any, service: CaseService | None, settings: Settings | None = None
) -> FastAPI:
    """The API under /api and the officers' pages (inbox, case page) at /. `settings`:
    sign-in options (proxy, OIDC, session lengths); by default from CASEWORK_*."""
    settings = settings or Settings()
    # /docs and /redoc from files in an installed package (no CDN: a federation
    # intranet has no internet): FastAPI's recipe for self-hosted docs.
    app = FastAPI(
        title="casework",
        description=API_DESCRIPTION,
        version="0.1.0",
        docs_url=None,
        redoc_url=None,
    )
    app.state.engine = engine
    app.state.service = service
    app.state.auth = EdgeAuth.from_settings(engine, settings)
    app.state.act_wait = settings.act_wait_seconds
    app.state.calendar = _calendar(settings)
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, _not_routed)
    app.include_router(health.router)
    app.include_router(cases.router)
    app.include_router(households.router)
    app.include_router(reviews.router)
    app.include_router(programmes.router)
    app.include_router(me.router)
    app.include_router(supervision.router)
    app.include_router(reports.router)
    app.include_router(funds.router)
    app.include_router(refunds.router)
    app.include_router(campaigns.router)
    app.include_router(annual_report.router)
    app.include_router(funds_page.router)
    app.include_router(refunds_page.router)
    app.include_router(campaigns_page.router)
    app.include_router(pages.router)
    app.include_router(oidc.router)
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    metrics.install(app, engine, token)
    static = Path(pages.__file__).parent / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    _self_hosted_docs(app)

    @app.middleware("http")
    async def case_in_context(request: Request, call_next: Any) -> Any:
        # The case this request works on, for every log line it writes (casework.logging).
        token = CURRENT_CASE.set(case_of_path(request.url.path))
        try:
            return await call_next(request)
        finally:
            CURRENT_CASE.reset(token)

    @app.middleware("http")
    async def session_cookie(request: Request, call_next: Any) -> Any:
        # A page that started a session on its own (a trusted proxy's user) sets it here.
        response = await call_next(request)
        started = getattr(request.state, "started_session", None)
        if started is not None:
            set_session_cookie(response, app.state.auth, request, started)
        return response

    instrument_app(app)  # server spans, when tracing is configured (casework.tracing)
    return app


DOCS_ASSETS = "/docs/assets"
"""Where Swagger UI's and ReDoc's files are served from (package `fastapi-offline`, MIT:
Swagger UI 5, ReDoc 2)."""


def _self_hosted_docs(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc whose scripts, styles and icon come from this server."""
    import fastapi_offline
    from fastapi.openapi.docs import (
        get_redoc_html,
        get_swagger_ui_html,
        get_swagger_ui_oauth2_redirect_html,
    )
    from fastapi.responses import HTMLResponse

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    oauth2_redirect = app.swagger_ui_oauth2_redirect_url or "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - API",
            oauth2_redirect_url=oauth2_redirect,
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


async def _not_routed(request: Request, exc: Exception) -> Response:
    """An address no route answers (404) or a wrong method (405): a page in the site's
    layout for people, FastAPI's JSON for the API and its documents."""
    assert isinstance(exc, StarletteHTTPException)
    path = request.url.path
    if exc.status_code < 400 or path.startswith(
        ("/api", "/docs", "/redoc", "/openapi", "/static", "/healthz", "/readyz", "/metrics")
    ):
        return await http_exception_handler(request, exc)
    return error_page(request, exc.status_code, None)


def _calendar(settings: Settings) -> WorkingCalendar:
    """The processes' working-day calendar (with CASEWORK_HOLIDAYS_FILE), for /api/stuck."""
    try:
        return WorkingCalendar(settings.processes.calendar)
    except ConfigError as e:
        structlog.get_logger("casework.api").error("api.config_unreadable", error=str(e))
        return STATUTORY
