"""The seeded campaign generator (casework.demo.campaign) on both back-ends: the same seed
gives the same nominees at the same stages, spread over several stages, every nomination
in the campaign's overview, forwarded within the quotas and the ratio rules."""

from __future__ import annotations

from sqlalchemy import Engine

from casework.demo.campaign import DEMO_SPEC, seed_campaign
from casework.demo.people import demo_users
from casework.domain.award import campaign_spec
from casework.store.campaigns import Campaigns
from casework.store.directory import Directory


def test_the_same_seed_gives_the_same_campaign(engine: Engine) -> None:
    Directory(engine).upsert(demo_users())
    spec = campaign_spec(DEMO_SPEC | {"quotas": {"崇川区": 10, "通州区": 8, "海门区": 8}})
    first = seed_campaign(engine, nominations=60, seed=11, spec=spec)
    again = seed_campaign(engine, nominations=60, seed=11, spec=spec)
    other = seed_campaign(engine, nominations=60, seed=12, spec=spec)
    camps = Campaigns(engine)

    def shape(cid: str) -> list[tuple[str, str, str, str, str | None]]:
        return [
            (n.district, n.name, n.unit, n.stage, n.outcome)
            for n in camps.overview(cid).nominations
        ]

    assert first.campaign_id != again.campaign_id
    assert shape(first.campaign_id) == shape(again.campaign_id)
    assert shape(first.campaign_id) != shape(other.campaign_id)
    assert first.stages == again.stages and sum(first.stages.values()) == 60
    assert {"unit_notice", "district_review", "awaiting_forward", "joint_vetting"} <= set(
        first.stages
    )
    seen = camps.overview(first.campaign_id)
    assert len(seen.nominations) == 60
    assert all(q.forwarded <= q.quota for q in seen.quotas)
    assert sum(q.forwarded for q in seen.quotas) == seen.places_forwarded > 0
    assert all(r.breach is None for r in seen.rules)
