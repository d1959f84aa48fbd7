"""The officers' pages in a real browser (Debian's Chromium driven by Playwright), served
by the real app on a real worker and store."""

from __future__ import annotations

from casework.store.auth import Tokens
from tests.web.conftest import SHOTS, fill_application, readme_screenshot, sign_in, sign_out
from tests.workflows.conftest import Harness, civil_affairs_done


async def offered(page) -> list[str]:  # type: ignore[no-untyped-def]
    """The actions the case page's form offers."""
    return await page.eval_on_selector_all(  # type: ignore[no-any-return]
        "#action option", "options => options.map(o => o.value)"
    )


async def test_an_officer_opens_a_case_and_colleagues_work_it(
    harness: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    await sign_in(page, site, "chongchuan.grassroots1")
    await fill_application(page, id_number="320602198001011234")  # wrong check digit
    await page.fill("#household-yearly_income_fen", "54,000.5.0")
    await page.select_option("#category", "deep")
    await page.click("#open")
    # Every problem at once, each beside its field; what was typed stays.
    assert "check digit" in await page.locator("#error-applicant-id_number").inner_text()
    income = "#household-yearly_income_fen"
    assert "3000.50" in await page.locator(f"#error-{income[1:]}").inner_text()
    assert await page.locator(income).input_value() == "54,000.5.0"
    assert await page.locator("#category").input_value() == "deep"
    assert harness.queries.case_ids() == []  # nothing half-opened
    await readme_screenshot(page, "new-case")

    await page.fill("#applicant-id_number", "320602198001011235")
    await page.fill(income, "54000")
    await page.select_option("#category", "relative")
    await page.fill("#applicant-bank_account", "6222 0200 0000 0001 234")
    await page.click("#open")
    await page.wait_for_url(f"{site}/cases/HR-*")
    case_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "基层初审" in await page.locator("#stage").inner_text()
    assert "已立案" in await page.locator("#notice").inner_text()
    assert harness.queries.case_view(case_id).open_task is not None
    # The opener (grassroots officer, same district) works with the ID number and phone
    # in clear; the bank account is the district's to pay from, so masked here.
    assert await page.locator("#applicant").inner_text() == "张三"
    assert await page.locator("#applicant-id-number").inner_text() == "320602198001011235"
    assert await page.locator("#applicant-phone").inner_text() == "13800000000"
    assert await page.locator("#applicant-bank-account").inner_text() == "6222***********1234"
    await page.screenshot(path=str(SHOTS / "case-opened.png"), full_page=True)

    # The opener is not offered the review; sent anyway, it is refused on the page.
    assert await offered(page) == ["withdraw", "comment"]
    await page.evaluate(
        "document.querySelector('#action').add(new Option('approve', 'approve', true, true))"
    )
    await page.click("#submit")
    assert "separation_of_duties" in await page.locator("#notice").inner_text()
    assert harness.queries.case_view(case_id).stage == "grassroots_review"

    # A leader signs nothing here; they see the applicant masked.
    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.leader")
    await page.goto(f"{site}/cases/{case_id}")
    assert await offered(page) == ["comment"]
    assert await page.locator("#applicant-id-number").inner_text() == "3206**********1235"
    assert await page.locator("#applicant-phone").inner_text() == "138****0000"
    assert "13800000000" not in await page.content()

    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.grassroots2")
    await page.click(f"text={case_id}")
    assert await offered(page) == ["claim", "approve", "reject", "request-info", "comment"]
    await page.select_option("#action", "reject")
    await page.click("#submit")  # no reason given
    assert "comment_required" in await page.locator("#error-comment").inner_text()
    await page.select_option("#action", "approve")
    await page.fill("#comment", "材料齐全，同意受理")
    await page.click("#submit")
    assert "已办理" in await page.locator("#notice").inner_text()
    assert "入户调查" in await page.locator("#stage").inner_text()
    history = await page.locator("#history").inner_text()
    assert "基层初审通过" in history and "材料齐全，同意受理" in history
    assert "崇川区基层干事二" in history and "task.approved" not in history
    assert harness.queries.case_view(case_id).stage == "home_visit"

    # The home visit, in named fields; the civil-affairs check has answered meanwhile.
    await civil_affairs_done(harness, case_id)
    await page.reload()
    assert "民政记录与申报一致" in await page.locator("#civil-affairs").inner_text()
    await page.select_option("#action", "approve")
    assert await page.locator("#visit-fields").is_visible()
    await page.select_option("#companion", "chongchuan.grassroots3")
    await page.fill("#visit_household_size", "三")
    await page.fill("#visit_yearly_income", "54000")
    await page.fill("#visit_medical", "12000")
    await page.fill("#visit_assets", "无房产，无车辆")
    await page.fill("#visit_cause", "配偶重病，长期住院")
    await page.click("#submit")
    assert "整数" in await page.locator("#error-visit_household_size").inner_text()
    assert await page.locator("#visit_assets").input_value() == "无房产，无车辆"
    await page.fill("#visit_household_size", "3")
    await page.fill("#comment", "已入户核实")
    await page.click("#submit")
    assert "单位公示" in await page.locator("#stage").inner_text()
    visit = await page.locator("#visit").inner_text()
    assert "配偶重病，长期住院" in visit and "54,000.00" in visit and "崇川区基层干事三" in visit
    assert "入户调查通过" in await page.locator("#history").inner_text()
    [approved] = [e for e in harness.store.read(case_id) if e.type == "task.approved"][1:]
    assert approved.payload["data"]["visitors"] == [
        "chongchuan.grassroots2",
        "chongchuan.grassroots3",
    ]
    assert approved.payload["data"]["yearly_income_fen"] == 5_400_000
    assert approved.payload["data"]["medical_expenses_fen"] == 1_200_000
    await readme_screenshot(page, "case")

    await page.goto(f"{site}/cases/{case_id}?lang=en")
    assert "home visit approved" in await page.locator("#history").inner_text()
    await page.goto(f"{site}/inbox?lang=en")
    assert "My inbox" in await page.content()


async def test_a_form_sent_twice_opens_one_case(
    harness: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    """A double click on 立案, or the form sent again after a lost answer: the form's
    hidden key makes both sendings one opening."""
    await sign_in(page, site, "chongchuan.grassroots1")
    await fill_application(page, id_number="320602198001011235")
    sent = await page.evaluate(
        """async () => {
            const form = document.querySelector('form.open');
            const send = () => fetch(form.action, {
                method: 'POST', body: new FormData(form), redirect: 'manual'});
            const answers = await Promise.all([send(), send()]);
            return answers.map(a => a.type);
        }"""
    )
    assert sent == ["opaqueredirect", "opaqueredirect"]  # both answered "opened, see ..."
    [case_id] = harness.queries.case_ids()
    assert harness.queries.case_view(case_id).stage == "grassroots_review"
    # A new form is a new opening.
    await page.goto(f"{site}/cases/new/hardship")
    assert await page.locator("input[name=idempotency_key]").get_attribute("value")


async def test_the_api_shows_the_applicant_as_the_user_may_see_them(
    harness: Harness, site: str
) -> None:
    import httpx

    case_id = (await harness.open(applicant={"id_number": "320602198001011235"})).case_id
    tokens = Tokens(harness.engine)

    def bearer(user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens.create(user, 'test', 1)[0]}"}

    async with httpx.AsyncClient(base_url=site) as api:

        async def card(user: str) -> dict[str, object]:
            r = await api.get(f"/api/cases/{case_id}/applicant", headers=bearer(user))
            assert r.status_code == 200, r.text
            return r.json()  # type: ignore[no-any-return]

        officer = await card("chongchuan.officer1")  # district officer: pays, registers
        assert (officer["id_number"], officer["bank_account"]) == (
            "320602198001011235",
            "6222020000000001234",
        )
        assert officer["revealed"] == ["bank_account", "id_number", "phone"]
        leader = await card("chongchuan.leader")
        assert (leader["id_number"], leader["phone"], leader["revealed"]) == (
            "3206**********1235",
            "138****0000",
            [],
        )
        # Another district's officer: the case is outside their jurisdiction, so it is
        # not there for them at all (404, as for a case that does not exist).
        outsider = await api.get(
            f"/api/cases/{case_id}/applicant", headers=bearer("tongzhou.officer1")
        )
        assert outsider.status_code == 404
        missing = await api.get(
            "/api/cases/HR-2026-999999/applicant", headers=bearer("chongchuan.leader")
        )
        assert missing.status_code == 404


async def test_the_inbox_lists_the_tasks_one_may_take_soonest_due_first(
    recorded_site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    await sign_in(page, recorded_site, "chongchuan.grassroots2")
    rows = page.locator("#inbox tr")
    assert await rows.count() == 1 + 5  # unclaimed or theirs, in 崇川区, at their stages
    dues = await page.eval_on_selector_all(
        "#inbox tr td:nth-child(5)", "cells => cells.map(c => c.textContent)"
    )
    assert dues == sorted(dues)
    await readme_screenshot(page, "inbox")


async def test_an_objection_on_the_page_records_who_objected(harness: Harness) -> None:
    """During the public notice a district officer records an objection from the page:
    without a name or "anonymous" it is refused beside the field; with a name the
    objection is recorded with its objector and the case goes back to the home visit."""
    from casework.api.app import create_app
    from casework.demo.seed import set_demo_passwords
    from tests.web.http import ORIGIN, browser, csrf, problem
    from tests.workflows.steps import advance, events_of

    set_demo_passwords(harness.engine)
    case_id = (await harness.open()).case_id
    await advance(harness, case_id, "public_notice")
    app = create_app(harness.engine, harness.service)
    async with browser(app, "chongchuan.officer1") as client:
        page = await client.get(f"/cases/{case_id}")
        assert 'name="objector"' in page.text
        form = {
            "csrf_token": csrf(page),
            "action": "object",
            "comment": "邻居反映有经营收入",
            "stage": "public_notice",
        }
        refused = await client.post(f"/cases/{case_id}/act", data=form, headers=ORIGIN)
        assert refused.status_code == 409 and "objector_required" in problem(refused, "objector")
        done = await client.post(
            f"/cases/{case_id}/act", data={**form, "objector": "李某"}, headers=ORIGIN
        )
        assert done.status_code == 303, done.text
    [objection] = events_of(harness, case_id, "notice.objected")
    assert objection.payload["objector"] == "李某"
    assert harness.queries.case_view(case_id).stage == "home_visit"
