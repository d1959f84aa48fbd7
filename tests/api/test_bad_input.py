"""Bad input over HTTP: never a 500, always a 4xx that names the field, never the input
echoed back, and nothing reaches the case service or the store.

A fake service stands in for Temporal and records what reaches it; each test also sends
the good request next to the bad one, so that it cannot pass by refusing everything."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

import httpx
import pytest
from sqlalchemy import Engine, func, select

from casework.api.body import MAX_BODY_BYTES, MAX_DEPTH
from casework.api.cases import COMMENT_PATTERN
from casework.domain.case import CaseView, Status
from casework.domain.org import Actor
from casework.domain.text import forbidden_character
from casework.service import CaseService
from casework.store.directory import Directory
from casework.store.event_store import EventStore
from casework.store.tables import case_events, case_keys, case_requests, cases
from tests.api.conftest import bearer, client_for, make_app
from tests.factories import application_data
from tests.store.builders import opened

CASE = "HR-2026-000001"


class FakeService:
    """What the API hands to the case service, without Temporal."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def view(self, case_id: str) -> CaseView:
        return CaseView(
            case_id=case_id,
            type="hardship",
            status=Status.OPEN,
            outcome=None,
            stage="grassroots_review",
            district="崇川区",
            opened_by="chongchuan.grassroots1",
            open_task=None,
            seq=1,
        )

    async def open_case(
        self, kind: Any, application: Any, actor: Actor, *args: Any, **kw: Any
    ) -> Any:
        self.calls.append(("open", application))
        return self.view("HR-2026-000999")

    async def act(self, case_id: str, actor: Actor, action: Any, *args: Any, **kw: Any) -> Any:
        self.calls.append(("act", (action, args)))
        return self.view(case_id)


@pytest.fixture
def service() -> FakeService:
    return FakeService()


@pytest.fixture
async def api(
    sqlite_engine: Engine, directory: Directory, service: FakeService
) -> AsyncIterator[httpx.AsyncClient]:
    EventStore(sqlite_engine).append(CASE, 0, [opened(CASE)])
    app = make_app(sqlite_engine, cast(CaseService, service))
    async with client_for(app) as client:
        client.headers.update(bearer(sqlite_engine, "chongchuan.grassroots2"))
        yield client


def rows(engine: Engine) -> tuple[int, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (cases, case_events, case_keys, case_requests)
        )


def app_text(**overrides: Any) -> str:
    """A valid application as JSON text, `applicant.name` etc. replaced by raw JSON."""
    return json.dumps(application_data(**overrides), ensure_ascii=False)


async def send(api: httpx.AsyncClient, path: str, body: bytes | str) -> httpx.Response:
    content = body.encode() if isinstance(body, str) else body
    return await api.post(path, content=content, headers={"Content-Type": "application/json"})


def assert_refused(r: httpx.Response, status: int, code: str, field: str | None) -> None:
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    assert (detail["code"], detail["field"]) == (code, field), detail
    assert len(r.content) < 1000


OPEN = "/api/cases/hardship"
ACT = f"/api/cases/{CASE}/actions/comment"


async def test_the_good_requests_go_through(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    """The control: the bodies the other tests spoil are accepted as they are."""
    opener = bearer(sqlite_engine, "chongchuan.grassroots1")
    r = await api.post(
        OPEN, content=app_text().encode(), headers={**opener, "Content-Type": "application/json"}
    )
    assert r.status_code == 201, r.text
    r = await send(api, ACT, json.dumps({"comment": "好", "data": {"x": [1.5, {"y": "z"}]}}))
    assert r.status_code == 200, r.text
    r = await api.post(f"/api/cases/{CASE}/actions/claim")  # no body at all: {}
    assert r.status_code == 200, r.text
    assert [kind for kind, _ in service.calls] == ["open", "act", "act"]


async def test_an_integer_written_with_a_fraction_is_an_integer(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    """JSON has numbers, not ints and floats: JSON Schema's integer admits 3.0, so the
    schema calls it valid, and the server takes it (300000.5 stays refused)."""
    opener = {**bearer(sqlite_engine, "chongchuan.grassroots1"), "Content-Type": "application/json"}
    text = app_text(household={"size": 777, "yearly_income_fen": 888}, requested_amount_fen=999)
    good = text.replace("777", "3.0").replace("888", "2.5e5").replace("999", "300000.000")
    r = await api.post(OPEN, content=good.encode(), headers=opener)
    assert r.status_code == 201, r.text
    [(_, application)] = service.calls
    assert (application.household.size, application.household.yearly_income_fen) == (3, 250000)
    assert application.requested_amount_fen == 300000
    r = await api.post(
        OPEN, content=good.replace("300000.000", "300000.5").encode(), headers=opener
    )
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "requested_amount_fen"]


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
async def test_nan_and_infinity_are_refused_naming_the_field(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService, constant: str
) -> None:
    """Python's json reads them (1e999 as infinity); no JSON client sends them, and a
    422 that echoed them could not even be written as JSON (it used to be a 500)."""
    before = rows(sqlite_engine)
    text = app_text(household={"size": 999_999}).replace("999999", constant)
    r = await api.post(
        OPEN,
        content=text.encode(),
        headers={
            **bearer(sqlite_engine, "chongchuan.grassroots1"),
            "Content-Type": "application/json",
        },
    )
    assert_refused(r, 400, "invalid_json", "household.size")
    r = await send(api, ACT, '{"comment": "x", "data": {"amount": [1, C]}}'.replace("C", constant))
    assert_refused(r, 400, "invalid_json", "data.amount.1")
    assert service.calls == [] and rows(sqlite_engine) == before


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ud83d x"])
async def test_a_lone_surrogate_is_refused_naming_the_field(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService, escape: str
) -> None:
    """ "\\ud800" is well-formed JSON for a string no UTF-8 store can hold (it used to
    reach the database or Temporal and fail there)."""
    before = rows(sqlite_engine)
    text = app_text(applicant={"name": "NAME"}).replace("NAME", f"张{escape}三")
    r = await api.post(
        OPEN,
        content=text.encode(),
        headers={
            **bearer(sqlite_engine, "chongchuan.grassroots1"),
            "Content-Type": "application/json",
        },
    )
    assert_refused(r, 400, "lone_surrogate", "applicant.name")
    r = await send(api, ACT, '{"comment": "材料E齐全"}'.replace("E", escape))
    assert_refused(r, 400, "lone_surrogate", "comment")
    r = await send(api, ACT, '{"comment": "x", "data": {"kE": 1}}'.replace("E", escape))
    assert_refused(r, 400, "lone_surrogate", f"data.k{escape}")  # the key, escaped
    assert service.calls == [] and rows(sqlite_engine) == before


def nested(levels: int, opening: str = '{"a": ', closing: str = "}") -> str:
    """An action body whose data is nested `levels` deep."""
    return '{"comment": "x", "data": ' + opening * levels + "1" + closing * levels + "}"


@pytest.mark.parametrize("levels", [MAX_DEPTH, 200, 1000, 3000])
async def test_deeply_nested_data_is_refused_before_it_is_parsed(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService, levels: int
) -> None:
    """Nesting a few thousand levels deep ran the parser (or the payload converter) out of
    recursion; a few hundred passed it and failed the case's workflow task."""
    r = await send(api, ACT, nested(levels))
    assert_refused(r, 400, "too_deep", "data.a.a")
    assert "20 levels" in r.json()["detail"]["message"]
    r = await send(api, ACT, nested(levels * 30, "[", "]"))
    assert_refused(r, 400, "too_deep", "data.0.0")
    assert service.calls == []
    # As deep as allowed: the body is level 1, `data` level 2.
    assert (await send(api, ACT, nested(MAX_DEPTH - 2))).status_code == 200


async def test_a_huge_body_is_refused_without_being_read(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    huge = json.dumps({"comment": "x", "data": {"blob": "x" * (MAX_BODY_BYTES + 1)}})
    r = await send(api, ACT, huge)
    assert_refused(r, 413, "too_large", None)

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it comes
        yield b'{"comment": "x", "data": {"blob": "'
        for _ in range(100):
            yield b"y" * 10_000
        yield b'"}}'

    r = await api.post(ACT, content=chunks(), headers={"Content-Type": "application/json"})
    assert_refused(r, 413, "too_large", None)
    assert service.calls == []


async def test_bytes_that_are_not_utf8_are_refused_naming_the_field(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    before = rows(sqlite_engine)
    opener = {**bearer(sqlite_engine, "chongchuan.grassroots1"), "Content-Type": "application/json"}
    for bad in (b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xe5\xbc"):  # stray, cut, surrogate, cut CJK
        raw = (
            app_text(applicant={"employer": "EMPLOYER"})
            .encode()
            .replace(b"EMPLOYER", b"\xe5\x8d\x97" + bad + b"\xe9\x80\x9a")
        )
        r = await api.post(OPEN, content=raw, headers=opener)
        assert_refused(r, 400, "not_utf8", "applicant.employer")
    r = await send(api, ACT, b'{"comment": "x"' + b"\xff" + b"}")  # outside any string
    assert_refused(r, 400, "not_utf8", None)
    # GBK (common on Chinese Windows) is not UTF-8 either.
    r = await send(api, ACT, json.dumps({"comment": "材料齐全"}, ensure_ascii=False).encode("gbk"))
    assert_refused(r, 400, "not_utf8", "comment")
    assert service.calls == [] and rows(sqlite_engine) == before


async def test_a_nul_character_is_refused_naming_the_field(
    api: httpx.AsyncClient, service: FakeService
) -> None:
    """PostgreSQL cannot store U+0000 in text: home-visit findings holding one were
    recorded as sent, and the recording failed (and was retried) for ever."""
    r = await send(api, ACT, json.dumps({"comment": "x", "data": {"assets": "无\u0000房"}}))
    assert_refused(r, 400, "nul_character", "data.assets")
    r = await send(api, ACT, json.dumps({"comment": "x", "data": {"a\u0000": 1}}))
    assert_refused(r, 400, "nul_character", "data.a\\x00")
    assert service.calls == []


async def test_a_duplicate_key_is_refused_naming_it(
    api: httpx.AsyncClient, service: FakeService
) -> None:
    """The last one silently won: a client that meant the first never knew."""
    r = await send(api, ACT, '{"comment": "x", "data": {"to": "a", "to": "b"}}')
    assert_refused(r, 400, "invalid_json", "data.to")
    assert service.calls == []


async def test_a_422_names_the_field_and_never_echoes_the_input(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    """FastAPI's own 422 repeats every refused value (`input`): 200 KB in, 200 KB back,
    control characters and all."""
    opener = {**bearer(sqlite_engine, "chongchuan.grassroots1"), "Content-Type": "application/json"}
    long_name = "张\x1b" * 10_000
    data = application_data(applicant={"name": long_name})
    data["applicant"]["k" * 50_000] = "\x1b]0;owned\x07"
    r = await api.post(OPEN, content=json.dumps(data).encode(), headers=opener)
    assert r.status_code == 422
    assert len(r.content) < 2000, len(r.content)
    assert "\x1b" not in r.text and "\\u001b" not in r.text and "owned" not in r.text
    errors = r.json()["detail"]
    assert ["body", "applicant", "name"] in [e["loc"] for e in errors]
    extra = next(e for e in errors if e["type"] == "extra_forbidden")
    assert extra["loc"][:2] == ["body", "applicant"] and len(extra["loc"][2]) <= 41
    assert all(set(e) == {"loc", "msg", "type"} for e in errors)
    assert service.calls == []


@pytest.mark.parametrize(
    "bad", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029"]
)
async def test_invisible_characters_in_names_are_refused_naming_the_field(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService, bad: str
) -> None:
    opener = {**bearer(sqlite_engine, "chongchuan.grassroots1"), "Content-Type": "application/json"}
    for field in ("name", "employer"):
        data = application_data(applicant={field: f"张{bad}三"})
        r = await api.post(OPEN, content=json.dumps(data).encode(), headers=opener)
        assert r.status_code == 422, r.text
        [error] = r.json()["detail"]
        assert error["loc"] == ["body", "applicant", field]
        assert f"U+{ord(bad):04X}" in error["msg"]
    r = await send(api, ACT, json.dumps({"comment": f"同意{bad}"}))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "comment"]
    assert service.calls == []


async def test_a_wrong_check_digit_is_a_422_naming_the_id_number(
    sqlite_engine: Engine, api: httpx.AsyncClient, service: FakeService
) -> None:
    opener = {**bearer(sqlite_engine, "chongchuan.grassroots1"), "Content-Type": "application/json"}
    data = application_data(applicant={"id_number": "320602198001011234"})
    r = await api.post(OPEN, content=json.dumps(data).encode(), headers=opener)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "applicant", "id_number"]
    assert "check digit" in error["msg"] and "320602198001011234" not in r.text
    assert service.calls == []


def test_the_comment_pattern_says_what_the_comment_check_says() -> None:
    import re

    pattern = re.compile(COMMENT_PATTERN)
    for code in [*range(0xD800), *range(0xE000, 0x10000)]:  # surrogates: a 400 before
        text = f"a{chr(code)}b"
        assert (pattern.match(text) is not None) == (
            forbidden_character(text, line_breaks=True) is None
        ), hex(code)
