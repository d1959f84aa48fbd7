"""Who may ask what over HTTP: tokens, sessions, the trusted proxy, CSRF and the
jurisdiction rule on reads, against the real app (httpx on ASGI, no server needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import structlog
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import Engine
from structlog.testing import capture_logs

from casework.api.app import create_app
from casework.auth.edge import LOGIN_COOKIE, SESSION_COOKIE
from casework.auth.passwords import hash_password
from casework.demo.people import demo_users
from casework.settings import Settings
from casework.store.auth import Tokens
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.store.builders import opened

PASSWORD = "correct horse battery"
CHONGCHUAN_CASE = "HR-2026-000001"
TONGZHOU_CASE = "HR-2026-000002"
SECRET = "proxy-shared-secret-0123456789"


@pytest.fixture
def directory(sqlite_engine: Engine) -> Directory:
    d = Directory(sqlite_engine)
    d.upsert(demo_users())
    hashed = hash_password(PASSWORD)
    for user in ("chongchuan.grassroots1", "chongchuan.supervisor", "city.admin"):
        d.set_password_hash(user, hashed)
    store = EventStore(sqlite_engine)
    store.append(CHONGCHUAN_CASE, 0, [opened(CHONGCHUAN_CASE)])
    store.append(TONGZHOU_CASE, 0, [opened(TONGZHOU_CASE, district="通州区")])
    return d


def make_app(engine: Engine, **settings: Any) -> FastAPI:
    return create_app(engine, None, Settings(_env_file=None, **settings))  # type: ignore[call-arg]


@pytest.fixture(autouse=True)
def fresh_loggers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loggers that bind anew inside `capture_logs`: a module's logger that an earlier
    test used under the CLI's logging set-up stays bound to that set-up (structlog
    caches it on first use)."""
    import casework.auth.edge
    import casework.auth.signin
    import casework.web.pages

    for module in (casework.auth.signin, casework.auth.edge, casework.web.pages):
        name = module.log._logger_factory_args[0]  # type: ignore[attr-defined]
        monkeypatch.setattr(module, "log", structlog.get_logger(name))


@pytest.fixture
async def api(sqlite_engine: Engine, directory: Directory) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(sqlite_engine)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def bearer(engine: Engine, user: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {Tokens(engine).create(user, 'test', 1)[0]}"}


def api_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every operation the API documents (its OpenAPI schema), with sample path values."""
    for path, operations in app.openapi()["paths"].items():
        if path.startswith("/api"):
            for method in operations:
                yield (
                    method.upper(),
                    path.format(
                        case_id=CHONGCHUAN_CASE,
                        action="claim",
                        year=2026,
                        programme_id="PG-2027-000001",
                        campaign_id="CP-2027-001",
                    ),
                )


async def test_every_api_route_needs_a_signed_in_user(
    sqlite_engine: Engine, api: httpx.AsyncClient
) -> None:
    routes = list(api_routes(make_app(sqlite_engine)))
    assert len(routes) >= 6
    forged = [
        {},
        {"X-Casework-User": "city.admin"},  # the old development header: ignored
        {"Cookie": "casework_user=city.admin"},  # the old unsigned cookie: ignored
        {"Cookie": f"{SESSION_COOKIE}=made-up"},
        {"Authorization": "Bearer cw_aaaaaaaaaaaa_" + "A" * 43},
        {"Authorization": "Basic Y2l0eS5hZG1pbjpwdw=="},
    ]
    for method, path in routes:
        for headers in forged:
            r = await api.request(method, path, headers=headers, json={})
            assert r.status_code == 401, (method, path, headers, r.status_code, r.text)
            assert r.headers.get("www-authenticate") == "Bearer"


async def test_reads_stay_within_the_jurisdiction(
    sqlite_engine: Engine, api: httpx.AsyncClient
) -> None:
    officer = bearer(sqlite_engine, "chongchuan.officer1")
    for path in ("", "/history", "/review"):
        mine = await api.get(f"/api/cases/{CHONGCHUAN_CASE}{path}", headers=officer)
        assert mine.status_code == 200, mine.text
        # Another district's case answers exactly like one that does not exist.
        other = await api.get(f"/api/cases/{TONGZHOU_CASE}{path}", headers=officer)
        none = await api.get(f"/api/cases/HR-2026-999999{path}", headers=officer)
        assert other.status_code == none.status_code == 404
        assert other.json()["detail"].replace(TONGZHOU_CASE, "X") == none.json()["detail"].replace(
            "HR-2026-999999", "X"
        )
    city = bearer(sqlite_engine, "city.leader")
    assert (await api.get(f"/api/cases/{TONGZHOU_CASE}", headers=city)).status_code == 200
    # Acting on a case outside the jurisdiction: the same 404, before Temporal is asked.
    r = await api.post(
        f"/api/cases/{TONGZHOU_CASE}/actions/comment", headers=officer, json={"comment": "x"}
    )
    assert r.status_code == 404


async def test_the_user_list_is_for_administrators_and_supervisors(
    sqlite_engine: Engine, api: httpx.AsyncClient
) -> None:
    r = await api.get("/api/users", headers=bearer(sqlite_engine, "chongchuan.grassroots1"))
    assert r.status_code == 403
    for user in ("chongchuan.supervisor", "city.admin"):
        r = await api.get("/api/users", headers=bearer(sqlite_engine, user))
        assert r.status_code == 200 and len(r.json()) == len(demo_users())


async def test_a_disabled_users_token_stops_at_once(
    sqlite_engine: Engine, directory: Directory, api: httpx.AsyncClient
) -> None:
    headers = bearer(sqlite_engine, "chongchuan.officer1")
    assert (await api.get("/api/inbox", headers=headers)).status_code == 200
    directory.disable("chongchuan.officer1")
    assert (await api.get("/api/inbox", headers=headers)).status_code == 401


async def test_the_proxy_header_counts_only_from_a_trusted_proxy_with_its_secret(
    sqlite_engine: Engine, directory: Directory
) -> None:
    app = make_app(sqlite_engine, trusted_proxies="10.0.0.0/24", proxy_secret=SecretStr(SECRET))

    async def ask(client_ip: str, headers: dict[str, str]) -> int:
        transport = httpx.ASGITransport(app=app, client=(client_ip, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return (await c.get("/api/inbox", headers=headers)).status_code

    named = {"X-Casework-User": "chongchuan.officer1"}
    assert await ask("10.0.0.7", {**named, "X-Casework-Proxy-Secret": SECRET}) == 200
    assert await ask("10.0.0.7", {**named, "X-Casework-Proxy-Secret": "guess"}) == 401
    assert await ask("10.0.0.7", named) == 401
    assert await ask("192.0.2.1", {**named, "X-Casework-Proxy-Secret": SECRET}) == 401
    directory.disable("chongchuan.officer1")
    assert await ask("10.0.0.7", {**named, "X-Casework-Proxy-Secret": SECRET}) == 401
    with pytest.raises(ValueError, match="PROXY_SECRET"):
        make_app(sqlite_engine, trusted_proxies="10.0.0.0/24")


# -- the browser's sign-in ------------------------------------------------------------------


async def sign_in(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    page = await client.get("/login")
    token = page.cookies.get(LOGIN_COOKIE) or client.cookies.get(LOGIN_COOKIE)
    return await client.post(
        "/login",
        data={"user_id": user, "password": password, "login_token": token or ""},
        headers={"Origin": "http://testserver"},
    )


async def test_sign_in_sets_a_safe_session_cookie_and_sign_out_ends_it(
    api: httpx.AsyncClient,
) -> None:
    with capture_logs() as logs:
        await signed_in_then_out(api)
    events = [e["event"] for e in logs]
    assert "auth.signed_in" in events and "auth.signed_out" in events
    assert PASSWORD not in repr(logs)


async def signed_in_then_out(api: httpx.AsyncClient) -> None:
    r = await sign_in(api, "chongchuan.grassroots1", PASSWORD)
    assert r.status_code == 303 and r.headers["location"] == "/inbox"
    cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    session = api.cookies[SESSION_COOKIE]
    assert (await api.get("/inbox")).status_code == 200
    # The session works for the API's reads too.
    assert (await api.get(f"/api/cases/{CHONGCHUAN_CASE}")).status_code == 200

    page = await api.get("/inbox")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = await api.post(
        "/logout", data={"csrf_token": csrf}, headers={"Origin": "http://testserver"}
    )
    assert r.status_code == 303
    api.cookies.set(SESSION_COOKIE, session)  # replaying the old cookie gets nothing
    assert (await api.get("/inbox")).headers.get("location") == "/login"
    assert (await api.get(f"/api/cases/{CHONGCHUAN_CASE}")).status_code == 401


async def test_a_wrong_password_and_a_forged_login_form_are_refused(
    api: httpx.AsyncClient,
) -> None:
    r = await sign_in(api, "chongchuan.grassroots1", "not the password")
    assert r.status_code == 401 and SESSION_COOKIE not in api.cookies
    assert "用户名或密码错误" in r.text
    # A password typed into the user-id field is not logged.
    with capture_logs() as logs:
        await sign_in(api, PASSWORD, PASSWORD)
    assert [e["event"] for e in logs] == ["auth.sign_in_failed"]
    assert PASSWORD not in repr(logs)
    # Login CSRF: a form posted from elsewhere (no login cookie, or another origin).
    api.cookies.clear()
    r = await api.post("/login", data={"user_id": "chongchuan.grassroots1", "password": PASSWORD})
    assert r.status_code == 403 and SESSION_COOKIE not in api.cookies
    page = await api.get("/login")
    token = api.cookies.get(LOGIN_COOKIE)
    r = await api.post(
        "/login",
        data={"user_id": "chongchuan.grassroots1", "password": PASSWORD, "login_token": token},
        headers={"Origin": "http://evil.example"},
    )
    assert page.status_code == 200 and r.status_code == 403


async def test_sign_in_attempts_are_rate_limited(api: httpx.AsyncClient) -> None:
    for _ in range(5):
        assert (await sign_in(api, "chongchuan.grassroots1", "wrong guess!")).status_code == 401
    r = await sign_in(api, "chongchuan.grassroots1", PASSWORD)
    assert r.status_code == 429 and SESSION_COOKIE not in api.cookies


async def test_forms_need_the_sessions_token_and_our_origin(
    sqlite_engine: Engine, api: httpx.AsyncClient
) -> None:
    await sign_in(api, "chongchuan.grassroots1", PASSWORD)
    page = await api.get(f"/cases/{CHONGCHUAN_CASE}")
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    form = {"action": "comment", "comment": "来自别处的表单"}
    # No token, a wrong token, or the right token from another origin (another port of
    # the same host is another origin): refused before anything is sent to a case.
    for data, origin in (
        (form, "http://testserver"),
        ({**form, "csrf_token": "x" * 43}, "http://testserver"),
        ({**form, "csrf_token": csrf}, "http://testserver:9999"),
        ({**form, "csrf_token": csrf}, "null"),
    ):
        r = await api.post(f"/cases/{CHONGCHUAN_CASE}/act", data=data, headers={"Origin": origin})
        assert r.status_code == 403, (data, origin, r.status_code)
    # The API with the session cookie: a write needs the token in X-CSRF-Token.
    r = await api.post(f"/api/cases/{CHONGCHUAN_CASE}/actions/comment", json={"comment": "x"})
    assert r.status_code == 403


async def test_cookies_are_secure_behind_tls(sqlite_engine: Engine, directory: Directory) -> None:
    app = make_app(sqlite_engine, public_url="https://casework.example.org")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://casework.example.org") as c:
        await c.get("/login")
        token = c.cookies.get(LOGIN_COOKIE)
        r = await c.post(
            "/login",
            data={"user_id": "chongchuan.grassroots1", "password": PASSWORD, "login_token": token},
            headers={"Origin": "https://casework.example.org"},
        )
        assert r.status_code == 303
        cookie = next(h for h in r.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "Secure" in cookie and "HttpOnly" in cookie
