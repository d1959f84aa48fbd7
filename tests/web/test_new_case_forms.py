"""The open-case form is built from a case type's application model: a unit test of the
builder on a small model with every kind of field, and its page driven over HTTP for a
test-only case type registered beside hardship (the registry is read per request), with
a stand-in for the case service that records what it was asked to open."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from types import SimpleNamespace
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from casework.domain.case_type import CaseType
from casework.domain.org import DISTRICTS, Actor, Role
from casework.domain.registry import CASE_TYPES
from casework.service import ActionRefused
from casework.web.application_form import UnsupportedField, application_form, choice_words, label
from casework.web.i18n import Texts
from tests.web.http import ORIGIN, browser, csrf, is_page, options, problem

ZH, EN = Texts("zh"), Texts("en")
_Strict = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Mood(StrEnum):
    CALM = "calm"
    CROSS = "cross"


class Person(BaseModel):
    model_config = _Strict

    name: str = Field(min_length=1, max_length=50)
    district: str = Field(json_schema_extra={"enum": list(DISTRICTS)})
    account: str | None = Field(default=None, pattern=r"^[0-9]{6,8}$")


class Contact(BaseModel):
    model_config = _Strict

    phone: str = Field(min_length=11, max_length=11)


class Grievance(BaseModel):
    """A made-up application with a field of every kind the form knows."""

    model_config = _Strict

    person: Person
    contact: Contact | None = None
    mood: Mood
    channel: Literal["letter", "visit"] = "letter"
    claim_amount_fen: int = Field(gt=0, le=10**8, strict=True)
    witnesses: int = Field(ge=0, le=99, strict=True)
    knew_at: date
    urgent: bool = False
    story: str = Field(min_length=1, max_length=2000)
    note: str | None = Field(
        default=None, max_length=100, description="Anything else the officer noticed. Free text."
    )

    def case_district(self) -> str:
        return self.person.district

    def masked(self) -> BaseModel:
        return self

    def personal_fields(self) -> dict[str, str | None]:
        return {}

    def identity(self) -> str | None:
        return None


GRIEVANCE = CaseType(
    name="grievance",
    prefix="GV",
    label=("职工申诉", "grievance"),
    config_key="grievance",
    config_model=BaseModel,
    process=lambda config: None,  # type: ignore[arg-type,return-value]
    application_model=Grievance,
    application_example={},
    workflow_name="Grievance",
    workflow_class="tests:Grievance",
    start_input=lambda *a: BaseModel(),
    check_opener=lambda actor, application: None,
    opener_role=Role.GRASSROOTS_OFFICER,
    who_sees={},
    stage_labels={},
)

FILLED = {
    "person-name": "李梅",
    "person-district": "崇川区",
    "person-account": "１２３ ４５６",
    "contact-phone": "",
    "mood": "cross",
    "channel": "visit",
    "claim_amount_fen": "１,２３４.５",
    "witnesses": "2",
    "knew_at": "2026-03-01",
    "urgent": "on",
    "story": "工资被拖欠三个月",
    "note": "",
}


# -- the builder -------------------------------------------------------------------------


def test_every_field_gets_the_input_its_type_and_constraints_call_for() -> None:
    form = application_form(Grievance)
    kinds = {f.id: (f.kind, f.required) for f in form.fields()}
    assert kinds == {
        "person-name": ("text", True),
        "person-district": ("select", True),
        "person-account": ("text", False),
        "contact-phone": ("text", True),  # required within its optional fieldset
        "mood": ("select", True),
        "channel": ("select", False),
        "claim_amount_fen": ("yuan", True),
        "witnesses": ("whole", True),
        "knew_at": ("date", True),
        "urgent": ("checkbox", False),
        "story": ("textarea", True),
        "note": ("text", False),
    }
    assert [g.id for g in form.sections()] == ["person", "contact", ""]
    by_id = {f.id: f for f in form.fields()}
    assert (by_id["claim_amount_fen"].lo, by_id["claim_amount_fen"].hi) == (1, 10**8)
    assert by_id["person-account"].digits and by_id["person-account"].input_mode == "numeric"
    # Selects start on their default; a district select on the officer's district.
    assert form.blank("通州区") == {"person-district": "通州区", "channel": "letter"}
    assert form.blank(None) == {"channel": "letter"}


def test_labels_come_from_the_words_then_the_description_then_the_name() -> None:
    form = application_form(Grievance)
    by_id = {m.id: m for m in form.every()}
    assert label(by_id["knew_at"], ZH) == "知道权利受侵害之日"  # i18n.FIELDS
    assert label(by_id["claim_amount_fen"], ZH) == "请求金额（元）"
    assert label(by_id["note"], ZH) == "Anything else the officer noticed"
    assert label(by_id["witnesses"], ZH) == "witnesses"
    assert label(by_id["person"], ZH) == "person"
    assert label(by_id["person-name"], EN) == "Name"
    assert choice_words(by_id["person-district"], ZH)[0] == ("崇川区", "崇川区")  # type: ignore[arg-type]
    assert choice_words(by_id["mood"], ZH) == [("calm", "calm"), ("cross", "cross")]  # type: ignore[arg-type]


def test_a_form_reads_into_the_applications_own_values() -> None:
    form = application_form(Grievance)
    data, errors = form.read(FILLED, ZH)
    assert errors == {}
    application = Grievance.model_validate(data)
    assert application == Grievance(
        person=Person(name="李梅", district="崇川区", account="123456"),
        contact=None,  # left blank: the optional fieldset is left out
        mood=Mood.CROSS,
        channel="visit",
        claim_amount_fen=123_450,
        witnesses=2,
        knew_at=date(2026, 3, 1),
        urgent=True,
        story="工资被拖欠三个月",
    )
    unchecked = {k: v for k, v in FILLED.items() if k != "urgent"}
    assert Grievance.model_validate(form.read(unchecked, ZH)[0]).urgent is False


def test_every_problem_is_placed_beside_its_field_in_words() -> None:
    form = application_form(Grievance)
    sent = {
        **FILLED,
        "person-name": "",
        "person-account": "12-34",
        "contact-phone": "123",
        "mood": "sad",
        "claim_amount_fen": "0",
        "witnesses": "1000000",
        "knew_at": "2026-02-30",
        "story": "",
        "note": "长" * 101,
    }
    data, errors = form.read(sent, ZH)
    try:
        Grievance.model_validate(data)
    except ValidationError as exc:
        form.explain(exc, ZH, errors)
    assert form.ordered(errors) == {
        "person-name": "必填",
        "person-account": "应为 6–8 位数字",
        "contact-phone": "至少 11 个字符",
        "mood": "请从列表中选择",
        "claim_amount_fen": "须在 0.01 至 1,000,000 之间",
        "witnesses": "须在 0 至 99 之间",
        "knew_at": "日期格式应为 YYYY-MM-DD",
        "story": "必填",
        "note": "最多 100 个字符",
    }
    assert form.place(("person", "district")) == "person-district"
    assert form.place("person.district") == "person-district"
    assert form.place(("contact",)) == "contact"
    assert form.place(("nowhere",)) == form.place(None) == "form"


def test_a_field_the_form_cannot_show_fails_when_the_form_is_built() -> None:
    class Listed(BaseModel):
        names: list[str]

    with pytest.raises(UnsupportedField, match="Listed.names"):
        application_form(Listed)


# -- the page of a second case type ------------------------------------------------------


class RecordingService:
    """Stands in for CaseService.open_case: records the opening, or refuses it."""

    def __init__(self, refusal: ActionRefused | None = None) -> None:
        self.opened: list[tuple[str, Any, str, str | None]] = []
        self.refusal = refusal

    async def open_case(
        self, kind: CaseType, application: Any, actor: Actor, key: str | None = None
    ) -> SimpleNamespace:
        if self.refusal is not None:
            raise self.refusal
        self.opened.append((kind.name, application, actor.id, key))
        return SimpleNamespace(case_id="GV-2026-000001")


@pytest.fixture
def grievance(monkeypatch: pytest.MonkeyPatch) -> CaseType:
    monkeypatch.setitem(CASE_TYPES, GRIEVANCE.name, GRIEVANCE)
    return GRIEVANCE


async def test_a_second_case_types_form_opens_its_case(app: FastAPI, grievance: CaseType) -> None:
    service = RecordingService()
    app.state.service = service
    async with browser(app, "chongchuan.grassroots1") as officer:
        # Two kinds this officer may open: a list to choose from, not a form.
        listing = await officer.get("/cases/new")
        assert listing.status_code == 200
        assert 'href="/cases/new/grievance"' in listing.text
        assert 'href="/cases/new/hardship"' in listing.text
        page = await officer.get("/cases/new/grievance")
        assert page.status_code == 200 and "职工申诉立案" in page.text
        assert 'action="/cases/new/grievance"' in page.text
        assert options(page, "mood") == ["", "calm", "cross"]
        assert 'type="date" name="knew_at"' in page.text
        assert 'type="checkbox" name="urgent"' in page.text
        assert '<textarea name="story"' in page.text
        assert '<fieldset id="contact">' in page.text
        # A form without the session's token, or from another site: nothing opened.
        good = {**FILLED, "csrf_token": csrf(page), "idempotency_key": "g-2"}
        for sent, origin in (
            ({**good, "csrf_token": "x" * 43}, ORIGIN),
            (good, {"Origin": "http://127.0.0.1:9"}),
        ):
            r = await officer.post("/cases/new/grievance", data=sent, headers=origin)
            assert r.status_code == 403 and is_page(r)
        # Several problems: each beside its field, what was typed kept.
        bad = {**FILLED, "csrf_token": csrf(page), "idempotency_key": "g-1"}
        bad |= {"claim_amount_fen": "12.345", "witnesses": "x", "story": ""}
        r = await officer.post("/cases/new/grievance", data=bad, headers=ORIGIN)
        assert r.status_code == 422 and is_page(r)
        assert "两位小数" in problem(r, "claim_amount_fen")
        assert problem(r, "witnesses") == "请输入整数，如 3"
        assert problem(r, "story") == "必填"
        assert 'id="claim_amount_fen" value="12.345"' in r.text
        assert 'value="2026-03-01"' in r.text and "checked" in r.text
        assert service.opened == []
        # Sent right, it is opened as this type with the values in the model's units.
        r = await officer.post("/cases/new/grievance", data=good, headers=ORIGIN)
        assert (r.status_code, r.headers["location"]) == (
            303,
            "/cases/GV-2026-000001?notice=opened",
        )
        [(kind, application, opener, key)] = service.opened
        assert (kind, opener, key) == ("grievance", "chongchuan.grassroots1", "g-2")
        assert application.claim_amount_fen == 123_450 and application.knew_at == date(2026, 3, 1)
        # The old address of the form does not guess between two kinds.
        r = await officer.post("/cases/new", data=good, headers=ORIGIN)
        assert (r.status_code, r.headers["location"]) == (303, "/cases/new")
        assert len(service.opened) == 1


async def test_a_refusal_of_the_service_is_shown_beside_its_field(
    app: FastAPI, grievance: CaseType
) -> None:
    app.state.service = RecordingService(
        ActionRefused("outside_jurisdiction", "不在您的管辖范围内", "person.district")
    )
    async with browser(app, "chongchuan.grassroots1") as officer:
        page = await officer.get("/cases/new/grievance")
        sent = {**FILLED, "csrf_token": csrf(page), "person-district": "通州区"}
        r = await officer.post("/cases/new/grievance", data=sent, headers=ORIGIN)
        assert r.status_code == 409
        assert "outside_jurisdiction" in problem(r, "person-district")
        assert '<option value="通州区" selected' in r.text
