"""A special audit of relief money samples the cases (`draw-sample`), through the real
service and worker on the time-skipping server: the worker draws and checks the sample
from the store (the `draw_audit_sample` activity) and the project records what it
answered; the same seed draws the same cases; the wrong people are refused; a problem
found becomes a finding in one step.

The hardship cases sampled are written to the store as the workflow's recording would
(tests/store/builders.py): they are closed, so no workflow of theirs runs."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.cells import cell_len
from sqlalchemy import delete
from temporalio.testing import WorkflowEnvironment
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.audit import samples
from casework.service import ActionRefused
from casework.store.sampling import draw_sample
from casework.store.tables import cases
from tests.conftest import DATA_CONVERTER, TEST_KEYRING, register_search_attributes, venv_binary
from tests.store.test_audit_sample import (
    OVERPAID,
    TAMPERED,
    sample_request,
    seed_cases,
    tamper,
)
from tests.workflows.audit_steps import (
    AUDITOR,
    AUDITOR2,
    LEAD,
    UNIT,
    findings_of,
    into_fieldwork,
    number_audit_cases,
)
from tests.workflows.conftest import Harness
from tests.workflows.steps import events_of, state

ASK = {"year": 2026, "rate": "0.3", "seed": 7}


@pytest.fixture(name="env")
async def own_server() -> AsyncIterator[WorkflowEnvironment]:
    environment = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=DATA_CONVERTER,
    )
    await register_search_attributes(environment)
    yield environment
    await environment.shutdown()


@pytest.fixture
def h(harness: Harness) -> Iterator[Harness]:
    number_audit_cases(harness)
    seed_cases(harness.store)
    tamper(harness.engine)
    yield harness
    # The seeded cases have no workflow for the harness to end.
    with harness.engine.begin() as conn:
        conn.execute(delete(cases).where(cases.c.case_type == "hardship"))


async def test_the_team_samples_the_relief_cases_and_records_what_the_store_found(
    h: Harness,
) -> None:
    cid = await into_fieldwork(h)
    expected = draw_sample(h.engine, sample_request())
    await h.act(cid, AUDITOR, "draw-sample", "抽查 2026 年已结案件", dict(ASK))
    [drawn] = events_of(h, cid, "sample.drawn")
    assert drawn.actor_id == AUDITOR
    assert [c["case_id"] for c in drawn.payload["cases"]] == [c.case_id for c in expected.cases]
    assert drawn.payload["cases"] == [c.model_dump(mode="json") for c in expected.cases]
    assert (drawn.payload["district"], drawn.payload["candidates"], drawn.payload["size"]) == (
        "崇川区",
        11,
        4,
    )
    # The same seed again (the lead this time): the same cases, as S2.
    await h.act(cid, LEAD, "draw-sample", "复核抽样", {**ASK, "district": "崇川区"})
    first, second = samples(await state(h, cid))
    assert (first.id, second.id, first.cases) == ("S1", "S2", second.cases)
    # Everything, to be sure of the two problems.
    await h.act(cid, AUDITOR2, "draw-sample", "全部抽查", {**ASK, "rate": "1"})
    everything = samples(await state(h, cid))[-1]
    assert set(everything.problems) == {TAMPERED, OVERPAID}
    [code] = {p.code for p in everything.problems[TAMPERED]}
    assert code == "chain_broken"

    # A problem becomes a finding in one step.
    await h.act(cid, AUDITOR, "record-finding", None, {"sample_case": OVERPAID})
    found = await findings_of(h, cid)
    f1 = found["F1"]
    assert (f1.sample_case, f1.sample_id, f1.amount_fen, f1.finding_type) == (
        OVERPAID,
        "S3",
        50_000,
        "books_mismatch",
    )
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "record-finding", None, {"sample_case": OVERPAID})
    assert refused.value.code == "sample_case_recorded"


async def test_only_the_project_team_draws_and_only_the_audited_districts_cases(
    h: Harness,
) -> None:
    cid = await into_fieldwork(h)
    for who, code in (
        (UNIT, "role_not_held"),
        ("chongchuan.auditor", "outside_jurisdiction"),  # an auditor, not the city's
    ):
        with pytest.raises(ActionRefused) as refused:
            await h.act(cid, who, "draw-sample", "抽样", dict(ASK))
        assert refused.value.code == code, who
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "draw-sample", "抽样", {**ASK, "district": "通州区"})
    assert (refused.value.code, refused.value.field) == ("other_district", "data.district")
    with pytest.raises(ActionRefused) as refused:
        await h.act(cid, AUDITOR, "draw-sample", "抽样", {**ASK, "year": 2019})
    assert (refused.value.code, refused.value.field) == ("no_candidates", "data.year")
    assert events_of(h, cid, "sample.drawn") == []


class Cli:
    """`casework` in this process, against the harness's server and database, with a
    terminal of 80 columns."""

    def __init__(self, h: Harness, home: Path) -> None:
        self.env = {
            "CASEWORK_DATABASE_URL": h.engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
            "CASEWORK_LOG_JSON": "true",
            "CASEWORK_TEMPORAL_ADDRESS": h.env.client.service_client.config.target_host,
            "CASEWORK_TASK_QUEUE": h.service.task_queue,
            "COLUMNS": "80",
        }

    async def run(self, *args: str, code: int = 0) -> Any:
        def invoke() -> Any:
            result = CliRunner().invoke(app, list(args), env=self.env)
            assert result.exit_code == code, (result.stdout, result.stderr)
            return result

        return await asyncio.to_thread(invoke)

    async def json(self, *args: str) -> Any:
        return json.loads((await self.run(*args, "--json")).stdout)


async def test_the_auditor_samples_from_the_command_line_and_case_show_lists_it(
    h: Harness, tmp_path: Path, restore_logging: None
) -> None:
    cid = await into_fieldwork(h)
    cli = Cli(h, tmp_path)
    sample = ("audit", "sample", cid, "--year", "2026", "--rate", "0.3", "--seed", "7")
    drawn = await cli.json(*sample, "--district", "崇川区", "--as", AUDITOR, "-m", "抽查")
    expected = draw_sample(h.engine, sample_request())
    assert (drawn["case_id"], drawn["sample_id"], drawn["size"]) == (cid, "S1", 4)
    assert drawn["cases"] == [c.model_dump(mode="json") for c in expected.cases]
    assert drawn["candidates_sha256"] == expected.candidates_sha256
    # For people: a table, the problems, and the seed to draw them again.
    shown = (await cli.run(*sample, "--as", AUDITOR2)).stdout
    assert "抽样 sample S2" in shown and "--seed 7" in shown
    # Everything: the two problems, each line naming its case.
    shown = (await cli.run(*sample[:-4], "--rate", "1", "--seed", "3", "--as", AUDITOR)).stdout
    assert f"{TAMPERED} 哈希链断裂于 seq 3" in shown
    # At 80 columns every case number drawn is printed whole.
    assert "…" not in shown and max(cell_len(line) for line in shown.splitlines()) <= 80, shown
    numbers = re.findall(r"HR-[\d-]*", shown)
    assert len(numbers) >= 4 and all(re.fullmatch(r"HR-\d{4}-\d{6}", n) for n in numbers), shown
    assert f"{OVERPAID} seq " in shown and "台账 ledger disbursed 3,500.00 元" in shown
    assert f"casework audit finding {cid} CASE_ID" in shown.replace("\n", " ")
    # A seed not given is drawn, recorded and printed.
    unseeded = await cli.json(*sample[:-2], "--as", AUDITOR)
    assert 0 <= unseeded["seed"] <= 999_999_999

    # Refusals: the wrong person, the wrong rate; nothing recorded.
    assert "role_not_held" in (await cli.run(*sample, "--as", UNIT, code=2)).stderr
    bad = await cli.run(*sample[:-4], "--rate", "30%", "--seed", "1", "--as", AUDITOR, code=2)
    assert "rate" in bad.stderr and "Traceback" not in bad.stderr
    assert len(samples(await state(h, cid))) == 4

    # The problem as a finding, in one step.
    made = await cli.json("audit", "finding", cid, OVERPAID, "--as", AUDITOR)
    assert (made["finding"]["id"], made["finding"]["sample_case"]) == ("F1", OVERPAID)
    assert made["finding"]["amount_fen"] == 50_000
    again = await cli.run("audit", "finding", cid, OVERPAID, "--as", AUDITOR, code=2)
    assert "sample_case_recorded" in again.stderr

    # `case show` at 80 columns: the finding, the samples, nothing cut off.
    shown = (await cli.run("case", "show", cid)).stdout
    assert max(cell_len(line.rstrip()) for line in shown.splitlines()) <= 80
    assert "申请人" not in shown and "身份证号" not in shown  # a project is about no person
    for words in (
        "案件要点 工会经费审计 (audit project)",
        "账实不符 books do not match · 500.00 元",
        "抽样 sample S1",
        "崇川区 2026 年已结案件 · 抽 4/11 件 drawn",
        "比例 rate 0.3 · 种子 seed 7",
        f"  {OVERPAID}",
        "→ F1",
    ):
        assert words in shown, words
