"""A small OpenID Connect provider for tests: discovery, /authorize (approves its one
configured user at once), /token (checks the client secret, the code, the redirect URI
and the PKCE verifier) and /jwks, signing RS256 ID tokens with a key made here.

`fault` makes the next ID tokens wrong in one way, as a broken or hostile provider (or
someone in between) would: "signature", "aud", "nonce", "expired"."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import uvicorn
from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

CLIENT_ID = "casework"
CLIENT_SECRET = "provider-client-secret-0123456789"


def _key(kid: str = "test-key-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@dataclass
class Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str


@dataclass
class Provider:
    issuer: str = ""
    username: str = "chongchuan.officer1"
    """The person who signs in at the provider (the `preferred_username` claim)."""
    deny: bool = False
    """Answer /authorize with error=access_denied (the person said no)."""
    fault: str | None = None
    key: RSAKey = field(default_factory=_key)
    grants: dict[str, Grant] = field(default_factory=dict)
    token_requests: int = 0
    issued: list[str] = field(default_factory=list)
    """Every code, access token and ID token handed out (none may appear in a log)."""

    def rotate(self) -> None:
        """A new signing key under a new key id; the old one is no longer published."""
        self.key = _key(f"test-key-{secrets.token_hex(4)}")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self.discovery),
                Route("/authorize", self.authorize),
                Route("/token", self.token, methods=["POST"]),
                Route("/jwks", self.jwks),
            ]
        )

    async def discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "profile"],
            }
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False)]})

    async def authorize(self, request: Request) -> Response:
        q = request.query_params
        if (
            q.get("client_id") != CLIENT_ID
            or q.get("response_type") != "code"
            or "openid" not in q.get("scope", "").split()
            or q.get("code_challenge_method") != "S256"
            or not q.get("code_challenge")
            or not q.get("redirect_uri")
        ):
            return JSONResponse({"error": "invalid_request"}, 400)
        back: dict[str, str] = {"state": q.get("state", "")}
        if self.deny:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(16)
            self.grants[code] = Grant(
                CLIENT_ID, q["redirect_uri"], q.get("nonce"), q["code_challenge"]
            )
            self.issued.append(code)
            back["code"] = code
        return RedirectResponse(f"{q['redirect_uri']}?{urlencode(back)}", 302)

    async def token(self, request: Request) -> Response:
        self.token_requests += 1
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return JSONResponse({"error": "invalid_client"}, 401)
        form = await request.form()
        grant = self.grants.pop(str(form.get("code", "")), None)  # a code works once
        if form.get("grant_type") != "authorization_code" or grant is None:
            return JSONResponse({"error": "invalid_grant"}, 400)
        if form.get("redirect_uri") != grant.redirect_uri:
            return JSONResponse({"error": "invalid_grant", "error_description": "redirect"}, 400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        if challenge.rstrip(b"=").decode() != grant.code_challenge:
            return JSONResponse({"error": "invalid_grant", "error_description": "pkce"}, 400)
        access_token = secrets.token_urlsafe(24)
        id_token = self.id_token(grant)
        self.issued += [access_token, id_token]
        return JSONResponse(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 300,
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    def id_token(self, grant: Grant) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": "person-" + hashlib.sha256(self.username.encode()).hexdigest()[:12],
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 300,
            "nonce": grant.nonce,
            "preferred_username": self.username,
        }
        key = self.key
        if self.fault == "signature":
            key = _key(str(self.key.kid))  # a forger's key under the provider's key id
        elif self.fault == "aud":
            # Issued to another client (azp names us, which must not be enough).
            claims.update(aud="another-client", azp=grant.client_id)
        elif self.fault == "nonce":
            claims["nonce"] = secrets.token_urlsafe(32)
        elif self.fault == "expired":
            claims.update(iat=now - 3600, exp=now - 600)
        return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def running_provider() -> AsyncIterator[Provider]:
    """The provider served by uvicorn on a free 127.0.0.1 port, for the block's length."""
    provider = Provider()
    port = _free_port()
    provider.issuer = f"http://127.0.0.1:{port}"
    server = uvicorn.Server(
        uvicorn.Config(
            provider.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield provider
    finally:
        server.should_exit = True
        await task
