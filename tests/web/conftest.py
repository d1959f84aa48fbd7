"""Browser tests: the real app served on a real worker and store, and Debian's Chromium
driven by Playwright (it never downloads a browser)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.api.app import create_app
from casework.demo.people import DEMO_DISTRICTS, DEMO_PASSWORD, demo_users
from casework.demo.seed import set_demo_passwords
from casework.domain.case import Action, Context
from casework.domain.hardship import HardshipConfig, HardshipProcess
from casework.domain.org import Actor, Role
from casework.domain.supervision import clock_events
from casework.settings import Settings
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from tests.store.builders import GRASSROOTS2, DomainCase, actor, findings, new_id
from tests.web.http import AT_DISTRICT_REVIEW, CLOSED, REVIEW, TONGZHOU, VISIT
from tests.workflows.conftest import Harness, config, harness  # noqa: F401 - shared fixtures

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE = os.environ.get("CASEWORK_REQUIRE_BROWSER") == "1"
SHOTS = Path(os.environ.get("CASEWORK_SCREENSHOTS", "/tmp/casework-screenshots"))
README_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
"""The README's pictures of the pages: written only with CASEWORK_README_SCREENSHOTS=1,
so that ordinary runs leave the committed files alone."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` on a real uvicorn server on a free port of 127.0.0.1; its address."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@pytest.fixture
async def site(harness: Harness) -> AsyncIterator[str]:  # noqa: F811
    set_demo_passwords(harness.engine)
    async with served(create_app(harness.engine, harness.service)) as address:
        yield address


@pytest.fixture
async def recorded_site(sqlite_engine: Engine) -> AsyncIterator[str]:
    """The pages on a store holding cases recorded by the real domain, months old and
    fresh, in three districts and the city's queue (`record_cases`); no Temporal, so
    they can be looked at but not acted on."""
    Directory(sqlite_engine).upsert(demo_users())
    set_demo_passwords(sqlite_engine)
    record_cases(sqlite_engine)
    app = create_app(sqlite_engine, None, Settings(_env_file=None))  # type: ignore[call-arg]
    async with served(app) as address:
        yield address


def record_cases(engine: Engine) -> list[str]:
    """Hardship cases at several stages in 崇川区, 通州区 and 海门区 (and the city's
    review), opened weeks ago (past due, escalated) or days ago; their task clocks
    brought up to now as a workflow's timers would."""
    store = EventStore(engine)
    process = HardshipProcess(HardshipConfig())
    now = datetime.now(UTC)
    ids: list[str] = []
    plan = {
        "chongchuan": [
            (40, "grassroots_review"),
            (30, "grassroots_review"),
            (2, "grassroots_review"),
            (25, "home_visit"),
            (1, "home_visit"),
            (20, "district_review"),
            (12, "city_review"),
        ],
        "tongzhou": [
            (15, "grassroots_review"),
            (9, "grassroots_review"),
            (3, "home_visit"),
            (22, "district_review"),
            (2, "district_review"),
        ],
        "haimen": [(1, "grassroots_review"), (18, "home_visit"), (30, "city_review")],
    }
    for slug, steps in plan.items():
        district = DEMO_DISTRICTS[slug]

        def who(name: str, role: Role, slug: str = slug, district: str = district) -> Actor:
            return Actor(id=f"{slug}.{name}", roles=(role,), district=district)

        gr2, gr3 = who("grassroots2", GRASSROOTS), who("grassroots3", GRASSROOTS)
        for days, stage in steps:
            case_id = f"HR-2026-{len(ids) + 101:06d}"
            case = DomainCase(store, case_id, start=now - timedelta(days=days))
            amount = 600_000 if stage == "city_review" else 300_000
            case.open(
                who("grassroots1", GRASSROOTS),
                applicant={"district": district, "name": NAMES[len(ids) % len(NAMES)]},
                requested_amount_fen=amount,
            )
            if stage != "grassroots_review":
                case.act(gr2, Action.APPROVE, "材料齐全").civil_affairs()
            if stage in ("district_review", "city_review"):
                case.act(gr2, Action.APPROVE, "已入户核实", findings(gr2.id, gr3.id))
                case.notice_ended()
            if stage == "city_review":
                case.act(who("officer1", Role.DISTRICT_OFFICER), Action.APPROVE, "审核通过")
                case.act(who("leader", Role.DISTRICT_LEADER), Action.APPROVE, "同意")
            if days in (30, 25, 22, 18) and stage != "city_review":  # some taken up
                officer = who("officer1", Role.DISTRICT_OFFICER)
                case.act(officer if stage == "district_review" else gr2, Action.CLAIM)
            for _ in range(2):  # overdue, then escalated, as the timers would record
                late = clock_events(case.state, Context(now, new_id), process.calendar, 2)
                if late:
                    case.record(late)
            assert case.state.stage == stage, (case_id, case.state.stage)
            ids.append(case_id)
    return ids


NAMES = ["张三", "李梅", "王建国", "赵丽", "陈小兵", "刘芳", "周强", "吴静", "孙立", "郑红"]
GRASSROOTS = Role.GRASSROOTS_OFFICER


@pytest.fixture
async def page():  # type: ignore[no-untyped-def]
    if not Path(CHROMIUM).exists():
        if REQUIRE:
            pytest.fail(f"CASEWORK_REQUIRE_BROWSER=1 but no Chromium at {CHROMIUM}")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 900})
        yield await context.new_page()
        await browser.close()


async def sign_in(page, site: str, user_id: str, password: str = DEMO_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    await page.goto(f"{site}/login")
    await page.fill("#user_id", user_id)
    await page.fill("#password", password)
    await page.click("#sign-in")
    await page.wait_for_url(f"{site}/inbox")


async def sign_out(page, site: str) -> None:  # type: ignore[no-untyped-def]
    await page.click("#sign-out")
    await page.wait_for_url(f"{site}/login")


async def fill_application(page, *, id_number: str) -> None:  # type: ignore[no-untyped-def]
    """Open the new-case form and fill in 张三's application (not sent). The form's
    inputs are named by the field's path in the application."""
    await page.click("#nav-new-case")
    # A grassroots officer opens hardship cases and award nominations: choose.
    await page.click('a[href="/cases/new/hardship"]')
    await page.fill("#applicant-name", "张三")
    await page.fill("#applicant-id_number", id_number)
    await page.fill("#applicant-phone", "13800000000")
    await page.fill("#applicant-employer", "南通某纺织有限公司")
    await page.select_option("#applicant-district", "崇川区")
    await page.fill("#household-size", "3")
    await page.fill("#household-yearly_income_fen", "54000")
    await page.fill("#household-medical_expenses_fen", "12000")
    await page.select_option("#category", "relative")
    await page.select_option("#relief_type", "living")
    await page.fill("#requested_amount_fen", "3000")
    await page.fill("#reason", "配偶重病")


async def readme_screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    """The page as it looks now (1200 px wide, whole height), as docs/screenshots/NAME.png
    when CASEWORK_README_SCREENSHOTS=1; always under SHOTS for looking at a run."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    await page.set_viewport_size({"width": 1200, "height": 480})  # short pages stay short
    await page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if os.environ.get("CASEWORK_README_SCREENSHOTS") == "1":
        README_SHOTS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(README_SHOTS / f"{name}.png"), full_page=True)
    if size is not None:
        await page.set_viewport_size(size)


# -- the pages' HTTP tests (tests/web/http.py): a store with cases, no Temporal ----------


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """The demo people and five cases (tests/web/http.py names them) at several stages."""
    Directory(sqlite_engine).upsert(demo_users())
    set_demo_passwords(sqlite_engine)
    store = EventStore(sqlite_engine)
    DomainCase(store, REVIEW).open()
    visit = DomainCase(store, VISIT).open().act(GRASSROOTS2, Action.APPROVE, "材料齐全")
    visit.civil_affairs().act(GRASSROOTS2, Action.CLAIM)
    DomainCase(store, AT_DISTRICT_REVIEW).to_district_review()
    tongzhou = actor("tongzhou.grassroots1", Role.GRASSROOTS_OFFICER, district="通州区")
    DomainCase(store, TONGZHOU).open(tongzhou, applicant={"district": "通州区"})
    DomainCase(store, CLOSED).open().act(GRASSROOTS2, Action.REJECT, "不符合条件")
    return sqlite_engine


@pytest.fixture
def app(engine: Engine) -> FastAPI:
    return create_app(engine, None, Settings(_env_file=None))  # type: ignore[call-arg]
