"""An award nomination (推荐/提名) as a durable workflow (casework.domain.nomination).

The opening is checked by the worker against its campaign (a local activity reads the
store: the campaign exists and is open, the district has places, the nominee is of the
award's kind) and the campaign's rules are kept in the case's facts. Then the shared
case machinery (workflows/case.py) with two timers of its own, the unit's notice and
the social notice, and the campaign's news: the signal `campaign_news` carries nothing;
the workflow reads its own row in the store (a local activity, so the answer is in
history and replays) and records what the row says the campaign did (the forward, the
vote), once. At its outcome it signals the campaign's workflow (workflows/campaign.py),
which reads the store and closes the campaign when every nomination has one.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import FailureError

from workflows.case import CONFIG_TIMEOUT, CaseWorkflow, Superseded, refusal

with workflow.unsafe.imports_passed_through():
    from activities.nomination import (
        CHECK_NOMINATION,
        NEWS_SIGNAL,
        READ_CAMPAIGN_ROW,
        NominationCheck,
        NominationOpening,
    )
    from casework.domain.campaign import OUTCOME_SIGNAL
    from casework.domain.campaign import workflow_id as campaign_workflow_id
    from casework.domain.case import (
        CaseContinuation,
        CaseState,
        CaseView,
        Context,
        NewEvent,
        Status,
    )
    from casework.domain.contracts import PROCESS_CONFIG
    from casework.domain.nomination import (
        CASE_TYPE,
        CampaignRow,
        NominationConfig,
        NominationProcess,
        Refused,
        Stage,
        StartNomination,
        check_opener,
    )


@workflow.defn(name="Nomination")
class NominationWorkflow(CaseWorkflow):
    process: NominationProcess

    @workflow.init
    def __init__(self, start: StartNomination) -> None:
        continued = start.continued
        self._init_case(
            NominationProcess(start.config or NominationConfig()),
            continued.state if continued else CaseState(case_id=start.case_id),
            continued,
        )
        self._start = start
        self._news = 0
        """Campaign news signalled and not yet read."""

    @workflow.signal(name=NEWS_SIGNAL)
    def campaign_news(self) -> None:
        self._news += 1

    async def _open(self, start: StartNomination) -> None:
        self.start_task_clocks()
        config = start.config or await workflow.execute_local_activity(
            PROCESS_CONFIG,
            CASE_TYPE,
            result_type=NominationConfig,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        self.process.use(config)
        app = start.application
        try:
            check_opener(start.opened_by, app.district)
        except Refused as r:
            raise refusal(r) from None
        answer = await workflow.execute_local_activity(
            CHECK_NOMINATION,
            NominationCheck(
                case_id=start.case_id,
                campaign_id=app.campaign_id,
                district=app.district,
                kind=app.nominee.kind,
            ),
            result_type=NominationOpening,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        if answer.rules is None:
            code = answer.code or "campaign_refused"
            raise refusal(Refused(code, answer.message or code, answer.field or "campaign"))
        self._start = start.model_copy(update={"config": config, "rules": answer.rules})
        await self.apply(
            self.process.open(self._start, self.state, self.ctx()), actor=start.opened_by
        )

    @workflow.run
    async def run(self, start: StartNomination) -> CaseView:
        if start.continued is None:
            await self._open(start)
        else:
            self.go_on()
            # A signal that came as the last run handed over is not carried: read the
            # row once (recording nothing if there is nothing new).
            self._news = 1
        self.updates_per_run = self.process.config.updates_per_run
        while True:
            while self.state.status is Status.OPEN:
                if self._pending:
                    await workflow.wait_condition(lambda: not self._pending)
                    continue
                if self._news:
                    await self._read_news()
                    continue
                if self.continue_as_new_wanted():
                    await self.continue_as_new_if_wanted()
                    continue
                facts = self.state.facts
                if self.state.stage == Stage.UNIT_NOTICE:
                    await self._window("unit_notice_ends_at", self.process.unit_notice_ended)
                elif self.state.stage == Stage.SOCIAL_NOTICE and not facts.get(
                    "social_notice_ended"
                ):
                    await self._window("social_notice_ends_at", self.process.social_notice_ended)
                else:
                    await self.wait_for_change(
                        until=lambda: bool(self._news) or self.continue_as_new_wanted()
                    )
            view = await self.finish()
            if view.status is not Status.OPEN:
                if workflow.patched("tell-campaign"):
                    await self._tell_campaign()
                return view

    async def _tell_campaign(self) -> None:
        """Signal the campaign's workflow that this nomination has its outcome. The
        signal carries nothing (the campaign reads the store); a campaign without a
        running workflow (closed, or opened before campaigns had one) is not told, and
        its workflow reads the store whenever it starts."""
        handle = workflow.get_external_workflow_handle(
            campaign_workflow_id(self._start.application.campaign_id)
        )
        try:
            await handle.signal(OUTCOME_SIGNAL)
        except FailureError:
            workflow.logger.info("campaign not told: no running campaign workflow")

    async def _read_news(self) -> None:
        """Read the row once for however many signals came; record what it says."""
        self._news = 0
        row = await workflow.execute_local_activity(
            READ_CAMPAIGN_ROW,
            self.state.case_id,
            result_type=CampaignRow,
            start_to_close_timeout=CONFIG_TIMEOUT,
        )
        while True:
            # Decided again if a refusal took back the state it was judged against.
            events = self.process.campaign_news(self.state, row, self.ctx())
            if not events:
                return  # nothing new: already recorded, or not yet the row's turn
            try:
                await self.apply(events)
                return
            except Superseded:
                continue

    async def _window(
        self, ends_fact: str, on_end: Callable[[CaseState, Context], list[NewEvent]]
    ) -> None:
        """Until the notice's end (a timer) or something else happens first."""
        stage, seq = self.state.stage, self.state.seq
        ends = datetime.fromisoformat(str(self.state.facts[ends_fact]))

        def interrupted() -> bool:
            return (
                self.state.status is not Status.OPEN
                or self.state.stage != stage
                or self.state.seq != seq
                or bool(self._news)
                or self.continue_as_new_wanted()
            )

        try:
            await workflow.wait_condition(
                interrupted,
                timeout=max(ends - workflow.now(), timedelta(0)),
                timeout_summary=ends_fact,
            )
        except TimeoutError:
            events = [] if interrupted() else on_end(self.state, self.ctx())
            if events:
                with contextlib.suppress(Superseded):  # the loop looks at the window again
                    await self.apply(events)

    def next_run_input(self, continued: CaseContinuation) -> StartNomination:
        return self._start.model_copy(
            update={"config": self.process.config, "continued": continued}
        )
