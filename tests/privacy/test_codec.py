"""The payload codec: everything casework hands Temporal is encrypted, with the key id
in the metadata; rotation keeps old payloads readable; unencrypted payloads (histories
recorded before the codec) pass through."""

from __future__ import annotations

import base64

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.exceptions import ApplicationError

from casework.domain.hardship import StartHardshipCase
from casework.domain.org import Actor, Role
from casework.privacy.codec import EncryptionCodec, encrypted_data_converter
from casework.privacy.keys import Keyring, KeyringError
from tests.factories import application

OLD = Keyring.parse("k1:" + base64.b64encode(b"1" * 32).decode())
NEW_KEY = "k2:" + base64.b64encode(b"2" * 32).decode()
ROTATED = Keyring.parse(NEW_KEY + ",k1:" + base64.b64encode(b"1" * 32).decode())


START = StartHardshipCase(
    case_id="HR-2026-000001",
    opened_by=Actor(
        id="chongchuan.grassroots1", roles=(Role.GRASSROOTS_OFFICER,), district="崇川区"
    ),
    application=application(applicant={"name": "王小明"}).masked(),
)


async def test_payloads_are_encrypted_with_the_current_key() -> None:
    converter = encrypted_data_converter(OLD)
    [payload] = await converter.encode([START])
    assert payload.metadata["encoding"] == b"binary/encrypted"
    assert payload.metadata["encryption-key-id"] == b"k1"
    assert "王小明".encode() not in payload.data and b"HR-2026-000001" not in payload.data
    [back] = await converter.decode([payload], [StartHardshipCase])
    assert back == START


async def test_rotation_keeps_old_payloads_readable_and_encrypts_new_ones_with_the_new_key() -> (
    None
):
    [old_payload] = await encrypted_data_converter(OLD).encode([START])
    rotated = encrypted_data_converter(ROTATED)
    [back] = await rotated.decode([old_payload], [StartHardshipCase])
    assert back == START
    [new_payload] = await rotated.encode([START])
    assert new_payload.metadata["encryption-key-id"] == b"k2"
    # Without the old key, old payloads cannot be read, and the error says why.
    with pytest.raises(KeyringError, match="'k1', which is not in"):
        await encrypted_data_converter(Keyring.parse(NEW_KEY)).decode([old_payload])


async def test_a_changed_key_under_the_same_id_is_reported() -> None:
    [payload] = await encrypted_data_converter(OLD).encode(["x"])
    impostor = Keyring.parse("k1:" + base64.b64encode(b"9" * 32).decode())
    with pytest.raises(KeyringError, match="does not decrypt"):
        await encrypted_data_converter(impostor).decode([payload])


async def test_unencrypted_payloads_pass_through_unchanged() -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"a":1}')
    assert await EncryptionCodec(OLD).decode([plain]) == [plain]


async def test_failure_messages_are_encrypted_too() -> None:
    """Failure messages and stack traces move into an encoded payload, so an error that
    quotes data does not leave it in clear in history."""
    converter = encrypted_data_converter(OLD)
    failure = Failure()
    converter.failure_converter.to_failure(
        ApplicationError("账户 6222020000000001234 被拒"), converter.payload_converter, failure
    )
    await converter.payload_codec.encode_failure(failure)  # type: ignore[union-attr]
    assert "6222020000000001234" not in str(failure)
    assert b"6222020000000001234" not in failure.SerializeToString()
    await converter.payload_codec.decode_failure(failure)  # type: ignore[union-attr]
    error = converter.failure_converter.from_failure(failure, converter.payload_converter)
    assert "6222020000000001234" in str(error)
