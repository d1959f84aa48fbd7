"""An Update sent to a case whose worker died before accepting it is aborted by the
server ("workflow update was aborted", retryable), and one sent while the case's
workflow task is being retried is refused as not ready: the service sends it again with
the same id (applied at most once) instead of failing the officer's action. Seen in
tests/e2e/test_scale_out.py when a worker is SIGKILLed with actions in flight."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine
from temporalio.service import RPCError, RPCStatusCode

from casework.campaign_service import CampaignService
from casework.demo.seed import demo_application
from casework.domain.campaign import FORWARD_UPDATE
from casework.service import (
    UPDATE_ABORTED_TRIES,
    ActionPending,
    CaseService,
    sent_again_if_aborted,
)
from tests.conftest import TEST_KEYRING
from tests.store.builders import OPENER

ABORTED = RPCError("workflow update was aborted", RPCStatusCode.UNAVAILABLE, b"")
NOT_READY = RPCError(
    "Unable to perform workflow execution update due to Workflow Task in failed state.",
    RPCStatusCode.FAILED_PRECONDITION,
    b"",
)


def _no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """The service's back-off between sendings, made instant."""

    async def no_wait(_: float) -> None:
        return None

    monkeypatch.setattr("casework.service.asyncio.sleep", no_wait)


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
    _no_backoff(monkeypatch)
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


# -- a campaign's forward or vote: the same rule as a case's action -----------------------


class _Handle:
    def __init__(self, error: RPCError) -> None:
        self.error = error
        self.sent = 0

    async def execute_update(self, *args: Any, **kwargs: Any) -> Any:
        self.sent += 1
        raise self.error


class _Client:
    def __init__(self, handle: _Handle) -> None:
        self.handle = handle

    def get_workflow_handle(self, workflow_id: str) -> _Handle:
        return self.handle


def _campaigns(
    engine: Engine, error: RPCError, wait: float | None, monkeypatch: pytest.MonkeyPatch
) -> tuple[CampaignService, _Handle]:
    async def running(_: str) -> None:
        return None

    _no_backoff(monkeypatch)
    handle = _Handle(error)
    service = CampaignService(_Client(handle), engine, "q", wait=wait)  # type: ignore[arg-type]
    monkeypatch.setattr(service.campaigns, "status", lambda _: "open")
    monkeypatch.setattr(service, "ensure_running", running)
    return service, handle


@pytest.mark.parametrize("error", [ABORTED, NOT_READY], ids=["aborted", "not_ready"])
async def test_a_campaign_update_still_refused_is_pending_with_its_key(
    sqlite_engine: Engine, error: RPCError, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, handle = _campaigns(sqlite_engine, error, 30.0, monkeypatch)
    with pytest.raises(ActionPending) as pending:
        await service._update("AW-2026-000001", FORWARD_UPDATE, {}, "key-1")
    assert pending.value.key == "key-1"
    assert handle.sent == UPDATE_ABORTED_TRIES


async def test_a_campaign_update_refused_otherwise_reaches_the_caller(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A precondition that is not the workflow task's retry is no reason to send again."""
    other = RPCError("too many updates in flight", RPCStatusCode.FAILED_PRECONDITION, b"")
    service, handle = _campaigns(sqlite_engine, other, 30.0, monkeypatch)
    with pytest.raises(RPCError, match="too many"):
        await service._update("AW-2026-000001", FORWARD_UPDATE, {}, "key-1")
    assert handle.sent == 1
    # Without a wait the caller waits as long as it takes: no pending answer either.
    service, handle = _campaigns(sqlite_engine, NOT_READY, None, monkeypatch)
    with pytest.raises(RPCError, match="Workflow Task"):
        await service._update("AW-2026-000001", FORWARD_UPDATE, {}, "key-1")


# -- an opening's confirmation (the `sync` Update) -----------------------------------------


class _OpeningClient(_Client):
    async def start_workflow(self, *args: Any, **kwargs: Any) -> _Handle:
        return self.handle


@pytest.mark.parametrize("error", [ABORTED, NOT_READY], ids=["aborted", "not_ready"])
async def test_an_opening_still_refused_is_pending_with_its_key(
    sqlite_engine: Engine, error: RPCError, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_backoff(monkeypatch)
    handle = _Handle(error)
    service = CaseService(
        _OpeningClient(handle),  # type: ignore[arg-type]
        sqlite_engine,
        "q",
        keyring=TEST_KEYRING,
    )
    with pytest.raises(ActionPending) as pending:
        await service.open_case("hardship", demo_application(3), OPENER, "open-key-1", wait=30.0)
    assert pending.value.key == "open-key-1"
    assert handle.sent == UPDATE_ABORTED_TRIES
    # Refused otherwise: reported as it is.
    other = RPCError("too many updates in flight", RPCStatusCode.FAILED_PRECONDITION, b"")
    service.client = _OpeningClient(_Handle(other))  # type: ignore[assignment]
    with pytest.raises(RPCError, match="too many"):
        await service.open_case("hardship", demo_application(8), OPENER, "open-key-2", wait=30.0)
