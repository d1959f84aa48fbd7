"""`casework case show --as` and `casework privacy erase` on cases run by the real
workflow: who sees the applicant's numbers in clear, and erasure after the retention
period, with `audit verify` and `projections rebuild` still clean."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from casework.cli import app
from casework.domain.identity import mask, mask_phone
from casework.domain.personal import ERASED
from casework.store import projections
from casework.store.personal import years_after
from tests.conftest import TEST_KEYRING
from tests.factories import id_number
from tests.workflows.conftest import Harness
from tests.workflows.steps import OPENER

ID_NUMBER = id_number(555)
PHONE = "13811112222"
ACCOUNT = "6222020000000003333"
MASKED = {
    "id_number": mask(ID_NUMBER),
    "phone": mask_phone(PHONE),
    "bank_account": mask(ACCOUNT),
}
CLEAR = {"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT}


@pytest.fixture(autouse=True)
def _logging(restore_logging: None) -> None:
    """The CLI configures the process's logging: put it back after each test."""


class Cli:
    def __init__(self, h: Harness, home: Path, retention_years: int | None = None) -> None:
        self.env = {
            "CASEWORK_DATABASE_URL": h.engine.url.render_as_string(hide_password=False),
            "CASEWORK_ENCRYPTION_KEYS": TEST_KEYRING.serialize(),
            "CASEWORK_HOME": str(home),
            "CASEWORK_LOG_JSON": "true",
        }
        if retention_years is not None:
            config = home / "config.toml"
            config.write_text(f"[hardship]\nretention_years = {retention_years}\n")
            self.env["CASEWORK_CONFIG"] = str(config)

    def run(self, *args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(app, list(args), env=self.env)
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)


async def closed_case(h: Harness) -> str:
    view = await h.open(applicant={"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT})
    await h.act(view.case_id, OPENER, "withdraw", "申请人撤回申请")
    assert (await h.result(view.case_id)).status == "closed"
    return view.case_id


def shown(cli: Cli, case_id: str, *who: str) -> dict[str, Any]:
    view = cli.json("case", "show", case_id, *(("--as", who[0]) if who else ()))
    return view["applicant"]  # type: ignore[no-any-return]


def numbers(applicant: dict[str, Any]) -> dict[str, str]:
    return {k: applicant[k] for k in ("id_number", "phone", "bank_account")}


@pytest.mark.parametrize(
    ("who", "in_clear"),
    [
        pytest.param(None, (), id="no --as"),
        pytest.param("chongchuan.grassroots2", ("id_number", "phone"), id="grassroots"),
        pytest.param("chongchuan.officer1", ("id_number", "phone", "bank_account"), id="district"),
        pytest.param("chongchuan.leader", (), id="district-leader"),
        pytest.param("chongchuan.supervisor", (), id="supervisor"),
        pytest.param("tongzhou.grassroots1", (), id="other-district"),
        pytest.param("tongzhou.officer1", (), id="other-district-officer"),
        pytest.param("city.officer1", ("id_number",), id="city-officer"),
        pytest.param("city.admin", (), id="admin"),
    ],
)
async def test_case_show_reveals_only_what_the_viewers_work_needs(
    harness: Harness, tmp_path: Path, who: str | None, in_clear: tuple[str, ...]
) -> None:
    h = harness
    cid = (
        await h.open(applicant={"id_number": ID_NUMBER, "phone": PHONE, "bank_account": ACCOUNT})
    ).case_id
    cli = Cli(h, tmp_path)
    applicant = shown(cli, cid, *((who,) if who else ()))
    assert numbers(applicant) == {f: (CLEAR if f in in_clear else MASKED)[f] for f in CLEAR}
    assert applicant["revealed"] == sorted(in_clear)
    assert (applicant["name"], applicant["erased"]) == ("张三", False)
    # The contract keys are all still there.
    view = cli.json("case", "show", cid)
    assert {"case_id", "type", "status", "outcome", "stage", "district", "opened_by"} <= set(view)
    assert {"open_task", "task_clock", "applicant"} <= set(view)
    # And in the table for people.
    table = cli.run("case", "show", cid, *(("--as", who) if who else ())).stdout
    assert (ID_NUMBER in table) == ("id_number" in in_clear)
    assert mask(ID_NUMBER) in table or ID_NUMBER in table


async def test_erase_after_the_retention_period(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = harness
    cid = await closed_case(h)
    [closed] = [e for e in h.store.read(cid) if e.type == "case.closed"]

    def at(years: int, days: int = 0) -> None:
        """Run the next commands `years` (and `days`) after the case closed (workflow
        time on the time-skipping server is ahead of the wall clock)."""
        moment = years_after(closed.occurred_at, years) + timedelta(days=days)
        monkeypatch.setattr("casework.store.personal.utc_now", lambda: moment)

    default = Cli(h, tmp_path)
    # Within the 10 years (the default), for anyone: refused, nothing changes.
    at(10, days=-1)
    refused = default.run("privacy", "erase", cid, "--as", "city.admin", code=2)
    assert "retention_period" in refused.stderr and "10" in refused.stderr
    at(99)
    refused = default.run("privacy", "erase", cid, "--as", "chongchuan.officer1", code=2)
    assert "role_not_held" in refused.stderr
    assert numbers(shown(default, cid, "chongchuan.officer1")) == CLEAR
    # A configured period counts too.
    at(3, days=1)
    assert (
        "retention_period"
        in default.run("privacy", "erase", cid, "--as", "city.admin", code=2).stderr
    )
    shorter = Cli(h, tmp_path, retention_years=3)
    done = shorter.json("privacy", "erase", cid, "--as", "city.admin", "--comment", "保存期满")
    assert done["erased"] is True and done["erased_by"] == "city.admin"

    for viewer in (None, "chongchuan.officer1", "chongchuan.grassroots2"):
        applicant = shown(default, cid, *((viewer,) if viewer else ()))
        assert numbers(applicant) == dict.fromkeys(CLEAR, ERASED), viewer
        assert applicant["erased"] is True and applicant["revealed"] == []
    table = default.run("case", "show", cid, "--as", "chongchuan.officer1").stdout
    assert ERASED in table and ID_NUMBER not in table

    history = default.json("case", "history", cid)
    assert history[-1]["type"] == "case.personal_data_erased"
    assert history[-1]["actor_id"] == "city.admin"
    assert history[-1]["payload"]["reason"] == "保存期满"
    assert default.json("audit", "verify")["broken"] == []
    before = projections.projection_snapshot(h.engine)
    default.json("projections", "rebuild")
    assert projections.projection_snapshot(h.engine) == before

    again = shorter.run("privacy", "erase", cid, "--as", "city.admin", code=2)
    assert "already_erased" in again.stderr


async def test_erase_refuses_an_open_case(harness: Harness, tmp_path: Path) -> None:
    h = harness
    cid = (await h.open()).case_id
    refused = Cli(h, tmp_path, retention_years=0).run(
        "privacy", "erase", cid, "--as", "city.admin", code=2
    )
    assert "case_open" in refused.stderr


def test_new_key_prints_a_usable_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["privacy", "new-key", "--id", "k2"])
    assert result.exit_code == 0, result.stderr
    from casework.privacy.keys import Keyring

    assert Keyring.parse(result.stdout.strip()).ids == ["k2"]
    bad = CliRunner().invoke(app, ["privacy", "new-key", "--id", "no spaces"])
    assert bad.exit_code == 2 and "--id" in bad.stderr


async def test_the_wrong_keys_are_a_clear_error(harness: Harness, tmp_path: Path) -> None:
    h = harness
    cid = (await h.open()).case_id
    cli = Cli(h, tmp_path)
    cli.env["CASEWORK_ENCRYPTION_KEYS"] = "other:" + "A" * 43 + "="
    failed = cli.run("case", "show", cid, "--as", "chongchuan.officer1", code=1)
    assert "encryption keys" in failed.stderr and "'test-k1'" in failed.stderr
    cli.env["CASEWORK_ENCRYPTION_KEYS"] = "k1:short"
    failed = cli.run("case", "show", cid, "--as", "chongchuan.officer1", code=1)
    assert "CASEWORK_ENCRYPTION_KEYS" in failed.stderr
    # Masked views need no keys at all.
    assert cli.json("case", "show", cid)["applicant"]["revealed"] == []


async def test_the_scheduled_sweep_erases_what_is_due(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`privacy sweep`: a dry run lists, the run erases; an open case is never touched."""
    h = harness
    done = await closed_case(h)
    running = (await h.open()).case_id
    [closed] = [e for e in h.store.read(done) if e.type == "case.closed"]
    moment = years_after(closed.occurred_at, 10) + timedelta(days=1)
    monkeypatch.setattr("casework.store.personal.utc_now", lambda: moment)
    cli = Cli(h, tmp_path)
    assert cli.json("privacy", "sweep", "--as", "city.admin", "--dry-run") == [
        {"case_id": done, "result": "due", "code": None, "message": None}
    ]
    assert numbers(shown(cli, done, "chongchuan.officer1")) == CLEAR
    swept = cli.json("privacy", "sweep", "--as", "city.admin", "--comment", "年度清理")
    assert [(x["case_id"], x["result"]) for x in swept] == [(done, "erased")]
    assert numbers(shown(cli, done, "chongchuan.officer1")) == dict.fromkeys(CLEAR, ERASED)
    untouched = shown(cli, running, "chongchuan.officer1")
    assert untouched["erased"] is False and ERASED not in numbers(untouched).values()
    assert "erased 0" in cli.run("privacy", "sweep", "--as", "city.admin").stdout
    refused = cli.run("privacy", "sweep", "--as", "city.supervisor", code=2)
    assert "role_not_held" in refused.stderr
