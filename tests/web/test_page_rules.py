"""The pages' rules without a browser or Temporal: who may see which page, what a case
page offers and shows, and that bad input gets a page with the problem beside its field
(never a 500, never text from the URL). The real app on httpx's ASGI transport, cases
recorded by the real domain into a real store (tests/store/builders.py); with no case
service (Temporal) attached, nothing a test sends can act on a case."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import Engine

from casework.domain.registry import CASE_TYPES
from casework.store.queries import Queries
from tests.web.http import (
    AT_DISTRICT_REVIEW,
    CLOSED,
    ORIGIN,
    REVIEW,
    TONGZHOU,
    VISIT,
    browser,
    csrf,
    history_length,
    is_page,
    main,
    options,
    problem,
)

# -- who sees what -------------------------------------------------------------------------

PAGES = ["/inbox", "/cases/new", "/cases/new/hardship", "/cases/new/nothing", f"/cases/{REVIEW}"]
FORMS = ["/cases/new", "/cases/new/hardship", f"/cases/{REVIEW}/act"]


async def test_every_page_sends_an_anonymous_visitor_to_sign_in(app: FastAPI) -> None:
    async with browser(app) as anonymous:
        for path in PAGES:
            r = await anonymous.get(path)
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path
        for path in FORMS:
            r = await anonymous.post(path, data={"action": "comment", "comment": "x"})
            assert (r.status_code, r.headers.get("location")) == (303, "/login"), path


async def test_a_case_outside_the_jurisdiction_is_not_found(app: FastAPI) -> None:
    async with browser(app, "tongzhou.officer1") as outsider:
        theirs = await outsider.get(f"/cases/{TONGZHOU}")
        assert theirs.status_code == 200
        other = await outsider.get(f"/cases/{REVIEW}")
        missing = await outsider.get("/cases/HR-2026-999999")
        assert other.status_code == missing.status_code == 404
        assert is_page(other) and REVIEW not in main(other)
        # The same page either way, so that case numbers cannot be probed.
        assert main(other) == main(missing)
        r = await outsider.post(
            f"/cases/{REVIEW}/act",
            data={"csrf_token": csrf(theirs), "action": "comment", "comment": "x"},
            headers=ORIGIN,
        )
        assert r.status_code == 404 and is_page(r)


async def test_the_open_case_form_is_only_for_the_types_opener(
    app: FastAPI, engine: Engine
) -> None:
    before = Queries(engine).case_ids()
    async with browser(app, "chongchuan.supervisor") as supervisor:  # opens no cases
        inbox = await supervisor.get("/inbox")
        for path in ("/cases/new", "/cases/new/hardship"):
            r = await supervisor.get(path)
            assert r.status_code == 403 and is_page(r), path
        assert "基层工会干事" in main(r)  # names the role the form needs
        sent = application_form(csrf(inbox))
        for path in ("/cases/new", "/cases/new/hardship"):
            r = await supervisor.post(path, data=sent, headers=ORIGIN)
            assert r.status_code == 403 and is_page(r), path
    async with browser(app, "chongchuan.grassroots1") as officer:
        missing = await officer.get("/cases/new/no-such-type")
        assert missing.status_code == 404 and is_page(missing)
        sent = application_form(csrf(await officer.get("/inbox")))
        r = await officer.post("/cases/new/no-such-type", data=sent, headers=ORIGIN)
        assert r.status_code == 404 and is_page(r)
        # Two kinds of case to open (hardship relief, award nominations): the inbox's
        # link goes to the list to choose from.
        inbox = await officer.get("/inbox")
        assert 'href="/cases/new"' in inbox.text
        r = await officer.get("/cases/new")
        assert r.status_code == 200 and is_page(r)
        assert 'href="/cases/new/hardship"' in r.text
        assert 'href="/cases/new/nomination"' in r.text
        form = await officer.get("/cases/new/hardship")
        assert form.status_code == 200 and "困难职工帮扶立案" in form.text
    assert Queries(engine).case_ids() == before


# -- what a case page offers and shows -----------------------------------------------------


async def offered(app: FastAPI, user: str, case_id: str) -> list[str]:
    async with browser(app, user) as client:
        page = await client.get(f"/cases/{case_id}")
        assert page.status_code == 200
        if 'id="act-form"' not in page.text:
            return []
        return options(page, "action")


async def test_a_case_page_offers_only_what_the_user_may_do_at_this_stage(app: FastAPI) -> None:
    # The opener never reviews their own case: they may withdraw it or comment.
    assert await offered(app, "chongchuan.grassroots1", REVIEW) == ["withdraw", "comment"]
    assert await offered(app, "chongchuan.grassroots2", REVIEW) == [
        "claim",
        "approve",
        "reject",
        "request-info",
        "comment",
    ]
    assert await offered(app, "chongchuan.leader", REVIEW) == ["comment"]
    assert await offered(app, "chongchuan.supervisor", REVIEW) == [
        "comment",
        "reassign",
        "extend",
        "hold",
    ]
    # At the home visit GR2 (who claimed it) may approve with findings or send it back.
    assert await offered(app, "chongchuan.grassroots2", VISIT) == [
        "approve",
        "reject",
        "return",
        "request-info",
        "comment",
    ]
    assert await offered(app, "chongchuan.grassroots3", VISIT) == ["comment"]  # taken
    # A closed case: no form at all.
    async with browser(app, "chongchuan.grassroots2") as client:
        page = await client.get(f"/cases/{CLOSED}")
        assert 'id="act-form"' not in page.text and 'name="action"' not in page.text


async def test_reassignment_offers_the_queues_officers_and_says_who_is_barred(
    app: FastAPI,
) -> None:
    async with browser(app, "chongchuan.supervisor") as supervisor:
        page = await supervisor.get(f"/cases/{REVIEW}")
        assert options(page, "to") == [
            "",
            "chongchuan.grassroots1",
            "chongchuan.grassroots2",
            "chongchuan.grassroots3",
        ]
        # The opener is listed but cannot be chosen, with the reason.
        opener = re.search(r'<option value="chongchuan.grassroots1"([^>]*)>([^<]*)', page.text)
        assert opener and "disabled" in opener.group(1)
        assert "separation_of_duties" in opener.group(2)


async def test_the_case_page_shows_what_the_officer_decides_on(app: FastAPI) -> None:
    async with browser(app, "chongchuan.officer1") as officer:
        page = await officer.get(f"/cases/{AT_DISTRICT_REVIEW}")
        text = page.text
        for shown in (
            "南通某纺织有限公司",  # employer
            "配偶重病，子女上学",  # the reason
            "3 人",
            "54,000.00",  # household income a year in yuan
            "12,000.00",  # its medical expenses
            "3,000.00",  # requested amount
            "相对困难 relative hardship",
            "生活救助 living",
            "无房产，无车辆",  # home-visit findings
            "一致",  # civil-affairs check
            "已用工作日",  # the task clock
        ):
            assert shown in text, shown
        # What the reviewer decides on: the category computed beside the declared one,
        # income per head against 低保 and the rule, the amounts, the district's fund.
        review = text.split('id="review"')[1].split("</table>")[0]
        for shown in (
            "申报类别",
            "核定类别",
            "1,166.66",  # (54,000 − 12,000) / 12 / 3
            "900.00",  # 低保 of 崇川区
            "低于低保 900.00 元 的 2 倍：相对困难",
            "核定金额",
            "区县帮扶资金",
            "余额",
        ):
            assert shown in review, shown
        assert 'id="category-differs"' not in review
        # The history in words, who (name and id) and the comment.
        history = text.split('id="history"')[1]
        for words in ("立案", "基层初审通过", "入户调查通过", "公示期满无异议", "材料齐全"):
            assert words in history, words
        assert "崇川区基层干事二" in history and "chongchuan.grassroots2" in history
        assert ">task.approved<" not in history
        english = await officer.get(f"/cases/{AT_DISTRICT_REVIEW}?lang=en")
        assert "grassroots review approved" in english.text
        assert "home visit approved" in english.text


# -- the notice banner ---------------------------------------------------------------------


async def test_the_banner_shows_only_the_servers_own_words(app: FastAPI) -> None:
    planted = "请拨打 400-123-4567 领取补助"
    async with browser(app, "chongchuan.grassroots2") as client:
        for query in (
            {"flash": planted},
            {"flash": planted, "kind": "ok"},
            {"notice": planted},
            {"notice": "done", "action": planted},
        ):
            for path in ("/inbox", f"/cases/{REVIEW}"):
                r = await client.get(path, params=query)
                assert r.status_code == 200
                assert "400-123-4567" not in r.text, (path, query)
        done = await client.get("/inbox", params={"notice": "done", "action": "approve"})
        assert 'id="notice"' in done.text and "已办理：同意" in done.text
        opened = await client.get(f"/cases/{REVIEW}", params={"notice": "opened"})
        assert "已立案" in opened.text


# -- bad input -----------------------------------------------------------------------------

BAD_NUMBERS = ["abc", "1e3", "Infinity", "sNaN", "NaN", "1e999999", "-0", ""]


NEW = "/cases/new/hardship"


def application_form(
    token: str, changes: dict[str, str] | None = None, **more: str
) -> dict[str, str]:
    """张三's application as the hardship form sends it (its inputs are named by the
    field's path in the application: `household-yearly_income_fen`)."""
    form = {
        "csrf_token": token,
        "idempotency_key": "k-1",
        "applicant-name": "张三",
        "applicant-id_number": "320602198001011235",
        "applicant-phone": "13800000000",
        "applicant-employer": "南通某纺织有限公司",
        "applicant-district": "崇川区",
        "applicant-bank_account": "",
        "household-size": "3",
        "household-yearly_income_fen": "24000",
        "household-medical_expenses_fen": "6000",
        "household-schooling_expenses_fen": "",
        "category": "deep",
        "relief_type": "medical",
        "requested_amount_fen": "3000",
        "reason": "配偶重病",
    }
    return {**form, **(changes or {}), **more}


@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_bad_numbers_on_the_new_case_form_are_shown_beside_their_fields(
    app: FastAPI, engine: Engine, bad: str
) -> None:
    before = Queries(engine).case_ids()
    async with browser(app, "chongchuan.grassroots1") as officer:
        token = csrf(await officer.get(NEW))
        sent = application_form(
            token,
            {
                "household-size": bad,
                "household-yearly_income_fen": bad,
                "requested_amount_fen": bad,
                # wrong check digit: shown as well
                "applicant-id_number": "320602198001011234",
            },
        )
        r = await officer.post(NEW, data=sent, headers=ORIGIN)
        assert r.status_code == 422 and is_page(r)
        for field in (
            "household-size",
            "household-yearly_income_fen",
            "requested_amount_fen",
            "applicant-id_number",
        ):
            assert problem(r, field), (bad, field)
        # What was typed stays, the choices too.
        if bad:
            assert f'id="household-yearly_income_fen" value="{bad}"' in r.text
        assert re.search(r'<option value="deep"\s+selected', r.text)
        assert re.search(r'<option value="medical"\s+selected', r.text)
        assert re.search(r'<option value="崇川区"\s+selected', r.text)
        assert 'id="reason"' in r.text and "配偶重病</textarea>" in r.text
    assert Queries(engine).case_ids() == before


async def test_every_problem_of_an_application_is_shown_at_once(app: FastAPI) -> None:
    async with browser(app, "chongchuan.grassroots1") as officer:
        token = csrf(await officer.get(NEW))
        sent = application_form(
            token,
            {
                "applicant-name": "",
                "applicant-phone": "12345",
                "applicant-employer": "",
                "applicant-bank_account": "62-22",
                "household-size": "40",
                "household-yearly_income_fen": "2500.123",
                "household-medical_expenses_fen": "-5",
                "requested_amount_fen": "0",
                "reason": "",
                "category": "poor",
                "relief_type": "",
                "applicant-district": "上海市",
            },
        )
        r = await officer.post(NEW, data=sent, headers=ORIGIN)
        assert r.status_code == 422
        shown = {
            f: problem(r, f)
            for f in (
                "applicant-name",
                "applicant-phone",
                "applicant-employer",
                "applicant-bank_account",
                "applicant-district",
                "household-size",
                "household-yearly_income_fen",
                "household-medical_expenses_fen",
                "requested_amount_fen",
                "reason",
                "category",
                "relief_type",
            )
        }
        assert all(shown.values()), shown
        assert shown["applicant-name"] == shown["reason"] == shown["relief_type"] == "必填"
        # Ranges from the model's own bounds, amounts in yuan as they are typed.
        assert shown["household-size"] == "须在 1 至 30 之间"
        assert shown["requested_amount_fen"] == "须在 0.01 至 10,000,000 之间"
        assert shown["applicant-bank_account"] == "应为 12–30 位数字"
        assert shown["category"] == "请从列表中选择"
        assert "两位小数" in shown["household-yearly_income_fen"]
        assert "负数" in shown["household-medical_expenses_fen"]
        # Nothing typed is repeated in a message; the summary above links every field.
        assert "上海市" not in problem(r, "applicant-district")
        summary = r.text.split('id="form-errors"')[1].split("</div>")[0]
        assert summary.count("<li>") == len(shown)
        assert '<a href="#household-size">家庭人口</a>' in summary
        english = await officer.post(NEW + "?lang=en", data=sent, headers=ORIGIN)
        assert problem(english, "requested_amount_fen") == "must be between 0.01 and 10,000,000"


async def test_a_valid_application_without_the_case_service_gets_a_503_page(
    app: FastAPI, engine: Engine
) -> None:
    before = Queries(engine).case_ids()
    async with browser(app, "chongchuan.grassroots1") as officer:
        for path in (NEW,):
            token = csrf(await officer.get(NEW))
            # Full-width digits and thousands separators are numbers too.
            sent = application_form(
                token,
                {
                    "household-yearly_income_fen": "２４,０００.５",
                    "household-size": "３",
                    "applicant-phone": "１３８ ０００ ０００００",
                    "applicant-bank_account": "6222 0200 0000 0001 234",
                },
            )
            r = await officer.post(path, data=sent, headers=ORIGIN)
            assert r.status_code == 503 and is_page(r) and "不可用" in r.text, path
        # The form's address before there was one a type: with two types to open, the
        # list to choose from, nothing opened.
        r = await officer.post("/cases/new", data=sent, headers=ORIGIN)
        assert (r.status_code, r.headers["location"]) == (303, "/cases/new")
    assert Queries(engine).case_ids() == before


async def test_a_form_that_is_not_utf8_is_refused_whole(app: FastAPI, engine: Engine) -> None:
    before = Queries(engine).case_ids()
    async with browser(app, "chongchuan.grassroots2") as officer:
        token = csrf(await officer.get(f"/cases/{REVIEW}"))
        urlencoded = {"Content-Type": "application/x-www-form-urlencoded", **ORIGIN}
        for body in (
            f"csrf_token={token}&action=comment&comment=%FF%FE%E4%B8".encode(),
            f"csrf_token={token}&action=comment&comment=".encode() + b"\xff\xfe",
        ):
            r = await officer.post(f"/cases/{REVIEW}/act", content=body, headers=urlencoded)
            assert r.status_code == 400 and is_page(r) and "UTF-8" in r.text
        boundary = "b0undary"
        multipart = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}'
                f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="name"\r\n\r\n'
            ).encode()
            + b"\xe5\xbc\xa0\xff"
            + f"\r\n--{boundary}--\r\n".encode()
        )
        r = await officer.post(
            NEW,
            content=multipart,
            headers={"Content-Type": f"multipart/form-data; boundary={boundary}", **ORIGIN},
        )
        assert r.status_code == 400 and is_page(r)
    assert history_length(engine, REVIEW) == 4  # opened, assessed, at the grassroots review
    assert Queries(engine).case_ids() == before


@pytest.mark.parametrize("bad", BAD_NUMBERS)
async def test_bad_home_visit_findings_are_shown_beside_their_fields(
    app: FastAPI, engine: Engine, bad: str
) -> None:
    before = history_length(engine, VISIT)
    async with browser(app, "chongchuan.grassroots2") as officer:
        page = await officer.get(f"/cases/{VISIT}")
        assert options(page, "companion") == [
            "",
            "chongchuan.grassroots1",
            "chongchuan.grassroots3",
        ]
        sent = {
            "csrf_token": csrf(page),
            "action": "approve",
            "companion": "chongchuan.grassroots3",
            "visit_household_size": bad,
            "visit_yearly_income": bad,
            "visit_assets": "",
            "visit_cause": "配偶重病",
            "stage": "home_visit",
        }
        r = await officer.post(f"/cases/{VISIT}/act", data=sent, headers=ORIGIN)
        assert r.status_code == 422 and is_page(r)
        for field in ("visit_household_size", "visit_yearly_income", "visit_assets"):
            assert problem(r, field), field
        assert "配偶重病</textarea>" in r.text  # kept
        assert re.search(r'<option value="chongchuan.grassroots3"\s+selected', r.text)
    assert history_length(engine, VISIT) == before


async def test_review_and_registration_ask_for_their_data_in_generated_fields(
    app: FastAPI, engine: Engine
) -> None:
    """The reviews' lower amount (and the district's explanation), the national system's
    reference: fields generated from the registry's models of the approvals' data,
    checked on the page before anything is sent."""
    from casework.domain.case import Action
    from casework.store.event_store import EventStore
    from tests.store.builders import DISTRICT_LEADER, DISTRICT_OFFICER, DomainCase, fund_year

    store = EventStore(engine)
    approval, registration = "HR-2026-000008", "HR-2026-000009"
    DomainCase(store, approval).to_district_review().act(DISTRICT_OFFICER, Action.APPROVE)
    case = DomainCase(store, registration).to_district_review()
    store.set_budget("崇川区", fund_year(case.now), 10**9)
    case.act(DISTRICT_OFFICER, Action.APPROVE).act(DISTRICT_LEADER, Action.APPROVE)
    case.reserve().disbursed()
    assert case.state.stage == "registration"
    async with browser(app, "chongchuan.officer1") as officer:
        page = await officer.get(f"/cases/{AT_DISTRICT_REVIEW}")
        assert 'name="approve-approved_amount_fen"' in page.text
        assert 'name="approve-explanation"' in page.text
        sent = {"csrf_token": csrf(page), "action": "approve", "stage": "district_review"}
        r = await officer.post(
            f"/cases/{AT_DISTRICT_REVIEW}/act",
            data={**sent, "approve-approved_amount_fen": "0"},
            headers=ORIGIN,
        )
        assert r.status_code == 422
        assert problem(r, "approve-approved_amount_fen") == "须在 0.01 至 10,000,000 之间"
        page = await officer.get(f"/cases/{registration}")
        r = await officer.post(
            f"/cases/{registration}/act",
            data={"csrf_token": csrf(page), "action": "approve", "approve-national_ref": " "},
            headers=ORIGIN,
        )
        assert r.status_code == 422 and problem(r, "approve-national_ref") == "必填"
    async with browser(app, "chongchuan.leader") as leader:
        page = await leader.get(f"/cases/{approval}")
        assert 'name="approve-approved_amount_fen"' in page.text
        assert 'name="approve-explanation"' not in page.text  # the district review's only
    assert history_length(engine, registration) == case.state.seq  # nothing sent


@pytest.mark.parametrize(
    "data",
    [
        '{"household_size": NaN}',
        '{"monthly_income_fen": 1e999999}',
        '{"a": Infinity}',
        '{"a": 1, "a": 2}',
        "[1, 2]",
        "{" * 60_000,
        '{"a": ' * 30 + "1" + "}" * 30,
        "not json",
    ],
)
async def test_bad_json_data_is_shown_beside_the_field(
    app: FastAPI, engine: Engine, data: str
) -> None:
    before = history_length(engine, VISIT)
    async with browser(app, "chongchuan.grassroots2") as officer:
        page = await officer.get(f"/cases/{VISIT}")
        sent = {"csrf_token": csrf(page), "action": "approve", "data": data}
        r = await officer.post(f"/cases/{VISIT}/act", data=sent, headers=ORIGIN)
        assert r.status_code == 422 and problem(r, "data"), r.text[-500:]
    assert history_length(engine, VISIT) == before


async def test_bad_supervisor_input_is_shown_beside_its_field(app: FastAPI, engine: Engine) -> None:
    async with browser(app, "chongchuan.supervisor") as supervisor:
        page = await supervisor.get(f"/cases/{REVIEW}")
        token = csrf(page)
        for sent, field in (
            ({"action": "extend", "until": "abc"}, "until"),
            ({"action": "extend", "until": "2026-02-30"}, "until"),
            ({"action": "extend", "until": ""}, "until"),
            ({"action": "reassign", "to": ""}, "to"),
            ({"action": "reassign", "to": "nobody.here"}, "to"),
            ({"action": "fly"}, "action"),
            ({"action": "hold", "comment": "长" * 2001}, "comment"),
        ):
            r = await supervisor.post(
                f"/cases/{REVIEW}/act",
                data={"csrf_token": token, "comment": "原因", **sent},  # type: ignore[dict-item]
                headers=ORIGIN,
            )
            assert r.status_code == 422 and problem(r, field), (sent, r.status_code)
            assert "nobody.here" not in problem(r, field)
    assert history_length(engine, REVIEW) == 4  # opened, assessed, at the grassroots review


async def test_error_pages_are_in_the_sites_layout(app: FastAPI, engine: Engine) -> None:
    async with browser(app, "chongchuan.grassroots2") as officer:
        page = await officer.get(f"/cases/{REVIEW}")
        forged: dict[str, Any] = {"csrf_token": "x" * 43, "action": "comment", "comment": "x"}
        r = await officer.post(f"/cases/{REVIEW}/act", data=forged, headers=ORIGIN)
        assert r.status_code == 403 and is_page(r) and "表单" in r.text
        r = await officer.get("/cases/HR-2026-999999")
        assert r.status_code == 404 and is_page(r)
        sent = {"csrf_token": csrf(page), "action": "comment", "comment": "备注"}
        r = await officer.post(f"/cases/{REVIEW}/act", data=sent, headers=ORIGIN)
        assert r.status_code == 503 and is_page(r)
    assert history_length(engine, REVIEW) == 4  # opened, assessed, at the grassroots review


async def test_an_unknown_address_is_a_page_for_people_and_json_for_the_api(
    sqlite_engine: Engine,
) -> None:
    """No route answers: people get the site's 404 page, programs FastAPI's JSON."""
    import httpx

    from casework.api.app import create_app

    app = create_app(sqlite_engine, None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        page = await client.get("/no/such/page")
        assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
        wrong = await client.put("/login")
        assert wrong.status_code == 405 and wrong.headers["content-type"].startswith("text/html")
        api = await client.get("/api/no/such/thing")
        assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_every_action_with_fields_shows_them_when_chosen() -> None:
    """The stylesheet hides an action form's fieldsets but the chosen action's (no
    script): an action whose data has a model in the registry, left out of its list,
    would have its fields hidden whatever is chosen (the browser cannot fill them)."""
    from casework.web.site import action_styles

    css = action_styles()
    shown = set(re.findall(r"option\[value=([a-z-]+)\]:checked\) \.for-\1\b", css))
    with_fields = {str(a) for kind in CASE_TYPES.values() for a in kind.action_models}
    assert with_fields | {"approve", "reassign", "extend", "object"} <= shown
