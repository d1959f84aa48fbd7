"""An audit lead carries a special audit of 崇川区's relief money (困难职工帮扶资金) from
the notice to closure in a real browser (issue #11): the lead opens it from the
new-case form, an auditor issues the notice, starts fieldwork, draws a sample of the
district's closed hardship cases from the store and records two findings (one from a
sampled case), sends the draft; the unit's officer replies; the lead signs the report;
the unit reports on each finding's rectification task in that task's own form; the
auditor rejects one and accepts the others; the reworked one is reported again and
accepted; the project is closed with every finding closed.

The app runs on a worker and a time-skipping Temporal server of its own (as
tests/web/test_audit_sample_pages.py), the demo's audit configuration (fieldwork may
start on the notice's day); the sampled hardship cases are written to the store as
the workflow's recording would (tests/store/test_audit_sample.py), two of them wanting."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy import delete

from casework.api.app import create_app
from casework.demo.seed import set_demo_passwords
from casework.domain.audit import AuditConfig
from casework.domain.calendar import CHINA_TZ
from casework.store.tables import cases
from tests.store.test_audit_sample import OVERPAID, TAMPERED, seed_cases, tamper
from tests.web.conftest import SHOTS, served, sign_in, sign_out
from tests.workflows.audit_steps import AUDITOR, LEAD, UNIT, number_audit_cases
from tests.workflows.conftest import Harness
from tests.workflows.test_audit_sample import own_server  # noqa: F401 - the `env` fixture


@pytest.fixture
def h(harness: Harness) -> Iterator[Harness]:
    # The demo's audit configuration: fieldwork may start on the notice's day.
    current = harness.config_source.current()
    harness.config_source.update(current.model_copy(update={"audit": AuditConfig(notice_days=0)}))
    number_audit_cases(harness)
    try:
        seed_cases(harness.store)
        tamper(harness.engine)
        yield harness
    finally:
        with harness.engine.begin() as conn:  # the seeded cases have no workflow to end
            conn.execute(delete(cases).where(cases.c.case_type == "hardship"))


@pytest.fixture
async def site(h: Harness) -> AsyncIterator[str]:
    set_demo_passwords(h.engine)
    async with served(create_app(h.engine, h.service)) as address:
        yield address


async def as_user(page, site: str, user: str, case_id: str) -> None:  # type: ignore[no-untyped-def]
    await sign_out(page, site)
    await sign_in(page, site, user)
    await page.goto(f"{site}/cases/{case_id}")


async def act(page, action: str, comment: str = "", form: str = "#act-form", **fields: str) -> None:  # type: ignore[no-untyped-def]
    """In `form` (the case's, or one task's), choose `action`, fill its fields (a select
    by its value, a checkbox by "on") and the comment, and send it; it must be done."""
    scope = page.locator(form)
    await scope.locator("select[name=action]").select_option(action)
    for name, value in fields.items():
        field = scope.locator(f"[name='{action}-{name}']")
        kind = await field.evaluate("e => e.tagName + ':' + (e.type || '')")
        if kind.startswith("SELECT"):
            await field.select_option(value)
        elif kind.endswith("checkbox"):
            await field.set_checked(value == "on")
        else:
            await field.fill(value)
    await scope.locator("textarea[name=comment]").fill(comment)
    async with page.expect_navigation():
        await scope.locator("button[type=submit]").click()
    assert "已办理" in await page.locator("#notice").inner_text(), await page.content()


async def stage(page) -> str:  # type: ignore[no-untyped-def]
    return str(await page.locator("#stage").inner_text())


async def finding_states(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The findings table as shown: each finding's id and the words of its state."""
    rows = page.locator("#findings tr[data-finding]")
    shown = {}
    for i in range(await rows.count()):
        row = rows.nth(i)
        shown[str(await row.get_attribute("data-finding"))] = str(
            await row.locator(".finding-status").inner_text()
        )
    return shown


async def task_of(page, finding_id: str) -> str:  # type: ignore[no-untyped-def]
    """The open task of a finding, as the findings table names it."""
    text = await page.locator(f"#finding-{finding_id} .finding-task").inner_text()
    return str(text).strip()


async def task_rows(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The open tasks table: each task's id and the words of its row."""
    rows = page.locator("#parallel-tasks tr[data-task]")
    return {
        str(await rows.nth(i).get_attribute("data-task")): str(await rows.nth(i).inner_text())
        for i in range(await rows.count())
    }


async def test_an_audit_lead_carries_a_special_audit_of_relief_money_to_closure(
    h: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    started = time.perf_counter()
    page.set_default_timeout(10_000)
    today = (await h.env.get_current_time()).astimezone(CHINA_TZ).date()

    # 立项: the lead opens the special audit from the new-case form.
    await sign_in(page, site, LEAD)
    await page.goto(f"{site}/cases/new/audit")
    await page.fill("#title", "崇川区总工会2026年度困难职工帮扶资金专项审计")
    await page.select_option("#audit_type", "special")
    await page.fill("#subject", "困难职工帮扶资金")
    await page.fill("#audited_unit", "崇川区总工会")
    await page.select_option("#district", "崇川区")
    await page.fill("#lead", LEAD)
    await page.fill("#team", "city.auditor, city.auditor2")
    await page.fill("#fieldwork_starts_on", today.isoformat())
    async with page.expect_navigation():
        await page.click("#open")
    assert re.search(r"/cases/AU-\d{4}-\d{6}\?notice=opened$", page.url), page.url
    cid = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "审计通知" in await stage(page)
    assert "困难职工帮扶资金" in await page.locator("#case").inner_text()

    # The notice, fieldwork, the sample drawn from the store.
    await as_user(page, site, AUDITOR, cid)
    await act(page, "approve", "审计通知书已送达")
    assert "现场审计" in await stage(page)
    await act(page, "start-fieldwork", "审计组进点")
    await act(page, "draw-sample", "抽查本年度已结案件", year=str(today.year), rate="1", seed="7")
    samples = await page.locator("#samples").inner_text()
    assert "11" in samples and OVERPAID in samples and TAMPERED in samples, samples
    assert "抽取帮扶案件样本" in await page.locator("#history").inner_text()

    # Two findings: one from a sampled case (its facts filled in from the check), one typed.
    await act(page, "record-finding", "", sample_case=OVERPAID)
    await act(
        page,
        "record-finding",
        "",
        finding_type="irregular_spending",
        amount_fen="12,500",
        description="帮扶资金列支职工疗休养费用",
        evidence="底稿 W-03，凭证 2026-07-112",
    )
    assert await finding_states(page) == {"F1": "已记录", "F2": "已记录"}
    findings = await page.locator("#findings").inner_text()
    assert OVERPAID in findings and "账实不符" in findings and "违规列支" in findings
    assert "12,500.00" in findings
    await act(page, "approve", "征求意见稿：发现问题如附件")
    assert "征求意见" in await stage(page)

    # The unit's written reply; the lead signs the report: a task per finding.
    await as_user(page, site, UNIT, cid)
    await act(page, "approve", "对征求意见稿无异议")
    assert "审计报告" in await stage(page)
    await as_user(page, site, LEAD, cid)
    await act(page, "approve", "审计报告和审计决定：限期整改")
    assert "整改" in await stage(page)
    assert await finding_states(page) == {"F1": "整改中", "F2": "整改中"}
    first = {f: await task_of(page, f) for f in ("F1", "F2")}
    tasks = await task_rows(page)
    assert set(tasks) == set(first.values()), tasks
    for f, task in first.items():  # each task names its finding, nobody has it yet
        assert "整改" in tasks[task] and f in tasks[task] and "未认领" in tasks[task], tasks

    # The unit reports on each finding, in that task's own form.
    await as_user(page, site, UNIT, cid)
    for f, note in (("F1", "已追回多付款项"), ("F2", "已调回经费账户")):
        await act(page, "approve", note, form=f"#act-form-{first[f]}")
    assert await finding_states(page) == {"F1": "待核查", "F2": "待核查"}
    assert all("整改核查" in row for row in (await task_rows(page)).values())

    # The auditor rejects F1 (with the reason) and accepts F2.
    await as_user(page, site, AUDITOR, cid)
    checks = {f: await task_of(page, f) for f in ("F1", "F2")}
    form = page.locator(f"#act-form-{checks['F1']}")
    assert "F1" in await form.locator("h3").inner_text()
    # The task names its finding: no field to name another.
    assert await form.locator("[name$=finding_id]").count() == 0
    await form.locator("select[name=action]").select_option("accept-rectification")
    await page.screenshot(path=str(SHOTS / "audit-checks.png"), full_page=True)
    await act(
        page,
        "reject-rectification",
        "多付款项未见退回凭证，请补充后重新报送",
        form=f"#act-form-{checks['F1']}",
    )
    await act(
        page,
        "accept-rectification",
        "核查属实",
        form=f"#act-form-{checks['F2']}",
        closure="rectified",
    )
    shown = await finding_states(page)
    assert shown["F2"] == "已整改" and shown["F1"].startswith("整改中"), shown
    assert "第2轮" in await page.locator("#finding-F1").inner_text()
    rework = await task_of(page, "F1")
    assert rework not in checks.values() and list(await task_rows(page)) == [rework]
    assert "多付款项未见退回凭证" in await page.locator("#history").inner_text()

    # The unit reports again; the auditor accepts: the project is closed.
    await as_user(page, site, UNIT, cid)
    await act(page, "approve", "已退回多付款项，附凭证", form=f"#act-form-{rework}")
    await as_user(page, site, AUDITOR, cid)
    await act(
        page,
        "accept-rectification",
        "整改到位",
        form=f"#act-form-{await task_of(page, 'F1')}",
        closure="rectified",
    )
    assert "已结项" in await stage(page)
    assert "已结" in await page.locator("#status").inner_text()
    assert await finding_states(page) == {"F1": "已整改", "F2": "已整改"}
    assert await page.locator("#parallel-tasks").count() == 0
    assert await page.locator("form.act").count() == 0
    await page.screenshot(path=str(SHOTS / "audit-closed.png"), full_page=True)
    view = h.queries.case_view(cid)
    assert (view.status.value, view.stage) == ("closed", "closed")
    assert time.perf_counter() - started < 60
