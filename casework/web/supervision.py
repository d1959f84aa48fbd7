"""Supervisors' pages (督办): the board per district and stage, and the stuck-task list
with its actions (reassign, extend, hold, resume). The same reads as `casework board`
and `casework stuck`, with the same filters; only supervisors see them. Case deadlines
(a limitation period near or passed) are listed beside the tasks, and counted in a
table of their own on the board."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from casework.domain.case import Action, CaseState
from casework.domain.offer import SUPERVISOR_ACTIONS, Candidate, offered_actions
from casework.domain.offer import reassign_candidates as candidates_for
from casework.domain.org import CITY, DISTRICTS, Role
from casework.domain.processes import PROCESSES
from casework.store.directory import User
from casework.store.queries import Queries
from casework.store.supervision import MAX_LIMIT, BoardRow, StuckItem, SupervisionRefused
from casework.web.acting import perform, visible_state
from casework.web.charts import board_charts
from casework.web.forms import parse_at, parse_whole, read_form
from casework.web.i18n import Texts
from casework.web.site import (
    PageRoute,
    check_form,
    directory,
    names,
    now,
    render,
    require_role,
    supervision,
    texts,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)

SUPERVISOR_ACTION_VALUES = [a.value for a in SUPERVISOR_ACTIONS]


def queues(me: User) -> list[str]:
    """The queues a supervisor may narrow to: their district's, or for the city's every
    district's and the city-level stages' (市总工会)."""
    return [*DISTRICTS, CITY] if me.district == CITY else [me.district]


@dataclass
class Filters:
    """What the filter form asked for: `shown` as typed (to show again), `query` the
    reads' arguments, `problems` per field (the read is not made while there are any)."""

    shown: dict[str, str] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)
    at: datetime | None = None

    def as_query_string(self) -> str:
        """The filters again, for a link back (only values that passed)."""
        kept = {k: v for k, v in self.shown.items() if v and k not in self.problems}
        return urlencode(kept)


def _common(asked: dict[str, str], me: User, words: Texts, found: Filters) -> None:
    district = asked.get("district", "").strip()
    found.shown["district"] = district
    if district:
        if district not in queues(me):
            found.problems["district"] = words.t(
                "outside_jurisdiction" if district in (*DISTRICTS, CITY) else "bad_choice"
            )
        else:
            found.query["district"] = district
    at_text = asked.get("at", "").strip()
    found.shown["at"] = at_text
    at, problem = parse_at(at_text, now())
    if problem:
        found.problems["at"] = words.t(problem)
    found.at = at


def board_filters(asked: dict[str, str], me: User, words: Texts) -> Filters:
    found = Filters()
    _common(asked, me, words, found)
    return found


def stuck_filters(asked: dict[str, str], me: User, words: Texts, people: list[User]) -> Filters:
    found = Filters()
    _common(asked, me, words, found)
    case_type = asked.get("type", "").strip()
    found.shown["type"] = case_type
    if case_type:
        if case_type in PROCESSES:
            found.query["case_type"] = case_type
        else:
            found.problems["type"] = words.t("bad_choice")
    overdue_only = asked.get("overdue_only", "") in ("1", "on", "true")
    found.shown["overdue_only"] = "1" if overdue_only else ""
    found.query["overdue_only"] = overdue_only
    idle = asked.get("idle_days", "").strip()
    found.shown["idle_days"] = idle
    if idle:
        days, problem = parse_whole(idle)
        if problem:
            found.problems["idle_days"] = words.t(problem)
        elif days is not None and days > 366:
            found.problems["idle_days"] = words.t("between", lo=0, hi=366)
        else:
            found.query["idle_days"] = days
    assignee = asked.get("assignee", "").strip()
    found.shown["assignee"] = assignee
    if assignee:
        if assignee in {p.id for p in people}:
            found.query["assignee"] = assignee
        else:
            found.problems["assignee"] = words.t("unknown_user")
    limit_text = asked.get("limit", "").strip()
    found.shown["limit"] = limit_text
    found.query["limit"] = 100
    if limit_text:
        limit, problem = parse_whole(limit_text)
        if problem:
            found.problems["limit"] = words.t(problem)
        elif limit is not None and not 1 <= limit <= MAX_LIMIT:
            found.problems["limit"] = words.t("between", lo=1, hi=MAX_LIMIT)
        else:
            found.query["limit"] = limit
    return found


def _refusal(refused: SupervisionRefused, found: Filters, words: Texts) -> None:
    """A read refused by the store's own rules: beside its field, in our words."""
    key = {"outside_jurisdiction": "outside_jurisdiction"}.get(refused.code, "bad_choice")
    found.problems[refused.field or "district"] = words.t(key)


# -- board -------------------------------------------------------------------------------


@dataclass
class Totals:
    open: int = 0
    overdue: int = 0
    escalated: int = 0


@router.get("/board")
def board(request: Request) -> HTMLResponse:
    me = require_role(request, Role.SUPERVISOR)
    words = texts(request)
    found = board_filters(dict(request.query_params), me, words)
    rows: list[BoardRow] = []
    if not found.problems:
        try:
            rows = supervision(request).board(
                me, now=found.at or now(), district=found.query.get("district")
            )
        except SupervisionRefused as refused:
            _refusal(refused, found, words)
    deadlines = [r for r in rows if r.kind == "deadline"]
    rows = [r for r in rows if r.kind == "task"]
    totals = Totals(
        sum(r.open for r in rows), sum(r.overdue for r in rows), sum(r.escalated for r in rows)
    )
    charts = board_charts(rows, words.stage_short, lambda s: words.t(f"{s}_count"))
    return render(
        request,
        "board.html",
        422 if found.problems else 200,
        rows=rows,
        deadlines=deadlines,
        charts=charts,
        totals=totals,
        filters=found,
        queues=queues(me),
        moment=found.at or now(),
    )


# -- stuck -------------------------------------------------------------------------------


@dataclass
class StuckRow:
    item: StuckItem
    state: CaseState | None
    offered: list[str]
    candidates: list[Candidate]
    key: str
    """The form's idempotency key."""
    row: str
    """The row's name on the page: its case id, or for one of several open tasks of a
    case (`task`) the case id and the task id."""
    task: str | None = None
    """The task the row's actions name, where its case has several open."""


def row_name(case_id: str, state: CaseState | None, task_id: str | None) -> tuple[str, str | None]:
    """The row of a task on the stuck page, and the task id its actions name: a case's
    stage task (or only task) is its case's row, as it always was; each of several open
    tasks beside it has a row of its own."""
    if state is not None and task_id and task_id in state.parallel:
        return f"{case_id}--{task_id}", task_id
    return case_id, None


def _officers(request: Request, me: User) -> list[User]:
    """People whose tasks a supervisor may look at: active staff in their jurisdiction."""
    return [
        u
        for u in directory(request).list()
        if not u.disabled
        and me.covers(u.district)
        and (set(u.roles) - {Role.SUPERVISOR, Role.ADMIN})
    ]


def _stuck_page(
    request: Request,
    me: User,
    asked: dict[str, str],
    status: int = 200,
    row_problems: dict[str, dict[str, str]] | None = None,
    row_banners: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    words = texts(request)
    people = _officers(request, me)
    found = stuck_filters(asked, me, words, people)
    items: list[StuckItem] = []
    if not found.problems:
        try:
            items = supervision(request).stuck(me, now=found.at or now(), **found.query)
        except SupervisionRefused as refused:
            _refusal(refused, found, words)
    states = Queries(request.app.state.engine).case_states([i.case_id for i in items])
    everyone = [u.actor() for u in directory(request).list() if not u.disabled]
    moment = now()
    rows = []
    for item in items:
        state = states.get(item.case_id)
        process = PROCESSES.get(item.type)
        offered: list[str] = []
        candidates: list[Candidate] = []
        row, task_id = row_name(item.case_id, state, item.task_id)
        # A case deadline's row links to its case; the task's own row (if stuck too)
        # carries the supervisor's actions, on that task.
        if state is not None and process is not None and item.deadline is None:
            offered = [
                str(a)
                for a in offered_actions(process, state, me.actor(), moment, task_id)
                if a in SUPERVISOR_ACTIONS
            ]
            if Action.REASSIGN.value in offered:
                candidates = candidates_for(process, state, everyone, task_id)
        rows.append(StuckRow(item, state, offered, candidates, str(uuid.uuid4()), row, task_id))
    if status == 200 and found.problems:
        status = 422
    notice = None
    listed = {r.row for r in rows}
    elsewhere = [
        f"{case_id}: " + " ".join([*(row_problems or {}).get(case_id, {}).values(), banner])
        for case_id, banner in {
            **dict.fromkeys(row_problems or {}, ""),
            **(row_banners or {}),
        }.items()
        if case_id not in listed
    ]
    if elsewhere:  # the case is no longer in the list: its refusal above it
        notice = ("error", " ".join(m.strip() for m in elsewhere))
    return render(
        request,
        "stuck.html",
        status,
        rows=rows,
        filters=found,
        queues=queues(me),
        people=people,
        case_types=list(PROCESSES),
        names=names(request),
        moment=found.at or now(),
        limit=found.query.get("limit", 100),
        row_problems=row_problems or {},
        row_banners=row_banners or {},
        form=form or {},
        notice=notice,
        page_path="/stuck?" + found.as_query_string(),
    )


@router.get("/stuck")
def stuck(request: Request) -> HTMLResponse:
    me = require_role(request, Role.SUPERVISOR)
    return _stuck_page(request, me, dict(request.query_params))


@router.post("/stuck/act")
async def stuck_act(request: Request) -> Response:
    me = require_role(request, Role.SUPERVISOR)
    form = await read_form(request)
    check_form(request, form)
    words = texts(request)
    # The list to show again: the filters the form came from, those that still pass.
    sent = dict(parse_qsl(form.get("filters", ""), keep_blank_values=True))
    people = _officers(request, me)
    asked = dict(parse_qsl(stuck_filters(sent, me, words, people).as_query_string()))
    case_id = form.get("case_id", "")
    state = visible_state(request, me, case_id)
    row, _task = row_name(case_id, state, form.get("task_id"))
    form = {**form, "row": row}
    if form.get("action") not in SUPERVISOR_ACTION_VALUES:
        problems = {"action": words.t("bad_choice")}
        return _stuck_page(request, me, asked, 422, {row: problems}, form=form)
    chosen, problems, banner, status = await perform(request, me, state, form)
    if problems or banner:
        # Beside the row, with what was typed; nothing about it goes into a URL.
        kept = {k: v for k, v in form.items() if k not in ("csrf_token", "key")}
        banners = {row: banner[1]} if banner else {}
        return _stuck_page(request, me, asked, status, {row: problems}, banners, kept)
    assert chosen is not None
    back = stuck_filters(asked, me, words, people).as_query_string()
    return RedirectResponse(
        f"/stuck?{back}{'&' if back else ''}notice=done&action={chosen}#row-{quote(row)}",
        303,
    )
