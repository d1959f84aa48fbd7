"""Worker Versioning (deploy/README.md, "Upgrading workers"): `casework worker` with
CASEWORK_WORKER_DEPLOYMENT_NAME and CASEWORK_WORKER_BUILD_ID declares that version to
Temporal. On the real dev server: once the version is made current through the client
API, the versioned worker runs a hardship case; when a second build becomes current and
the first build's worker stops, the running case moves to the new build (auto-upgrade,
docs/DECISIONS.md) and finishes there, every event once. Half-set settings are refused
naming the variable."""

from __future__ import annotations

import asyncio
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from pydantic import ValidationError
from temporalio.api.enums.v1 import VersioningBehavior as VersioningBehaviorProto
from temporalio.api.workflowservice.v1 import SetWorkerDeploymentCurrentVersionRequest
from temporalio.client import Client
from temporalio.common import VersioningBehavior
from temporalio.service import RPCError

from casework.settings import Settings
from casework.temporal import worker_deployment
from tests.e2e.test_faults import (  # noqa: F401 - the dev server and site fixtures
    CASEWORK,
    GR2,
    Site,
    WorkerProcess,
    assert_exactly_once,
    complete,
    site_factory,
    temporal,
)

# -- the settings -----------------------------------------------------------------------


def settings(**values: str) -> Settings:
    """Settings from these values only (not the environment the tests run in)."""
    return Settings.model_validate(values)


def test_unset_is_an_unversioned_worker() -> None:
    assert worker_deployment(settings()) is None


def test_a_versioned_worker_auto_upgrades_by_default() -> None:
    config = worker_deployment(settings(worker_deployment_name="casework", worker_build_id="0.2.0"))
    assert config is not None
    assert config.version.to_canonical_string() == "casework.0.2.0"
    assert config.use_worker_versioning is True
    assert config.default_versioning_behavior is VersioningBehavior.AUTO_UPGRADE
    pinned = worker_deployment(
        settings(
            worker_deployment_name="casework",
            worker_build_id="0.2.0",
            worker_versioning_behavior="pinned",
        )
    )
    assert pinned is not None and pinned.default_versioning_behavior is VersioningBehavior.PINNED


@pytest.mark.parametrize(
    "values,named",
    [
        ({"worker_build_id": "0.2.0"}, "CASEWORK_WORKER_DEPLOYMENT_NAME"),
        ({"worker_deployment_name": "casework"}, "CASEWORK_WORKER_BUILD_ID"),
        ({"worker_deployment_name": "case.work", "worker_build_id": "1"}, "worker_deployment_name"),
        ({"worker_deployment_name": "casework", "worker_build_id": ""}, "worker_build_id"),
        (
            {
                "worker_deployment_name": "cw",
                "worker_build_id": "1",
                "worker_versioning_behavior": "x",
            },
            "worker_versioning_behavior",
        ),
    ],
)
def test_half_or_bad_versioning_settings_are_refused_naming_the_field(
    values: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(**values)


def test_the_worker_command_refuses_a_build_id_without_a_deployment(tmp_path: Path) -> None:
    """Before it connects anywhere: the variable it lacks, no traceback, and none of the
    other settings' values (pydantic's own message would repeat them all)."""
    done = subprocess.run(
        [CASEWORK, "worker"],
        env={
            "CASEWORK_WORKER_BUILD_ID": "0.2.0",
            "CASEWORK_HOME": str(tmp_path),
            "CASEWORK_DATABASE_URL": "postgresql+psycopg://casework:pw-s3cret@db/casework",
            "PATH": "",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1, done.stderr
    assert "CASEWORK_WORKER_DEPLOYMENT_NAME" in done.stderr
    assert "Traceback" not in done.stderr
    assert "pw-s3cret" not in done.stderr and "input_value" not in done.stderr, done.stderr


# -- on the dev server ------------------------------------------------------------------


def start_versioned(site: Site, deployment: str, build_id: str) -> WorkerProcess:
    """`casework worker` of one build, with the site's settings."""
    plain = site.env
    site.env = {
        **plain,
        "CASEWORK_WORKER_DEPLOYMENT_NAME": deployment,
        "CASEWORK_WORKER_BUILD_ID": build_id,
    }
    try:
        return site.start_worker()
    finally:
        site.env = plain


async def set_current(
    client: Client, worker: WorkerProcess, deployment: str, build_id: str, timeout: float = 60
) -> None:
    """What `temporal worker deployment set-current-version` does, through the client API.
    The server refuses while it has seen no poller of the version (the worker is still
    starting): asked again until it accepts."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await client.workflow_service.set_worker_deployment_current_version(
                SetWorkerDeploymentCurrentVersionRequest(
                    namespace=client.namespace,
                    deployment_name=deployment,
                    build_id=build_id,
                    identity="tests/deploy",
                )
            )
            return
        except RPCError as err:
            if worker.proc.poll() is not None:
                raise AssertionError(f"worker exited: {worker.tail()}") from err
            if time.monotonic() > deadline:
                raise AssertionError(f"{deployment}.{build_id} never became current") from err
            await asyncio.sleep(0.5)


async def version_of(site: Site, case_id: str) -> tuple[str, int]:
    """The build a case's workflow last ran on, and its versioning behaviour."""
    described = await site.client.get_workflow_handle(case_id).describe()
    info = described.raw_description.workflow_execution_info.versioning_info
    return info.deployment_version.build_id, info.behavior


@pytest.mark.integration
@pytest.mark.timeout(240)
async def test_a_case_runs_on_the_current_version_and_moves_to_the_next(
    site_factory: Callable[..., Awaitable[Site]],  # noqa: F811
) -> None:
    site = await site_factory("sqlite")
    deployment = f"casework-{uuid.uuid4().hex[:8]}"
    first = start_versioned(site, deployment, "0.1.0")
    await set_current(site.client, first, deployment, "0.1.0")

    case_id = (await site.open()).case_id
    await site.act(case_id, GR2, "approve", "材料齐全", stage="grassroots_review")
    assert await version_of(site, case_id) == (
        "0.1.0",
        VersioningBehaviorProto.VERSIONING_BEHAVIOR_AUTO_UPGRADE,
    )

    # The release: the new build's worker beside the old, made current, the old stopped.
    second = start_versioned(site, deployment, "0.2.0")
    await set_current(site.client, second, deployment, "0.2.0")
    first.stop()

    view = await complete(site, case_id)
    assert (view.status, view.outcome) == ("closed", "approved")
    assert (await version_of(site, case_id))[0] == "0.2.0"
    await assert_exactly_once(site, case_id)
    assert second.proc.poll() is None, second.tail()
