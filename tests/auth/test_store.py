"""Sessions, tokens and the sign-in rate limit in the store (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update

from casework.auth.passwords import WeakPassword, hash_password, verify_password
from casework.auth.signin import Authenticator, SignInRefused
from casework.demo.people import demo_users
from casework.store.auth import (
    RateLimit,
    SessionPolicy,
    Sessions,
    SignInFailures,
    Tokens,
)
from casework.store.directory import Directory
from casework.store.tables import api_tokens, web_sessions

PASSWORD = "correct horse battery"


@pytest.fixture
def directory(engine: Engine) -> Directory:
    d = Directory(engine)
    d.upsert(demo_users())
    d.set_password_hash("chongchuan.officer1", hash_password(PASSWORD))
    return d


def test_passwords_are_argon2_and_never_stored_in_clear(directory: Directory) -> None:
    stored = directory.password_hash("chongchuan.officer1")
    assert stored is not None and stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert verify_password(stored, PASSWORD)
    assert not verify_password(stored, PASSWORD + "x")
    assert not verify_password(None, PASSWORD)  # unknown user: refused, same work done
    with pytest.raises(WeakPassword):
        hash_password("short")


def test_upsert_keeps_passwords_and_the_disabled_mark(directory: Directory) -> None:
    directory.disable("chongchuan.officer1")
    directory.upsert(demo_users())  # the demo seed runs again at every start
    user = directory.get("chongchuan.officer1")
    assert user.disabled and user.has_password


def test_a_session_lives_until_idle_or_expired_and_dies_with_its_user(
    engine: Engine, directory: Directory
) -> None:
    sessions = Sessions(engine, SessionPolicy(idle=timedelta(minutes=30)))
    sid, session = sessions.create("chongchuan.officer1", "password", "127.0.0.1")
    resolved = sessions.resolve(sid)
    assert resolved is not None and resolved.user_id == "chongchuan.officer1"
    assert resolved.csrf_token == session.csrf_token
    with engine.connect() as conn:  # only a digest of the id is stored
        stored = conn.execute(select(web_sessions.c.id_hash)).scalars().all()
    assert sid not in stored and len(stored) == 1
    assert sessions.resolve(sid + "x") is None

    # Idle for longer than the policy allows: gone.
    with engine.begin() as conn:
        conn.execute(
            update(web_sessions).values(last_seen_at=datetime.now(UTC) - timedelta(minutes=31))
        )
    assert sessions.resolve(sid) is None

    # Past its absolute end, however busy.
    sid, _ = sessions.create("chongchuan.officer1", "password")
    with engine.begin() as conn:
        conn.execute(update(web_sessions).values(expires_at=datetime.now(UTC) - timedelta(1)))
    assert sessions.resolve(sid) is None

    # Its user disabled: at once.
    sid, _ = sessions.create("chongchuan.officer1", "password")
    directory.disable("chongchuan.officer1")
    assert sessions.resolve(sid) is None


def test_tokens_are_hashed_expire_and_can_be_revoked(engine: Engine, directory: Directory) -> None:
    tokens = Tokens(engine)
    token, info = tokens.create("chongchuan.officer1", "script", 30)
    assert token.startswith(f"cw_{info.id}_")
    assert tokens.resolve(token) == "chongchuan.officer1"
    with engine.connect() as conn:
        row = conn.execute(select(api_tokens)).one()
    assert token.split("_", 2)[2] not in str(tuple(row))
    assert tokens.resolve(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert tokens.resolve("cw_nonsense") is None

    tokens.revoke(info.id)
    assert tokens.resolve(token) is None

    token, info = tokens.create("chongchuan.officer1", "script", 1)
    with engine.begin() as conn:
        conn.execute(update(api_tokens).values(expires_at=datetime.now(UTC) - timedelta(1)))
    assert tokens.resolve(token) is None

    token, _ = tokens.create("chongchuan.officer1", "script", 1)
    directory.disable("chongchuan.officer1")
    assert tokens.resolve(token) is None
    directory.enable("chongchuan.officer1")
    assert tokens.resolve(token) == "chongchuan.officer1"
    with pytest.raises(ValueError):
        tokens.create("chongchuan.officer1", "script", 0)


def test_sign_in_is_rate_limited_per_account_and_per_address(
    engine: Engine, directory: Directory
) -> None:
    auth = Authenticator(engine, RateLimit(per_account=3, per_address=5))
    assert auth.sign_in("chongchuan.officer1", PASSWORD, "10.0.0.1").id == "chongchuan.officer1"
    for _ in range(3):
        with pytest.raises(SignInRefused) as refused:
            auth.sign_in("chongchuan.officer1", "wrong password", "10.0.0.1")
        assert refused.value.code == "bad_credentials"
    # The account is over its limit: even the right password waits, from any address.
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in("chongchuan.officer1", PASSWORD, "10.0.0.2")
    assert refused.value.code == "rate_limited" and refused.value.retry_at is not None

    # One address trying many accounts.
    for user in ("haimen.officer1", "tongzhou.officer1"):
        with pytest.raises(SignInRefused):
            auth.sign_in(user, "wrong password", "10.0.0.3")
    directory.set_password_hash("haimen.leader", hash_password(PASSWORD))
    for user in ("x.unknown", "y.unknown", "z.unknown"):
        with pytest.raises(SignInRefused):
            auth.sign_in(user, "wrong password", "10.0.0.3")
    with pytest.raises(SignInRefused) as refused:
        auth.sign_in("haimen.leader", PASSWORD, "10.0.0.3")
    assert refused.value.code == "rate_limited"
    assert auth.sign_in("haimen.leader", PASSWORD, "10.0.0.4").id == "haimen.leader"


def test_failures_leave_the_window(engine: Engine, directory: Directory) -> None:
    failures = SignInFailures(engine, RateLimit(window=timedelta(seconds=1), per_account=1))
    failures.record("chongchuan.officer1", "10.0.0.1")
    assert failures.blocked_until("chongchuan.officer1", "10.0.0.1") is not None
    from casework.store.tables import sign_in_failures

    with engine.begin() as conn:
        conn.execute(update(sign_in_failures).values(at=datetime.now(UTC) - timedelta(seconds=2)))
    assert failures.blocked_until("chongchuan.officer1", "10.0.0.1") is None


def test_a_disabled_user_cannot_sign_in(engine: Engine, directory: Directory) -> None:
    directory.disable("chongchuan.officer1")
    with pytest.raises(SignInRefused) as refused:
        Authenticator(engine).sign_in("chongchuan.officer1", PASSWORD, None)
    assert refused.value.code == "disabled"
