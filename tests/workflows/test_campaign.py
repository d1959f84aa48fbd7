"""The campaign's own workflow (workflows/campaign.py) on the time-skipping server: a
small campaign driven from quotas to the honour list, the forward and the vote as its
Updates (the threshold, the race, a retried delivery), continue-as-new under many
outcome signals with nothing lost, and revocation after closing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from temporalio import activity
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.campaign import CampaignActivities
from activities.nomination import deliver_campaign_news
from casework.campaign_service import CampaignService
from casework.demo.people import demo_users
from casework.domain.award import campaign_spec
from casework.domain.campaign import DELIVER_NEWS, CampaignRunState, Closing, workflow_id
from casework.domain.nomination import CommitteeVote, Stage
from casework.service import ActionPending, ActionRefused
from casework.store.campaigns import CLOSED, Campaigns, honours_digest
from casework.store.db import make_engine, migrate
from casework.store.directory import Directory
from casework.store.tables import campaigns, case_events
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.workflows.conftest import Harness
from tests.workflows.nomination_steps import (
    CAMPAIGN,
    DO,
    at_stage,
    finished,
    nominate,
    number_nominations,
    row,
    vet_clear,
)
from tests.workflows.steps import sleep_until
from worker import build_worker

DEPARTMENTS = ["discipline", "police", "tax"]


@pytest.fixture(name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture
def h(harness: Harness) -> Harness:
    number_nominations(harness)
    return harness


def service(h: Harness, per_run: int = 500) -> CampaignService:
    return CampaignService(h.env.client, h.engine, h.service.task_queue, per_run=per_run)


async def open_campaign(svc: CampaignService, h: Harness, **changes: Any) -> str:
    spec = campaign_spec(
        CAMPAIGN | {"ratio_rules": {}, "vetting_departments": DEPARTMENTS} | changes
    )
    return await svc.open(spec, h.directory.get("city.officer1").actor())


async def past_unit_notice(h: Harness, ids: list[str]) -> None:
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=10))  # five working days and more
    for case_id in ids:
        assert (await at_stage(h, case_id, Stage.DISTRICT_REVIEW)).stage == Stage.DISTRICT_REVIEW


async def forwarded(
    h: Harness, svc: CampaignService, cid: str, n: int, by: str = "chongchuan.grassroots1"
) -> list[str]:
    """`n` nominations opened, past the unit notice, approved and forwarded (through
    the campaign's Update), each now in joint vetting."""
    ids = [(await nominate(h, cid, by=by)).case_id for _ in range(n)]
    await past_unit_notice(h, ids)
    for case_id in ids:
        await h.act(case_id, DO, "approve")
    done = await svc.forward(cid, "崇川区", h.directory.get(DO).actor())
    assert done.case_ids == ids
    for case_id in ids:  # the Update returned once every nomination was told
        assert (await at_stage(h, case_id, Stage.VETTING)).stage == Stage.VETTING
    return ids


def events(h: Harness, cid: str) -> list[Any]:
    with h.engine.connect() as conn:
        return list(
            conn.execute(
                select(case_events.c.type, case_events.c.payload, case_events.c.actor_id)
                .where(case_events.c.case_id == cid)
                .order_by(case_events.c.seq)
            )
        )


def status(h: Harness, cid: str) -> str:
    with h.engine.connect() as conn:
        return str(conn.scalar(select(campaigns.c.status).where(campaigns.c.campaign_id == cid)))


async def closing(h: Harness, cid: str) -> Closing:
    return await h.env.client.get_workflow_handle(workflow_id(cid), result_type=Closing).result()


async def test_a_campaign_runs_from_quotas_to_the_honour_list(h: Harness) -> None:
    svc = service(h)
    cid = await open_campaign(h=h, svc=svc)
    vetoed, honoured, failed = await forwarded(h, svc, cid, 3)
    await h.act(vetoed, "vet.police", "vet", "有违法记录", {"opinion": "adverse"})
    for case_id in (honoured, failed):
        await vet_clear(h, case_id)
        assert (await at_stage(h, case_id, Stage.COMMITTEE)).stage == Stage.COMMITTEE
    member = h.directory.get("city.committee1").actor()
    # Below the quorum (10 of 15): refused whole, nothing recorded.
    with pytest.raises(ActionRefused) as refused:
        await svc.vote(cid, CommitteeVote(present=9, votes={honoured: 9, failed: 9}), member)
    assert (refused.value.code, refused.value.field) == ("no_quorum", "present")
    # Two thirds of the 12 present: 8 passes, 7 does not.
    vote = CommitteeVote(present=12, votes={honoured: 8, failed: 7})
    done = await svc.vote(cid, vote, member, key="vote-1")
    assert (done.passed, done.failed) == ([honoured], [failed])
    again = await svc.vote(cid, vote, member, key="vote-1")  # the same Update: once
    assert again == done
    assert [e.type for e in events(h, cid)].count("campaign.voted") == 1
    assert (await finished(h, failed)).facts["award_outcome"] == "failed"
    assert status(h, cid) == "open"  # one nomination still in its social notice
    await at_stage(h, honoured, Stage.SOCIAL_NOTICE)
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=14))
    assert (await finished(h, honoured)).facts["award_outcome"] == "honoured"
    closed = await closing(h, cid)
    camps = Campaigns(h.engine)
    honours = camps.honours(cid)
    assert [r.nomination_id for r in honours] == [honoured]
    assert closed.closed and closed.digest == honours_digest(honours)
    assert status(h, cid) == "closed"
    [last] = [e for e in events(h, cid) if e.type == CLOSED]
    assert last.actor_id == "system.campaign"
    assert json.loads(last.payload) == {
        "digest": closed.digest,
        "honoured": 1,
        "outcomes": {"vetoed": 1, "failed": 1, "honoured": 1},
    }
    with pytest.raises(ActionRefused) as refused:  # closed: no more steps
        await svc.forward(cid, "崇川区", h.directory.get(DO).actor())
    assert refused.value.code == "campaign_closed"

    # 撤销称号 after closing: off the list and the reports, the reason kept on the
    # nomination; the closing's record stays as it was.
    leader = h.directory.get("city.leader").actor()
    await h.service.act(honoured, leader, "revoke", "经查骗取荣誉", idempotency_key="r1")
    assert camps.honours(cid) == []
    assert (row(h, honoured).outcome, row(h, honoured).outcome_reason) == (
        "revoked",
        "经查骗取荣誉",
    )
    assert [e.type for e in events(h, cid)].count(CLOSED) == 1


async def test_continue_as_new_under_many_outcome_signals_loses_nothing(h: Harness) -> None:
    """20 nominations, a run handing over every 5 signals or Updates: 19 withdrawn in
    turn after the vote, their outcome signals racing the hand-overs. The campaign
    closes only if the last of them was read."""
    svc = service(h, per_run=5)
    cid = await open_campaign(h=h, svc=svc)
    ids = [(await nominate(h, cid)).case_id for _ in range(20)]
    await past_unit_notice(h, ids)
    voted, rest = ids[0], ids[1:]
    await h.act(voted, DO, "approve")
    assert (await svc.forward(cid, "崇川区", h.directory.get(DO).actor())).case_ids == [voted]
    await vet_clear(h, voted)
    await at_stage(h, voted, Stage.COMMITTEE)
    member = h.directory.get("city.committee1").actor()
    await svc.vote(cid, CommitteeVote(present=12, votes={voted: 0}), member)
    assert (await finished(h, voted)).facts["award_outcome"] == "failed"
    assert status(h, cid) == "open"  # 19 still at the district's review
    handle = h.env.client.get_workflow_handle(workflow_id(cid))
    for case_id in rest[:12]:  # one at a time, each signal given time to be read
        await h.act(case_id, DO, "reject", "事迹不实")
        await asyncio.sleep(0.1)
    # The rest at once, racing the hand-overs.
    await asyncio.gather(*(h.act(c, DO, "reject", "事迹不实") for c in rest[12:]))
    closed = await closing(h, cid)
    assert closed.closed and closed.honoured == 0
    assert status(h, cid) == "closed"
    state = await handle.query("status", result_type=CampaignRunState)
    assert state.closed and state.runs >= 3  # 2 Updates and 20 signals, 5 a run


async def test_a_forward_reaches_every_nomination_when_a_delivery_is_retried(
    h: Harness,
) -> None:
    own, _ = h.on_own_queue()
    real = CampaignActivities(h.engine, h.env.client)
    attempts: list[int] = []

    @activity.defn(name=DELIVER_NEWS)
    async def flaky(case_ids: list[str]) -> int:
        """Tells the first nomination, then fails, as a worker killed mid-batch."""
        attempts.append(activity.info().attempt)
        if activity.info().attempt == 1:
            await deliver_campaign_news(h.env.client, case_ids[:1])
            raise RuntimeError("worker lost mid-delivery")
        return await real.campaign_deliver_news(case_ids)

    worker = build_worker(
        h.env.client,
        h.engine,
        task_queue=own.service.task_queue,
        config=h.config_source,
        overrides=[flaky],
    )
    async with worker:
        svc = service(own)
        cid = await open_campaign(h=own, svc=svc)
        ids = [(await nominate(own, cid)).case_id for _ in range(3)]
        await past_unit_notice(own, ids)
        for case_id in ids:
            await own.act(case_id, DO, "approve")
        done = await svc.forward(cid, "崇川区", h.directory.get(DO).actor(), key="fw-1")
        assert done.case_ids == ids and attempts == [1, 2]
        for case_id in ids:
            assert (await at_stage(own, case_id, Stage.VETTING)).stage == Stage.VETTING
        # The same Update again: answered, not forwarded twice.
        assert await svc.forward(cid, "崇川区", h.directory.get(DO).actor(), key="fw-1") == done
        assert [e.type for e in events(own, cid)].count("campaign.forwarded") == 1
        await own.terminate_unfinished()
        await h.env.client.get_workflow_handle(workflow_id(cid)).terminate("test finished")


async def test_two_districts_racing_for_the_last_place_through_updates(h: Harness) -> None:
    svc = service(h)
    cid = await open_campaign(h=h, svc=svc, quotas={"崇川区": 1, "通州区": 1}, places=1)
    mine = (await nominate(h, cid)).case_id
    theirs = (await nominate(h, cid, by="tongzhou.grassroots1", district="通州区")).case_id
    await past_unit_notice(h, [mine, theirs])
    await h.act(mine, DO, "approve")
    await h.act(theirs, "tongzhou.officer1", "approve")
    results = await asyncio.gather(
        svc.forward(cid, "崇川区", h.directory.get(DO).actor()),
        svc.forward(cid, "通州区", h.directory.get("tongzhou.officer1").actor()),
        return_exceptions=True,
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, ActionRefused)]
    assert len(won) == 1 and len(lost) == 1, results
    assert (lost[0].code, lost[0].field) == ("quota_exceeded", "district")
    assert won[0].places_forwarded == 1
    assert [e.type for e in events(h, cid)].count("campaign.forwarded") == 1
    [winner] = won[0].case_ids
    assert (await at_stage(h, winner, Stage.VETTING)).stage == Stage.VETTING
    state = await h.env.client.get_workflow_handle(workflow_id(cid)).query(
        "status", result_type=CampaignRunState
    )
    assert state.handled == 2 and not state.closed
    await h.env.client.get_workflow_handle(workflow_id(cid)).terminate("test finished")
    described = await h.env.client.get_workflow_handle(workflow_id(cid)).describe()
    assert described.status == WorkflowExecutionStatus.TERMINATED


async def test_seeded_nominations_given_workflows_can_be_acted_on(h: Harness) -> None:
    """The demo's seeded campaign (casework.demo.campaign): its nominations, recorded
    through the store, get workflows continuing from their recorded state; one at the
    district's review is approved through the service, nothing recorded twice."""
    from casework.demo.campaign import DEMO_SPEC, seed_campaign, start_workflows

    spec = campaign_spec(DEMO_SPEC | {"quotas": {"崇川区": 4, "通州区": 4, "海门区": 4}})
    seeded = await asyncio.to_thread(seed_campaign, h.engine, 12, 5, spec)
    assert await start_workflows(h.env.client, h.service.task_queue, seeded) == 12
    assert await start_workflows(h.env.client, h.service.task_queue, seeded) == 0  # once
    h.opened += [o.case_id for o in seeded.openings]
    at_review = [
        o.case_id
        for o in seeded.openings
        if o.continued is not None
        and o.continued.state.stage == Stage.DISTRICT_REVIEW
        and o.continued.state.status.value == "open"
    ]
    assert at_review, seeded.stages
    case_id = at_review[0]
    before = len(h.store.read(case_id))
    officer = next(
        f"{slug}.officer1"
        for district, slug in (
            ("崇川区", "chongchuan"),
            ("通州区", "tongzhou"),
            ("海门区", "haimen"),
        )
        if district == row(h, case_id).district
    )
    view = await h.act(case_id, officer, "approve")
    assert view.stage == Stage.AWAITING_FORWARD
    assert len(h.store.read(case_id)) > before


async def test_make_runs_campaign_is_seeded_with_workflows(h: Harness) -> None:
    from casework.settings import Settings
    from casework.stack import DEMO_CAMPAIGN_NOMINATIONS, Stack, seed_demo_campaign

    settings = Settings(_env_file=None, task_queue=h.service.task_queue)  # type: ignore[call-arg]
    cid = await seed_demo_campaign(Stack(settings, h.engine, h.env.client, h.service, None))
    seen = Campaigns(h.engine).overview(cid)
    h.opened += [n.case_id for n in seen.nominations]
    assert len(seen.nominations) == DEMO_CAMPAIGN_NOMINATIONS
    assert len({n.outcome or n.stage for n in seen.nominations}) >= 4  # several stages
    for n in seen.nominations[:3]:  # each has its workflow
        assert (await h.env.client.get_workflow_handle(n.case_id).describe()).status
    handle = h.env.client.get_workflow_handle(workflow_id(cid))
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
    await handle.terminate("test finished")


async def test_the_api_forwards_and_votes_through_the_campaigns_workflow(h: Harness) -> None:
    from casework.api.app import create_app
    from casework.settings import Settings
    from tests.api.conftest import bearer, client_for

    svc = service(h)
    cid = await open_campaign(h=h, svc=svc)
    case_id = (await nominate(h, cid)).case_id
    await past_unit_notice(h, [case_id])
    await h.act(case_id, DO, "approve")
    app = create_app(h.engine, h.service, Settings(_env_file=None))  # type: ignore[call-arg]
    officer = bearer(h.engine, DO)
    async with client_for(app) as api:
        body = {"district": "崇川区", "idempotency_key": "api-forward-1"}
        r = await api.post(f"/api/campaigns/{cid}/forward", json=body, headers=officer)
        assert r.status_code == 200, r.text
        assert r.json()["case_ids"] == [case_id]
        again = await api.post(f"/api/campaigns/{cid}/forward", json=body, headers=officer)
        assert again.json() == r.json()  # the same key: recorded once
        assert [e.type for e in events(h, cid)].count("campaign.forwarded") == 1
        assert (await at_stage(h, case_id, Stage.VETTING)).stage == Stage.VETTING
        nothing = await api.post(
            f"/api/campaigns/{cid}/forward", json={"district": "崇川区"}, headers=officer
        )
        assert nothing.status_code == 409
        assert nothing.json()["detail"]["code"] == "nothing_to_forward"
        member = bearer(h.engine, "city.committee1")
        stray = await api.post(
            f"/api/campaigns/{cid}/vote",
            json={"present": 12, "votes": {case_id: 9}},
            headers=member,
        )
        assert stray.status_code == 409
        assert (stray.json()["detail"]["code"], stray.json()["detail"]["field"]) == (
            "not_awaiting_vote",
            "votes",
        )
    await h.env.client.get_workflow_handle(workflow_id(cid)).terminate("test finished")


async def test_a_hand_forward_on_a_seeded_campaign_answers_whoever_holds_its_workflow(
    h: Harness, tmp_path: Path
) -> None:
    """What hung for more than ten minutes: a seeded campaign (`seed_campaign` starts no
    workflow) is `CP-2027-001` in its store, and another store on the same Temporal had
    made a campaign of that id whose workflow runs on a task queue no worker serves; the
    forward's Update went to that workflow and waited for a worker forever. Now it is
    refused at once, naming why; once that workflow is ended, the forward goes through
    a workflow of this store's own. A forward whose worker is away answers
    `ActionPending`, with its key, within the service's `wait`."""
    from casework.demo.campaign import DEMO_SPEC, seed_campaign

    spec = campaign_spec(DEMO_SPEC | {"quotas": {"崇川区": 8, "通州区": 8, "海门区": 8}})
    other = make_engine(f"sqlite:///{tmp_path / 'other.db'}")
    migrate(other)
    Directory(other).upsert(demo_users())
    theirs = await asyncio.to_thread(seed_campaign, other, 6, 1, spec)
    await CampaignService(h.env.client, other, "no-worker-serves-this").ensure_running(
        theirs.campaign_id
    )
    seeded = await asyncio.to_thread(seed_campaign, h.engine, 30, 2, spec)
    cid = seeded.campaign_id
    assert cid == theirs.campaign_id  # ids are unique in one store only
    officer = h.directory.get(DO).actor()
    recorded = len(events(h, cid))
    svc = CampaignService(h.env.client, h.engine, h.service.task_queue, wait=10)
    with pytest.raises(ActionRefused) as refused:
        await asyncio.wait_for(svc.forward(cid, "崇川区", officer), 30)
    assert (refused.value.code, refused.value.field) == ("campaign_workflow_elsewhere", "campaign")
    assert workflow_id(cid) in refused.value.message
    assert len(events(h, cid)) == recorded  # nothing recorded
    handle = h.env.client.get_workflow_handle(workflow_id(cid))
    await handle.terminate("another store's campaign")

    done = await asyncio.wait_for(svc.forward(cid, "崇川区", officer, key="fw-seeded"), 30)
    assert len(done.case_ids) == 2 and done.district_forwarded == 6
    assert (await handle.describe()).task_queue == h.service.task_queue

    second = await asyncio.to_thread(seed_campaign, h.engine, 30, 3, spec)
    away = CampaignService(h.env.client, h.engine, "no-worker-here", wait=2)
    with pytest.raises(ActionPending) as pending:
        await asyncio.wait_for(away.forward(second.campaign_id, "通州区", officer, key="k-1"), 30)
    assert pending.value.key == "k-1"

    # The API says both: 503 with the key to send again (its service on a queue no worker
    # serves), and 409 naming the workflow that is not this deployment's.
    from casework.api.app import create_app
    from casework.service import CaseService
    from casework.settings import Settings
    from tests.api.conftest import bearer, client_for

    settings: Any = Settings(_env_file=None, act_wait_seconds=2)  # type: ignore[call-arg]
    gone = CaseService(h.env.client, h.engine, "no-worker-here")
    officer_token = bearer(h.engine, "tongzhou.officer1")
    async with client_for(create_app(h.engine, gone, settings)) as api:
        body = {"district": "通州区", "idempotency_key": "k-2"}
        r = await asyncio.wait_for(
            api.post(
                f"/api/campaigns/{second.campaign_id}/forward", json=body, headers=officer_token
            ),
            30,
        )
        assert r.status_code == 503 and r.json()["detail"]["code"] == "not_confirmed", r.text
        assert "k-2" in r.json()["detail"]["message"]
    async with client_for(create_app(h.engine, h.service, settings)) as api:
        body = {"district": "通州区"}
        r = await asyncio.wait_for(
            api.post(
                f"/api/campaigns/{second.campaign_id}/forward", json=body, headers=officer_token
            ),
            30,
        )
        assert r.status_code == 409, r.text
        assert (r.json()["detail"]["code"], r.json()["detail"]["field"]) == (
            "campaign_workflow_elsewhere",
            "campaign",
        )
    await h.env.client.get_workflow_handle(workflow_id(second.campaign_id)).terminate("done")
    await handle.terminate("test finished")
