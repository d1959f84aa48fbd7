"""The Temporal payload codec: every payload casework sends to Temporal (workflow inputs
and results, activity arguments and results, update and query arguments, failure
messages) is encrypted with the keyring's current master key before it leaves the
process. Temporal's server, its database and its Web UI see only ciphertext.

After `temporalio/samples-python` encryption/codec.py, with key rotation: the key id
travels in the payload metadata and any key of the keyring decrypts. Payloads without
the `binary/encrypted` encoding (histories recorded before the codec) pass through.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from casework.privacy.fields import DecryptionFailed, decrypt, encrypt
from casework.privacy.keys import Keyring, KeyringError

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"


class EncryptionCodec(PayloadCodec):
    def __init__(self, keyring: Keyring) -> None:
        super().__init__()
        self.keyring = keyring

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encode_one(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decode_one(p) for p in payloads]

    def encode_one(self, payload: Payload) -> Payload:
        key_id = self.keyring.current_id
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()},
            data=encrypt(self.keyring.current, payload.SerializeToString(), key_id.encode()),
        )

    def decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode()
        try:
            clear = decrypt(self.keyring.key(key_id), payload.data, key_id.encode())
        except DecryptionFailed:
            raise KeyringError(
                f"payload encrypted with key {key_id!r} does not decrypt with the key of that "
                f"id in {self.keyring.source} (the key was changed?)"
            ) from None
        return Payload.FromString(clear)


def encrypted_data_converter(keyring: Keyring) -> DataConverter:
    """casework's data converter: pydantic models, payloads and failure messages
    encrypted (failure messages and stack traces move into an encoded payload)."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def keyring_of(converter: DataConverter) -> Keyring:
    """The keyring behind a client's data converter (made by `encrypted_data_converter`)."""
    codec = converter.payload_codec
    if not isinstance(codec, EncryptionCodec):
        raise KeyringError(
            "the Temporal client has no casework encryption codec; connect with "
            "casework.temporal.connect or pass a keyring"
        )
    return codec.keyring
