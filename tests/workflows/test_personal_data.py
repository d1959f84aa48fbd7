"""Personal data and Temporal, on the time-skipping test server: the workflow histories
hold nothing of the applicant in clear (the payload codec), and even with the codec's
layer taken off the ID number, phone and bank account are ciphertext (field-level
encryption by the client); encrypted histories replay; a failed start leaves no key."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import HardshipConfig
from casework.domain.identity import mask, mask_phone
from casework.privacy.codec import EncryptionCodec
from casework.store.tables import case_events, case_keys, case_sequences
from tests.conftest import DATA_CONVERTER, TEST_KEYRING
from tests.factories import id_number
from tests.workflows.conftest import Harness, civil_affairs_done
from tests.workflows.steps import GR2, OPENER, QUICK, advance, history
from workflows.hardship_relief import HardshipReliefWorkflow

NAME = "欧阳秀英"
ID_NUMBER = id_number(777, region="320623", birth="19750517")
PHONE = "13987650123"
ACCOUNT = "6217000000000004321"
REASON = "丈夫工伤瘫痪，独自抚养两个孩子。"


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


async def open_applicant(h: Harness) -> str:
    view = await h.open(
        applicant={"name": NAME, "id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT},
        reason=REASON,
    )
    return view.case_id


def raw_bytes(hist: WorkflowHistory) -> bytes:
    """The history as stored and sent by the server: every payload's bytes as they are
    (a JSON dump would show them base64-encoded, hiding clear text from a search)."""
    return History(events=hist.events).SerializeToString()


def payloads_in(message: object) -> list[Payload]:
    """Every Payload anywhere in a protobuf message (inputs, results, markers, failures)."""
    found: list[Payload] = []
    if isinstance(message, Payload):
        return [message]
    if not hasattr(message, "ListFields"):  # a scalar in a map
        return found
    for descriptor, value in message.ListFields():  # type: ignore[attr-defined]
        if descriptor.message_type is None:
            continue
        if hasattr(value, "ListFields"):  # a message
            found += payloads_in(value)
        else:  # a repeated field or a map
            for item in value.values() if hasattr(value, "values") else value:
                found += payloads_in(item)
    return found


async def without_codec(hist: WorkflowHistory) -> bytes:
    """What the history would hold had the payload codec not been there: every payload
    decoded, concatenated."""
    codec = EncryptionCodec(TEST_KEYRING)
    payloads = [p for e in hist.events for p in payloads_in(e)]
    decoded = await codec.decode(payloads)
    return b"\n".join(p.SerializeToString() for p in decoded)


async def test_the_history_holds_nothing_of_the_applicant_in_clear(harness: Harness) -> None:
    h = harness
    cid = await open_applicant(h)
    await advance(h, cid, "filed")  # through the payment, which decrypts the account
    [order] = h.bank.transfers.values()
    assert order.account == ACCOUNT

    raw = raw_bytes(await history(h, cid))
    # Nothing of the application is readable without the key: not the numbers, not their
    # masked forms, not the name or the reason (the payload codec).
    for clear in (ID_NUMBER, PHONE, ACCOUNT, mask(ID_NUMBER), mask_phone(PHONE), NAME, REASON):
        assert clear.encode() not in raw, clear
    assert b"binary/encrypted" in raw and b"test-k1" in raw


async def test_without_the_codec_the_numbers_are_still_ciphertext(harness: Harness) -> None:
    """Field-level encryption alone: the client sealed the ID number, phone and bank
    account before starting the workflow, so stripping the codec's layer shows masked
    forms and ciphertext only."""
    h = harness
    cid = await open_applicant(h)
    await h.act(cid, GR2, "approve", "材料齐全")
    decoded = await without_codec(await history(h, cid))
    assert mask(ID_NUMBER).encode() in decoded and NAME.encode() in decoded  # decoding worked
    for clear in (ID_NUMBER, PHONE, ACCOUNT):
        assert clear.encode() not in decoded, clear


async def test_the_civil_affairs_check_gets_the_id_number_the_history_never_does(
    harness: Harness,
) -> None:
    """The registry identifies the household by the ID number, which the activity
    decrypts for it: neither the workflow's query nor anything else in the history
    holds it, even with the codec's layer taken off."""
    h = harness
    cid = await open_applicant(h)
    await h.act(cid, GR2, "approve", "材料齐全")
    await civil_affairs_done(h, cid)
    [asked] = h.civil.asked
    assert (asked.case_id, asked.id_number) == (cid, ID_NUMBER)
    decoded = await without_codec(await history(h, cid))
    assert b"monthly_income_fen" in decoded  # the query is among the decoded payloads
    assert ID_NUMBER.encode() not in decoded


async def test_an_encrypted_history_replays_with_the_codec(harness: Harness) -> None:
    h = harness
    cid = await open_applicant(h)
    await advance(h, cid, "home_visit")
    await h.act(cid, OPENER, "withdraw", "申请人撤回")
    hist = await history(h, cid)
    result = await Replayer(
        workflows=[HardshipReliefWorkflow], data_converter=DATA_CONVERTER
    ).replay_workflow(hist)
    assert result.replay_failure is None
    # The control: without the codec the replayer cannot even read the input.
    plain = await Replayer(
        workflows=[HardshipReliefWorkflow], data_converter=pydantic_data_converter
    ).replay_workflow(hist, raise_on_replay_failure=False)
    assert plain.replay_failure is not None


async def test_a_failed_start_leaves_no_key_behind(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case number is taken, but its data key (and so whatever was sealed with it)
    is gone when the workflow cannot start. (A real conflicting workflow would hold the
    time-skipping server's clock for the rest of the session; the server's refusal is
    simulated instead.)"""
    h = harness
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    with h.engine.connect() as conn:
        last = conn.execute(
            select(case_sequences.c.last_value).where(case_sequences.c.year == year)
        ).scalar_one()
    taken = f"HR-{year}-{last + 1:06d}"
    sent: list[Any] = []

    async def unavailable(workflow: str, start: Any, **kwargs: Any) -> Any:
        sent.append(start)
        raise RPCError("Temporal unavailable", RPCStatusCode.UNAVAILABLE, b"")

    with monkeypatch.context() as patched:
        patched.setattr(h.env.client, "start_workflow", unavailable)
        with pytest.raises(RPCError):
            await open_applicant(h)
    [start] = sent
    assert start.case_id == taken and set(start.personal) == {"id_number", "phone", "bank_account"}
    with h.engine.connect() as conn:
        assert conn.execute(select(case_keys).where(case_keys.c.case_id == taken)).first() is None
        assert (
            conn.execute(select(case_events).where(case_events.c.case_id == taken)).first() is None
        )
    # The next case opens normally (with the next number).
    cid = await open_applicant(h)
    assert cid != taken
    await h.act(cid, GR2, "claim")
