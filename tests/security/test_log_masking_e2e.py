"""No log line of a real run shows an applicant's ID number, phone or bank account.

A case is opened with the `casework` command (its own process, CASEWORK_LOG_LEVEL=DEBUG:
it logs the submitted application) and driven to the bank transfer, whose first attempt
the bank refuses with an error naming the account (leaky_worker.py): the worker process,
also at DEBUG, has the Temporal SDK log the failed activity with its traceback. Both
logs are then searched for the applicant's numbers: none may be there in clear, and
their masked forms must be (so the numbers did reach the logs, and were masked)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from casework.domain.identity import mask, mask_phone
from tests.factories import application_data, id_number
from tests.security.conftest import OPENER, REVIEWER, Stack

pytestmark = pytest.mark.integration

ID_NUMBER = id_number(417, birth="19790615")
PHONE = "13912345678"
ACCOUNT = "6222020012345678901"


def clear_values_in(text: str) -> list[str]:
    return [v for v in (ID_NUMBER, PHONE, ACCOUNT) if v in text]


def test_the_applicants_numbers_never_appear_in_clear_in_any_log(
    stack: Stack, cli: Callable[..., Result], tmp_path: Path
) -> None:
    app_file = tmp_path / "application.json"
    data = application_data(
        applicant={"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT},
        requested_amount_fen=200_000,  # below the city threshold: the district pays
    )
    app_file.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    opened = stack.run(
        "case", "open", "hardship", "--file", str(app_file), "--as", OPENER, "--json",
        CASEWORK_LOG_LEVEL="DEBUG",
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    case_id = json.loads(opened.stdout)["case_id"]

    # The command logged what was submitted, masked.
    requested = [
        json.loads(line)
        for line in opened.stderr.splitlines()
        if line.startswith("{") and "case.open.requested" in line
    ]
    assert len(requested) == 1, opened.stderr
    assert clear_values_in(opened.stderr + opened.stdout) == []
    applicant = requested[0]["application"]["applicant"]
    assert applicant["id_number"] == mask(ID_NUMBER)
    assert applicant["phone"] == mask_phone(PHONE)
    assert applicant["bank_account"] == mask(ACCOUNT)

    # To the transfer (the notice lasts a second), which the bank refuses once.
    findings = tmp_path / "findings.json"
    findings.write_text(
        json.dumps(
            {
                "visitors": [REVIEWER, "chongchuan.grassroots3"],
                "household_size": 3,
                "yearly_income_fen": 5400000,
                "medical_expenses_fen": 1200000,
                "assets": "无房产",
                "cause": "配偶重病",
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    outputs = []
    for args in (
        (case_id, "approve", "--as", REVIEWER, "-m", "材料齐全"),
        (case_id, "approve", "--as", REVIEWER, "--data-file", str(findings)),
    ):
        result = cli("act", *args)
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    assert stack.wait_for_stage(case_id, leaving="public_notice") == "district_review"
    for who in ("chongchuan.officer1", "chongchuan.leader"):
        result = cli("act", case_id, "approve", "--as", who, "-m", "同意")
        assert result.exit_code == 0, result.stderr
        outputs.append(result.stdout + result.stderr)
    assert stack.wait_for_stage(case_id, leaving="disbursement") != "disbursement"

    # The worker logged the refused transfer, with the account masked.
    worker_log = stack.worker_log.read_text(encoding="utf-8")
    failed = [line for line in worker_log.splitlines() if "Completing activity as failed" in line]
    assert failed, "the worker did not log the refused transfer"
    assert clear_values_in(worker_log) == []
    assert mask(ACCOUNT) in worker_log
    assert clear_values_in("".join(outputs)) == []
