"""The new-case form with the case service attached: an application for someone who
already has one open (or is on the register) is refused beside the ID number, naming
that case."""

from __future__ import annotations

from casework.demo.seed import set_demo_passwords
from tests.api.conftest import make_app
from tests.web.http import ORIGIN, browser, csrf, problem
from tests.web.test_page_rules import application_form
from tests.workflows.conftest import Harness, config, harness  # noqa: F401 - shared fixtures


async def test_the_form_names_the_applicants_open_application(harness: Harness) -> None:  # noqa: F811
    set_demo_passwords(harness.engine)
    app = make_app(harness.engine, harness.service)
    async with browser(app, "chongchuan.grassroots1") as officer:
        token = csrf(await officer.get("/cases/new/hardship"))
        sent = application_form(token, idempotency_key="form-1")
        first = await officer.post("/cases/new/hardship", data=sent, headers=ORIGIN)
        assert first.status_code == 303, first.text
        case_id = first.headers["location"].split("/")[2].split("?")[0]
        harness.opened.append(case_id)
        token = csrf(await officer.get("/cases/new/hardship"))
        again = application_form(token, idempotency_key="form-2")  # another opening
        r = await officer.post("/cases/new/hardship", data=again, headers=ORIGIN)
        assert r.status_code == 409
        shown = problem(r, "applicant-id_number")
        assert "application_open" in shown and case_id in shown
