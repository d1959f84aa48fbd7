"""The embedded stack behind `make run` and `casework demo`: the Temporal dev server
(when none is reachable), a worker, the HTTP API and demo data, in one process tree
that Ctrl-C stops completely."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
import uvicorn
from rich.console import Console
from sqlalchemy import Engine
from temporalio.client import Client

from casework.api.app import create_app
from casework.config import DEMO_CONFIG, load_process_config
from casework.demo.audit import AuditDriver, seed_audits
from casework.demo.backlog import seed_backlog
from casework.demo.drive import Driver, run_demo
from casework.demo.legal_aid import seed_legal_aid
from casework.demo.people import DEMO_PASSWORD
from casework.demo.programme import seed_demo_programme
from casework.demo.refunds import seed_demo_refunds
from casework.demo.seed import seed_reference_data
from casework.devserver import DevServer, reachable
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action, CaseView
from casework.logging import configure_logging
from casework.privacy.codec import keyring_of
from casework.service import CaseService
from casework.settings import Settings
from casework.store.db import make_engine, migrate
from casework.store.directory import Directory
from casework.store.queries import Queries
from casework.temporal import connect
from casework.tracing import configure_tracing

log = structlog.get_logger("casework.stack")
console = Console(stderr=True)


def with_demo_config(settings: Settings) -> Settings:
    """The demo stack's waiting periods last seconds unless CASEWORK_CONFIG says otherwise."""
    if settings.config is None:
        return settings.model_copy(update={"config": DEMO_CONFIG})
    return settings


@dataclass
class Stack:
    settings: Settings
    engine: Engine
    client: Client
    service: CaseService
    server: DevServer | None

    def driver(self) -> Driver:
        return Driver(self.service, Directory(self.engine), Queries(self.engine))


@contextlib.asynccontextmanager
async def embedded_stack(settings: Settings, *, start_worker: bool = True) -> AsyncIterator[Stack]:
    """Database migrated and seeded, Temporal reachable (started here if needed), a worker."""
    from activities.configuration import ConfigSource
    from worker import build_worker  # the composition root lives at the top level

    engine = make_engine(settings.database_url)
    migrate(engine)
    seed_reference_data(engine)
    server: DevServer | None = None
    if not reachable(settings.temporal_address):
        server = DevServer(settings.home, settings.temporal_address, settings.temporal_ui_port)
        console.print(
            f"启动 Temporal 开发服务器 (starting Temporal dev server) at {server.address} ..."
        )
        await server.start()
    try:
        client = await connect(settings)
        service = CaseService(client, engine, settings.task_queue)
        stack = Stack(settings, engine, client, service, server)
        if not start_worker:
            yield stack
            return
        # Re-read when the operator edits the file: a changed limit applies to tasks
        # opened after the change.
        config = ConfigSource.from_files(settings.config, settings.holidays_file)
        worker = build_worker(
            client,
            engine,
            task_queue=settings.task_queue,
            config=config,
            max_cached_workflows=settings.max_cached_workflows,
        )
        config.warn_uncovered_years()
        async with worker:
            yield stack
    finally:
        if server is not None:
            server.stop()
        engine.dispose()


async def seed_demo_cases(stack: Stack) -> list[CaseView]:
    """A few open cases at different stages, so inboxes are not empty: five hardship
    cases and eight that have waited for days, for the supervisors' views
    (casework.demo.backlog), a legal-aid case at each of the 14 stations
    (casework.demo.legal_aid), and two audit projects with findings in different states
    (casework.demo.audit), seeded side by side; then a relief programme whose payments wait for their run, and last
    year's union-dues refunds waiting for theirs."""
    driver = stack.driver()
    driver.first_index = 0  # an empty database: the first demo people

    async def hardship() -> list[CaseView]:
        views = [await driver.open(i) for i in range(5)]
        await driver.act(views[1], "grassroots", Action.APPROVE, "材料齐全")
        # Something for the supervisors' views on the first run: 海门区's supervisor puts
        # 王五's review on hold (`stuck` and the board show the paused clock).
        supervisor = driver.directory.get("haimen.supervisor").actor()
        await stack.service.act(
            views[2].case_id,
            supervisor,
            Action.HOLD,
            "申请人住院，暂停计时 (applicant in hospital)",
        )
        # Cases opened working days ago, overdue, escalated, idle, on hold and waiting
        # for information, in each district (casework.demo.backlog).
        config = load_process_config(stack.settings.config, stack.settings.holidays_file)
        return views + await seed_backlog(stack.service, driver.directory, config.hardship)

    audits = AuditDriver(stack.service, driver.directory, driver.queries, driver.log)
    hardship_views, legal_aid_views, audit_views = await asyncio.gather(
        hardship(), seed_legal_aid(driver.legal_aid()), seed_audits(audits)
    )
    # A relief programme waiting for its payment run (casework.demo.programme).
    today = datetime.now(UTC).astimezone(CHINA_TZ).date()
    await asyncio.to_thread(
        seed_demo_programme, stack.engine, keyring_of(stack.client.data_converter), today
    )
    # Last year's union-dues refunds: the payment file and 300 applications waiting for
    # their run (casework.demo.refunds).
    await asyncio.to_thread(
        seed_demo_refunds, stack.engine, keyring_of(stack.client.data_converter), today.year - 1
    )
    await seed_demo_campaign(stack)
    return [*hardship_views, *legal_aid_views, *audit_views]


DEMO_CAMPAIGN_NOMINATIONS = 60


async def seed_demo_campaign(stack: Stack) -> str:
    """An award campaign with nominations at several stages (casework.demo.campaign),
    each given its workflow so it can be acted on, and the campaign's own workflow."""
    from casework.campaign_service import CampaignService
    from casework.demo.campaign import seed_campaign, start_workflows

    # Its steps are a second apart from `start`: begun an hour ago, none lies in the
    # future (the board showed their median age as -0.0 days).
    start = datetime.now(UTC) - timedelta(hours=1)
    seeded = await asyncio.to_thread(
        seed_campaign, stack.engine, DEMO_CAMPAIGN_NOMINATIONS, 2027, None, start
    )
    queue = stack.settings.task_queue
    await start_workflows(stack.client, queue, seeded)
    await CampaignService(stack.client, stack.engine, queue).ensure_running(seeded.campaign_id)
    return seeded.campaign_id


def _banner(stack: Stack, api_url: str) -> str:
    """What `make run` prints once everything is up: the addresses (the web pages'
    sign-in page first), where it keeps its data, and commands to try; every line fits
    an 80-column terminal (tests/cli/test_banner.py)."""
    s = stack.settings
    ui = stack.server.ui_url if stack.server else f"(Temporal at {s.temporal_address})"
    config = "demo (casework/demo/config.toml)" if s.config == DEMO_CONFIG else s.config
    return f"""
[bold]casework 已启动 (running)[/]
  网页 web       : {api_url}/login
                   演示密码 demo password: {DEMO_PASSWORD}
  HTTP API       : {api_url}/docs
  Temporal UI    : {ui}
  Temporal       : {s.temporal_address} (task queue {s.task_queue})
  数据库 database: {s.database_url}
  配置 config    : {config or "processes.md defaults"}

在另一个终端试试 (try in a second terminal):
  export PATH="$PWD/.venv/bin:$PATH"       # or type .venv/bin/casework
  casework users list
  casework inbox --as chongchuan.grassroots2
  casework act HR-<year>-000001 approve --as chongchuan.grassroots2 -m 同意
  casework case show HR-<year>-000001
  casework case show LA-<year>-000004       # legal aid: near its limitation
  casework case show AU-<year>-000001       # audit: findings, one overdue
  casework stuck --as city.supervisor --idle-days 2   # overdue, idle, held
  casework board --as city.supervisor
  casework programme run PG-<next year>-000001 --as city.officer1
  casework campaign show CP-2027-001 --as city.officer1   # 评选: quotas, stages
  casework tokens create --as chongchuan.officer1   # a token for the HTTP API
  casework refunds run --year <last year> --as chongchuan.officer1
  casework inbox --as chongchuan.grassroots1   # then the 返还复核 reviews

按 Ctrl-C 停止全部进程 (Ctrl-C stops everything).
"""


async def serve_forever(settings: Settings, seed_cases: bool = True) -> None:
    settings = with_demo_config(settings)
    configure_logging(settings.log_level, settings.log_json)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with embedded_stack(settings) as stack:
        if seed_cases and not Queries(stack.engine).case_ids():
            await seed_demo_cases(stack)
        api = create_app(stack.engine, stack.service)
        server = uvicorn.Server(
            uvicorn.Config(
                api,
                host=settings.api_host,
                port=settings.api_port,
                log_level="warning",
                lifespan="off",
            )
        )
        api_task = asyncio.create_task(server.serve())
        server_started = False
        for _ in range(100):
            if server.started or api_task.done():
                server_started = server.started
                break
            await asyncio.sleep(0.05)
        api_url = f"http://{settings.api_host}:{settings.api_port}"
        console.print(_banner(stack, api_url if server_started else "(API failed to start)"))
        await stop.wait()
        console.print("正在停止 (stopping) ...")
        server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(api_task, 10)


async def run_demo_once(settings: Settings, quiet: bool = False) -> list[Any]:
    """Use the running stack if there is one, otherwise bring one up for the demo."""
    settings = with_demo_config(settings)
    configure_logging("WARNING", settings.log_json)
    running = reachable(settings.temporal_address)
    async with embedded_stack(settings, start_worker=not running) as stack:
        if not quiet:
            where = "running stack" if running else "embedded stack started for this demo"
            console.print(f"演示 (demo) on the {where} ...")
        return await asyncio.wait_for(run_demo(stack.driver()), timeout=180)


async def serve_api(settings: Settings) -> None:
    """The web pages and HTTP API alone (`casework serve`): no dev server, no worker, no
    demo data. Production runs it behind a TLS reverse proxy (README, Security)."""
    configure_logging(settings.log_level, settings.log_json)
    configure_tracing(settings.otlp_endpoint, "casework-api")
    engine = make_engine(settings.database_url)
    migrate(engine)
    client = await connect(settings)
    service = CaseService(client, engine, settings.task_queue)
    api = create_app(engine, service, settings)
    proxies = settings.trusted_proxies.replace(" ", "")
    server = uvicorn.Server(
        uvicorn.Config(
            api,
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            lifespan="off",
            # The client address and scheme come from X-Forwarded-* only when the
            # request came from a trusted proxy.
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
        )
    )
    log.info("api.started", host=settings.api_host, port=settings.api_port)
    try:
        await server.serve()
    finally:
        engine.dispose()
