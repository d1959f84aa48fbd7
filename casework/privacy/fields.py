"""Field-level envelope encryption: every case has its own random data key, kept only
wrapped (encrypted) by a master key; the case's personal fields are encrypted with it.
Destroying the wrapped key makes the fields unreadable wherever copies of their
ciphertext went (event log, Temporal history, backups): crypto-shredding.

AES-256-GCM throughout. Associated data binds each ciphertext to its place: a data key
to its case, a field to its case and name, so nothing can be swapped between cases.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casework.domain.personal import SealedFields, SealedValue
from casework.privacy.keys import KEY_BYTES, Keyring

NONCE_BYTES = 12


class DecryptionFailed(Exception):
    """Wrong key, or ciphertext altered or moved to another case or field."""


def encrypt(key: bytes, plaintext: bytes, aad: bytes) -> bytes:
    """nonce || ciphertext || tag."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, aad: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
    except (InvalidTag, ValueError):
        raise DecryptionFailed("cannot decrypt: wrong key or altered data") from None


def _case_key_aad(case_id: str) -> bytes:
    return f"casework/case-key/{case_id}".encode()


def _field_aad(case_id: str, field: str) -> bytes:
    return f"casework/field/{case_id}/{field}".encode()


def new_data_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def wrap_data_key(keyring: Keyring, case_id: str, data_key: bytes) -> tuple[str, str]:
    """(master key id, base64 wrapped key) under the keyring's current key."""
    blob = encrypt(keyring.current, data_key, _case_key_aad(case_id))
    return keyring.current_id, base64.b64encode(blob).decode()


def unwrap_data_key(keyring: Keyring, case_id: str, master_key_id: str, wrapped: str) -> bytes:
    blob = base64.b64decode(wrapped)
    try:
        return decrypt(keyring.key(master_key_id), blob, _case_key_aad(case_id))
    except DecryptionFailed:
        raise DecryptionFailed(
            f"case key of {case_id} does not open with master key {master_key_id!r}"
        ) from None


def seal(data_key: bytes, case_id: str, field: str, value: str) -> SealedValue:
    blob = encrypt(data_key, value.encode(), _field_aad(case_id, field))
    return SealedValue(ct=base64.b64encode(blob).decode())


def unseal(data_key: bytes, case_id: str, field: str, sealed: SealedValue) -> str:
    if sealed.alg != "A256GCM":
        raise DecryptionFailed(f"unknown algorithm {sealed.alg!r} for {field}")
    return decrypt(data_key, base64.b64decode(sealed.ct), _field_aad(case_id, field)).decode()


def seal_fields(data_key: bytes, case_id: str, values: Mapping[str, str | None]) -> SealedFields:
    """The given fields sealed; a field without a value is left out."""
    return {
        name: seal(data_key, case_id, name, value)
        for name, value in values.items()
        if value is not None
    }
