"""Signing in through an OpenID Connect provider: the real app (httpx on ASGI) against a
small provider served by uvicorn in the test (tests/auth/oidc_provider.py), the browser's
redirects followed by hand."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, MutableMapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine, func, select, update
from structlog.testing import capture_logs

from casework.api.app import create_app
from casework.auth.edge import SESSION_COOKIE
from casework.demo.people import demo_users
from casework.settings import Settings
from casework.store.auth import Sessions
from casework.store.directory import Directory
from casework.store.tables import oidc_logins
from casework.web.oidc import OIDC_COOKIE
from tests.auth.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, running_provider

OFFICER = "chongchuan.officer1"


@pytest.fixture
def directory(sqlite_engine: Engine) -> Directory:
    d = Directory(sqlite_engine)
    d.upsert(demo_users())  # no passwords: these users can sign in only through the provider
    return d


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    async with running_provider() as p:
        yield p


def make_app(engine: Engine, **settings: Any) -> FastAPI:
    return create_app(engine, None, Settings(_env_file=None, **settings))  # type: ignore[call-arg]


@pytest.fixture
async def browser(
    sqlite_engine: Engine, directory: Directory, provider: Provider
) -> AsyncIterator[httpx.AsyncClient]:
    """A browser on casework, configured for the provider."""
    app = make_app(
        sqlite_engine,
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
    )
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def to_provider(browser: httpx.AsyncClient) -> str:
    """Click "sign in with single sign-on": the provider's authorization URL."""
    r = await browser.get("/login/oidc")
    assert r.status_code == 303, r.text
    return r.headers["location"]


async def at_provider(authorize_url: str) -> str:
    """The person signs in at the provider, which sends the browser back: the callback URL."""
    async with httpx.AsyncClient() as http:
        r = await http.get(authorize_url)
    assert r.status_code == 302, r.text
    return r.headers["location"]


async def sign_in(browser: httpx.AsyncClient) -> httpx.Response:
    """The whole round trip; casework's answer to the callback."""
    return await browser.get(await at_provider(await to_provider(browser)))


def refused(r: httpx.Response, status: int, browser: httpx.AsyncClient) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    assert 'id="oidc-error"' in r.text
    assert not any(h.startswith(SESSION_COOKIE) for h in r.headers.get_list("set-cookie"))
    assert SESSION_COOKIE not in browser.cookies


def failures(logs: list[MutableMapping[str, Any]]) -> list[str]:
    return [e["reason"] for e in logs if e["event"] == "auth.sign_in_failed"]


def pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(oidc_logins)).scalar_one())


# -- the good path ---------------------------------------------------------------------------


async def test_a_sign_in_through_the_provider_opens_the_inbox(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    # Someone else's session left in this browser ends with the new sign-in.
    old, _ = Sessions(sqlite_engine).create("chongchuan.supervisor", "password")
    browser.cookies.set(SESSION_COOKIE, old, domain="testserver.local")
    authorize = await to_provider(browser)
    query = parse_qs(urlsplit(authorize).query)
    assert authorize.startswith(f"{provider.issuer}/authorize?")
    assert query["redirect_uri"] == ["http://testserver/login/oidc/callback"]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    assert "code_verifier" not in query  # only its hash goes through the browser
    assert pending(sqlite_engine) == 1

    with capture_logs() as logs:
        r = await browser.get(await at_provider(authorize))
    assert r.status_code == 303 and r.headers["location"] == "/inbox", r.text
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie
    session = Sessions(sqlite_engine).resolve(browser.cookies[SESSION_COOKIE])
    assert session is not None and session.user_id == OFFICER and session.via == "oidc"
    assert Sessions(sqlite_engine).resolve(old) is None
    assert pending(sqlite_engine) == 0  # used once, gone

    page = await browser.get("/inbox")
    assert page.status_code == 200 and OFFICER in page.text
    signed_in = [e for e in logs if e["event"] == "auth.signed_in"]
    assert signed_in == [
        {
            "event": "auth.signed_in",
            "user": OFFICER,
            "address": "192.0.2.10",
            "via": "oidc",
            "log_level": "info",
        }
    ]
    assert not any(secret in repr(logs) for secret in [*provider.issued, CLIENT_SECRET])


async def test_the_login_page_offers_single_sign_on_only_when_configured(
    sqlite_engine: Engine, directory: Directory, browser: httpx.AsyncClient
) -> None:
    assert 'href="/login/oidc"' in (await browser.get("/login")).text
    plain = make_app(sqlite_engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=plain), base_url="http://testserver"
    ) as c:
        assert 'href="/login/oidc"' not in (await c.get("/login")).text
        assert (await c.get("/login/oidc")).status_code == 404
        assert (await c.get("/login/oidc/callback?code=x&state=y")).status_code == 404


def test_an_issuer_needs_the_client_credentials(sqlite_engine: Engine) -> None:
    with pytest.raises(ValueError, match="CLIENT_ID"):
        make_app(sqlite_engine, oidc_issuer="https://id.example.org")


async def test_the_redirect_uri_is_the_public_url(
    sqlite_engine: Engine, directory: Directory, provider: Provider
) -> None:
    app = make_app(
        sqlite_engine,
        public_url="https://casework.example.org/",
        oidc_issuer=provider.issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://10.0.0.2:8000") as c:
        r = await c.get("/login/oidc")
    query = parse_qs(urlsplit(r.headers["location"]).query)
    assert query["redirect_uri"] == ["https://casework.example.org/login/oidc/callback"]
    state_cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(OIDC_COOKIE))
    assert "Secure" in state_cookie and "HttpOnly" in state_cookie


async def test_keys_rotated_by_the_provider_are_read_again(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    assert (await sign_in(browser)).status_code == 303
    provider.rotate()
    browser.cookies.clear()
    assert (await sign_in(browser)).status_code == 303


async def test_an_unreachable_provider_gets_a_page_not_a_crash(
    sqlite_engine: Engine, directory: Directory
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        issuer = f"http://127.0.0.1:{s.getsockname()[1]}"
    app = make_app(
        sqlite_engine,
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=SecretStr(CLIENT_SECRET),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        with capture_logs() as logs:
            r = await c.get("/login/oidc")
        refused(r, 502, c)
    assert failures(logs) == ["provider_unavailable"]
    assert pending(sqlite_engine) == 0


# -- the directory decides ------------------------------------------------------------------


async def test_a_person_the_directory_does_not_know_is_refused(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    provider.username = "someone.else"
    with capture_logs() as logs:
        r = await sign_in(browser)
    refused(r, 403, browser)
    assert "不是本系统的用户" in r.text
    assert failures(logs) == ["unknown_user"]
    assert "someone.else" not in repr(logs)  # logged as a digest, like password sign-ins
    assert not any(secret in repr(logs) for secret in provider.issued)


async def test_a_disabled_user_is_refused(
    directory: Directory, browser: httpx.AsyncClient, provider: Provider
) -> None:
    directory.disable(OFFICER)
    with capture_logs() as logs:
        r = await sign_in(browser)
    refused(r, 403, browser)
    assert "用户已停用" in r.text
    assert failures(logs) == ["disabled"]


# -- state: started here, used once, not too old ----------------------------------------------


async def test_a_state_is_used_once(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    authorize = await to_provider(browser)
    state_cookie = browser.cookies[OIDC_COOKIE]
    first = await at_provider(authorize)
    # The same authorization request again (a replay, or the back button): the provider
    # gives a fresh code for the same state, which it would exchange.
    second = await at_provider(authorize)
    assert (await browser.get(first)).status_code == 303
    session = browser.cookies[SESSION_COOKIE]
    browser.cookies.clear()
    browser.cookies.set(OIDC_COOKIE, state_cookie, domain="testserver.local", path="/login/oidc")
    exchanged = provider.token_requests
    with capture_logs() as logs:
        r = await browser.get(second)
    refused(r, 400, browser)
    assert failures(logs) == ["state_unknown"]
    assert provider.token_requests == exchanged  # refused before the code is used
    assert session  # the first sign-in stands


async def test_a_callback_this_browser_did_not_start_is_refused(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    # Someone starts a sign-in and sends the callback link to another browser.
    callback = await at_provider(await to_provider(browser))
    browser.cookies.clear()
    with capture_logs() as logs:
        r = await browser.get(callback)
    refused(r, 400, browser)
    assert failures(logs) == ["state_mismatch"]
    assert pending(sqlite_engine) == 0  # and that sign-in is spent
    # A state casework never issued, even with a matching cookie.
    browser.cookies.set(OIDC_COOKIE, "made-up-state", domain="testserver.local", path="/login/oidc")
    r = await browser.get("/login/oidc/callback?code=abc&state=made-up-state")
    refused(r, 400, browser)


async def test_a_sign_in_left_too_long_is_refused_and_swept(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    callback = await at_provider(await to_provider(browser))
    with sqlite_engine.begin() as conn:
        conn.execute(
            update(oidc_logins).values(created_at=datetime.now(UTC) - timedelta(minutes=11))
        )
    with capture_logs() as logs:
        r = await browser.get(callback)
    refused(r, 400, browser)
    assert failures(logs) == ["state_expired"]
    assert pending(sqlite_engine) == 0
    # Stale records of sign-ins never finished are swept when the next one starts.
    await to_provider(browser)
    with sqlite_engine.begin() as conn:
        conn.execute(
            update(oidc_logins).values(created_at=datetime.now(UTC) - timedelta(minutes=11))
        )
    await to_provider(browser)
    assert pending(sqlite_engine) == 1


async def test_an_error_from_the_provider_is_refused(
    sqlite_engine: Engine, browser: httpx.AsyncClient, provider: Provider
) -> None:
    provider.deny = True
    with capture_logs() as logs:
        r = await sign_in(browser)
    refused(r, 401, browser)
    assert failures(logs) == ["provider_error:access_denied"]
    assert pending(sqlite_engine) == 0 and provider.token_requests == 0


# -- the ID token -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        ("signature", "id_token_invalid:BadSignatureError"),
        ("aud", "id_token_invalid:InvalidClaimError:Invalid claim: 'aud'"),
        ("nonce", "id_token_invalid:InvalidClaimError:Invalid claim: 'nonce'"),
        ("expired", "id_token_invalid:ExpiredTokenError"),
    ],
)
async def test_an_id_token_that_does_not_hold_is_refused(
    browser: httpx.AsyncClient, provider: Provider, fault: str, reason: str
) -> None:
    provider.fault = fault
    with capture_logs() as logs:
        r = await sign_in(browser)
    refused(r, 401, browser)
    assert "身份令牌无效" in r.text
    [logged] = failures(logs)
    assert logged.startswith(reason), logged
    assert provider.token_requests == 1
    assert not any(secret in repr(logs) for secret in provider.issued)
