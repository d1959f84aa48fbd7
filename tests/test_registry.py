"""Every registered case type reaches every edge: adding a type to the registry and
forgetting an edge fails here (issue #10: "a test fails if a registered type is missing
from any edge")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import Engine
from temporalio import workflow
from typer.testing import CliRunner

from activities.configuration import ConfigSource
from casework.api.app import create_app
from casework.cli import app as cli
from casework.config import ProcessConfig
from casework.domain.case import Action
from casework.domain.case_type import CaseType
from casework.domain.processes import PROCESSES
from casework.domain.registry import CASE_TYPES, case_type, known_action
from casework.settings import Settings
from casework.store.db import make_engine
from casework.store.directory import Directory, User
from casework.web.acting import HAND_WRITTEN
from casework.web.application_form import action_form, application_form, choice_words
from casework.web.i18n import ACTIONS, CHOICES, FIELDS, HINTS, STAGES, Texts
from casework.web.i18n import CASE_TYPES as TYPE_WORDS
from worker import WORKFLOWS

TYPES = list(CASE_TYPES.values())


def ids(t: CaseType) -> str:
    return t.name


@pytest.fixture(scope="module")
def openapi() -> dict:  # type: ignore[type-arg]
    app = create_app(make_engine("sqlite://"), None, Settings(_env_file=None))  # type: ignore[call-arg]
    return app.openapi()


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_the_application_example_is_valid_and_names_its_district(kind: CaseType) -> None:
    application = kind.application_model.model_validate(kind.application_example)
    assert application.case_district()  # type: ignore[attr-defined]
    assert set(application.personal_fields()) <= set(kind.who_sees)  # type: ignore[attr-defined]
    masked = application.masked().model_dump(mode="json")  # type: ignore[attr-defined]
    for name, value in application.personal_fields().items():  # type: ignore[attr-defined]
        if value:
            assert value not in str(masked), f"{name} in clear in the masked application"


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_the_api_opens_it(kind: CaseType, openapi: dict) -> None:  # type: ignore[type-arg]
    op = openapi["paths"][f"/api/cases/{kind.name}"]["post"]
    assert op["responses"]["201"]["links"]
    listing = {p["name"]: p for p in openapi["paths"]["/api/cases"]["get"]["parameters"]}
    assert kind.name in listing["type"]["schema"]["enum"]


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_the_cli_opens_it(kind: CaseType, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        cli, ["case", "open", kind.name, "--file", str(tmp_path / "none.json"), "--as", "x"]
    )
    assert result.exit_code == 2
    assert "unknown case type" not in result.stderr and "none.json" in result.stderr


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_the_worker_runs_it(kind: CaseType) -> None:
    names = {workflow._Definition.must_from_class(w).name for w in WORKFLOWS}
    assert kind.workflow_name in names


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_its_configuration_is_a_section_and_the_worker_serves_it(kind: CaseType) -> None:
    config = ProcessConfig()
    section = config.section(kind.name)
    assert isinstance(section, kind.config_model)
    assert section.retention_years > 0  # type: ignore[attr-defined]
    assert ConfigSource(config).process_config(kind.name) == section
    assert section.calendar == config.calendar  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_supervision_and_the_pages_know_it(kind: CaseType) -> None:
    process = PROCESSES[kind.name]
    assert process.case_type == kind.name
    assert kind.name in TYPE_WORDS
    for stage in process.stage_roles:
        assert stage in kind.stage_labels and stage in STAGES, stage
    assert case_type(kind.name) is kind


@pytest.mark.parametrize("kind", TYPES, ids=ids)
async def test_the_web_has_its_open_case_form(kind: CaseType, sqlite_engine: Engine) -> None:
    from casework.auth.passwords import hash_password
    from casework.demo.people import DEMO_PASSWORD
    from tests.web.http import browser

    opener = User(
        id=f"opener.{kind.name}", name="立案人", roles=[kind.opener_role], district="崇川区"
    )
    directory = Directory(sqlite_engine)
    directory.upsert([opener])
    directory.set_password_hash(opener.id, hash_password(DEMO_PASSWORD))
    app = create_app(sqlite_engine, None, Settings(_env_file=None))  # type: ignore[call-arg]
    async with browser(app, opener.id) as client:
        page = await client.get(f"/cases/new/{kind.name}")
        assert page.status_code == 200, page.text[-500:]
        for field in application_form(kind.application_model).fields():
            assert f'name="{field.id}"' in page.text, field.id


def typed(kind: CaseType, data: dict[str, Any]) -> dict[str, str]:
    """An application as a person would type it into its form (amounts in yuan)."""
    values: dict[str, str] = {}
    for field in application_form(kind.application_model).fields():
        value: Any = data
        for key in field.path:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None or value is False:
            continue
        if field.kind == "yuan":
            values[field.id] = f"{value // 100:,}.{value % 100:02d}"
        elif field.kind == "checkbox":
            values[field.id] = "on"
        else:
            values[field.id] = str(value)
    return values


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_its_example_application_can_be_typed_into_the_form(kind: CaseType) -> None:
    form = application_form(kind.application_model)
    data, errors = form.read(typed(kind, kind.application_example), Texts("zh"))
    assert errors == {}
    expected = kind.application_model.model_validate(kind.application_example)
    assert kind.application_model.model_validate(data) == expected


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_every_field_of_its_form_has_words_in_both_languages(kind: CaseType) -> None:
    """A field without words would show its (English) description on a Chinese page:
    add them to FIELDS in casework/web/i18n.py, by name or by dotted path."""
    form = application_form(kind.application_model)
    missing = [
        m.id for m in form.every() if ".".join(m.path) not in FIELDS and m.name not in FIELDS
    ]
    assert missing == [], f"{kind.name}: fields without words in i18n.FIELDS: {missing}"


def action_models(kind: CaseType) -> list[tuple[str, type[BaseModel]]]:
    """(action, model) of every action of the type that carries data, but the models
    with a form of their own (casework.web.acting.HAND_WRITTEN)."""
    found = [("approve", m) for m in kind.approval_models.values()]
    found += list(kind.action_models.items())
    return [(a, m) for a, m in found if m not in HAND_WRITTEN]


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_every_field_of_its_action_forms_has_an_input_and_words(kind: CaseType) -> None:
    """The case page asks for an action's data in fields generated from its model: a
    field without an input fails here (UnsupportedField), one without words would show
    its name. Add them to FIELDS (and CHOICES, through `CaseType.choices`)."""
    missing: list[str] = []
    for action, model in action_models(kind):
        for f in action_form(model, action).fields():
            if ".".join(f.path) not in FIELDS and f.name not in FIELDS:
                missing.append(f.id)
            if f.kind == "select":
                for value, words in choice_words(f, Texts("zh")):
                    assert words != value, f"{f.id}: no words for {value}"
    assert missing == [], f"{kind.name}: action fields without words in i18n.FIELDS: {missing}"
    for name, role in kind.person_fields.items():
        assert any(name in m.model_fields for _, m in action_models(kind)), name
        assert role in set(PROCESSES[kind.name].stage_roles.values()), role


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_its_approval_models_are_what_its_approvals_take(kind: CaseType) -> None:
    """`CaseType.approval_models` says which stages' approvals carry data: the process
    checks an approval's data at exactly those stages (data it does not know is refused
    as invalid there, and as unexpected everywhere else)."""
    from casework.domain.case import CaseState, Refused

    process = kind.new_process()
    stages = set(process.stage_roles)
    assert set(kind.approval_models) <= stages
    for stage in stages:
        state = CaseState(case_id="X-1", stage=stage)
        with pytest.raises(Refused) as refused:
            process.approval_data(state, {"no_such_field": 1})
        unexpected = refused.value.code == "unexpected_data"
        assert unexpected == (stage not in kind.approval_models), (stage, refused.value.code)


def test_the_types_choice_words_do_not_collide() -> None:
    """CHOICES holds every type's choice words by field name: two types naming a field
    alike must mean the same words."""
    seen: dict[str, Mapping[str, Any]] = {}
    for kind in TYPES:
        for name, words in kind.choices.items():
            assert seen.setdefault(name, words) == words, (kind.name, name)
    for name, words in CHOICES.items():
        for pair in words.values():
            assert all(pair), name
    for key, (zh, en) in HINTS.items():
        assert zh.strip() and en.strip(), key


@pytest.mark.parametrize("kind", TYPES, ids=ids)
def test_its_own_verbs_have_words_in_both_languages_and_reach_every_edge(
    kind: CaseType,
    openapi: dict,  # type: ignore[type-arg]
) -> None:
    """A process's own verbs (`Process.own_actions`) come with its case type: words for
    each (`CaseType.action_labels`, which the web merges into i18n.ACTIONS), no shared
    verb among them, and the API's `{action}` path and the CLI's `act` accept them."""
    own = kind.own_actions
    assert len(set(own)) == len(own)
    assert not set(own) & {str(a) for a in Action}, kind.name
    assert set(kind.action_labels) == set(own), kind.name
    for verb in own:
        zh, en = kind.action_labels[verb]
        assert zh.strip() and en.strip(), verb
        assert ACTIONS[verb] == (zh, en), verb
        assert known_action(verb) == verb
    for action in kind.action_models:
        assert action in own, f"{kind.name}: data for {action}, not a verb of its own"
    act = openapi["paths"]["/api/cases/{case_id}/actions/{action}"]["post"]
    (path,) = [p for p in act["parameters"] if p["name"] == "action"]
    schema = path["schema"]
    if "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    assert set(own) <= set(schema["enum"]), kind.name
    assert {str(a) for a in Action} <= set(schema["enum"])


def test_the_types_do_not_give_one_verb_or_field_different_words() -> None:
    """i18n.ACTIONS, FIELDS and HINTS merge every type's words by name: two types naming
    a verb or a field alike must mean the same words (and none redefines a shared one)."""
    shared_actions = {str(a) for a in Action}
    for table, of in (
        (ACTIONS, lambda t: t.action_labels),
        (FIELDS, lambda t: t.field_labels),
        (HINTS, lambda t: t.field_hints),
    ):
        seen: dict[str, tuple[str, str]] = {}
        for kind in TYPES:
            for name, words in of(kind).items():
                assert seen.setdefault(name, words) == words, (kind.name, name)
                assert table[name] == words, (kind.name, name)
                assert name not in shared_actions, (kind.name, name)
                assert all(w.strip() for w in words), (kind.name, name)
