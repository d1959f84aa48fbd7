"""`campaign show` on an award campaign of 1,000 nominations (issue #13): the store's
overview read (`Campaigns.overview`, three indexed reads), the command itself at 80
columns (`casework campaign show ID`: quotas, rules and the count per stage; and with
`--all`, every nomination listed; through Typer as a person runs it, the database
opened per invocation) and the API's `GET /api/campaigns/{id}` (httpx on ASGI, a bearer
token), each p50/p99 against the issue's budget of one second. The campaign is the
seeded generator's (casework.demo.campaign): every nomination recorded through the
store's append path, at several stages.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from benchmarks.harness import Database, progress
from benchmarks.results import Comparison, Section, Target, percentile

BUDGET_MS = 1000.0
WITHIN = Target(1.0, at_most=True)


@dataclass
class CampaignSample:
    seed_s: float
    overview: list[float]
    cli: list[float]
    cli_all: list[float]
    api: list[float]


def _timed(step: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        step()
        out.append((time.perf_counter() - t) * 1000)
    return out


def measure(db: Database, nominations: int, calls: int) -> CampaignSample:
    import httpx
    from typer.testing import CliRunner

    from casework.api.app import create_app
    from casework.cli import app as cli
    from casework.demo.campaign import seed_campaign
    from casework.demo.people import demo_users
    from casework.settings import Settings
    from casework.store.auth import Tokens
    from casework.store.campaigns import Campaigns
    from casework.store.db import migrate
    from casework.store.directory import Directory

    migrate(db.engine)
    Directory(db.engine).upsert(demo_users())
    t = time.perf_counter()
    seeded = seed_campaign(db.engine, nominations)
    seed_s = time.perf_counter() - t
    progress(f"campaign {db.label}: {nominations} nominations seeded in {seed_s:.1f} s")
    cid = seeded.campaign_id
    campaigns = Campaigns(db.engine)
    assert len(campaigns.overview(cid).nominations) == nominations
    overview = _timed(lambda: campaigns.overview(cid), calls)

    url = db.engine.url
    if db.label == "PostgreSQL":  # the schema, which the engine gets by connect_args
        url = url.update_query_dict({"options": f"-csearch_path={db.where.split()[-1]}"})
    env = {
        "CASEWORK_DATABASE_URL": url.render_as_string(hide_password=False),
        "COLUMNS": "80",
        "CASEWORK_LOG_LEVEL": "WARNING",
    }
    runner = CliRunner()

    def show(*more: str) -> None:
        args = ["campaign", "show", cid, "--as", "city.officer1", *more]
        result = runner.invoke(cli, args, env=env)
        assert result.exit_code == 0, (env, result.stdout, result.stderr)
        if more:  # every nomination listed, ids whole
            assert result.stdout.count("NM-") == nominations

    cli_ms = _timed(show, max(calls // 5, 5))
    cli_all = _timed(lambda: show("--all"), max(calls // 5, 5))

    web = create_app(db.engine, None, Settings(_env_file=None))  # type: ignore[call-arg]
    token = Tokens(db.engine).create("city.officer1", "bench", 1)[0]

    async def api_calls() -> list[float]:
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            out = []
            for _ in range(calls):
                t = time.perf_counter()
                r = await client.get(
                    f"/api/campaigns/{cid}", headers={"Authorization": f"Bearer {token}"}
                )
                assert r.status_code == 200 and len(r.json()["nominations"]) == nominations
                out.append((time.perf_counter() - t) * 1000)
            return out

    api = asyncio.run(api_calls())
    return CampaignSample(seed_s, overview, cli_ms, cli_all, api)


def section(results: dict[str, CampaignSample], nominations: int) -> Section:
    sec = Section(f"Campaign: `campaign show` on {nominations:,} nominations")
    for backend, s in results.items():
        for what, timings in (
            ("overview read", s.overview),
            ("CLI at 80 columns", s.cli),
            ("CLI --all at 80 columns", s.cli_all),
            ("API GET", s.api),
        ):
            for p in (50, 99):
                sec.comparisons.append(
                    Comparison(
                        "campaign",
                        backend,
                        f"{what} p{p}",
                        "ms",
                        percentile(timings, p),
                        BUDGET_MS,
                        "budget 1 s",
                        WITHIN if p == 99 else None,
                    )
                )
        sec.notes.append(
            f"{backend}: {nominations:,} nominations seeded through the store's append path "
            f"in {s.seed_s:.1f} s; {len(s.overview)} overview reads, {len(s.cli)} CLI runs "
            f"(a process's start-up excluded, the database opened per run), "
            f"{len(s.api)} API calls."
        )
    return sec
