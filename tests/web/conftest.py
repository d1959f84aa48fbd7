"""Browser tests: the real app served on a real worker and store, and Debian's Chromium
driven by Playwright (it never downloads a browser)."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from casework.api.app import create_app
from casework.demo.people import DEMO_PASSWORD
from casework.demo.seed import set_demo_passwords
from tests.workflows.conftest import Harness, config, harness  # noqa: F401 - shared fixtures

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
REQUIRE = os.environ.get("CASEWORK_REQUIRE_BROWSER") == "1"
SHOTS = Path(os.environ.get("CASEWORK_SCREENSHOTS", "/tmp/casework-screenshots"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
async def site(harness: Harness) -> AsyncIterator[str]:  # noqa: F811
    set_demo_passwords(harness.engine)
    port = _free_port()
    app = create_app(harness.engine, harness.service)
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
    """Open the new-case form and fill in 张三's application (not sent)."""
    await page.click("text=困难职工帮扶立案")
    await page.fill("#name", "张三")
    await page.fill("#id_number", id_number)
    await page.fill("#phone", "13800000000")
    await page.fill("#employer", "南通某纺织有限公司")
    await page.select_option("#district", "崇川区")
    await page.fill("#household_size", "3")
    await page.fill("#monthly_income", "2500")
    await page.fill("#requested_amount", "3000")
    await page.fill("#reason", "配偶重病")
