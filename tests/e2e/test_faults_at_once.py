"""Faults that must lose nothing (issue #4), the fourth of tests/e2e/test_faults.py:
fifty officers acting at once on fifty cases, ten of them claimed by two officers at
once: one winner each, the other told "already taken", the store consistent with the
workflows, projections equal to a rebuild. In a file of its own so that `make test`'s
processes (whole files to each) run it beside the rest of test_faults.py."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from casework.demo.people import DEMO_DISTRICTS
from casework.domain.org import Role
from casework.service import ActionRefused
from casework.store import projections
from casework.store.directory import User
from tests.e2e.test_faults import (  # noqa: F401 - shared fixtures
    BACKENDS,
    Site,
    assert_exactly_once,
    assert_store_consistent,
    site_factory,
    temporal,
)

pytestmark = pytest.mark.integration

OFFICERS = 50
CONTESTED = 10


@pytest.mark.parametrize("backend", BACKENDS)
async def test_fifty_officers_at_once_with_contested_claims(
    site_factory: Callable[..., Awaitable[Site]],  # noqa: F811
    backend: str,
) -> None:
    """Fifty cases in three districts, opened at once; fifty officers each claim one
    while ten rivals claim ten of the same tasks at the same moment; then the winners
    approve at once. One winner per contested task, the loser told "already taken";
    the log, the read models and the workflows agree."""
    site = await site_factory(backend)
    site.start_worker()
    slugs = list(DEMO_DISTRICTS.items())
    district_of = [slugs[i % len(slugs)] for i in range(OFFICERS)]
    desks = [
        User(id=f"{slug}.desk{i:02d}", name=f"干事{i}", roles=[Role.GRASSROOTS_OFFICER], district=d)
        for i, (slug, d) in enumerate(district_of)
    ]
    rivals = [
        User(
            id=f"{slug}.rival{i:02d}", name=f"对手{i}", roles=[Role.GRASSROOTS_OFFICER], district=d
        )
        for i, (slug, d) in enumerate(district_of[:CONTESTED])
    ]
    site.directory.upsert([*desks, *rivals])

    opened = await asyncio.gather(
        *(site.open(f"{slug}.grassroots1", applicant={"district": d}) for slug, d in district_of)
    )
    cases = [v.case_id for v in opened]
    assert len(set(cases)) == OFFICERS

    async def claim(case_id: str, who: str) -> str:
        try:
            await site.act(case_id, who, "claim", stage="grassroots_review")
            return "won"
        except ActionRefused as refused:
            return refused.code

    claims = [claim(case_id, desk.id) for case_id, desk in zip(cases, desks, strict=True)]
    contested = [claim(case_id, rival.id) for case_id, rival in zip(cases, rivals, strict=False)]
    outcomes = await asyncio.gather(*claims, *contested)
    desk_outcomes, rival_outcomes = outcomes[:OFFICERS], outcomes[OFFICERS:]
    assert desk_outcomes[CONTESTED:] == ["won"] * (OFFICERS - CONTESTED)
    winners = [desk.id for desk in desks]
    for i in range(CONTESTED):
        pair = sorted([desk_outcomes[i], rival_outcomes[i]])
        assert pair == ["already_taken", "won"], (cases[i], pair)
        if rival_outcomes[i] == "won":
            winners[i] = rivals[i].id

    # The approvals, while an operator rebuilds the read models again and again.
    approvals = asyncio.gather(
        *(
            site.act(case_id, who, "approve", "材料齐全", stage="grassroots_review")
            for case_id, who in zip(cases, winners, strict=True)
        )
    )
    rebuilds = 0
    while not approvals.done():
        await asyncio.to_thread(projections.rebuild, site.engine)
        rebuilds += 1
        await asyncio.sleep(0.2)  # SQLite: a rebuild holds the only write lock
    views = await approvals
    assert {v.stage for v in views} == {"home_visit"}
    assert rebuilds >= 1

    async def check(case_id: str, who: str) -> None:
        for _ in range(300):  # its civil-affairs answer recorded too
            if "civil_affairs_match" in (await site.state(case_id)).facts:
                break
            await asyncio.sleep(0.1)
        await assert_exactly_once(site, case_id)
        events = site.store.read(case_id)
        assert [e.actor_id for e in events if e.type == "task.claimed"] == [who]
        assert [e.actor_id for e in events if e.type == "task.approved"] == [who]

    await asyncio.gather(*(check(c, who) for c, who in zip(cases, winners, strict=True)))
    assert_store_consistent(site, via_cli=True)
