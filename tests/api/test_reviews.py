"""/api/reviews/{year} and `casework review show`: a district's staff see their own
district's review only, the city sees every district, no token is 401."""

from __future__ import annotations

import json

from sqlalchemy import Engine
from typer.testing import CliRunner

from casework.demo.register import seed_register
from casework.domain.annual_review import AnnualReviewConfig
from casework.domain.eligibility import EligibilityRules
from casework.store.annual_review import AnnualReview
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.api.conftest import bearer, client_for, make_app

YEAR = 2027


def reviewed(engine: Engine) -> None:
    seed_register(engine, 120, seed=3, year=YEAR)
    r = AnnualReview(EventStore(engine), YEAR, EligibilityRules(), AnnualReviewConfig())
    while r.step(0) is not None:
        pass
    r.draw_spot_checks()


async def test_the_review_is_shown_within_the_users_jurisdiction(
    sqlite_engine: Engine, directory: Directory
) -> None:
    reviewed(sqlite_engine)
    async with client_for(make_app(sqlite_engine)) as http:
        assert (await http.get(f"/api/reviews/{YEAR}")).status_code == 401
        city = await http.get(
            f"/api/reviews/{YEAR}", headers=bearer(sqlite_engine, "city.officer1")
        )
        assert city.status_code == 200
        everyone = city.json()["districts"]
        assert len(everyone) > 1
        assert sum(d["renewed"] + d["exit_proposed"] + d["reverify"] for d in everyone) == 120
        own = await http.get(
            f"/api/reviews/{YEAR}", headers=bearer(sqlite_engine, "chongchuan.officer1")
        )
        assert own.status_code == 200
        assert [d["district"] for d in own.json()["districts"]] == ["崇川区"]
        bad = await http.get("/api/reviews/99", headers=bearer(sqlite_engine, "city.officer1"))
        assert bad.status_code == 422


def test_the_cli_keeps_to_the_users_district(
    sqlite_engine: Engine, directory: Directory, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    reviewed(sqlite_engine)
    from casework.cli import app

    monkeypatch.setenv("CASEWORK_DATABASE_URL", str(sqlite_engine.url))
    result = CliRunner().invoke(
        app, ["review", "show", "--year", str(YEAR), "--as", "chongchuan.officer1", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [d["district"] for d in json.loads(result.output)["districts"]] == ["崇川区"]
    whole = CliRunner().invoke(app, ["review", "show", "--year", str(YEAR)])
    assert whole.exit_code == 0 and "合计 total" in whole.output
