"""An Update sent to a case whose worker died before accepting it is aborted by the
server ("workflow update was aborted", retryable), and one sent while the case's
workflow task is being retried is refused as not ready: the service sends it again with
the same id (applied at most once) instead of failing the officer's action. Seen in
tests/e2e/test_scale_out.py when a worker is SIGKILLed with actions in flight."""

from __future__ import annotations

import pytest
from temporalio.service import RPCError, RPCStatusCode

from casework.service import UPDATE_ABORTED_TRIES, sent_again_if_aborted

ABORTED = RPCError("workflow update was aborted", RPCStatusCode.UNAVAILABLE, b"")
NOT_READY = RPCError(
    "Unable to perform workflow execution update due to Workflow Task in failed state.",
    RPCStatusCode.FAILED_PRECONDITION,
    b"",
)


async def test_an_aborted_update_is_sent_again() -> None:
    sent: list[int] = []

    async def send() -> str:
        sent.append(1)
        if len(sent) < 3:
            raise ABORTED if len(sent) == 1 else NOT_READY
        return "recorded"

    assert await sent_again_if_aborted(send) == "recorded"
    assert len(sent) == 3


async def test_other_errors_and_endless_aborts_reach_the_caller(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("casework.service.asyncio.sleep", no_wait)
    sent: list[int] = []

    async def refused() -> str:
        sent.append(1)
        raise RPCError("not found", RPCStatusCode.NOT_FOUND, b"")

    with pytest.raises(RPCError, match="not found"):
        await sent_again_if_aborted(refused)
    assert len(sent) == 1

    async def aborted() -> str:
        sent.append(1)
        raise ABORTED

    sent.clear()
    with pytest.raises(RPCError, match="aborted"):
        await sent_again_if_aborted(aborted)
    assert len(sent) == UPDATE_ABORTED_TRIES
