"""A supervisor's morning round in a real browser: the board, the stuck list, and a
reassignment from it, on cases that went overdue and escalated on Temporal's
time-skipping server (time moved as in tests/workflows/test_task_clocks.py)."""

from __future__ import annotations

from datetime import timedelta

from casework.domain.calendar import CHINA_TZ
from casework.domain.hardship import HardshipConfig
from tests.web.conftest import SHOTS, readme_screenshot, sign_in
from tests.workflows.conftest import Harness, wait_for
from tests.workflows.steps import GR2, GR3, OPENER, SUPERVISOR, escalation_of, quiesce, sleep_until


async def row(page, case_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'tr[data-case="{case_id}"]')


async def test_a_supervisors_morning_round_board_stuck_reassign(
    harness: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    h = harness
    # Three applications; GR2 takes the first. Nobody acts on them for two weeks.
    cases = [(await h.open()).case_id for _ in range(3)]
    first, second, third = cases
    await h.act(first, GR2, "claim")
    escalation = await escalation_of(h, first, HardshipConfig())
    await sleep_until(h, escalation + timedelta(minutes=1))
    for case_id in cases:
        await wait_for(lambda s: s.task is not None and s.task.escalated, h, case_id)
    # The pages read as of the server's (skipped) clock.
    at = (await h.env.get_current_time()).astimezone(CHINA_TZ).strftime("%Y-%m-%dT%H:%M")

    await sign_in(page, site, SUPERVISOR)
    await page.click("#nav-board")
    await page.fill("#at", at)
    await page.click("#show")
    line = page.locator('#board tr[data-district="崇川区"][data-stage="grassroots_review"]')
    assert await line.locator("td.open").inner_text() == "3"
    assert await line.locator("td.overdue").inner_text() == "3"
    assert await line.locator("td.escalated").inner_text() == "3"
    assert await page.locator("#charts svg").count() == 1
    await page.screenshot(path=str(SHOTS / "board-morning.png"), full_page=True)

    await page.click("#nav-stuck")
    await page.fill("#at", at)
    await page.click("#show")
    listed = await page.eval_on_selector_all(
        "#stuck tr[data-case]", "rows => rows.map(r => r.dataset.case)"
    )
    assert sorted(listed) == sorted(cases)
    first_row = await row(page, first)
    assert "chongchuan.grassroots2" in await first_row.locator("td.assignee").inner_text()

    # Reassign to someone barred (the opener: the select disables them; sent anyway):
    # refused beside the row, with what was typed.
    second_row = await row(page, second)
    await second_row.locator("summary").click()
    await second_row.locator("select[name=action]").select_option("reassign")
    await second_row.locator("select[name=to]").evaluate(
        f"s => {{ s.querySelector('option[value=\"{OPENER}\"]').disabled = false;"
        f" s.value = '{OPENER}'; }}"
    )
    await second_row.locator("textarea[name=comment]").fill("试试立案人")
    await second_row.locator("button.row-submit").click()
    second_row = await row(page, second)
    assert "target_not_eligible" in await second_row.locator("#error-to").inner_text()
    assert await second_row.locator("textarea[name=comment]").input_value() == "试试立案人"
    assert [e.type for e in h.store.read(second) if e.type == "task.reassigned"] == []

    # The first, from GR2 (away) to GR3, with the reason.
    first_row = await row(page, first)
    await first_row.locator("summary").click()
    await first_row.locator("select[name=action]").select_option("reassign")
    await first_row.locator("select[name=to]").select_option(GR3)
    await first_row.locator("textarea[name=comment]").fill("原承办人出差")
    await readme_screenshot(page, "stuck")
    await first_row.locator("button.row-submit").click()
    await page.wait_for_url(f"{site}/stuck?*notice=done*")
    assert "改派" in await page.locator("#notice").inner_text()
    first_row = await row(page, first)  # still overdue, now GR3's
    assert "chongchuan.grassroots3" in await first_row.locator("td.assignee").inner_text()
    assert await page.locator("#at").input_value() == at  # the filters kept

    # The third gets more time.
    third_row = await row(page, third)
    await third_row.locator("summary").click()
    await third_row.locator("select[name=action]").select_option("extend")
    until = (await h.env.get_current_time()).astimezone(CHINA_TZ).date() + timedelta(days=10)
    await third_row.locator("input[name=until]").fill(until.isoformat())
    await third_row.locator("textarea[name=comment]").fill("申请人住院，延期办理")
    await third_row.locator("button.row-submit").click()
    await page.wait_for_url(f"{site}/stuck?*notice=done*")
    assert await page.locator(f'tr[data-case="{third}"]').count() == 0  # no longer late

    # The case's history says who moved it, to whom and why.
    await page.click(f"a[href='/cases/{first}']")
    history = page.locator("#history tr[data-type='task.reassigned']")
    text = await history.inner_text()
    assert "督办改派" in text and "原承办人出差" in text
    assert "崇川区区县督办" in text and SUPERVISOR in text
    assert "崇川区基层干事三 (chongchuan.grassroots3)" in text
    assert "崇川区基层干事二 (chongchuan.grassroots2)" in text
    [moved] = [e for e in h.store.read(first) if e.type == "task.reassigned"]
    assert (moved.actor_id, moved.payload["assignee"], moved.payload["previous"]) == (
        SUPERVISOR,
        GR3,
        GR2,
    )
    assert "崇川区基层干事三" in await page.locator("#assignee").inner_text()
    [extended] = [e for e in h.store.read(third) if e.type == "task.extended"]
    assert extended.payload["reason"] == "申请人住院，延期办理"
    for case_id in cases:
        await quiesce(h, case_id)


async def test_the_city_supervisor_sees_every_district_on_the_board(
    recorded_site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    site = recorded_site
    await sign_in(page, site, "city.supervisor")
    await page.click("#nav-board")
    figures = await page.eval_on_selector_all(
        "#charts figcaption", "captions => captions.map(c => c.textContent)"
    )
    assert figures == ["崇川区", "通州区", "海门区", "市总工会"]
    line = page.locator('#board tr[data-district="崇川区"][data-stage="grassroots_review"]')
    assert await line.locator("td.open").inner_text() == "3"
    assert await line.locator("td.overdue").inner_text() == "2"  # one opened two days ago
    await readme_screenshot(page, "board")
    # Narrowed to one district, as `casework board --district`.
    await page.select_option("#district", "通州区")
    await page.click("#show")
    figures = await page.eval_on_selector_all(
        "#charts figcaption", "captions => captions.map(c => c.textContent)"
    )
    assert figures == ["通州区"]
    assert await page.locator("#total-open").inner_text() == "5"
