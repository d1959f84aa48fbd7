"""Browser sessions, API tokens and failed sign-ins, kept in the database so that every
API process sees the same ones and a disabled user's are refused at once.

Secrets (session ids, token secrets) are 256 random bits; the database holds only their
sha256, so a copy of these tables signs nobody in. (A slow hash such as Argon2 is for
passwords people choose; for random secrets sha256 is the usual choice and costs
nothing per request.)
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, and_, delete, func, insert, select, update

from casework.store.tables import api_tokens, sign_in_failures, users, web_sessions


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class SessionPolicy:
    lifetime: timedelta = timedelta(hours=12)
    """A session ends this long after sign-in, however busy."""
    idle: timedelta = timedelta(minutes=30)
    """... and after this long without a request."""
    touch_every: timedelta = timedelta(seconds=60)
    """last_seen_at is written at most this often (not on every page)."""


class WebSession(BaseModel):
    user_id: str
    csrf_token: str
    via: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


class Sessions:
    def __init__(self, engine: Engine, policy: SessionPolicy | None = None) -> None:
        self.engine = engine
        self.policy = policy or SessionPolicy()

    def create(self, user_id: str, via: str, address: str | None = None) -> tuple[str, WebSession]:
        """A new session: (the id for the cookie, the session)."""
        session_id = secrets.token_urlsafe(32)
        now = _now()
        row: dict[str, Any] = {
            "id_hash": _digest(session_id),
            "user_id": user_id,
            "csrf_token": secrets.token_urlsafe(32),
            "via": via,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": now + self.policy.lifetime,
            "address": (address or "")[:64] or None,
        }
        with self.engine.begin() as conn:
            # Sessions past their end are dropped as new ones begin.
            conn.execute(delete(web_sessions).where(web_sessions.c.expires_at < now))
            conn.execute(insert(web_sessions).values(**row))
        return session_id, WebSession(**row)

    def resolve(self, session_id: str | None) -> WebSession | None:
        """The live session of an enabled user, or None (unknown, ended, idle too long,
        or its user disabled since)."""
        if not session_id or len(session_id) > 100:
            return None
        now = _now()
        key = _digest(session_id)
        query = (
            select(web_sessions, users.c.disabled_at)
            .join(users, users.c.id == web_sessions.c.user_id)
            .where(web_sessions.c.id_hash == key)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        if row.disabled_at is not None or row.expires_at <= now:
            self.end(session_id)
            return None
        if now - row.last_seen_at > self.policy.idle:
            self.end(session_id)
            return None
        if now - row.last_seen_at > self.policy.touch_every:
            with self.engine.begin() as conn:
                conn.execute(
                    update(web_sessions)
                    .where(web_sessions.c.id_hash == key)
                    .values(last_seen_at=now)
                )
        return WebSession(
            user_id=row.user_id,
            csrf_token=row.csrf_token,
            via=row.via,
            created_at=row.created_at,
            last_seen_at=row.last_seen_at,
            expires_at=row.expires_at,
        )

    def end(self, session_id: str) -> bool:
        with self.engine.begin() as conn:
            done = conn.execute(
                delete(web_sessions).where(web_sessions.c.id_hash == _digest(session_id))
            )
        return bool(done.rowcount)

    def end_all(self, user_id: str) -> int:
        """End every session of a user (disabled, password changed)."""
        with self.engine.begin() as conn:
            done = conn.execute(delete(web_sessions).where(web_sessions.c.user_id == user_id))
        return int(done.rowcount)


# -- API tokens ----------------------------------------------------------------------------

TOKEN_PATTERN = re.compile(r"^cw_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$")
MAX_TOKEN_DAYS = 366


class TokenInfo(BaseModel):
    id: str
    user_id: str
    name: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.expires_at > _now()


class UnknownToken(LookupError):
    pass


class Tokens:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, user_id: str, name: str, days: int) -> tuple[str, TokenInfo]:
        """A new token: (the token, shown once, never stored; its record)."""
        if not 1 <= days <= MAX_TOKEN_DAYS:
            raise ValueError(f"field days: 1 to {MAX_TOKEN_DAYS} (got {days})")
        token_id = "".join(
            secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12)
        )
        secret = secrets.token_urlsafe(32)
        now = _now()
        row = {
            "id": token_id,
            "user_id": user_id,
            "name": name[:100],
            "secret_hash": _digest(secret),
            "created_at": now,
            "expires_at": now + timedelta(days=days),
        }
        with self.engine.begin() as conn:
            conn.execute(insert(api_tokens).values(**row))
        info = TokenInfo(**row, last_used_at=None, revoked_at=None)  # type: ignore[arg-type]
        return f"cw_{token_id}_{secret}", info

    def resolve(self, token: str) -> str | None:
        """The user id an enabled user's live token belongs to, or None."""
        match = TOKEN_PATTERN.match(token)
        if match is None:
            return None
        token_id, secret = match.groups()
        now = _now()
        query = (
            select(api_tokens, users.c.disabled_at)
            .join(users, users.c.id == api_tokens.c.user_id)
            .where(api_tokens.c.id == token_id)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None or not hmac.compare_digest(row.secret_hash, _digest(secret)):
            return None
        if row.revoked_at is not None or row.expires_at <= now or row.disabled_at is not None:
            return None
        if row.last_used_at is None or now - row.last_used_at > timedelta(minutes=1):
            with self.engine.begin() as conn:
                conn.execute(
                    update(api_tokens).where(api_tokens.c.id == token_id).values(last_used_at=now)
                )
        return str(row.user_id)

    def list(self, user_id: str | None = None) -> list[TokenInfo]:
        query = select(api_tokens).order_by(api_tokens.c.user_id, api_tokens.c.created_at)
        if user_id is not None:
            query = query.where(api_tokens.c.user_id == user_id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            TokenInfo(
                id=r.id,
                user_id=r.user_id,
                name=r.name,
                created_at=r.created_at,
                expires_at=r.expires_at,
                last_used_at=r.last_used_at,
                revoked_at=r.revoked_at,
            )
            for r in rows
        ]

    def get(self, token_id: str) -> TokenInfo:
        for info in self.list():
            if info.id == token_id:
                return info
        raise UnknownToken(f"未知令牌 (unknown token): {token_id}")

    def revoke(self, token_id: str) -> None:
        with self.engine.begin() as conn:
            done = conn.execute(
                update(api_tokens)
                .where(api_tokens.c.id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )
        if not done.rowcount:
            self.get(token_id)  # UnknownToken, or it was revoked already (fine)

    def revoke_all(self, user_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(api_tokens)
                .where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            )


# -- the sign-in rate limit -----------------------------------------------------------------


@dataclass(frozen=True)
class RateLimit:
    window: timedelta = timedelta(minutes=15)
    per_account: int = 5
    """Failed sign-ins for one account within the window before it is refused."""
    per_address: int = 20
    """Failed sign-ins from one address (any accounts) within the window."""


class SignInFailures:
    def __init__(self, engine: Engine, limit: RateLimit | None = None) -> None:
        self.engine = engine
        self.limit = limit or RateLimit()

    @staticmethod
    def _subjects(user_id: str, address: str | None) -> tuple[str, str]:
        return f"user:{user_id[:100]}", f"address:{(address or '-')[:100]}"

    def blocked_until(self, user_id: str, address: str | None) -> datetime | None:
        """When the account or the address may try again, if either is over its limit."""
        account, where = self._subjects(user_id, address)
        since = _now() - self.limit.window
        query = (
            select(sign_in_failures.c.subject, func.count(), func.min(sign_in_failures.c.at))
            .where(sign_in_failures.c.subject.in_([account, where]), sign_in_failures.c.at > since)
            .group_by(sign_in_failures.c.subject)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        until: datetime | None = None
        for subject, count, oldest in rows:
            cap = self.limit.per_account if subject == account else self.limit.per_address
            if count >= cap:
                # The oldest counted failure leaves the window first.
                free = _aware(oldest) + self.limit.window
                until = free if until is None else max(until, free)
        return until

    def record(self, user_id: str, address: str | None) -> None:
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                delete(sign_in_failures).where(sign_in_failures.c.at < now - self.limit.window)
            )
            conn.execute(
                insert(sign_in_failures),
                [{"subject": s, "at": now} for s in self._subjects(user_id, address)],
            )

    def clear_account(self, user_id: str) -> None:
        account, _ = self._subjects(user_id, None)
        with self.engine.begin() as conn:
            conn.execute(
                delete(sign_in_failures).where(and_(sign_in_failures.c.subject == account))
            )


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
