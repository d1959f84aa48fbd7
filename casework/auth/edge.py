"""Who is asking, at the HTTP edge: a browser session, an API token, or a trusted proxy
that did single sign-on. Each resolves to a user id, and the user comes from the
directory (enabled users only). Nothing else a client sends names a user."""

from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import structlog
from sqlalchemy import Engine
from starlette.requests import Request

from casework.auth.signin import Authenticator
from casework.settings import Settings
from casework.store.auth import RateLimit, SessionPolicy, Sessions, Tokens, WebSession
from casework.store.directory import Directory, UnknownUser, User, UserDisabled

log = structlog.get_logger("casework.auth")

SESSION_COOKIE = "casework_session"
LOGIN_COOKIE = "casework_login"
"""Before sign-in: a random value the sign-in form must repeat (login CSRF)."""
PROXY_SECRET_HEADER = "X-Casework-Proxy-Secret"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> list[Network]:
    networks: list[Network] = []
    for part in value.split(","):
        part = part.strip()
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(
                    f"CASEWORK_TRUSTED_PROXIES: not an address or network: {part!r}"
                ) from None
    return networks


@dataclass
class EdgeAuth:
    """The sign-in machinery one app uses (built from Settings by `from_settings`)."""

    engine: Engine
    sessions: Sessions
    tokens: Tokens
    directory: Directory
    authenticator: Authenticator
    public_url: str | None = None
    trusted_proxies: list[Network] = field(default_factory=list)
    proxy_secret: str | None = None
    proxy_user_header: str = "X-Casework-User"
    oidc: object | None = None
    """casework.auth.oidc.OidcClient when configured."""

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings | None = None) -> EdgeAuth:
        s = settings or Settings()
        if s.trusted_proxies and s.proxy_secret is None:
            raise ValueError("CASEWORK_TRUSTED_PROXIES needs CASEWORK_PROXY_SECRET as well")
        oidc = None
        if s.oidc_issuer:
            from casework.auth.oidc import OidcClient

            oidc = OidcClient.from_settings(engine, s)
        return cls(
            engine=engine,
            sessions=Sessions(
                engine,
                SessionPolicy(
                    lifetime=timedelta(hours=s.session_hours),
                    idle=timedelta(minutes=s.session_idle_minutes),
                ),
            ),
            tokens=Tokens(engine),
            directory=Directory(engine),
            authenticator=Authenticator(
                engine,
                RateLimit(
                    window=timedelta(minutes=s.sign_in_window_minutes),
                    per_account=s.sign_in_failures_per_account,
                    per_address=s.sign_in_failures_per_address,
                ),
            ),
            public_url=s.public_url.rstrip("/") if s.public_url else None,
            trusted_proxies=parse_networks(s.trusted_proxies),
            proxy_secret=s.proxy_secret.get_secret_value() if s.proxy_secret else None,
            proxy_user_header=s.proxy_user_header,
            oidc=oidc,
        )

    # -- who ---------------------------------------------------------------------------

    def _active(self, user_id: str) -> User | None:
        try:
            return self.directory.active(user_id)
        except (UnknownUser, UserDisabled):
            return None

    def from_token(self, request: Request) -> User | None | bool:
        """The token's user; None without an Authorization header; False for a header
        that names no live token."""
        header = request.headers.get("authorization")
        if header is None:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        user_id = self.tokens.resolve(token.strip())
        if user_id is None:
            return False
        return self._active(user_id) or False

    def from_proxy(self, request: Request) -> User | None:
        """The user a trusted reverse proxy names, if this request came from one and
        carries its secret; otherwise None (the header is ignored)."""
        name = request.headers.get(self.proxy_user_header)
        if name is None or not self.trusted_proxies or self.proxy_secret is None:
            return None
        client = request.client.host if request.client else None
        try:
            address = ipaddress.ip_address(client or "")
        except ValueError:
            return None
        if not any(address in net for net in self.trusted_proxies):
            log.warning("auth.proxy_header_refused", address=client, reason="untrusted address")
            return None
        if not same_secret(request.headers.get(PROXY_SECRET_HEADER), self.proxy_secret):
            log.warning("auth.proxy_header_refused", address=client, reason="wrong secret")
            return None
        return self._active(name.strip())

    def from_session(self, request: Request) -> tuple[User, WebSession] | None:
        session = self.sessions.resolve(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        user = self._active(session.user_id)
        return None if user is None else (user, session)

    # -- forms -------------------------------------------------------------------------

    def expected_origin(self, request: Request) -> str:
        if self.public_url:
            parts = urlsplit(self.public_url)
            return f"{parts.scheme}://{parts.netloc}"
        host = request.headers.get("host") or request.url.netloc
        return f"{request.url.scheme}://{host}"

    def same_origin(self, request: Request) -> bool:
        """Whether a state-changing request comes from our own pages. Browsers send
        Origin with every POST (Referer as a fallback); a client that sends neither is
        not a browser and still needs the session's CSRF token."""
        origin = request.headers.get("origin")
        if origin is None:
            referer = request.headers.get("referer")
            if referer is None:
                return True
            parts = urlsplit(referer)
            origin = f"{parts.scheme}://{parts.netloc}"
        return origin == self.expected_origin(request)

    def secure_cookies(self, request: Request) -> bool:
        if self.public_url:
            return self.public_url.startswith("https://")
        return request.url.scheme == "https"


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def same_secret(given: str | None, expected: str | None) -> bool:
    """Whether a secret a client sent equals ours (in constant time); an empty or
    missing one never does."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def check_csrf(session: WebSession, given: str | None) -> bool:
    return same_secret(given, session.csrf_token)


def set_session_cookie(response: object, auth: EdgeAuth, request: Request, session_id: str) -> None:
    """The session cookie: HttpOnly, SameSite=Lax, Secure when served over TLS; it lasts
    as long as the browser runs (the server ends the session on its own clock)."""
    response.set_cookie(  # type: ignore[attr-defined]
        SESSION_COOKIE,
        session_id,
        httponly=True,
        samesite="lax",
        secure=auth.secure_cookies(request),
        path="/",
    )


def signed_in_response(auth: EdgeAuth, request: Request, user_id: str, via: str) -> Any:
    """After a successful sign-in (password, OIDC): a new session, never the id the
    browser came with (session fixation), logged, and the way to the inbox."""
    from starlette.responses import RedirectResponse

    address = client_address(request)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        auth.sessions.end(previous)
    session_id, _ = auth.sessions.create(user_id, via, address)
    log.info("auth.signed_in", user=user_id, address=address, via=via)
    response = RedirectResponse("/inbox", 303)
    set_session_cookie(response, auth, request, session_id)
    return response
