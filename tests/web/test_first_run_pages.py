"""What a supervisor sees on the first run of `make run`, in a real browser at 1366×768:
the cases the demo seeds for the supervisors (casework.demo.backlog) on the board and
in the stuck list, every case number on one line, no page wider than the window."""

from __future__ import annotations

from typing import Any

import pytest

from casework.config import DEMO_CONFIG, load_process_config
from casework.demo.backlog import IDLE_DAYS, seed_backlog
from casework.domain.hardship import HardshipConfig
from tests.web.conftest import sign_in
from tests.workflows.conftest import Harness

WIDTH, HEIGHT = 1366, 768


@pytest.fixture
def config() -> HardshipConfig:
    return load_process_config(DEMO_CONFIG).hardship


async def one_line_each(page: Any, ids: list[str]) -> None:
    """Each case number's link is on the page, drawn on one line; nothing overflows."""
    for case_id in ids:
        link = page.locator(f'tr[data-case="{case_id}"] a[href^="/cases/{case_id}"]').first
        lines = await link.evaluate("a => a.getClientRects().length")
        assert lines == 1, (case_id, lines)
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= WIDTH, wide


async def test_the_seeded_cases_fill_the_supervisors_pages_at_1366_by_768(
    harness: Harness,
    config: HardshipConfig,
    site: str,
    page: Any,
) -> None:
    views = await seed_backlog(harness.service, harness.directory, config)
    harness.opened.extend(v.case_id for v in views)
    ids = [v.case_id for v in views]
    await page.set_viewport_size({"width": WIDTH, "height": HEIGHT})
    await sign_in(page, site, "city.supervisor")

    await page.click("#nav-stuck")
    await page.fill("#idle_days", str(IDLE_DAYS))
    await page.click("#show")
    await page.wait_for_selector(f'tr[data-case="{ids[0]}"]')
    await one_line_each(page, ids)
    text = await page.inner_text("main")
    for district in ("崇川区", "通州区", "海门区", "市总工会"):
        assert district in text, district

    await page.click("#nav-board")
    board = await page.inner_text("main")
    assert all(d in board for d in ("崇川区", "通州区", "海门区", "市总工会")), board
    assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH
