"""deploy/k8s rehearsed without a cluster, as tests/deploy/test_compose_rehearsal.py does
for the compose file: each container of the manifests that runs casework or a
deploy-time script (the Jobs, the worker and API Deployments, the codec server) runs as
a process with its own arguments (after the image's ENTRYPOINT, or its own `command`)
and the environment Kubernetes would give it: its `env` (with `valueFrom` Secret keys),
then the ConfigMap and the Secret its `envFrom` names. The order is the README's: the
migration Job, the Temporal set-up Job, the workers (until their readiness probe
answers), the Job that makes their version current, the API, the codec server.

Stood in for: the Temporal cluster of the Helm chart by the Temporal dev server, the
managed PostgreSQL by the local one (a fresh schema). Rewritten: only the hosts those
name (the Secret's database URL, `temporal-frontend.temporal.svc:7233`), the Secret's
CHANGE-ME values (as `kubectl create secret` would replace them), and each container
port (free local ports, probes following them). Added: CASEWORK_HOME and the short
waiting periods (CASEWORK_CONFIG), as in the compose rehearsal.

Then the readiness and liveness probes answer, and one hardship case goes through the
API to its end on the workers' Worker Deployment version. About 40 s: in `make test`."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url
from temporalio.client import Client

from casework.devserver import DevServer
from tests.deploy.test_compose_rehearsal import (
    BIN,
    DOT_ENV,
    Process,
    database_url,  # noqa: F401 - the fixture
    entrypoint,
    officers,
)
from tests.deploy.test_manifests import k8s_objects
from tests.e2e.test_faults import FAST_CONFIG, free_port

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

TEMPORAL_FRONTEND = "temporal-frontend.temporal.svc:7233"
RUNS = [
    ("Job", "casework-migrate"),
    ("Job", "casework-temporal-setup"),
    ("Deployment", "casework-worker"),
    ("Job", "casework-worker-version"),
    ("Deployment", "casework-api"),
    ("Deployment", "casework-codec-server"),
]
"""deploy/README.md's order ("Bring it up (Kubernetes)", "Upgrading workers")."""
REPLICAS = 2
"""Each Deployment's `replicas` here (the worker's and the API's are 2 as well)."""


def objects() -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in k8s_objects()}


@dataclass
class Cluster:
    home: Path
    database_url: str
    temporal: str
    config: Path
    processes: dict[str, list[Process]] = field(default_factory=dict)

    def secret_values(self) -> dict[str, str]:
        """The Secret as an operator creates it: its keys, real values."""
        secret = objects()[("Secret", "casework-secrets")]["stringData"]
        assert make_url(secret["CASEWORK_DATABASE_URL"]).database == "casework"
        real = {
            "CASEWORK_DATABASE_URL": self.database_url,
            **{k: v for k, v in DOT_ENV.items() if k.startswith("CASEWORK_")},
        }
        assert set(secret) <= set(real), set(secret) - set(real)
        return {k: real[k] for k in secret}

    def environment(self, container: dict[str, Any], ports: dict[int, int]) -> dict[str, str]:
        """What Kubernetes gives the container: envFrom (ConfigMap, Secret), then env."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            if "configMapRef" in source:
                data = objects()[("ConfigMap", source["configMapRef"]["name"])]["data"]
                env |= {k: str(v) for k, v in data.items()}
            if "secretRef" in source:
                assert source["secretRef"]["name"] == "casework-secrets"
                env |= self.secret_values()
        for item in container.get("env", []):
            if "value" in item:
                env[item["name"]] = str(item["value"])
            else:
                ref = item["valueFrom"]["secretKeyRef"]
                assert ref["name"] == "casework-secrets", ref
                env[item["name"]] = self.secret_values()[ref["key"]]
        for key, value in env.items():
            if value == TEMPORAL_FRONTEND:
                env[key] = self.temporal
            elif key == "CASEWORK_API_HOST":
                env[key] = "127.0.0.1"
            elif key == "CASEWORK_API_PORT":
                env[key] = str(ports.setdefault(int(value), free_port()))
            elif value.startswith("0.0.0.0:"):
                env[key] = f"127.0.0.1:{ports.setdefault(int(value.split(':')[1]), free_port())}"
        assert "CHANGE-ME" not in str(env)
        return env

    def start(self, name: str, container: dict[str, Any]) -> Process:
        ports: dict[int, int] = {}
        env = self.environment(container, ports)
        if "casework" in container["image"]:
            assert "command" not in container, "the image's ENTRYPOINT runs casework"
            args = list(container["args"])
            for i, word in enumerate(args[:-1]):
                if word == "--host":
                    args[i + 1] = "127.0.0.1"
                elif word == "--port":
                    args[i + 1] = str(ports.setdefault(int(args[i + 1]), free_port()))
            cmd = [*entrypoint(), *args]
        else:  # admin-tools: its own shell script, with this environment's `temporal`
            assert container["image"].startswith("temporalio/admin-tools:"), container["image"]
            cmd = [*container["command"], *container["args"]]
        for port in container.get("ports", []):
            ports.setdefault(port["containerPort"], free_port())
        n = len(self.processes.get(name, []))
        home = self.home / f"{name}-{container['name']}-{n}"
        home.mkdir()
        env |= {"CASEWORK_HOME": str(home), "CASEWORK_CONFIG": str(self.config)}
        log = home / "output.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - the manifests' own commands
                cmd,
                env={"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8", **env},
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(f"{name}/{container['name']}", proc, log, ports)
        self.processes.setdefault(name, []).append(process)
        return process

    def report(self) -> str:
        return "\n".join(
            f"--- {p.name} (exit {p.proc.poll()}) ---\n{p.tail()}"
            for group in self.processes.values()
            for p in group
        )

    def stop(self) -> None:
        for group in reversed(list(self.processes.values())):
            for p in group:
                p.stop()


async def probe(process: Process, spec: dict[str, Any], timeout: float = 60) -> None:
    """Until the probe succeeds as the kubelet judges it (2xx/3xx; a TCP connect)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if process.proc.poll() is not None:
                raise AssertionError(f"{process.name} exited with {process.proc.returncode}")
            assert time.monotonic() < deadline, f"{process.name}: {spec} never succeeded"
            if "httpGet" in spec:
                port = process.ports[spec["httpGet"]["port"]]
                with contextlib.suppress(httpx.HTTPError):
                    answer = await http.get(f"http://127.0.0.1:{port}{spec['httpGet']['path']}")
                    if 200 <= answer.status_code < 400:
                        return
            else:
                port = process.ports[spec["tcpSocket"]["port"]]
                with contextlib.suppress(OSError):
                    _, writer = await asyncio.open_connection("127.0.0.1", port)
                    writer.close()
                    return
            await asyncio.sleep(0.3)


async def bring_up(cluster: Cluster) -> None:
    manifests = objects()
    for kind, name in RUNS:
        pod = manifests[(kind, name)]["spec"]["template"]["spec"]
        if kind == "Job":
            started = [cluster.start(name, c) for c in pod["containers"]]
            codes = await asyncio.gather(*(asyncio.to_thread(p.proc.wait, 150) for p in started))
            assert codes == [0] * len(started), f"Job {name} exited with {codes}"
            continue
        assert manifests[(kind, name)]["spec"].get("replicas", 1) <= REPLICAS
        started = [cluster.start(name, c) for _ in range(REPLICAS) for c in pod["containers"]]
        for p in started:
            [container] = pod["containers"]
            await probe(p, container["readinessProbe"])
            await probe(p, container["livenessProbe"])


@pytest.fixture
async def cluster(tmp_path: Path, database_url: str) -> AsyncIterator[Cluster]:  # noqa: F811
    server = DevServer(tmp_path / "temporal", f"127.0.0.1:{free_port()}", free_port(), True)
    await server.start()
    config = tmp_path / "config.toml"
    config.write_text(FAST_CONFIG, encoding="utf-8")
    stack = Cluster(tmp_path / "pods", database_url, server.address, config)
    stack.home.mkdir()
    try:
        yield stack
    finally:
        stack.stop()
        server.stop()


@pytest.mark.timeout(300)
async def test_the_k8s_manifests_containers_run_and_serve_a_case(cluster: Cluster) -> None:
    assert {n for _, n in RUNS} >= {
        o["metadata"]["name"] for o in k8s_objects() if o["kind"] in ("Job", "Deployment")
    }, "a Job or Deployment the rehearsal does not run"
    started = time.monotonic()
    try:
        await bring_up(cluster)
    except BaseException:
        print(cluster.report())  # noqa: T201 - why, in the test's output
        raise
    up = time.monotonic() - started

    api = cluster.processes["casework-api"][0]
    team = officers(cluster.database_url, f"http://127.0.0.1:{api.ports[8000]}")
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            view = await team.drive(http)
        except BaseException:
            print(cluster.report())  # noqa: T201
            raise
    assert (view["status"], view["outcome"]) == ("closed", "approved"), view

    worker = objects()[("Deployment", "casework-worker")]["spec"]["template"]["spec"]
    env = {e["name"]: e.get("value") for e in worker["containers"][0]["env"]}
    plain = await Client.connect(cluster.temporal)
    described = await plain.get_workflow_handle(view["case_id"]).describe()
    version = described.raw_description.workflow_execution_info.versioning_info.deployment_version
    assert (version.deployment_name, version.build_id) == (
        env["CASEWORK_WORKER_DEPLOYMENT_NAME"],
        env["CASEWORK_WORKER_BUILD_ID"],
    )
    print(f"\nk8s containers up in {up:.1f}s; case closed after {time.monotonic() - started:.1f}s")  # noqa: T201
