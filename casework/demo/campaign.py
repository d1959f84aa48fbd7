"""A seeded award campaign of many nominations, for the demo, the tests and the benchmark
(`casework campaign demo --nominations 1000`, `make run`, benchmarks/campaign.py).

What it is: a campaign opened through the store (`Campaigns.open`), then each
nomination recorded as its workflow would record it: the real domain rules
(`NominationProcess.open`, `unit_notice_ended`, the district's approval through
`decide`, `campaign_news` after the store's own `forward`) appended through
`EventStore.append`, which writes the projections and the campaign rows in the same
transactions. No workflow is started for them by `seed_campaign`: a thousand workflows
started at once would take minutes on a laptop and show nothing `campaign show` does
not, so these nominations can be read (the overview, the list, the reports) but not
acted on, unless `start_workflows` gives them workflows: each starts as a continued run
from its recorded state (as after continue-as-new, recording nothing again), with
bounded concurrency; `make run` does so for its small campaign. Reproducible: the same
seed gives the same nominees, stages and ids (in a fresh database).
"""

from __future__ import annotations

import asyncio
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from casework.domain.award import CampaignSpec, NomineeKind, campaign_spec
from casework.domain.case import (
    Action,
    ActRequest,
    CaseContinuation,
    CaseState,
    Context,
    decide,
    evolve_all,
)
from casework.domain.nomination import (
    NominationApplication,
    NominationConfig,
    NominationProcess,
    StartNomination,
)
from casework.domain.refusal import Refused
from casework.store.campaigns import Campaigns
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.tables import case_sequences

DEMO_SPEC: dict[str, Any] = {
    "name": "2027年南通市劳动模范评选",
    "award": "model_worker_city",
    "year": 2027,
    "quotas": {"崇川区": 80, "通州区": 60, "海门区": 60},
    "ratio_rules": {
        "frontline_or_technical": {"percent": 60, "applies": True},
        "enterprise_head": {"percent": 20, "applies": True},
    },
    "vetting_departments": ["discipline", "police", "environment", "tax"],
    "committee_members": 15,
}
"""200 city model workers over the demo's three districts (the seed's figure)."""
DISTRICTS = {"崇川区": "chongchuan", "通州区": "tongzhou", "海门区": "haimen"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "建华秀英志强丽娟海燕国平晓东玉兰春梅永刚文杰红霞德明小军桂芳金龙淑珍卫东明亮"
UNITS = (
    "船舶重工有限公司",
    "纺织集团",
    "建筑工程有限公司",
    "供电公司",
    "化工有限公司",
    "医院",
    "中学",
    "港务集团",
)


@dataclass(frozen=True)
class SeededCampaign:
    campaign_id: str
    nominations: int
    stages: dict[str, int]
    openings: list[StartNomination] = field(default_factory=list, repr=False)
    """Each nomination's opening with its state as recorded (`continued`): what
    `start_workflows` gives their workflows."""


def _nominee(rng: random.Random, campaign_id: str, district: str) -> NominationApplication:
    head = rng.random() < 0.12
    return NominationApplication(
        kind=NomineeKind.INDIVIDUAL,
        name=rng.choice(SURNAMES) + GIVEN[2 * rng.randrange(len(GIVEN) // 2) :][:2],
        district=district,
        unit=f"南通{rng.choice('东南西北中新')}{rng.choice(UNITS)}",
        frontline_or_technical=not head and rng.random() < 0.9,
        enterprise_head=head,
        industrial_worker=rng.random() < 0.6,
        migrant_worker=rng.random() < 0.2,
        non_public_enterprise=rng.random() < 0.5,
        campaign_id=campaign_id,
    )


def seed_campaign(
    engine: Engine,
    nominations: int = 1000,
    seed: int = 2027,
    spec: CampaignSpec | None = None,
    start: datetime | None = None,
) -> SeededCampaign:
    """Open a campaign and record `nominations` nominations at several stages: at the
    unit notice, at the district's review, withdrawn by it, approved and waiting, and
    forwarded within each district's quota (then in joint vetting)."""
    rng = random.Random(seed)
    spec = spec or campaign_spec(DEMO_SPEC)
    directory = Directory(engine)
    campaigns = Campaigns(engine)
    store = EventStore(engine)
    campaign_id = campaigns.open(spec, directory.get("city.officer1").actor())
    process = NominationProcess(NominationConfig())
    now = start or datetime(spec.year, 3, 2, 1, tzinfo=UTC)
    id_rng = random.Random(f"{seed}:{campaign_id}")  # ids unique per campaign

    def ctx() -> Context:
        nonlocal now
        now += timedelta(seconds=1)
        return Context(now=now, new_id=lambda: str(uuid.UUID(int=id_rng.getrandbits(128))))

    districts = [d for d in DISTRICTS if spec.quotas.get(d, 0) > 0]
    states: dict[str, CaseState] = {}
    openings: dict[str, StartNomination] = {}
    to_approve: dict[str, list[str]] = {d: [] for d in districts}

    def record(state: CaseState, events: list[Any]) -> CaseState:
        store.append(state.case_id, state.seq, events)
        return evolve_all(state, events)

    def officer(district: str) -> Any:
        return directory.get(f"{DISTRICTS[district]}.officer1").actor()

    for i, number in enumerate(_case_numbers(engine, spec.year, nominations)):
        district = districts[i % len(districts)]
        app = _nominee(rng, campaign_id, district)
        case_id = f"NM-{spec.year}-{number:06d}"
        rules = campaigns.opening(campaign_id, district, app.kind)
        opener = directory.get(f"{DISTRICTS[district]}.grassroots1").actor()
        opening = StartNomination(
            case_id=case_id, opened_by=opener, application=app.masked(), rules=rules
        )
        openings[case_id] = opening
        state = CaseState(case_id=case_id)
        state = record(state, process.open(opening, state, ctx()))
        roll = rng.random()
        if roll >= 0.25:  # past the unit notice
            state = record(state, process.unit_notice_ended(state, ctx()))
        if 0.45 <= roll < 0.52:
            req = ActRequest(actor=officer(district), action=Action.REJECT, comment="事迹材料不实")
            state = record(state, decide(process, state, req, ctx()))
        elif roll >= 0.52:
            to_approve[district].append(case_id)
        states[case_id] = state

    def approve(case_id: str, district: str) -> None:
        req = ActRequest(actor=officer(district), action=Action.APPROVE, comment="同意报送")
        states[case_id] = record(states[case_id], decide(process, states[case_id], req, ctx()))

    for district, ids in to_approve.items():
        # About half the quota forwarded (the campaign is mid-way); the rest approved
        # after, waiting for the district's next batch.
        first = ids[: spec.quotas[district] // 2]
        for case_id in first:
            approve(case_id, district)
        try:
            forwarded = campaigns.forward(campaign_id, district, officer(district)).case_ids
        except Refused:
            forwarded = []  # the ratio rules refused this batch: it waits, approved
        for case_id in forwarded:
            state = states[case_id]
            events = process.campaign_news(state, campaigns.nomination_row(case_id), ctx())
            states[case_id] = record(state, events)
        for case_id in ids[len(first) :]:
            approve(case_id, district)
    stages: dict[str, int] = {}
    for s in states.values():
        key = str(s.facts.get("award_outcome") or s.stage)
        stages[key] = stages.get(key, 0) + 1
    return SeededCampaign(
        campaign_id,
        nominations,
        dict(sorted(stages.items())),
        [
            o.model_copy(update={"continued": CaseContinuation(state=states[cid])})
            for cid, o in openings.items()
        ],
    )


async def start_workflows(
    client: Client, task_queue: str, seeded: SeededCampaign, concurrency: int = 16
) -> int:
    """Give the seeded nominations their workflows, so they can be acted on: each starts
    as a continued run from its recorded state (as after continue-as-new: nothing is
    recorded again), at most `concurrency` starts at a time. Already running: left."""
    gate = asyncio.Semaphore(concurrency)
    started = 0

    async def one(opening: StartNomination) -> None:
        nonlocal started
        async with gate:
            try:
                await client.start_workflow(
                    "Nomination",
                    opening,
                    id=opening.case_id,
                    task_queue=task_queue,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                started += 1
            except WorkflowAlreadyStartedError:
                pass

    await asyncio.gather(*(one(o) for o in seeded.openings))
    return started


def _case_numbers(engine: Engine, year: int, n: int) -> range:
    """A block of `n` nomination numbers, taken in one statement."""
    upsert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    with engine.begin() as conn:
        last = conn.execute(
            upsert(case_sequences)
            .values(prefix="NM", year=year, last_value=n)
            .on_conflict_do_update(
                index_elements=[case_sequences.c.prefix, case_sequences.c.year],
                set_={"last_value": case_sequences.c.last_value + n},
            )
            .returning(case_sequences.c.last_value)
        ).scalar_one()
    return range(last - n + 1, last + 1)
