"""Password hashing with Argon2id (argon2-cffi, RFC 9106 low-memory profile)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 256
"""Longer input is refused before hashing: Argon2 would hash a megabyte just as well,
but nobody types one and it costs memory per attempt."""

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("casework: compare against something when the user is unknown")


class WeakPassword(ValueError):
    pass


def check_policy(password: str) -> str:
    """The password, or WeakPassword saying what is wrong (never repeating it)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"密码至少 {MIN_LENGTH} 个字符 (at least {MIN_LENGTH} characters)")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"密码至多 {MAX_LENGTH} 个字符 (at most {MAX_LENGTH} characters)")
    if password.strip() != password or not password.isprintable():
        raise WeakPassword(
            "密码不能以空白开头或结尾，也不能含控制字符 "
            "(no leading or trailing spaces, no control characters)"
        )
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_policy(password))


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. Takes as long for an unknown user (None) as for a
    known one, so timing does not tell which accounts exist."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(password_hash or _DUMMY, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
