"""Metrics after a case runs: the API's `/metrics` (requests by route template, task
gauges per district and stage, events appended), the worker's endpoint (events, payments,
its probes) and the Temporal SDK's own Prometheus exporter; and who may scrape."""

from __future__ import annotations

import asyncio
import socket
import uuid

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client

from casework.domain.hardship import HardshipConfig
from casework.service import CaseService
from casework.temporal import make_runtime
from casework.worker_http import create_worker_app, split_address
from tests.api.conftest import bearer, client_for, make_app
from tests.conftest import DATA_CONVERTER
from tests.factories import application, application_data
from tests.workflows.conftest import Harness
from tests.workflows.steps import DISTRICT, GR2, LEADER, QUICK, advance, after_disbursement
from worker import build_worker

OPENER = "chongchuan.grassroots1"


@pytest.fixture
def config() -> HardshipConfig:
    return QUICK


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(client: httpx.AsyncClient, **headers: str) -> str:
    r = await client.get("/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


async def test_api_metrics_after_a_case_runs(harness: Harness) -> None:
    h = harness
    async with client_for(make_app(h.engine, h.service)) as api:
        before = await scrape(api)
        r = await api.post(
            "/api/cases/hardship", json=application_data(), headers=bearer(h.engine, OPENER)
        )
        assert r.status_code == 201, r.text
        case_id = r.json()["case_id"]
        h.opened.append(case_id)
        r = await api.post(
            f"/api/cases/{case_id}/actions/claim", json={}, headers=bearer(h.engine, GR2)
        )
        assert r.status_code == 200, r.text
        await api.get("/no/such/page")
        after = await scrape(api)

    action_route = "/api/cases/{case_id:case_id}/actions/{action}"
    count = "casework_http_requests_total"
    assert value(after, count, method="POST", route=action_route, status="200") == (
        value(before, count, method="POST", route=action_route, status="200") + 1
    )
    assert value(after, count, method="GET", route="<unrouted>", status="404") >= 1
    latency = "casework_http_request_duration_seconds_count"
    assert value(after, latency, method="POST", route="/api/cases/hardship") >= 1
    assert case_id not in after  # route templates, never raw paths
    # The case's first task is open, claimed, in its district and stage.
    assert value(after, "casework_tasks_open", district=DISTRICT, stage="grassroots_review") == 1
    assert value(after, "casework_tasks_overdue", district=DISTRICT, stage="grassroots_review") == 0
    assert (
        value(after, "casework_tasks_escalated", district=DISTRICT, stage="grassroots_review") == 0
    )
    # The worker runs in this process: its appends are counted in the same registry.
    assert value(after, "casework_events_appended_total") > value(
        before, "casework_events_appended_total"
    )


async def test_worker_endpoint_counts_payments_and_their_failures(harness: Harness) -> None:
    h = harness
    worker_app = create_worker_app(h.engine, h.env.client, lambda: True)
    async with client_for(worker_app) as endpoint:
        before = await scrape(endpoint)
        h.bank.fail_next = 1
        cid = (await h.open(requested_amount_fen=300_000)).case_id
        await advance(h, cid, "district_approval")
        await h.act(cid, LEADER, "approve", "同意拨付")
        v = await after_disbursement(h, cid)
        assert v.stage == "receipt_confirmation"
        after = await scrape(endpoint)
        for outcome, more in (("failed", 1), ("paid", 1), ("rejected", 0)):
            labels = {"kind": "case", "outcome": outcome}
            assert value(after, "casework_payments_total", **labels) == (
                value(before, "casework_payments_total", **labels) + more
            ), outcome
        events = "casework_events_appended_total"
        assert value(after, events) >= value(before, events) + 10
        assert "casework_tasks_open" not in after  # the API's, not each worker's


async def test_worker_probes_follow_the_worker(harness: Harness) -> None:
    h = harness
    running = True
    app = create_worker_app(h.engine, h.env.client, lambda: running)
    async with client_for(app) as endpoint:
        assert (await endpoint.get("/healthz")).status_code == 200
        r = await endpoint.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json()["checks"] == {"database": "ok", "temporal": "ok", "worker": "ok"}
        running = False
        assert (await endpoint.get("/healthz")).status_code == 503
        r = await endpoint.get("/readyz")
        assert r.status_code == 503 and r.json()["checks"]["worker"] == "stopped"


@pytest.mark.parametrize("where", ["api", "worker"])
async def test_a_metrics_token_is_required_when_set(harness: Harness, where: str) -> None:
    h = harness
    app = (
        make_app(h.engine, h.service, metrics_token="scrape-me")
        if where == "api"
        else create_worker_app(h.engine, h.env.client, lambda: True, "scrape-me")
    )
    async with client_for(app) as client:
        assert (await client.get("/metrics")).status_code == 401
        r = await client.get("/metrics", headers={"Authorization": "Bearer wrong"})
        assert r.status_code == 401
        r = await client.get("/metrics", headers={"Authorization": "Bearer scrape-me"})
        assert r.status_code == 200 and "casework_events_appended_total" in r.text
        # A user's sign-in token is not a scrape token.
        assert (await client.get("/metrics", headers=bearer(h.engine, OPENER))).status_code == 401


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_the_sdk_exports_its_metrics_in_prometheus_format(harness: Harness) -> None:
    h = harness
    address = f"127.0.0.1:{free_port()}"
    client = await Client.connect(
        h.env.client.service_client.config.target_host,
        namespace=h.env.client.namespace,
        data_converter=DATA_CONVERTER,
        runtime=make_runtime(address),
    )
    queue = f"tq-{uuid.uuid4()}"
    service = CaseService(client, h.engine, queue)
    worker = build_worker(client, h.engine, task_queue=queue, bank=h.bank, civil_affairs=h.civil)
    async with worker:
        opener = h.directory.get(OPENER).actor()
        view = await service.open_hardship(application(), opener)
        h.opened.append(view.case_id)
        async with httpx.AsyncClient() as http:
            text = (await http.get(f"http://{address}/metrics")).text
        await h.terminate_unfinished()  # while this queue's worker can answer
    names = {f.name for f in text_string_to_metric_families(text)}
    # The series deploy/grafana/casework.json plots.
    for name in (
        "temporal_workflow_task_schedule_to_start_latency",
        "temporal_worker_task_slots_available",
        "temporal_sticky_cache_size",
        "temporal_request",
    ):
        assert name in names, sorted(names)


def test_worker_http_address_is_checked() -> None:
    assert split_address("0.0.0.0:9100") == ("0.0.0.0", 9100)
    assert split_address(":9100") == ("0.0.0.0", 9100)
    with pytest.raises(ValueError, match="CASEWORK_WORKER_HTTP_ADDRESS"):
        split_address("9100")
    with pytest.raises(ValueError, match="CASEWORK_WORKER_HTTP_ADDRESS"):
        split_address("host:99999")


async def test_the_worker_serves_its_endpoint_while_it_runs(harness: Harness) -> None:
    from casework.settings import Settings
    from worker import worker_http_server

    h = harness
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(_env_file=None, worker_http_address=address)  # type: ignore[call-arg]
    worker = build_worker(h.env.client, h.engine, task_queue=f"tq-{uuid.uuid4()}")
    async with worker:
        server = worker_http_server(settings, h.engine, h.env.client, worker)
        serving = asyncio.create_task(server.serve())
        try:
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                for _ in range(100):
                    if server.started:
                        break
                    await asyncio.sleep(0.02)
                assert (await http.get("/healthz")).json() == {"status": "ok"}
                assert (await http.get("/readyz")).status_code == 200
        finally:
            server.should_exit = True
            await serving
    assert worker.is_running is False
