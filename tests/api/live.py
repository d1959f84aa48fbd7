"""The whole API served for real, for tools that speak HTTP from outside (Schemathesis):
uvicorn on a free port of 127.0.0.1, the app with a real case service, a worker on a
Temporal time-skipping server of its own, a fresh SQLite store with the demo directory.

It runs in a thread with an event loop of its own, so that a synchronous test (each
Schemathesis case is one) can call it while it answers; pytest's event loop is not
running between async tests and could not serve it."""

from __future__ import annotations

import asyncio
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine, delete, insert
from temporalio.testing import WorkflowEnvironment

from activities.civil_affairs import FakeCivilAffairs
from activities.configuration import ConfigSource
from activities.disbursement import FakeBank
from casework.api.app import create_app
from casework.api.cases import CASE_ID_EXAMPLE
from casework.api.households import FILE_EXAMPLE
from casework.config import ProcessConfig
from casework.demo.people import DEMO_BUDGET_FEN, demo_users
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import CaseView
from casework.domain.hardship import StartHardshipCase
from casework.domain.org import CITY, DISTRICTS, Role
from casework.domain.reverification import APPLICATION_EXAMPLE as REVERIFICATION_EXAMPLE
from casework.service import HARDSHIP_WORKFLOW, CaseService, opening_fingerprint
from casework.settings import Settings
from casework.store.auth import Tokens
from casework.store.db import make_engine, migrate
from casework.store.directory import Directory, User
from casework.store.event_store import EventStore
from casework.store.tables import applicant_identities, case_sequences
from tests.conftest import DATA_CONVERTER, register_search_attributes, venv_binary
from tests.factories import application
from tests.store.builders import DomainCase

EVERY_ROLE = User(id="fuzz.everything", name="全能测试员", roles=list(Role), district=CITY)
"""One user who may do everything everywhere: the most requests get past the rules to
the code behind them (the separation of duties still refuses some)."""


@dataclass
class LiveApi:
    directory: Path
    url: str = ""
    token: str = ""
    engine: Engine | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _stop: asyncio.Event | None = None
    _thread: threading.Thread | None = None
    _ready: threading.Event = field(default_factory=threading.Event)
    _error: BaseException | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def forget_applicants(self) -> None:
        """Every applicant is new again: their applications no longer stand in the way of
        another (casework.store.identities)."""
        assert self.engine is not None
        with self.engine.begin() as conn:
            conn.execute(delete(applicant_identities))

    def start(self, timeout: float = 60) -> LiveApi:
        self._thread = threading.Thread(target=self._run, name="live-api", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the live API did not start")
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(60)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as e:  # noqa: BLE001 - reported to the starting thread
            self._error = e
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        env = await WorkflowEnvironment.start_time_skipping(
            test_server_existing_path=venv_binary("temporal-test-server"),
            data_converter=DATA_CONVERTER,
        )
        try:
            await register_search_attributes(env)
            engine = self.engine = make_engine(f"sqlite:///{self.directory / 'casework.db'}")
            migrate(engine)
            Directory(engine).upsert([*demo_users(), EVERY_ROLE])
            store = EventStore(engine)
            year = datetime.now(UTC).astimezone(CHINA_TZ).year
            for district in DISTRICTS:
                for y in (year, year + 1):
                    store.set_budget(district, y, DEMO_BUDGET_FEN)
            self.token = Tokens(engine).create(EVERY_ROLE.id, "schemathesis", 1)[0]
            from worker import build_worker

            task_queue = f"live-{uuid.uuid4()}"
            worker = build_worker(
                env.client,
                engine,
                task_queue=task_queue,
                bank=FakeBank(),
                civil_affairs=FakeCivilAffairs(),
                config=ConfigSource(ProcessConfig()),
            )
            service = CaseService(env.client, engine, task_queue)
            settings: Any = Settings(_env_file=None, act_wait_seconds=15)  # type: ignore[call-arg]
            app = create_app(engine, service, settings)
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            server = uvicorn.Server(
                uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
            )
            # An exit awaits its workflow's result, which would let the time-skipping
            # server run on to the next timer anywhere (years on): time here is real.
            with env.auto_time_skipping_disabled():
                async with worker:
                    await self._open_the_documented_case(env, engine, service, task_queue)
                    self._file_the_documented_household(engine)
                    self._open_the_documented_programme(engine)
                    self._open_the_documented_campaign(engine)
                    self._receive_the_documented_refund_exception(engine)
                    self._store_the_documented_report(engine)
                    serving = asyncio.create_task(server.serve(sockets=[sock]))
                    while not server.started:
                        if serving.done():
                            serving.result()
                        await asyncio.sleep(0.01)
                    self.url = f"http://127.0.0.1:{port}"
                    self._ready.set()
                    await self._stop.wait()
                    server.should_exit = True
                    await serving
            engine.dispose()
        finally:
            await env.shutdown()

    def _file_the_documented_household(self, engine: Engine) -> None:
        """The household the schema's examples name (FILE_EXAMPLE), on the register in
        崇川区, so that reading and leaving it (the documented exit) succeed."""
        store = EventStore(engine)
        store.set_budget("崇川区", 2026, DEMO_BUDGET_FEN)  # the builders' cases are of 2026
        DomainCase(store, FILE_EXAMPLE).to_filed()
        # The re-verification's example names another file: the documented exit of
        # FILE_EXAMPLE would leave it nothing to re-verify. Filed in 2025, so that the
        # cases the run opens (numbered on from CASE_ID_EXAMPLE in 2026) never take its
        # number.
        DomainCase(store, REVERIFICATION_EXAMPLE["household_file"]).to_filed()

    def _open_the_documented_programme(self, engine: Engine) -> None:
        """The programme the schema's examples name (PROGRAMME_EXAMPLE, the first of
        2027), so that reading it and its failed payments succeed."""
        from casework.api.programmes import PROGRAMME_EXAMPLE
        from casework.demo.programme import spec
        from casework.domain.programme import ProgrammeSpec
        from casework.store.programmes import Programmes
        from tests.conftest import TEST_KEYRING

        opened = Programmes(engine, TEST_KEYRING).open(
            ProgrammeSpec.model_validate(spec(2027, ["崇川区"], 10**8)),
            Directory(engine).get("city.officer1").actor(),
        )
        assert opened == PROGRAMME_EXAMPLE, opened

    def _open_the_documented_campaign(self, engine: Engine) -> None:
        """The campaign the nomination's example names (CP-2027-001: examples/campaign.json,
        the first of 2027), so that the documented nomination opens."""
        import json

        from casework.domain.award import CampaignSpec
        from casework.domain.nomination import APPLICATION_EXAMPLE
        from casework.store.campaigns import Campaigns

        spec = json.loads((Path(__file__).parents[2] / "examples" / "campaign.json").read_text())
        opened = Campaigns(engine).open(
            CampaignSpec.model_validate(spec), Directory(engine).get("city.officer1").actor()
        )
        assert opened == APPLICATION_EXAMPLE["campaign_id"], opened

    def _receive_the_documented_refund_exception(self, engine: Engine) -> None:
        """The refund application the review's example names (RA-2026-0000001), as a run
        leaves an exception it has not opened a case for, so that opening its review by
        hand succeeds."""
        from sqlalchemy import insert

        from casework.domain.refund_review import APPLICATION_EXAMPLE as REVIEW_EXAMPLE
        from casework.store.tables import refund_applications

        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                insert(refund_applications).values(
                    application_no=int(REVIEW_EXAMPLE["application_id"].rsplit("-", 1)[1]),
                    year=REVIEW_EXAMPLE["dues_year"],
                    credit_code=REVIEW_EXAMPLE["credit_code"],
                    firm=REVIEW_EXAMPLE["firm"],
                    district=REVIEW_EXAMPLE["district"],
                    claimed_fen=REVIEW_EXAMPLE["claimed_fen"],
                    employees=20,
                    small_scale=1,
                    status="exception",
                    reasons=REVIEW_EXAMPLE["reasons"],
                    received_by="city.officer1",
                    received_at=now,
                    updated_at=now,
                )
            )

    def _store_the_documented_report(self, engine: Engine) -> None:
        """The year-end report of the year the schema's examples name, stored as the
        year-end run stores it, so that reading it succeeds."""
        from casework.api.reports import REPORT_EXAMPLE
        from casework.store.annual_report import AnnualReports

        reports = AnnualReports(engine)
        year = REPORT_EXAMPLE["year"]
        reports.store(reports.compute(year), "schedule", datetime.now(UTC))

    async def _open_the_documented_case(
        self, env: WorkflowEnvironment, engine: Engine, service: CaseService, task_queue: str
    ) -> None:
        """The case the schema's examples name (CASE_ID_EXAMPLE), opened by a grassroots
        officer of 崇川区, so that requests built from the documented examples find a real
        case on which the all-roles user (not its opener) may act."""
        prefix, year, number = CASE_ID_EXAMPLE.split("-")
        with engine.begin() as conn:
            conn.execute(
                insert(case_sequences).values(
                    prefix=prefix, year=int(year), last_value=int(number) - 1
                )
            )
        opener = Directory(engine).get("chongchuan.grassroots1").actor()
        app = application()
        registered = service.intake.register(
            prefix,
            int(year),
            app.personal_fields(),
            None,
            opening_fingerprint(HARDSHIP_WORKFLOW, opener, app),
        )
        assert registered.case_id == CASE_ID_EXAMPLE, registered
        start = StartHardshipCase(
            case_id=CASE_ID_EXAMPLE,
            opened_by=opener,
            application=app.masked(),
            personal=registered.personal,
        )
        handle = await env.client.start_workflow(
            HARDSHIP_WORKFLOW, start, id=CASE_ID_EXAMPLE, task_queue=task_queue
        )
        await handle.execute_update("sync", result_type=CaseView)
