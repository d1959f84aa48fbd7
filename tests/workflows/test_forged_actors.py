"""The worker does not take the actor of an Update, or the opener of a workflow's start,
on its word: the recording checks them against the directory before anything is
recorded. Forged Updates and starts are sent here straight to Temporal, past the
service, as anyone who can reach Temporal could.

The same through the `temporal` command line, on the real dev server:
tests/workflows/test_forged_actors_on_dev_server.py.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import WorkflowFailureError, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from casework.domain.case import Action, ActRequest, CaseView
from casework.domain.hardship import StartHardshipCase
from casework.domain.org import Actor, Role
from casework.service import HARDSHIP_WORKFLOW, ActionRefused
from casework.store.queries import UnknownCase
from tests.factories import application, application_data
from tests.workflows.conftest import Harness, civil_affairs_done
from tests.workflows.steps import (
    DISTRICT,
    GR2,
    GR3,
    OFFICER,
    OPENER,
    SUPERVISOR,
    event_types,
    events_of,
    person,
    search_attributes,
    state,
)
from tests.workflows.test_privacy_cli import Cli

G = Role.GRASSROOTS_OFFICER


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


MALLORY = Actor(id="mallory", roles=(G,), district=DISTRICT)
"""Nobody the directory knows, claiming what a grassroots officer of the case holds."""


def actor_of(h: Harness, who: str, **claims: Any) -> Actor:
    """A real user's actor, with `claims` (roles, district) put in their mouth."""
    return h.directory.get(who).actor().model_copy(update=claims)


async def forged(
    h: Harness,
    case_id: str,
    actor: Actor,
    action: Action,
    comment: str | None = "意见",
    data: dict[str, Any] | None = None,
) -> ApplicationError:
    """Send the Update straight to Temporal; it must be refused leaving the log, the
    workflow's state and its search attributes as they were. The refusal."""
    handle = h.env.client.get_workflow_handle(case_id)
    stored = h.store.read(case_id)
    before = await state(h, case_id)
    attributes = await case_attributes(h, case_id)
    req = ActRequest(actor=actor, action=action, comment=comment, data=data or {})
    with pytest.raises(WorkflowUpdateFailedError) as failed:
        await handle.execute_update("act", req, result_type=CaseView)
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert h.store.read(case_id) == stored
    assert await state(h, case_id) == before
    assert await case_attributes(h, case_id) == attributes
    return cause


async def case_attributes(h: Harness, case_id: str) -> dict[str, Any]:
    """The case's own search attributes (Temporal's version markers aside: the main loop
    may take a patch decision while a forged action is being refused)."""
    found = await search_attributes(h, case_id)
    return {k: v for k, v in found.items() if k != "TemporalChangeVersion"}


def code_and_field(err: ApplicationError) -> tuple[str | None, str | None]:
    details = err.details[0] if err.details else {}
    assert details["code"] == err.type
    return err.type, details["field"]


async def test_forged_actors_are_refused_and_leave_no_trace(harness: Harness) -> None:
    """Each of these passes the rules (`decide`) with what it claims, and would move the
    case on to the home visit; the directory does not vouch for any of them."""
    h = harness
    cid = (await h.open()).case_id
    h.directory.disable(GR3)
    cases = [
        (MALLORY, "unknown_actor"),
        (actor_of(h, GR3), "actor_disabled"),
        (actor_of(h, OFFICER, roles=(Role.DISTRICT_OFFICER, G)), "actor_mismatch"),
        (actor_of(h, "tongzhou.grassroots1", district=DISTRICT), "actor_mismatch"),
    ]
    for actor, code in cases:
        refused = await forged(h, cid, actor, Action.APPROVE, "材料齐全")
        assert code_and_field(refused) == (code, None), actor
        assert actor.id in refused.message
    # Through the service (an edge that was handed a forged actor) the same refusal.
    with pytest.raises(ActionRefused) as through_service:
        await h.service.act(cid, MALLORY, Action.APPROVE, "材料齐全")
    assert through_service.value.code == "unknown_actor"

    # The case was never at the home visit, and nothing outside heard of one: the
    # civil-affairs registry was never asked (it would have been sent the applicant's
    # ID number). Real people carry on.
    await h.settled(cid)
    await h.env.client.get_workflow_handle(cid).execute_update("sync", result_type=CaseView)
    assert event_types(h, cid) == [
        "case.opened",
        "eligibility.assessed",
        "case.stage_entered",
        "task.opened",
    ]
    assert h.civil.asked == []
    view = await h.act(cid, GR2, "approve", "材料齐全")
    assert view.stage == "home_visit"
    await civil_affairs_done(h, cid)
    assert [e.actor_id for e in events_of(h, cid, "task.approved")] == [GR2]
    [checked] = events_of(h, cid, "civil_affairs.checked")
    assert checked.seq > events_of(h, cid, "task.approved")[0].seq


async def test_forged_comment_and_supervision_are_refused(harness: Harness) -> None:
    """Actions that do not move the stage are checked too: a comment, a supervisor's
    extension claimed by an officer without the role."""
    h = harness
    cid = (await h.open()).case_id
    refused = await forged(h, cid, MALLORY, Action.COMMENT, "伪造的备注")
    assert code_and_field(refused) == ("unknown_actor", None)
    pretender = actor_of(h, GR2, roles=(G, Role.SUPERVISOR))
    refused = await forged(h, cid, pretender, Action.EXTEND, "延期", {"until": "2099-12-31"})
    assert code_and_field(refused) == ("actor_mismatch", None)
    assert "supervisor" in refused.message
    view = await h.act(cid, GR2, "comment", "真实的备注")
    assert view.seq == 5
    assert [e.actor_id for e in events_of(h, cid, "case.commented")] == [GR2]


async def test_a_forged_reassignment_target_is_refused(harness: Harness) -> None:
    """A supervisor's reassignment names the new assignee as an actor in `data.to`: its
    roles and district are checked as the actor's are, and the field is named."""
    h = harness
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    supervisor = actor_of(h, SUPERVISOR)
    h.directory.disable(GR3)
    for target, code in [
        (MALLORY, "unknown_actor"),
        (actor_of(h, GR3), "actor_disabled"),
        # A district officer made a grassroots officer so that the task may go to them.
        (actor_of(h, OFFICER, roles=(G,)), "actor_mismatch"),
    ]:
        to = {"to": target.model_dump(mode="json")}
        refused = await forged(h, cid, supervisor, Action.REASSIGN, "改派", to)
        assert code_and_field(refused) == (code, "data.to"), target
        assert refused.message.startswith("data.to: ")
    assert event_types(h, cid)[-1] == "task.claimed"

    # The service resolves `data.to` from the directory, whatever it claims: the claims
    # of a forged target are ignored, and an unknown or disabled one is refused there.
    named: list[tuple[object, str]] = [
        ({"id": "mallory"}, "unknown_actor"),
        (GR3, "actor_disabled"),
    ]
    for target_id, code in named:
        with pytest.raises(ActionRefused) as refused_there:
            await h.act(cid, SUPERVISOR, "reassign", "改派", {"to": target_id})
        assert (refused_there.value.code, refused_there.value.field) == (code, "data.to")
    officer_as_grassroots = {**person(h, OFFICER), "roles": ["grassroots_officer"]}
    with pytest.raises(ActionRefused) as refused_there:
        await h.act(cid, SUPERVISOR, "reassign", "改派", {"to": officer_as_grassroots})
    assert refused_there.value.code == "target_not_eligible"  # judged on their real roles

    h.directory.enable(GR3)
    view = await h.act(cid, SUPERVISOR, "reassign", "原承办人休假", {"to": GR3})
    assert view.open_task is not None and view.open_task.assignee == GR3
    [moved] = events_of(h, cid, "task.reassigned")
    assert (moved.actor_id, moved.payload["assignee"]) == (SUPERVISOR, GR3)


async def start_forged(h: Harness, opened_by: Actor) -> tuple[str, ApplicationError]:
    """Start a case workflow straight on Temporal; it must fail. Its id and failure."""
    case_id = f"HR-2099-{uuid.uuid4().int % 10**6:06d}"
    start = StartHardshipCase(
        case_id=case_id, opened_by=opened_by, application=application().masked()
    )
    handle = await h.env.client.start_workflow(
        HARDSHIP_WORKFLOW, start, id=case_id, task_queue=h.service.task_queue
    )
    # It fails at once. Waiting for a failed workflow's result with time skipping on lets
    # the test server jump to that run's 10-year execution timeout, moving the clock of
    # every later test in the session (budgets are per year).
    with h.env.auto_time_skipping_disabled(), pytest.raises(WorkflowFailureError) as failed:
        await handle.result()
    cause = failed.value.cause
    assert isinstance(cause, ApplicationError), cause
    assert cause.non_retryable
    return case_id, cause


async def test_a_forged_opening_records_nothing(harness: Harness) -> None:
    """The start input names the opener: one the directory does not vouch for, or who
    may not open this case, ends the workflow having recorded nothing."""
    h = harness
    h.directory.disable(GR3)
    for opener, code in [
        (MALLORY, "unknown_actor"),
        (actor_of(h, GR3), "actor_disabled"),
        (actor_of(h, OFFICER, roles=(Role.DISTRICT_OFFICER, G)), "actor_mismatch"),
        (actor_of(h, "tongzhou.grassroots1", district=DISTRICT), "actor_mismatch"),
        # Who they claim to be, but not someone who opens cases.
        (actor_of(h, OFFICER), "role_not_held"),
    ]:
        case_id, failure = await start_forged(h, opener)
        assert failure.type == code, opener
        assert h.store.read(case_id) == [], opener
        with pytest.raises(UnknownCase):
            h.queries.case_view(case_id)
    # The real opener, started the same way, opens the case.
    real = h.directory.get(OPENER).actor()
    case_id = f"HR-2099-{uuid.uuid4().int % 10**6:06d}"
    start = StartHardshipCase(case_id=case_id, opened_by=real, application=application().masked())
    handle = await h.env.client.start_workflow(
        HARDSHIP_WORKFLOW, start, id=case_id, task_queue=h.service.task_queue
    )
    h.opened.append(case_id)
    view = await handle.execute_update("sync", result_type=CaseView)
    assert view.opened_by == OPENER and view.stage == "grassroots_review"
    assert h.store.read(case_id)[0].actor_id == OPENER


async def test_a_forged_closing_action_does_not_end_the_case(harness: Harness) -> None:
    """A forged rejection or withdrawal closes the workflow's state at once, which ends
    its main loop; when the recording refuses it, the case reopens and goes on rather
    than complete as it was."""
    h = harness
    cid = (await h.open()).case_id
    refused = await forged(h, cid, MALLORY, Action.REJECT, "不符合条件")
    assert code_and_field(refused) == ("unknown_actor", None)
    opener_as_leader = actor_of(h, OPENER, roles=(G, Role.CITY_LEADER))
    refused = await forged(h, cid, opener_as_leader, Action.WITHDRAW, "撤回")
    assert code_and_field(refused) == ("actor_mismatch", None)
    assert await h.idle(cid), "the case workflow ended"
    view = await h.act(cid, GR2, "approve", "材料齐全")
    assert view.status == "open" and view.stage == "home_visit"


# -- the command line: disabled users cannot act ----------------------------------------


async def test_a_disabled_user_cannot_act_from_the_command_line(
    harness: Harness, tmp_path: Path
) -> None:
    """`--as` and `--to` name users as the directory has them now: a disabled one is
    refused with a clear message and exit 2, before anything is sent."""
    h = harness
    cid = (await h.open()).case_id
    await h.act(cid, GR2, "claim")
    stored = h.store.read(cid)
    cli = Cli(h, tmp_path)
    app_file = tmp_path / "application.json"
    app_file.write_text(json.dumps(application_data()), encoding="utf-8")
    h.directory.disable(GR3)
    h.directory.disable(SUPERVISOR)
    for args in [
        ("act", cid, "approve", "--as", GR3, "-m", "材料齐全"),
        ("case", "open", "hardship", "--file", str(app_file), "--as", GR3),
        ("inbox", "--as", GR3),
        ("act", cid, "reassign", "--as", SUPERVISOR, "--to", GR2, "-m", "改派"),
    ]:
        result = cli.run(*args, code=2)
        assert f"用户已停用 (user disabled): {args[args.index('--as') + 1]}" in result.stderr
        assert "Traceback" not in result.stderr
    h.directory.enable(SUPERVISOR)
    result = cli.run("act", cid, "reassign", "--as", SUPERVISOR, "--to", GR3, "-m", "改派", code=2)
    assert f"field --to: 用户已停用 (user disabled): {GR3}" in result.stderr
    result = cli.run(
        "act", cid, "reassign", "--as", SUPERVISOR, "--to", "nobody", "-m", "改派", code=2
    )
    assert "field --to: 未知用户 (unknown user): nobody" in result.stderr
    assert h.store.read(cid) == stored
    assert h.queries.case_ids() == [cid]
