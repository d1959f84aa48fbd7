"""Legal aid (工会法律援助) on the case page: what it shows (the application, the
acceptance conditions, the case deadlines, the steps in words, the lawyer), the forms of
each stage's data generated from the registry's models, who may see and do what, and one
whole case in a real browser.

Most tests run the app on cases recorded by the real legal-aid rules into a store, with
no case service (tests/web/legal_aid_cases.py); those that act, and the browser test,
run the app on a worker and the time-skipping Temporal server (tests/workflows/conftest)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, insert, select

from casework.api.app import create_app
from casework.demo.seed import set_demo_passwords
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action
from casework.domain.legal_aid import CASE_PREFIX, RECORD_STEP
from casework.store.event_store import EventStore
from casework.store.tables import case_sequences
from tests.web.conftest import SHOTS, served, sign_in, sign_out
from tests.web.http import ORIGIN, browser, csrf, history_length, main, options, problem
from tests.web.legal_aid_cases import (
    LAWYER,
    OFFICER,
    LegalAidCase,
    days_ago,
    legal_aid_application,
)
from tests.workflows.conftest import Harness, _case_number_blocks

ACCEPTANCE, ASSIGNMENT, HANDLING, REPORT, FOLLOW_UP = (f"LA-2026-00000{n}" for n in range(1, 6))


@pytest.fixture
def cases(engine: Engine) -> dict[str, LegalAidCase]:
    """Legal-aid cases of 崇川区 at each stage that takes data, the one at handling with
    the arbitration filed and an award (the 15 days to sue running)."""
    store = EventStore(engine)
    handling = LegalAidCase(store, HANDLING).open().to_handling()
    handling.act(
        LAWYER,
        RECORD_STEP,
        "已向劳动人事争议仲裁委员会提交仲裁申请",
        {"kind": "arbitration_filed", "on": days_ago(10).isoformat(), "claimed_fen": 2_500_000},
    )
    handling.act(
        LAWYER,
        RECORD_STEP,
        "仲裁委裁决支持全部请求",
        {"kind": "award", "on": days_ago(3).isoformat(), "recovered_fen": 1_200_050},
    )
    report = LegalAidCase(store, REPORT).open().to_handling()
    report.act(
        LAWYER,
        RECORD_STEP,
        "调解成功",
        {"kind": "settlement", "on": days_ago(3).isoformat()},
    )
    report.act(LAWYER, Action.APPROVE, "承办结束")
    follow_up = LegalAidCase(store, FOLLOW_UP).open().to_handling()
    follow_up.act(
        LAWYER, RECORD_STEP, "和解", {"kind": "settlement", "on": days_ago(3).isoformat()}
    )
    follow_up.act(LAWYER, Action.APPROVE, "承办结束")
    follow_up.act(LAWYER, Action.APPROVE, "结案报告", {"result": "settled", "recovered_fen": 0})
    follow_up.act(OFFICER, Action.APPROVE, "报告属实")
    return {
        ACCEPTANCE: LegalAidCase(store, ACCEPTANCE).open(),
        ASSIGNMENT: LegalAidCase(store, ASSIGNMENT)
        .open()
        .act(OFFICER, Action.APPROVE, "符合受理条件"),
        HANDLING: handling,
        REPORT: report,
        FOLLOW_UP: follow_up,
    }


def section(page_text: str, table_id: str) -> str:
    return page_text.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]


async def test_the_case_page_shows_the_application_conditions_deadlines_and_steps(
    app: FastAPI, cases: dict[str, LegalAidCase]
) -> None:
    async with browser(app, "chongchuan.legalaid2") as officer:
        page = await officer.get(f"/cases/{HANDLING}")
        assert page.status_code == 200
        text = main(page)
        shown = {
            "app-station": "崇川区劳动人事争议仲裁院工会法律援助工作站",
            "app-dispute_type": "拖欠工资 wage arrears",
            "app-claim_amount_fen": "23,600.00",
            "app-knew_at": days_ago(60).isoformat(),
            "app-employment_ended_at": days_ago(60).isoformat(),
            "app-employer_name": "南通某建筑劳务有限公司",
            "app-migrant_worker": "是",
            "person-lawyer": "chongchuan.lawyer",
        }
        for cell, words in shown.items():
            found = re.search(rf'id="{cell}"[^>]*>(.*?)</td>', text, re.S)
            assert found and words in found.group(1), cell
        checks = section(text, "checks")
        assert "争议金额" in checks and "23,600.00 元不低于1,000.00 元" in checks
        assert "农民工欠薪、工伤案件免予经济困难审查" in checks and "不符合" not in checks
        deadlines = section(text, "deadlines")
        assert re.search(r'data-deadline="limitation">.*?已按期办理', deadlines, re.S)
        assert re.search(r'data-deadline="sue">.*?计算中', deadlines, re.S)
        history = section(text, "history")
        assert "记录承办进展：申请劳动仲裁" in history and "记录承办进展：仲裁裁决" in history
        assert "请求金额：25,000.00 元" in history and "追回金额：12,000.50 元" in history
        assert "仲裁委裁决支持全部请求" in history
        assert "承办律师：崇川区援助律师 (chongchuan.lawyer)" in history
        assert ">step.recorded<" not in history
        # Hardship's review sheet and household rows are not a legal-aid case's.
        assert 'id="review"' not in text and 'id="household"' not in text
        english = main(await officer.get(f"/cases/{HANDLING}?lang=en"))
    assert "step recorded: arbitration filed" in english
    assert "step recorded: arbitration award" in english
    assert "Amount recovered: 12,000.50 元" in english
    assert "dispute amount 23,600.00 元 at least 1,000.00 元" in english


async def test_each_stage_asks_for_its_data_in_generated_fields(
    app: FastAPI, cases: dict[str, LegalAidCase]
) -> None:
    async with browser(app, "chongchuan.legalaid2") as officer:
        page = await officer.get(f"/cases/{ACCEPTANCE}")
        assert 'id="approve-late_reason"' in page.text
        page = await officer.get(f"/cases/{ASSIGNMENT}")
        # The lawyers who may take a case of 崇川区: its own and the city's, not 通州区's.
        assert options(page, "approve-lawyer") == [
            "",
            "chongchuan.lawyer",
            "chongchuan.lawyer2",
            "city.lawyer",
            "city.lawyer2",
        ]
        page = await officer.get(f"/cases/{FOLLOW_UP}")
        assert 'name="approve-satisfaction"' in page.text
    async with browser(app, "chongchuan.lawyer") as lawyer:
        page = await lawyer.get(f"/cases/{HANDLING}")
        assert options(page, "record-step-kind")[:4] == [
            "",
            "consultation",
            "mediation",
            "arbitration_filed",
        ]
        assert "申请劳动仲裁 arbitration filed" in page.text
        for name in ("record-step-on", "record-step-claimed_fen", "record-step-recovered_fen"):
            assert f'name="{name}"' in page.text, name
        assert "本次追回金额（元）" in page.text
        page = await lawyer.get(f"/cases/{REPORT}")
        assert options(page, "approve-result") == ["", "won", "settled", "partly", "lost", "ended"]
        assert "追回金额合计（元）" in page.text


async def test_bad_data_is_shown_beside_its_field_and_nothing_is_sent(
    app: FastAPI, engine: Engine, cases: dict[str, LegalAidCase]
) -> None:
    """Checked on the page against the model before anything goes to the case (this app
    has no case service at all: a form that got through would be a 503)."""
    before = {case_id: history_length(engine, case_id) for case_id in cases}
    async with browser(app, "chongchuan.lawyer") as lawyer:
        page = await lawyer.get(f"/cases/{HANDLING}")
        sent = {
            "csrf_token": csrf(page),
            "action": "record-step",
            "record-step-kind": "hearing-of-sorts",
            "record-step-on": "2026-13-40",
            "record-step-claimed_fen": "abc",
            "record-step-recovered_fen": "-5",
            "comment": "开庭",
            "stage": "handling",
        }
        r = await lawyer.post(f"/cases/{HANDLING}/act", data=sent, headers=ORIGIN)
        assert r.status_code == 422
        assert "请从列表中选择" in problem(r, "record-step-kind")
        assert "YYYY-MM-DD" in problem(r, "record-step-on")
        assert problem(r, "record-step-claimed_fen") and problem(r, "record-step-recovered_fen")
        assert 'id="record-step-claimed_fen" value="abc"' in r.text  # what was typed stays
        page = await lawyer.get(f"/cases/{REPORT}")
        r = await lawyer.post(
            f"/cases/{REPORT}/act",
            data={"csrf_token": csrf(page), "action": "approve", "comment": "结案报告"},
            headers=ORIGIN,
        )
        assert r.status_code == 422
        assert problem(r, "approve-result") == problem(r, "approve-recovered_fen") == "必填"
    async with browser(app, "chongchuan.legalaid2") as officer:
        page = await officer.get(f"/cases/{ASSIGNMENT}")
        for lawyer_id in ("tongzhou.lawyer", "chongchuan.grassroots2", ""):
            r = await officer.post(
                f"/cases/{ASSIGNMENT}/act",
                data={"csrf_token": csrf(page), "action": "approve", "approve-lawyer": lawyer_id},
                headers=ORIGIN,
            )
            assert r.status_code == 422 and problem(r, "approve-lawyer"), lawyer_id
        page = await officer.get(f"/cases/{FOLLOW_UP}")
        r = await officer.post(
            f"/cases/{FOLLOW_UP}/act",
            data={"csrf_token": csrf(page), "action": "approve", "approve-satisfaction": "9"},
            headers=ORIGIN,
        )
        assert r.status_code == 422 and problem(r, "approve-satisfaction") == "须在 1 至 5 之间"
    assert {case_id: history_length(engine, case_id) for case_id in cases} == before


async def offered(app: FastAPI, user: str, case_id: str) -> list[str]:
    async with browser(app, user) as client:
        page = await client.get(f"/cases/{case_id}")
        assert page.status_code == 200
        return options(page, "action") if 'id="act-form"' in page.text else []


async def test_only_the_assigned_lawyer_is_offered_steps(
    app: FastAPI, cases: dict[str, LegalAidCase]
) -> None:
    assert "record-step" in await offered(app, "chongchuan.lawyer", HANDLING)
    for other in ("chongchuan.lawyer2", "city.lawyer", "chongchuan.legalaid2"):
        assert "record-step" not in await offered(app, other, HANDLING), other
    # A grassroots officer of the district sees the case, and no stage of it is theirs.
    assert not {"approve", "record-step", "claim"} & set(
        await offered(app, "chongchuan.grassroots1", HANDLING)
    )


async def test_a_case_of_another_jurisdiction_is_not_found(
    app: FastAPI, cases: dict[str, LegalAidCase]
) -> None:
    for user in ("tongzhou.legalaid", "tongzhou.lawyer"):
        async with browser(app, user) as outsider:
            page = await outsider.get(f"/cases/{HANDLING}")
            assert page.status_code == 404
            inbox = await outsider.get("/inbox")
            r = await outsider.post(
                f"/cases/{HANDLING}/act",
                data={
                    "csrf_token": csrf(inbox),
                    "action": "record-step",
                    "record-step-kind": "hearing",
                    "record-step-on": days_ago(1).isoformat(),
                    "comment": "开庭",
                },
                headers=ORIGIN,
            )
            assert r.status_code == 404, user


# -- on a worker and Temporal ------------------------------------------------------------------


@pytest.fixture
def legal_aid_numbers(harness: Harness) -> None:
    """Legal-aid case numbers from a block of their own: the Temporal server outlives
    each test's database, and a case number names one workflow for ever."""
    year = datetime.now(UTC).astimezone(CHINA_TZ).year
    first = next(_case_number_blocks) * 1000
    t = case_sequences
    with harness.engine.begin() as conn:
        for y in (year, year + 1):
            known = conn.execute(
                select(t.c.prefix).where(t.c.prefix == CASE_PREFIX, t.c.year == y)
            ).first()
            if known is None:
                conn.execute(insert(t).values(prefix=CASE_PREFIX, year=y, last_value=first))


@pytest.fixture
async def acting_app(harness: Harness, legal_aid_numbers: None) -> FastAPI:
    set_demo_passwords(harness.engine)
    return create_app(harness.engine, harness.service)


async def server_today(harness: Harness) -> date:
    """Today in Beijing as the cases see it: the time-skipping server's clock runs ahead
    of the wall clock once a test has skipped time."""
    return (await harness.env.get_current_time()).astimezone(CHINA_TZ).date()


async def open_legal_aid(harness: Harness) -> str:
    opener = harness.directory.get("chongchuan.legalaid").actor()
    application = legal_aid_application()
    view = await harness.service.open_case("legal-aid", application, opener)
    return view.case_id


async def test_personal_data_only_for_legal_aid_roles_of_the_jurisdiction(
    harness: Harness, acting_app: FastAPI
) -> None:
    case_id = await open_legal_aid(harness)

    async def card(user: str) -> tuple[str, str]:
        async with browser(acting_app, user) as client:
            page = await client.get(f"/cases/{case_id}")
            assert page.status_code == 200, user
            number = re.search(r'id="applicant-id-number">([^<]*)<', page.text)
            phone = re.search(r'id="applicant-phone">([^<]*)<', page.text)
            assert number and phone
            assert 'id="applicant-bank-account"' not in page.text  # legal aid keeps none
            return number.group(1), phone.group(1)

    clear = ("320602198505051230", "13900000000")
    masked = ("3206**********1230", "139****0000")
    assert await card("chongchuan.legalaid2") == clear
    assert await card("chongchuan.lawyer") == clear
    assert await card("city.legalaid") == clear  # the city covers every district
    for user in ("chongchuan.grassroots1", "chongchuan.officer1", "chongchuan.supervisor"):
        assert await card(user) == masked, user
    async with browser(acting_app, "tongzhou.lawyer") as outsider:
        assert (await outsider.get(f"/cases/{case_id}")).status_code == 404


async def test_only_the_assigned_lawyer_records_a_step_through_the_page(
    harness: Harness, acting_app: FastAPI
) -> None:
    case_id = await open_legal_aid(harness)
    await harness.act(case_id, "chongchuan.legalaid2", "approve", "符合受理条件")
    await harness.act(
        case_id, "chongchuan.legalaid2", "approve", "指派", {"lawyer": "chongchuan.lawyer"}
    )
    step = {
        "action": "record-step",
        "record-step-kind": "arbitration_filed",
        "record-step-on": days_ago(1).isoformat(),
        "record-step-claimed_fen": "23,600",
        "comment": "已提交仲裁申请",
        "stage": "handling",
    }
    before = history_length(harness.engine, case_id)
    async with browser(acting_app, "chongchuan.lawyer2") as other:
        page = await other.get(f"/cases/{case_id}")
        r = await other.post(
            f"/cases/{case_id}/act", data={**step, "csrf_token": csrf(page)}, headers=ORIGIN
        )
        assert r.status_code == 409 and "not_the_assigned_lawyer" in r.text
    assert history_length(harness.engine, case_id) == before
    async with browser(acting_app, "chongchuan.lawyer") as lawyer:
        page = await lawyer.get(f"/cases/{case_id}")
        future = {
            **step,
            "record-step-on": (await server_today(harness) + timedelta(days=3)).isoformat(),
        }
        r = await lawyer.post(
            f"/cases/{case_id}/act", data={**future, "csrf_token": csrf(page)}, headers=ORIGIN
        )
        # The domain's refusal, beside the field it names.
        assert r.status_code == 409 and "step_in_the_future" in problem(r, "record-step-on")
        r = await lawyer.post(
            f"/cases/{case_id}/act", data={**step, "csrf_token": csrf(page)}, headers=ORIGIN
        )
        assert r.status_code == 303, r.text[-800:]
    [recorded] = [e for e in harness.store.read(case_id) if e.type == "step.recorded"]
    assert recorded.actor_id == "chongchuan.lawyer"
    assert recorded.payload["kind"] == "arbitration_filed"
    assert recorded.payload["claimed_fen"] == 2_360_000
    assert harness.queries.case_state(case_id).deadlines["limitation"].status.value == "met"


# -- in a real browser -------------------------------------------------------------------------


@pytest.fixture
async def acting_site(acting_app: FastAPI) -> AsyncIterator[str]:
    async with served(acting_app) as address:
        yield address


async def submit(page) -> None:  # type: ignore[no-untyped-def]
    """Send the action form and wait for the page it leads to."""
    async with page.expect_navigation():
        await page.click("#submit")


async def act(page, action: str, comment: str = "", **fields: str) -> None:  # type: ignore[no-untyped-def]
    """Choose `action` on the case page, fill its fields (a select by its value) and
    the comment, and send it; it must be done."""
    await page.select_option("#action", action)
    for name, value in fields.items():
        selector = f"#{action}-{name}"
        if await page.locator(selector).evaluate("e => e.tagName") == "SELECT":
            await page.select_option(selector, value)
        else:
            await page.fill(selector, value)
    await page.fill("#comment", comment)
    await submit(page)
    assert "已办理" in await page.locator("#notice").inner_text(), await page.content()


async def test_a_legal_aid_case_from_application_to_follow_up_in_a_browser(
    harness: Harness,
    acting_site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    site = acting_site
    await sign_in(page, site, "chongchuan.legalaid")
    await page.goto(f"{site}/cases/new/legal-aid")
    await page.fill("#applicant-name", "李四")
    await page.fill("#applicant-id_number", "320602198505051230")
    await page.fill("#applicant-phone", "139 0000 0000")
    await page.fill("#applicant-employer", "南通某建筑劳务有限公司")
    await page.select_option("#applicant-district", "崇川区")
    await page.fill("#employer-name", "南通某建筑劳务有限公司")
    await page.select_option("#dispute_type", "wage_arrears")
    await page.check("#migrant_worker")
    await page.fill("#monthly_income_fen", "3800")
    await page.fill("#knew_at", days_ago(60).isoformat())
    await page.fill("#employment_ended_at", days_ago(60).isoformat())
    await page.fill("#claim_amount_fen", "23,600")
    await page.select_option("#station", "chongchuan-arbitration")
    await page.fill("#summary", "工地完工后拖欠三个月工资，多次讨要未果。")
    async with page.expect_navigation():
        await page.click("#open")
    assert re.search(r"/cases/LA-\d{4}-\d{6}\?notice=opened$", page.url), page.url
    case_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "受理审查" in await page.locator("#stage").inner_text()
    assert await page.locator("#applicant-id-number").inner_text() == "320602198505051230"
    assert "崇川区劳动人事争议仲裁院" in await page.locator("#app-station").inner_text()
    assert "23,600.00" in await page.locator("#app-claim_amount_fen").inner_text()
    assert "符合" in await page.locator("#checks").inner_text()
    assert "仲裁时效" in await page.locator("#deadlines").inner_text()

    # A second officer accepts the application and assigns a lawyer.
    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.legalaid2")
    await page.goto(f"{site}/cases/{case_id}")
    await act(page, "approve", "符合受理条件，予以受理")
    assert "指派承办" in await page.locator("#stage").inner_text()
    await act(page, "approve", "指派律师承办", lawyer="chongchuan.lawyer")
    assert "承办" in await page.locator("#stage").inner_text()
    assert "chongchuan.lawyer" in await page.locator("#person-lawyer").inner_text()

    # The lawyer finds it in their inbox and records the handling.
    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.lawyer")
    async with page.expect_navigation():
        await page.click(f"text={case_id}")
    today = await server_today(harness)
    steps = [
        ("arbitration_filed", 20, "已向仲裁委提交仲裁申请", {"claimed_fen": "23600"}),
        ("award", 5, "仲裁委裁决支持全部请求", {}),
        ("lawsuit_filed", 1, "用人单位不服，职工一并起诉", {"recovered_fen": "5,000.00"}),
    ]
    for kind, before, note, amounts in steps:
        on = (today - timedelta(days=before)).isoformat()
        await act(page, "record-step", note, kind=kind, on=on, **amounts)
    history = await page.locator("#history").inner_text()
    for words in ("记录承办进展：申请劳动仲裁", "记录承办进展：仲裁裁决", "记录承办进展：起诉"):
        assert words in history, words
    assert "请求金额：23,600.00 元" in history and "追回金额：5,000.00 元" in history
    deadlines = await page.locator("#deadlines").inner_text()
    assert "起诉期限" in deadlines and "计算中" not in deadlines  # both met
    await page.select_option("#action", "record-step")
    await page.screenshot(path=str(SHOTS / "legal-aid-handling.png"), full_page=True)
    await act(page, "approve", "承办结束")
    assert "结案报告" in await page.locator("#stage").inner_text()
    await act(
        page, "approve", "经仲裁及诉讼，追回工资 23,600 元", result="won", recovered_fen="23600"
    )
    assert "结案审查" in await page.locator("#stage").inner_text()

    # The officer checks the report and records the follow-up call: the case is closed.
    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.legalaid2")
    await page.goto(f"{site}/cases/{case_id}")
    await act(page, "approve", "结案材料齐全")
    assert "回访" in await page.locator("#stage").inner_text()
    await act(page, "approve", "电话回访，职工满意", satisfaction="5")
    assert "已结案" in await page.locator("#status").inner_text()
    await page.screenshot(path=str(SHOTS / "legal-aid-closed.png"), full_page=True)
    assert 'id="act-form"' not in await page.content()
    history = await page.locator("#history").inner_text()
    assert "提交结案报告" in history and "承办结果：胜诉/裁决支持" in history
    assert "满意度：5" in history
    view = harness.queries.case_view(case_id)
    assert (view.status.value, view.stage) == ("closed", "closed")
    facts = harness.queries.case_state(case_id).facts
    assert (facts["recovered_fen"], facts["satisfaction"], facts["result"]) == (2_360_000, 5, "won")
