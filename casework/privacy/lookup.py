"""Keyed hashes of ID numbers: finding the same person again without their number.

A hardship applicant's ID number is kept only encrypted with their case's own data key,
so no query can compare two cases' numbers. For "one person, one file" casework keeps,
per hardship case, HMAC-SHA256 of the normalised ID number under a lookup key derived
(HKDF-SHA256) from a master key: equal numbers give equal digests under the same key,
and nobody without the master key can test a guessed number against the table (the
18-digit numbers of one district and birth year are few enough to try them all
against a plain hash). A key of its own, not the master key itself, so that the
master key is used for one purpose only.

Every master key of the keyring has its lookup key: a digest written under an older
master key is still found after a new one is put in front, and `casework privacy
rewrap` writes the digests again under the current one, as it does the case keys,
before the old master key is retired (docs/DECISIONS.md).
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from casework.privacy.keys import KEY_BYTES, Keyring

_SALT = b"casework/applicant-identity"
_INFO = b"casework/applicant-identity/v1 hmac-sha256 id_number"


def lookup_key(master_key: bytes) -> bytes:
    """The identity-lookup key derived from one master key."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=_SALT, info=_INFO).derive(
        master_key
    )


def normalised_id_number(id_number: str) -> str:
    """The form digests are made of: no surrounding space, the check character X upper
    case (a number typed `...123x` is the same person as `...123X`)."""
    return id_number.strip().upper()


def identity_digest(key: bytes, id_number: str) -> str:
    """HMAC-SHA256 of the normalised ID number under a lookup key, hex."""
    message = normalised_id_number(id_number).encode("ascii", "strict")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def digests(keyring: Keyring, id_number: str) -> dict[str, str]:
    """The number's digest under the lookup key of each master key, by key id; the
    current key first."""
    return {
        key_id: identity_digest(lookup_key(keyring.key(key_id)), id_number)
        for key_id in keyring.ids
    }
