"""deploy/ checked without a container engine: every file parses; every CASEWORK_*
variable set exists in the settings model and each service sets what it needs; images
are pinned; probes and health checks call paths the processes really serve; the image
runs as a user without privileges and carries no compiler; the dashboard plots series
casework exports."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi import FastAPI
from sqlalchemy import Engine

from casework import metrics
from casework.api.app import create_app
from casework.settings import Settings
from casework.worker_http import create_worker_app, split_address
from tests.api.conftest import client_for

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S = DEPLOY / "k8s"
YAML_FILES = sorted(DEPLOY.rglob("*.yaml"))
JSON_FILES = sorted(DEPLOY.rglob("*.json"))

SETTINGS = {f"CASEWORK_{name.upper()}" for name in Settings.model_fields}

EVERY_PROCESS = {"CASEWORK_DATABASE_URL", "CASEWORK_TEMPORAL_ADDRESS", "CASEWORK_ENCRYPTION_KEYS"}
"""What a casework process on PostgreSQL cannot start without: the store, Temporal, and
the master keys (casework.privacy.keys refuses to run on PostgreSQL without them)."""
REQUIRED = {
    "migrate": {"CASEWORK_DATABASE_URL", "CASEWORK_ENCRYPTION_KEYS"},
    "schedules": EVERY_PROCESS,
    # ... and a Worker Deployment version, so a release is switched over deliberately.
    "worker": EVERY_PROCESS
    | {
        "CASEWORK_WORKER_HTTP_ADDRESS",
        "CASEWORK_METRICS_TOKEN",
        "CASEWORK_WORKER_DEPLOYMENT_NAME",
        "CASEWORK_WORKER_BUILD_ID",
    },
    # Reachable from the proxy, the public origin for forms and cookies, X-Forwarded-*
    # believed from the proxy only (which needs the proxy secret with it).
    "api": EVERY_PROCESS
    | {
        "CASEWORK_API_HOST",
        "CASEWORK_PUBLIC_URL",
        "CASEWORK_TRUSTED_PROXIES",
        "CASEWORK_PROXY_SECRET",
        "CASEWORK_METRICS_TOKEN",
    },
    "codec-server": {"CASEWORK_ENCRYPTION_KEYS", "CASEWORK_CODEC_SERVER_TOKEN"},
}
PINNED = re.compile(r"^[\w.\-/]+:\d+(\.\d+){1,2}[\w.\-]*$")
"""`name:1.2` or `name:1.2.3-variant`: a version number, never `latest` or no tag."""


def documents(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def compose() -> dict[str, Any]:
    doc: dict[str, Any] = documents(DEPLOY / "compose.yaml")[0]
    return doc


def k8s_objects() -> list[dict[str, Any]]:
    return [
        d
        for p in sorted(K8S.glob("*.yaml"))
        if p.name not in {"temporal-values.yaml", "kustomization.yaml"}
        for d in documents(p)
    ]


def containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for obj in k8s_objects():
        spec = obj.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            yield f"{obj['metadata']['name']}/{c['name']}", c


def k8s_env(container: dict[str, Any]) -> set[str]:
    """Every variable a container gets: `env`, and the keys of the ConfigMaps and
    Secrets its `envFrom` names (from the manifests here)."""
    by_name = {
        (o["kind"], o["metadata"]["name"]): {**o.get("data", {}), **o.get("stringData", {})}
        for o in k8s_objects()
        if o["kind"] in {"ConfigMap", "Secret"}
    }
    names = {e["name"] for e in container.get("env", [])}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            names |= set(by_name[("ConfigMap", source["configMapRef"]["name"])])
        if "secretRef" in source:
            names |= set(by_name[("Secret", source["secretRef"]["name"])])
    return names


def casework_service(container: dict[str, Any]) -> str | None:
    """Which casework process a container runs (its first argument), or None."""
    if "casework" not in container["image"]:
        return None
    command = container.get("args") or []
    return {"serve": "api", "worker": "worker", "migrate": "migrate"}.get(
        command[0], {"schedules": "schedules", "codec-server": "codec-server"}.get(command[0])
    )


# -- every file parses ----------------------------------------------------------------


@pytest.mark.parametrize("path", YAML_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_parses(path: Path) -> None:
    assert documents(path), f"{path} is empty"


@pytest.mark.parametrize("path", JSON_FILES, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_json_parses(path: Path) -> None:
    assert json.loads(path.read_text(encoding="utf-8"))


KUBERNETES_VERSION = "1.33"
"""The oldest Kubernetes release the manifests are checked against (a supported one)."""


def compose_schema() -> dict[str, Any]:
    """The Compose Specification's JSON schema, as check-jsonschema vendors it."""
    from importlib.resources import files

    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema: dict[str, Any] = json.loads(text.read_text(encoding="utf-8"))
    return schema


def test_the_compose_file_is_valid_compose() -> None:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(compose_schema())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose())]
    assert errors == []
    # The check notices a misspelt key (so that passing means something).
    broken = compose()
    broken["services"]["worker"]["healthchek"] = broken["services"]["worker"].pop("healthcheck")
    assert list(validator.iter_errors(broken))


@pytest.mark.parametrize(
    "obj",
    k8s_objects(),
    ids=lambda o: f"{o['kind']}/{o['metadata']['name']}",
)
def test_each_k8s_manifest_is_valid_kubernetes(obj: dict[str, Any]) -> None:
    """Against the Kubernetes API's own schema, strictly: an unknown or misplaced field
    (which `kubectl apply` may drop without a word) fails."""
    import kubernetes_validate

    kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)


def test_the_kubernetes_check_is_strict() -> None:
    import kubernetes_validate

    worker = next(o for o in k8s_objects() if o["kind"] == "Deployment")
    container = worker["spec"]["template"]["spec"]["containers"][0]
    container["readinesProbe"] = container.pop("readinessProbe")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(worker, KUBERNETES_VERSION, strict=True)


def test_the_kustomization_lists_every_manifest() -> None:
    listed = set(documents(K8S / "kustomization.yaml")[0]["resources"])
    present = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "temporal-values.yaml"}
    assert listed == present


# -- variables --------------------------------------------------------------------------


def compose_env() -> dict[str, set[str]]:
    return {name: set(svc.get("environment", {})) for name, svc in compose()["services"].items()}


def test_every_casework_variable_in_compose_is_a_setting() -> None:
    for service, names in compose_env().items():
        unknown = {n for n in names if n.startswith("CASEWORK_")} - SETTINGS
        # The Temporal setup job reads the namespace under casework's name on purpose.
        if service == "temporal-setup":
            unknown -= {"CASEWORK_TEMPORAL_NAMESPACE"}
        assert not unknown, f"compose service {service}: {sorted(unknown)} not in Settings"


def test_every_casework_variable_in_k8s_is_a_setting() -> None:
    for name, c in containers():
        unknown = {n for n in k8s_env(c) if n.startswith("CASEWORK_")} - SETTINGS
        assert not unknown, f"{name}: {sorted(unknown)} not in Settings"


@pytest.mark.parametrize("service", sorted(REQUIRED))
def test_each_compose_service_sets_what_it_needs(service: str) -> None:
    missing = REQUIRED[service] - compose_env()[service]
    assert not missing, f"compose service {service} lacks {sorted(missing)}"


def test_each_k8s_container_sets_what_it_needs() -> None:
    seen = set()
    for name, c in containers():
        service = casework_service(c)
        if service is None:
            continue
        seen.add(service)
        missing = REQUIRED[service] - k8s_env(c)
        assert not missing, f"{name} lacks {sorted(missing)}"
    assert seen == set(REQUIRED)


def test_env_example_names_every_value_compose_requires() -> None:
    """Compose refuses to start while a `${VAR:?...}` is unset: env.example (what the
    README has operators copy to deploy/.env) lists each of them."""
    text = (DEPLOY / "compose.yaml").read_text(encoding="utf-8")
    required = set(re.findall(r"\$\{(\w+):\?", text))
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / "env.example").read_text(encoding="utf-8").splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required, "compose requires nothing?"
    assert required <= example, sorted(required - example)


def test_compose_settings_are_valid_values() -> None:
    """The literal values (not the ${...} an operator fills) load into Settings."""
    for svc in compose()["services"].values():
        env = svc.get("environment", {})
        literal = {
            k.removeprefix("CASEWORK_").lower(): v
            for k, v in env.items()
            if k in SETTINGS and "${" not in str(v)
        }
        Settings(_env_file=None, **literal)  # type: ignore[call-arg]


# -- images -----------------------------------------------------------------------------


def all_images() -> list[tuple[str, str]]:
    found = [(f"compose:{n}", s["image"]) for n, s in compose()["services"].items()]
    found += [(f"k8s:{n}", c["image"]) for n, c in containers()]
    values = documents(K8S / "temporal-values.yaml")[0]
    for part in ("server", "admintools", "web"):
        image = values[part]["image"]
        found.append((f"helm:{part}", f"{image['repository']}:{image['tag']}"))
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("FROM "):
            found.append(("Dockerfile", line.split()[1]))
    return found


@pytest.mark.parametrize("where,image", all_images())
def test_images_are_pinned_to_a_version(where: str, image: str) -> None:
    assert PINNED.match(image), f"{where}: {image} is not pinned to a version"
    assert ":latest" not in image


def test_temporal_runs_one_release_everywhere() -> None:
    versions = {
        image.split(":")[1]
        for _, image in all_images()
        if image.startswith(("temporalio/server", "temporalio/admin-tools"))
    }
    assert len(versions) == 1, versions


# -- Worker Versioning -------------------------------------------------------------------


def test_workers_build_id_is_their_image_tag_and_is_made_current() -> None:
    """The version the workers declare is `casework.<image tag>`, and the one-off that
    makes a version current (compose `worker-version`, the Job `casework-worker-version`)
    names that same version: otherwise new cases wait for workers that never come."""
    services = compose()["services"]
    tag = services["worker"]["image"].split(":")[1]
    worker_env = services["worker"]["environment"]
    version = (
        worker_env["CASEWORK_WORKER_DEPLOYMENT_NAME"],
        worker_env["CASEWORK_WORKER_BUILD_ID"],
    )
    assert version == ("casework", tag)
    setter = services["worker-version"]
    assert setter["depends_on"]["worker"]["condition"] == "service_healthy"
    assert (
        setter["environment"]["CASEWORK_WORKER_DEPLOYMENT_NAME"],
        setter["environment"]["CASEWORK_WORKER_BUILD_ID"],
    ) == version
    assert (DEPLOY / "temporal" / "set-current-version.sh").name in " ".join(setter["entrypoint"])

    k8s_tag = str(documents(K8S / "kustomization.yaml")[0]["images"][0]["newTag"])
    for obj in k8s_objects():
        pod = obj.get("spec", {}).get("template", {}).get("spec", {})
        for c in pod.get("containers", []):
            env = {e["name"]: e.get("value") for e in c.get("env", [])}
            if (
                casework_service(c) == "worker"
                or obj["metadata"]["name"] == "casework-worker-version"
            ):
                assert c["image"].endswith(f":{k8s_tag}") or "admin-tools" in c["image"]
                assert (
                    env["CASEWORK_WORKER_DEPLOYMENT_NAME"],
                    env["CASEWORK_WORKER_BUILD_ID"],
                ) == (
                    "casework",
                    k8s_tag,
                ), obj["metadata"]["name"]
            if casework_service(c) == "worker":
                # One Deployment per build: the version is in its selector.
                selector = obj["spec"]["selector"]["matchLabels"]
                assert selector["app.kubernetes.io/version"] == k8s_tag
                assert obj["spec"]["template"]["metadata"]["labels"].items() >= selector.items()


# -- the image ---------------------------------------------------------------------------


def final_stage() -> list[str]:
    lines = (DEPLOY / "Dockerfile").read_text().splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[start:]


def test_the_image_runs_as_a_user_without_privileges() -> None:
    users = [line.split()[1] for line in final_stage() if line.startswith("USER ")]
    assert users, "the final stage sets no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}
    for _, c in containers():
        if "casework" in c["image"]:
            assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_the_final_stage_has_no_compiler() -> None:
    stage = "\n".join(final_stage()).lower()
    for compiler in ("gcc", "g++", "clang", "build-essential", "cc1", "make ", "rustc"):
        assert compiler not in stage, compiler
    assert "apt-get install" not in stage  # nothing installed beyond the base image


# -- probes and health checks ------------------------------------------------------------


async def served(app: FastAPI, path: str) -> bool:
    """The process answers `path` with a route of its own (not 404 or 405): a probe
    may get 503 while a dependency is away, which is what it is for."""
    async with client_for(app) as client:
        return (await client.get(path)).status_code not in {404, 405}


@pytest.fixture
def api_app(sqlite_engine: Engine) -> FastAPI:
    return create_app(sqlite_engine, None, Settings(_env_file=None))  # type: ignore[call-arg]


@pytest.fixture
def worker_app(sqlite_engine: Engine) -> FastAPI:
    return create_worker_app(sqlite_engine, None, lambda: True)  # type: ignore[arg-type]


async def test_the_probe_check_can_tell_a_missing_path(api_app: FastAPI) -> None:
    assert not await served(api_app, "/ready")
    assert await served(api_app, "/healthz")


async def test_k8s_probes_call_endpoints_that_exist(api_app: FastAPI, worker_app: FastAPI) -> None:
    checked = 0
    for name, c in containers():
        assert c["resources"]["requests"], f"{name} requests no resources"
        if casework_service(c) not in {"api", "worker", "codec-server"}:
            continue  # a Job's container: it ends, nothing probes it
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for kind in ("readinessProbe", "livenessProbe"):
            probe = c.get(kind, {}).get("httpGet")
            if probe is None:
                continue
            checked += 1
            if casework_service(c) == "api":
                assert probe["port"] == int(env["CASEWORK_API_PORT"]), name
                assert await served(api_app, probe["path"]), (name, probe["path"])
            else:
                assert casework_service(c) == "worker", name
                assert probe["port"] == split_address(env["CASEWORK_WORKER_HTTP_ADDRESS"])[1]
                assert await served(worker_app, probe["path"]), (name, probe["path"])
        assert "readinessProbe" in c and "livenessProbe" in c, f"{name} lacks a probe"
    assert checked == 4


async def test_compose_health_checks_call_endpoints_that_exist(
    api_app: FastAPI, worker_app: FastAPI
) -> None:
    services = compose()["services"]
    for name, app, port_of in (
        ("api", api_app, lambda env: int(env["CASEWORK_API_PORT"])),
        ("worker", worker_app, lambda env: split_address(env["CASEWORK_WORKER_HTTP_ADDRESS"])[1]),
    ):
        test = " ".join(services[name]["healthcheck"]["test"])
        url = re.search(r"http://127\.0\.0\.1:(\d+)(/[\w/]*)", test)
        assert url, f"{name}: health check calls no local URL: {test}"
        assert int(url.group(1)) == port_of(services[name]["environment"])
        assert await served(app, url.group(2)), (name, url.group(2))


def test_compose_commands_are_casework_commands() -> None:
    from typer.main import get_command

    from casework.cli import app

    commands = set(get_command(app).commands)  # type: ignore[attr-defined]
    for name, svc in compose()["services"].items():
        if "build" in svc:
            command = svc["command"]
            words = shlex.split(command) if isinstance(command, str) else command
            assert words[0] in commands, f"compose service {name}: casework {words[0]}?"
    for name, c in containers():
        if "casework" in c["image"]:
            assert c["args"][0] in commands, name


def test_the_proxy_keeps_metrics_and_identity_headers_inside() -> None:
    caddy = (DEPLOY / "proxy" / "Caddyfile").read_text()
    assert re.search(r"@internal path /metrics", caddy)
    assert "header_up -X-Casework-User" in caddy
    assert "header_up -X-Casework-Proxy-Secret" in caddy


# -- the dashboard -----------------------------------------------------------------------


def test_the_dashboard_plots_series_casework_exports() -> None:
    dashboard = json.loads((DEPLOY / "grafana" / "casework.json").read_text())
    exprs = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    used = set(re.findall(r"\bcasework_[a-z_]+", exprs))
    exported = {
        "casework_http_requests_total",
        "casework_http_request_duration_seconds_bucket",
        "casework_events_appended_total",
        "casework_payments_total",
        "casework_tasks_open",
        "casework_tasks_overdue",
        "casework_tasks_escalated",
    }
    assert used <= exported, used - exported
    # ... and each of those is one of casework.metrics' families.
    families = {
        metrics.HTTP_REQUESTS._name,
        metrics.HTTP_LATENCY._name,
        metrics.EVENTS_APPENDED._name,
        metrics.PAYMENTS._name,
    }
    for name in used - {
        "casework_tasks_open",
        "casework_tasks_overdue",
        "casework_tasks_escalated",
    }:
        assert any(name.startswith(f) for f in families), name
