"""The officers' pages in a real browser (Debian's Chromium driven by Playwright), served
by the real app on a real worker and store."""

from __future__ import annotations

from casework.store.auth import Tokens
from tests.web.conftest import SHOTS, fill_application, sign_in, sign_out
from tests.workflows.conftest import Harness


async def test_an_officer_opens_a_case_and_a_colleague_reviews_it(
    harness: Harness,
    site: str,
    page,  # type: ignore[no-untyped-def]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    await sign_in(page, site, "chongchuan.grassroots1")
    await fill_application(page, id_number="320602198001011234")  # wrong check digit
    await page.click("#open")
    alert = page.locator("[role=alert]")
    assert "applicant.id_number" in await alert.inner_text()
    assert harness.queries.case_ids() == []  # nothing half-opened

    await page.fill("#id_number", "320602198001011235")
    await page.fill("#bank_account", "6222020000000001234")
    await page.click("#open")
    await page.wait_for_url(f"{site}/cases/HR-*")
    case_id = page.url.rsplit("/", 1)[-1].split("?")[0]
    assert "基层初审" in await page.locator("#stage").inner_text()
    assert "已立案" in await page.locator("[role=status]").inner_text()
    assert harness.queries.case_view(case_id).open_task is not None
    # The opener (grassroots officer, same district) works with the ID number and phone
    # in clear; the bank account is the district's to pay from, so masked here.
    assert await page.locator("#applicant").inner_text() == "张三"
    assert await page.locator("#applicant-id-number").inner_text() == "320602198001011235"
    assert await page.locator("#applicant-phone").inner_text() == "13800000000"
    assert await page.locator("#applicant-bank-account").inner_text() == "6222***********1234"
    await page.screenshot(path=str(SHOTS / "case-opened.png"), full_page=True)

    # The opener may not approve: the page says why, and nothing changes.
    await page.select_option("#action", "approve")
    await page.click("#submit")
    assert "separation_of_duties" in await page.locator("[role=status]").inner_text()
    assert harness.queries.case_view(case_id).stage == "grassroots_review"

    # A leader signs; they see the applicant masked.
    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.leader")
    await page.goto(f"{site}/cases/{case_id}")
    assert await page.locator("#applicant-id-number").inner_text() == "3206**********1235"
    assert await page.locator("#applicant-phone").inner_text() == "138****0000"
    assert "13800000000" not in await page.content()

    await sign_out(page, site)
    await sign_in(page, site, "chongchuan.grassroots2")
    await page.click(f"text={case_id}")
    await page.select_option("#action", "reject")
    await page.click("#submit")  # no reason given
    assert "comment_required" in await page.locator("[role=status]").inner_text()
    await page.select_option("#action", "approve")
    await page.fill("#comment", "材料齐全，同意受理")
    await page.click("#submit")
    assert "已办理" in await page.locator("[role=status]").inner_text()
    assert "入户调查" in await page.locator("#stage").inner_text()
    assert "材料齐全，同意受理" in await page.locator("#history").inner_text()
    await page.screenshot(path=str(SHOTS / "case-approved.png"), full_page=True)
    assert harness.queries.case_view(case_id).stage == "home_visit"

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
    await page.goto(f"{site}/cases/new")
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
