"""Signing in with a user id and password: the directory, Argon2, the rate limit and
the sign-in log together. Every sign-in, failure and sign-out is logged (structlog,
`casework.auth`); a password never is, and neither is a user id that matches no
account (people type their password into the wrong field)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import structlog
from sqlalchemy import Engine

from casework.auth.passwords import needs_rehash, verify_password
from casework.store.auth import RateLimit, SignInFailures
from casework.store.directory import Directory, UnknownUser, User

log = structlog.get_logger("casework.auth")

_USER_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


class SignInRefused(Exception):
    """`code`: bad_credentials | rate_limited | disabled; `retry_at` for rate_limited."""

    def __init__(self, code: str, message: str, retry_at: datetime | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.retry_at = retry_at


def logged_id(user_id: str, known: bool) -> str:
    """The attempted id as the log may show it: a known account's id, otherwise a short
    digest (it may be a password typed into the wrong field)."""
    if known:
        return user_id
    return "unknown:" + hashlib.sha256(user_id.encode()).hexdigest()[:12]


class Authenticator:
    def __init__(self, engine: Engine, limit: RateLimit | None = None) -> None:
        self.directory = Directory(engine)
        self.failures = SignInFailures(engine, limit)

    def sign_in(self, user_id: str, password: str, address: str | None) -> User:
        """The user whose password this is, or SignInRefused. Slow on purpose (Argon2):
        call it off the event loop."""
        user_id = user_id.strip()
        blocked = self.failures.blocked_until(user_id, address)
        user: User | None = None
        if _USER_ID.match(user_id):
            try:
                user = self.directory.get(user_id)
            except UnknownUser:
                user = None
        who = logged_id(user_id, user is not None)
        if blocked is not None:
            log.warning("auth.sign_in_rate_limited", user=who, address=address, until=blocked)
            raise SignInRefused(
                "rate_limited",
                "登录失败次数过多，请稍后再试 (too many failed sign-ins; try again later)",
                blocked,
            )
        stored = self.directory.password_hash(user_id) if user is not None else None
        if not verify_password(stored, password):
            self.failures.record(user_id, address)
            log.warning("auth.sign_in_failed", user=who, address=address, reason="bad_credentials")
            raise SignInRefused("bad_credentials", "用户名或密码错误 (wrong user id or password)")
        assert user is not None and stored is not None
        if user.disabled:
            log.warning("auth.sign_in_failed", user=who, address=address, reason="disabled")
            raise SignInRefused("disabled", "用户已停用 (this account is disabled)")
        self.failures.clear_account(user_id)
        if needs_rehash(stored):
            from casework.auth.passwords import hash_password

            self.directory.set_password_hash(user_id, hash_password(password))
        return user
