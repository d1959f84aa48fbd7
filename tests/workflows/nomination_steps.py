"""Steps of an award nomination's case for the tests (tests/workflows/test_nomination.py,
the recorded history in test_replay.py): a campaign opened, nominations opened, past
the unit notice, approved and forwarded, vetted, voted."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from activities.nomination import deliver_campaign_news
from casework.domain.award import campaign_spec
from casework.domain.case import CaseView
from casework.domain.nomination import CommitteeVote, NominationApplication, Stage
from casework.store.campaigns import Campaigns
from casework.store.tables import campaign_nominations, case_events, case_sequences
from tests.workflows.conftest import Harness
from tests.workflows.steps import settled_state, sleep_until, state

NOMINEE = json.loads(Path("examples/nominee.json").read_text(encoding="utf-8"))
CAMPAIGN = json.loads(Path("examples/campaign.json").read_text(encoding="utf-8"))
GR, DO = "chongchuan.grassroots1", "chongchuan.officer1"
ID_NUMBER = "320602198001011235"
_blocks = itertools.count(1)
"""Nomination numbers from a block of each harness's own: one server, many tests."""


def number_nominations(h: Harness) -> None:
    year = datetime.now().year
    block = next(_blocks) * 1000
    with h.engine.begin() as conn:
        for y in (year, year + 1):
            conn.execute(insert(case_sequences).values(prefix="NM", year=y, last_value=block))


def open_campaign(h: Harness, **changes: Any) -> str:
    spec = campaign_spec(
        CAMPAIGN
        | {"ratio_rules": {}, "vetting_departments": ["discipline", "police", "tax"]}
        | changes
    )
    return Campaigns(h.engine).open(spec, h.directory.get("city.officer1").actor())


async def nominate(h: Harness, campaign_id: str, by: str = GR, **changes: Any) -> CaseView:
    app = NominationApplication.model_validate(
        NOMINEE | {"campaign_id": campaign_id, "id_number": ID_NUMBER} | changes
    )
    view = await h.service.open_case("nomination", app, h.directory.get(by).actor())
    h.opened.append(view.case_id)
    return view


async def at_stage(h: Harness, case_id: str, stage: str) -> Any:
    for _ in range(200):
        s = await settled_state(h, case_id)
        if s.stage == stage or s.status.value == "closed":
            return s
    raise AssertionError(f"{case_id} never reached {stage}")


async def to_vetting(h: Harness, campaign_id: str, n: int = 1) -> list[str]:
    ids = [(await nominate(h, campaign_id)).case_id for _ in range(n)]
    now = await h.env.get_current_time()
    await sleep_until(h, now + timedelta(days=10))  # five working days and more
    for case_id in ids:
        assert (await at_stage(h, case_id, Stage.DISTRICT_REVIEW)).stage == Stage.DISTRICT_REVIEW
        await h.act(case_id, DO, "approve")
    done = Campaigns(h.engine).forward(campaign_id, "崇川区", h.directory.get(DO).actor())
    assert done.case_ids == ids
    assert await deliver_campaign_news(h.env.client, ids) == len(ids)
    for case_id in ids:
        assert (await at_stage(h, case_id, Stage.VETTING)).stage == Stage.VETTING
    return ids


async def vet_clear(
    h: Harness, case_id: str, departments: tuple[str, ...] = ("discipline", "police", "tax")
) -> None:
    for d in departments:
        await h.act(case_id, f"vet.{d}", "vet", "无异议", {"opinion": "clear"})


async def to_notice(h: Harness, votes_for: int = 12) -> tuple[str, str]:
    cid = open_campaign(h)
    [case_id] = await to_vetting(h, cid)
    await vet_clear(h, case_id)
    assert (await at_stage(h, case_id, Stage.COMMITTEE)).stage == Stage.COMMITTEE
    member = h.directory.get("city.committee1").actor()
    Campaigns(h.engine).record_vote(
        cid, CommitteeVote(present=12, votes={case_id: votes_for}), member
    )
    await deliver_campaign_news(h.env.client, [case_id])
    await deliver_campaign_news(h.env.client, [case_id])  # twice: recorded once
    return cid, case_id


async def finished(h: Harness, case_id: str) -> Any:
    """The state of a case once its workflow has ended."""
    await h.result(case_id)
    return await state(h, case_id)


def row(h: Harness, case_id: str) -> Any:
    with h.engine.connect() as conn:
        return conn.execute(
            select(campaign_nominations).where(campaign_nominations.c.case_id == case_id)
        ).one()


def stored_text(h: Harness, case_id: str) -> str:
    with h.engine.connect() as conn:
        return " ".join(
            p
            for (p,) in conn.execute(
                select(case_events.c.payload).where(case_events.c.case_id == case_id)
            )
        )
