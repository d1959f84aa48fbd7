"""Master keys: the keyring every casework process encrypts with.

`CASEWORK_ENCRYPTION_KEYS="k2:BASE64,k1:BASE64"` names AES-256 keys (32 random bytes,
base64). The first is current: new payloads and new case keys are encrypted with it.
All of them decrypt, so a key is rotated by putting a new one in front and keeping the
old ones for as long as anything encrypted with them is kept.

Without the variable, the embedded (SQLite) stack keeps its keys in
`$CASEWORK_HOME/encryption-keys`, created with a fresh random key on first use and reused
after; a deployment on any other database must set the variable. Key material is never
logged, printed or put in an error message.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

if TYPE_CHECKING:
    from casework.settings import Settings

ENV_VAR = "CASEWORK_ENCRYPTION_KEYS"
KEY_FILE = "encryption-keys"
KEY_BYTES = 32
_KEY_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")


def _log() -> structlog.typing.FilteringBoundLogger:
    # Not cached in a module global: a CLI run in-process (tests) reconfigures logging
    # on each command, and a logger cached on first use would keep a closed stream.
    return structlog.get_logger("casework.privacy")  # type: ignore[no-any-return]


class KeyringError(ValueError):
    """Keys missing, malformed, or not the ones something was encrypted with. The message
    names the variable or file; it never contains key material."""


class Keyring:
    """Master keys by id; the first is current (used to encrypt), all decrypt."""

    def __init__(self, keys: Mapping[str, bytes], source: str = ENV_VAR) -> None:
        if not keys:
            raise KeyringError(f"{source}: no keys")
        for key_id, key in keys.items():
            if not _KEY_ID.match(key_id):
                raise KeyringError(f"{source}: key id {key_id!r} must be 1-64 of A-Z a-z 0-9 . _ -")
            if len(key) != KEY_BYTES:
                raise KeyringError(f"{source}: key {key_id!r} must be {KEY_BYTES} bytes")
        self._keys = dict(keys)
        self.source = source
        self.current_id = next(iter(self._keys))

    @classmethod
    def parse(cls, text: str, source: str = ENV_VAR) -> Keyring:
        """`id:BASE64` entries separated by commas or new lines, current first."""
        keys: dict[str, bytes] = {}
        lines = (line for line in text.splitlines() if not line.lstrip().startswith("#"))
        entries = [e.strip() for line in lines for e in line.split(",")]
        for n, entry in enumerate((e for e in entries if e), 1):
            key_id, sep, material = entry.partition(":")
            key_id = key_id.strip()
            if not sep or not key_id:
                raise KeyringError(f"{source}: entry {n} is not of the form id:BASE64")
            if key_id in keys:
                raise KeyringError(f"{source}: key id {key_id!r} appears twice")
            keys[key_id] = _decode_key(material.strip(), f"{source}: key {key_id!r}")
        if not keys:
            raise KeyringError(f"{source}: no keys (expected id:BASE64[,id:BASE64...])")
        return cls(keys, source)

    @classmethod
    def generate(cls, key_id: str | None = None) -> Keyring:
        return cls({key_id or new_key_id(): secrets.token_bytes(KEY_BYTES)}, "generated")

    @property
    def ids(self) -> list[str]:
        return list(self._keys)

    @property
    def current(self) -> bytes:
        return self._keys[self.current_id]

    def key(self, key_id: str) -> bytes:
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyringError(
                f"encrypted with key {key_id!r}, which is not in {self.source} "
                f"(keys there: {', '.join(self._keys)}); put the old key back after the new one"
            ) from None

    def serialize(self) -> str:
        """The `id:BASE64,...` form (for a key file or the environment variable)."""
        return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in self._keys.items())

    def __repr__(self) -> str:  # never the key material
        return f"Keyring(ids={self.ids!r}, source={self.source!r})"


def _decode_key(material: str, what: str) -> bytes:
    try:
        key = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        try:
            key = base64.urlsafe_b64decode(material)
        except (binascii.Error, ValueError):
            raise KeyringError(f"{what} is not valid base64") from None
    if len(key) != KEY_BYTES:
        raise KeyringError(f"{what} must be {KEY_BYTES} bytes, base64 encoded (got {len(key)})")
    return key


def new_key_id() -> str:
    """A fresh key id, e.g. `k20261125-3f9a`: its date tells operators which is newer."""
    from datetime import UTC, datetime

    return f"k{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(2)}"


def load_keyring(settings: Settings) -> Keyring:
    """The keyring of this deployment (see the module docstring)."""
    if settings.encryption_keys is not None:
        return Keyring.parse(settings.encryption_keys.get_secret_value(), ENV_VAR)
    path = Path(settings.home) / KEY_FILE
    if path.exists():
        return _read_key_file(path)
    if not settings.database_url.startswith("sqlite"):
        raise KeyringError(
            f"{ENV_VAR} is not set: a deployment on {settings.database_url.split(':')[0]} needs "
            f"its encryption keys (generate one with `casework privacy new-key`)"
        )
    return create_key_file(path)


def _read_key_file(path: Path) -> Keyring:
    try:
        return Keyring.parse(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise KeyringError(f"{path}: cannot read ({exc.strerror})") from None


def create_key_file(path: Path) -> Keyring:
    """Create the embedded stack's key file with one fresh key, or read the one another
    process created first (two processes may start at once)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    keyring = Keyring.generate()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(
                "# casework encryption keys (id:BASE64, current first). Losing this file makes\n"
                "# every applicant's ID number, phone and bank account unreadable.\n"
                + keyring.serialize()
                + "\n"
            )
        try:
            os.link(tmp, path)  # atomic, and fails if another process won the race
        except FileExistsError:
            return _read_key_file(path)
    finally:
        tmp.unlink(missing_ok=True)
    _log().warning("privacy.key_file_created", path=str(path), key_id=keyring.current_id)
    return _read_key_file(path)
