"""Signing in through the federation's OpenID Connect provider, with Authlib.

The authorization-code flow with PKCE (S256), `state` and `nonce`: `start` records a
pending sign-in (casework.store.oidc) and gives the provider's URL to send the browser
to; `finish` takes that record back (once), exchanges the code at the token endpoint and
validates the ID token: its signature against the provider's published keys (JWKS), and
`iss`, `aud`, `exp`, `iat` (with a small leeway for clocks) and `nonce`. The result is
the user id in the configured claim; whether that user may sign in, and with which
roles, is the directory's business, not the provider's.

Authlib does the OAuth side (`AsyncOAuth2Client`: the authorization URL, the PKCE
challenge, the token request with client authentication) and the ID token's claims
(`authlib.oidc.core.CodeIDToken`). Signatures are checked with joserfc, the JOSE library
Authlib itself uses for ID tokens since `authlib.jose` was deprecated.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import httpx
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from sqlalchemy import Engine

from casework.settings import Settings
from casework.store.oidc import LoginExpired, OidcLogins

with warnings.catch_warnings():
    # Authlib prefers the httpx2 fork and warns, once per process, when it falls back
    # to httpx, which casework uses everywhere else and which works the same here.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

# Only public-key signatures: an HMAC "signature" keyed with the client secret, or none
# at all, would prove nothing about the provider.
SIGNING_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
DISCOVERY_TTL = 3600.0
"""Seconds the provider's discovery document is kept before it is read again."""


class OidcRefused(Exception):
    """A sign-in through the provider that must not go on. `code` is for the log (never
    token contents), `message` for the person, `status` for the page."""

    def __init__(self, code: str, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


class ProviderUnavailable(OidcRefused):
    def __init__(self, detail: str) -> None:
        super().__init__(
            "provider_unavailable",
            "统一身份认证服务暂时无法访问，请稍后再试或使用密码登录 "
            "(the single sign-on provider cannot be reached; try again later or use a password)",
            502,
        )
        self.detail = detail


@dataclass
class OidcClient:
    engine: Engine
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid profile"
    user_claim: str = "preferred_username"
    leeway: int = 60
    """Seconds of clock difference allowed for `exp` and `iat`."""
    timeout: float = 10.0
    logins: OidcLogins = field(init=False)
    _metadata: dict[str, Any] | None = field(default=None, init=False, repr=False)
    _metadata_at: float = field(default=0.0, init=False, repr=False)
    _jwks: KeySet | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.issuer = self.issuer.rstrip("/")
        self.logins = OidcLogins(self.engine)
        if "openid" not in self.scopes.split():
            self.scopes = f"openid {self.scopes}".strip()

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> OidcClient:
        if not settings.oidc_issuer:
            raise ValueError("CASEWORK_OIDC_ISSUER is not set")
        if not settings.oidc_client_id or settings.oidc_client_secret is None:
            raise ValueError(
                "CASEWORK_OIDC_ISSUER needs CASEWORK_OIDC_CLIENT_ID and "
                "CASEWORK_OIDC_CLIENT_SECRET as well"
            )
        return cls(
            engine=engine,
            issuer=settings.oidc_issuer,
            client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret.get_secret_value(),
            scopes=settings.oidc_scopes,
            user_claim=settings.oidc_user_claim,
        )

    # -- the provider's documents ------------------------------------------------------

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
            response.raise_for_status()
            data = response.json()
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderUnavailable(f"{url}: {e.__class__.__name__}") from e
        if not isinstance(data, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return data

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (`/.well-known/openid-configuration`),
        kept for an hour."""
        if self._metadata is not None and time.monotonic() - self._metadata_at < DISCOVERY_TTL:
            return self._metadata
        data = await self._get_json(f"{self.issuer}/.well-known/openid-configuration")
        # OpenID Connect Discovery 1.0, 4.3: the document must name the issuer we asked.
        if str(data.get("issuer", "")).rstrip("/") != self.issuer:
            raise ProviderUnavailable("discovery: issuer differs from CASEWORK_OIDC_ISSUER")
        for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(data.get(key), str):
                raise ProviderUnavailable(f"discovery: no {key}")
        self._metadata, self._metadata_at = data, time.monotonic()
        return data

    async def _keys(self, refresh: bool = False) -> KeySet:
        """The provider's signing keys, read once and again when a token names a key we
        do not have (the provider rotated its keys). Only a sign-in that came back from
        the provider with a code it accepted gets that far, so nobody else can make us
        re-read them."""
        if self._jwks is not None and not refresh:
            return self._jwks
        data = await self._get_json((await self.metadata())["jwks_uri"])
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, KeyError, TypeError) as e:
            raise ProviderUnavailable(f"jwks: {e.__class__.__name__}") from e
        self._jwks = keys
        return keys

    def _oauth(self, metadata: dict[str, Any], redirect_uri: str) -> AsyncOAuth2Client:
        methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
        method = (
            "client_secret_post"
            if "client_secret_basic" not in methods and "client_secret_post" in methods
            else "client_secret_basic"
        )
        return AsyncOAuth2Client(
            client_id=self.client_id,
            client_secret=self.client_secret,
            token_endpoint_auth_method=method,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            timeout=self.timeout,
        )

    # -- the flow ------------------------------------------------------------------------

    async def start(self, redirect_uri: str) -> tuple[str, str]:
        """(the provider's authorization URL to send the browser to, the state)."""
        metadata = await self.metadata()
        login = self.logins.begin()
        async with self._oauth(metadata, redirect_uri) as oauth:
            url, _ = oauth.create_authorization_url(
                metadata["authorization_endpoint"],
                state=login.state,
                code_verifier=login.code_verifier,
                nonce=login.nonce,
            )
        return str(url), login.state

    async def finish(self, redirect_uri: str, state: str, code: str) -> str:
        """The user id the provider vouches for, after the browser came back with this
        state and code; OidcRefused otherwise. The pending sign-in is used up either way."""
        try:
            login = self.logins.take(state)
        except LoginExpired:
            raise OidcRefused(
                "state_expired",
                "登录已超时，请重新登录 (the sign-in took too long; start again)",
                400,
            ) from None
        if login is None:
            raise OidcRefused(
                "state_unknown",
                "登录请求无效或已使用，请重新登录 (this sign-in link is not valid or was used already; start again)",
                400,
            )
        if not code:
            raise OidcRefused("no_code", "认证服务未返回授权码 (the provider sent no code)", 400)
        metadata = await self.metadata()
        try:
            async with self._oauth(metadata, redirect_uri) as oauth:
                token = await oauth.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    code_verifier=login.code_verifier,
                )
        except OAuthError as e:
            raise OidcRefused(
                f"token_refused:{str(e.error)[:40]}",
                "认证服务拒绝了此次登录 (the provider refused this sign-in)",
            ) from e
        except (httpx.HTTPError, ValueError) as e:
            raise ProviderUnavailable(f"token endpoint: {e.__class__.__name__}") from e
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcRefused(
                "no_id_token", "认证服务未返回身份令牌 (the provider sent no ID token)"
            )
        claims = await self._validate(metadata, id_token, login.nonce, token.get("access_token"))
        user_id = claims.get(self.user_claim)
        if not isinstance(user_id, str) or not user_id.strip():
            raise OidcRefused(
                f"no_claim:{self.user_claim}",
                "身份令牌中没有用户名 (the ID token names no casework user)",
            )
        return user_id.strip()

    async def _validate(
        self, metadata: dict[str, Any], id_token: str, nonce: str, access_token: Any
    ) -> CodeIDToken:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in offered if a in SIGNING_ALGORITHMS] or ["RS256"]
        try:
            try:
                decoded = jwt.decode(id_token, await self._keys(), algorithms=algorithms)
            except InvalidKeyIdError:
                decoded = jwt.decode(
                    id_token, await self._keys(refresh=True), algorithms=algorithms
                )
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {
                    "iss": {"essential": True, "value": metadata["issuer"]},
                    "aud": {"essential": True, "value": self.client_id},
                    "exp": {"essential": True},
                    "iat": {"essential": True},
                    "nonce": {"essential": True},
                },
                {
                    "nonce": nonce,
                    "client_id": self.client_id,
                    "access_token": access_token if isinstance(access_token, str) else None,
                },
            )
            claims.validate(leeway=self.leeway)
        except (JoseError, ValueError) as e:
            # The error names the check (a claim's name, "bad signature"), never a value.
            raise OidcRefused(
                f"id_token_invalid:{e.__class__.__name__}:{getattr(e, 'description', '')}"[:120],
                "身份令牌无效 (the provider's ID token is not valid)",
            ) from e
        return claims
