"""Sign-ins through the OpenID Connect provider that have left for the provider and not
come back yet (`oidc_logins`): the nonce and PKCE verifier of each, under its state.

A record is used once: taking it deletes it, so a replayed callback finds nothing. One
older than the time limit is refused and swept. The table holds the sha256 of the state,
not the state itself (as for session ids): the state also sits in the browser's cookie.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, insert, select

from casework.store.tables import oidc_logins

LOGIN_TTL = timedelta(minutes=10)


def _digest(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True)
class PendingLogin:
    state: str
    nonce: str
    code_verifier: str


class LoginExpired(Exception):
    """The record was there but older than the time limit (it is gone now)."""


class OidcLogins:
    def __init__(self, engine: Engine, ttl: timedelta = LOGIN_TTL) -> None:
        self.engine = engine
        self.ttl = ttl

    def begin(self) -> PendingLogin:
        """A new pending sign-in with fresh random state, nonce and PKCE verifier
        (RFC 7636: 43 to 128 characters; these are 64)."""
        login = PendingLogin(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
        )
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(oidc_logins).where(oidc_logins.c.created_at < now - self.ttl))
            conn.execute(
                insert(oidc_logins).values(
                    state=_digest(login.state),
                    nonce=login.nonce,
                    code_verifier=login.code_verifier,
                    created_at=now,
                )
            )
        return login

    def take(self, state: str) -> PendingLogin | None:
        """The pending sign-in with this state, deleted as it is read; None if there is
        none (never started, or already used). LoginExpired if it is too old."""
        if not state or len(state) > 100:
            return None
        key = _digest(state)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            row = conn.execute(select(oidc_logins).where(oidc_logins.c.state == key)).first()
            if row is None:
                return None
            # Whoever deletes the row owns it: two callbacks racing with one state get
            # one sign-in between them.
            taken = conn.execute(delete(oidc_logins).where(oidc_logins.c.state == key))
            if taken.rowcount != 1:
                return None
        if now - row.created_at > self.ttl:
            raise LoginExpired()
        return PendingLogin(state=state, nonce=row.nonce, code_verifier=row.code_verifier)

    def sweep(self) -> int:
        """Drop records past the time limit (also done by every `begin`)."""
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(oidc_logins).where(oidc_logins.c.created_at < datetime.now(UTC) - self.ttl)
            )
        return int(done.rowcount)
