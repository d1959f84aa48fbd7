"""Signing in through the federation's OpenID Connect provider: `/login/oidc` sends the
browser to the provider, `/login/oidc/callback` brings it back with a session.

Without CASEWORK_OIDC_ISSUER both answer 404. The provider proves who the person is;
the directory decides whether they may sign in (an existing, enabled user) and with
which roles. Every refusal is a page saying why (never a session) and an
`auth.sign_in_failed` log line with a reason code; no token contents are logged.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from casework.auth.edge import (
    EdgeAuth,
    client_address,
    same_secret,
    signed_in_response,
)
from casework.auth.oidc import OidcClient, OidcRefused, ProviderUnavailable
from casework.auth.signin import logged_id
from casework.store.directory import UnknownUser, UserDisabled
from casework.store.oidc import LoginExpired
from casework.web.site import auth as edge_auth
from casework.web.site import render

log = structlog.get_logger("casework.auth")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)

OIDC_COOKIE = "casework_oidc"
"""The state of the sign-in this browser started: the callback must carry the same one,
so a callback link made for someone else's sign-in signs nobody in here."""
CALLBACK = "/login/oidc/callback"


def _client(request: Request) -> OidcClient:
    client = edge_auth(request).oidc
    if not isinstance(client, OidcClient):
        raise HTTPException(404, "Not Found")
    return client


def redirect_uri(auth: EdgeAuth, request: Request) -> str:
    """Where the provider sends the browser back: CASEWORK_PUBLIC_URL's, or this
    request's origin (the address to register with the provider)."""
    if auth.public_url:
        return auth.public_url + CALLBACK
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}{CALLBACK}"


def _refused(request: Request, refused: OidcRefused, user: str | None = None) -> HTMLResponse:
    log.warning(
        "auth.sign_in_failed",
        via="oidc",
        reason=refused.code,
        user=user,
        address=client_address(request),
        **({"detail": refused.detail} if isinstance(refused, ProviderUnavailable) else {}),
    )
    response = render(request, "oidc_refused.html", refused.status, message=refused.message)
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response


def _discard(client: OidcClient, state: str) -> None:
    with contextlib.suppress(LoginExpired):
        client.logins.take(state)


@router.get("/login/oidc")
async def oidc_start(request: Request) -> Response:
    client = _client(request)
    auth = edge_auth(request)
    try:
        url, state = await client.start(redirect_uri(auth, request))
    except OidcRefused as refused:
        return _refused(request, refused)
    response = RedirectResponse(url, 303)
    # Lax: the provider's redirect back is a top-level GET from another site.
    response.set_cookie(
        OIDC_COOKIE,
        state,
        max_age=int(client.logins.ttl.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=auth.secure_cookies(request),
        path="/login/oidc",
    )
    return response


@router.get(CALLBACK)
async def oidc_callback(request: Request) -> Response:
    client = _client(request)
    auth = edge_auth(request)
    params = request.query_params
    state = params.get("state", "")
    cookie = request.cookies.get(OIDC_COOKIE, "")
    try:
        if not same_secret(state, cookie):
            _discard(client, state)  # whatever sign-in this state belonged to is spent
            raise OidcRefused(
                "state_mismatch",
                "登录请求不是从此浏览器发起的，请重新登录 "
                "(this sign-in was not started in this browser; start again)",
                400,
            )
        if "error" in params:
            _discard(client, state)
            raise OidcRefused(
                f"provider_error:{params['error'][:40]}",
                "认证服务未完成登录 (the provider did not sign you in)",
            )
        user_id = await client.finish(redirect_uri(auth, request), state, params.get("code", ""))
    except OidcRefused as refused:
        return _refused(request, refused)
    try:
        user = auth.directory.active(user_id)
    except UnknownUser:
        return _refused(
            request,
            OidcRefused(
                "unknown_user",
                "统一身份认证已确认您的身份，但您不是本系统的用户，请联系管理员 "
                "(the provider knows you, but casework has no such user; ask an administrator)",
                403,
            ),
            logged_id(user_id, known=False),
        )
    except UserDisabled:
        return _refused(
            request,
            OidcRefused("disabled", "用户已停用 (this account is disabled)", 403),
            user_id,
        )
    response = signed_in_response(auth, request, user.id, "oidc")
    response.delete_cookie(OIDC_COOKIE, path="/login/oidc")
    return response
