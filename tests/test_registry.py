"""Every registered case type reaches every edge: adding a type to the registry and
forgetting an edge fails here (issue #10: "a test fails if a registered type is missing
from any edge")."""

from __future__ import annotations

import pytest
from temporalio import workflow
from typer.testing import CliRunner

from activities.configuration import ConfigSource
from casework.api.app import create_app
from casework.cli import app as cli
from casework.config import ProcessConfig
from casework.domain.case_type import CaseType
from casework.domain.processes import PROCESSES
from casework.domain.registry import CASE_TYPES, case_type
from casework.settings import Settings
from casework.store.db import make_engine
from casework.web.i18n import CASE_TYPES as TYPE_WORDS
from casework.web.i18n import STAGES
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
