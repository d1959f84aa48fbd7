"""Officers' pages: sign in, inbox, opening a case, the case page with its actions.
The supervisors' pages are in `casework.web.supervision`; what pages share (sign-in
state, CSRF, layout, errors) in `casework.web.site`."""

from __future__ import annotations

import asyncio
import json
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from casework.auth.edge import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    client_address,
    same_secret,
    signed_in_response,
)
from casework.auth.signin import SignInRefused
from casework.domain.case import Action, CaseState, CaseView, TaskView
from casework.domain.case_type import CaseType
from casework.domain.events import NewEvent
from casework.domain.offer import (
    SUPERVISOR_ACTIONS,
    Candidate,
    offered_actions,
    reassign_candidates,
)
from casework.domain.org import Actor
from casework.domain.processes import PROCESSES
from casework.domain.registry import CASE_TYPES
from casework.service import ActionRefused, CaseService
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.personal import PersonalData
from casework.store.queries import Queries
from casework.store.supervision import TaskClock, task_clock
from casework.web import home_visit, supervision
from casework.web.acting import (
    ActionForm,
    action_forms,
    hand_written_form,
    perform,
    visible_state,
)
from casework.web.application_form import application_form, choice_words, label
from casework.web.audit_sheet import audit_sheet
from casework.web.forms import read_form
from casework.web.site import (
    PageRoute,
    auth,
    calendar,
    check_form,
    directory,
    log,
    names,
    now,
    render,
    service,
    signed_in,
    texts,
    user,
)
from casework.web.timeline import application_rows, case_details, timeline

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/inbox" if user(request) else "/login", 303)


# -- sign in and out ---------------------------------------------------------------------


def _login_form(
    request: Request, status: int = 200, error: str | None = None, user_id: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        status,
        login_token=token,
        error=error,
        user_id=user_id,
        oidc=auth(request).oidc is not None,
        page_path="/login",
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=auth(request).secure_cookies(request),
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    if user(request) is not None:
        return RedirectResponse("/inbox", 303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    edge = auth(request)
    form = await read_form(request)
    user_id = form.get("user_id", "")[:64]
    # Login CSRF: the form must come from our page, which set this cookie.
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("login_token", "")
    if not edge.same_origin(request) or not same_secret(given, cookie):
        log.warning("auth.login_csrf_refused", address=client_address(request))
        return _login_form(request, 403, texts(request).t("login_expired"), user_id)
    address = client_address(request)
    try:
        signed = await asyncio.to_thread(
            edge.authenticator.sign_in, user_id, form.get("password", ""), address
        )
    except SignInRefused as refused:
        status = 429 if refused.code == "rate_limited" else 401
        message = refused.message
        if refused.retry_at is not None:
            from casework.web.formatting import local_time

            message += f" ({texts(request).t('retry_after')} {local_time(refused.retry_at)})"
        return _login_form(request, status, message, user_id)
    response = signed_in_response(edge, request, signed.id, "password")
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    if user(request) is None:
        return RedirectResponse("/login", 303)
    return render(request, "logout.html")


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await read_form(request)
    found = user(request)
    if found is not None:
        check_form(request, form)
        auth(request).sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        log.info("auth.signed_out", user=found.id, address=client_address(request))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


# -- inbox -------------------------------------------------------------------------------


@router.get("/inbox")
def inbox(request: Request) -> HTMLResponse:
    me = signed_in(request)
    items = Queries(request.app.state.engine).inbox(me)
    return render(request, "inbox.html", items=items, names=names(request), moment=now())


# -- opening a case ----------------------------------------------------------------------
# One form per registered case type, built from its application model
# (casework.web.application_form); nothing here knows a type by name.


def _openable(me: User) -> list[CaseType]:
    """The case types `me` may open: those whose opener role they hold."""
    return [t for t in CASE_TYPES.values() if t.opener_role in me.roles]


def _type_to_open(request: Request, me: User, name: str) -> CaseType:
    """The case type called `name` if `me` may open it: 404 for no such type, 403
    without its opener role."""
    kind = CASE_TYPES.get(name)
    if kind is None:
        raise HTTPException(404)
    if kind.opener_role not in me.roles:
        words = texts(request)
        raise HTTPException(
            403,
            words.t(
                "forbidden_open_type",
                type=kind.label[words.index],
                role=words.role(kind.opener_role),
            ),
        )
    return kind


def _new_case_page(
    request: Request,
    kind: CaseType,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    words = texts(request)
    spec = application_form(kind.application_model)
    labels = {m.id: label(m, words) for m in spec.every()}
    labels[""] = words.t("application")
    return render(
        request,
        "new_case.html",
        status,
        kind=kind,
        title=words.t("new_case_of", type=kind.label[words.index]),
        sections=spec.sections(),
        labels=labels,
        options={f.id: choice_words(f, words) for f in spec.fields() if f.kind == "select"},
        form=form,
        errors=spec.ordered(errors),
        page_path=f"/cases/new/{quote(kind.name)}",
    )


def _blank_application(kind: CaseType, me: User) -> dict[str, str]:
    return {
        # One key per form: a second click on submit, or the form sent again after a
        # lost answer, finds the case the first opened.
        "idempotency_key": str(uuid.uuid4()),
        **application_form(kind.application_model).blank(me.district),
    }


@router.get("/cases/new")
def new_case(request: Request) -> Response:
    """The kinds of case this user may open; straight to the form when there is one."""
    me = signed_in(request)
    kinds = _openable(me)
    if not kinds:
        raise HTTPException(403, texts(request).t("forbidden_open"))
    if len(kinds) == 1:
        return RedirectResponse(f"/cases/new/{quote(kinds[0].name)}", 303)
    words = texts(request)
    shown = [
        (k.name, f"{k.label[0]} {k.label[1]}" if words.index == 0 else k.label[1]) for k in kinds
    ]
    return render(request, "new_case_types.html", kinds=shown)


@router.get("/cases/new/{type_name}")
def new_case_form(request: Request, type_name: str) -> HTMLResponse:
    me = signed_in(request)
    kind = _type_to_open(request, me, type_name)
    return _new_case_page(request, kind, _blank_application(kind, me), {})


@router.post("/cases/new/{type_name}")
async def open_case(request: Request, type_name: str) -> Response:
    me = signed_in(request)
    form = await read_form(request)
    check_form(request, form)
    return await _open(request, me, _type_to_open(request, me, type_name), form)


@router.post("/cases/new")
async def open_the_one_case_type(request: Request) -> Response:
    """What the form posted to before there was one per type: the form of the one type
    this user may open; with several, the list to choose from (nothing opened)."""
    me = signed_in(request)
    form = await read_form(request)
    check_form(request, form)
    kinds = _openable(me)
    if not kinds:
        raise HTTPException(403, texts(request).t("forbidden_open"))
    if len(kinds) > 1:
        return RedirectResponse("/cases/new", 303)
    return await _open(request, me, kinds[0], form)


async def _open(request: Request, me: User, kind: CaseType, form: dict[str, str]) -> Response:
    words = texts(request)
    spec = application_form(kind.application_model)
    kept = {k: v for k, v in form.items() if k != "csrf_token"}
    # Every problem at once: the rest of the application is checked even when a
    # number did not parse (its own message stays the one shown for it).
    data, errors = spec.read(form, words)
    application = None
    try:
        application = kind.application_model.model_validate(data)
    except ValidationError as exc:
        spec.explain(exc, words, errors)
    if errors or application is None:
        return _new_case_page(request, kind, kept, errors, 422)
    try:
        key = form.get("idempotency_key", "")[:200] or None
        view = await service(request).open_case(kind, application, me.actor(), key)
    except ActionRefused as refused:
        # Beside the field it concerns (the ID number already on the register, a
        # district outside the officer's jurisdiction), else above the form.
        place = spec.place(refused.field)
        errors[place] = f"{words.t('refused')} ({refused.code}): {refused.message}"
        return _new_case_page(request, kind, kept, errors, 409)
    return RedirectResponse(f"/cases/{quote(view.case_id)}?notice=opened", 303)


# -- the case page -----------------------------------------------------------------------

TASK_ACTIONS = frozenset(
    {
        Action.CLAIM,
        Action.APPROVE,
        Action.REJECT,
        Action.RETURN,
        Action.REQUEST_INFO,
        Action.PROVIDE_INFO,
        *SUPERVISOR_ACTIONS,
    }
)
"""The shared actions on one task: where a case has several open, each task's own form
offers these (its officers' and its supervisors'), naming the task, and the process's
own verbs that act on a task (`Process.task_actions`: an audit's check of a finding)."""
_OPENING_KEYS = frozenset(
    {"task_id", "stage", "role", "district", "due_at", "assignee", "parallel", "facts"}
)
"""A task's opening fields shown elsewhere on the page (`facts`: what the opening
changed in the case's facts, an audit finding's record, shown in its own table)."""


@dataclass
class TaskPanel:
    """One of a case's several open tasks on its page: what it is, its clock, and the
    actions this user may take on it."""

    n: int
    view: TaskView
    about: list[tuple[str, str]]
    """What the process said of it when it opened (an audit finding), as (name, text)."""
    clock: TaskClock | None
    offered: list[str]
    candidates: list[Candidate]
    generated: list[ActionForm]
    key: str


def task_about(events: list[NewEvent], task_id: str) -> list[tuple[str, str]]:
    """The task's `task.opened` payload beyond the shared fields: what it is for."""
    for e in events:
        if e.type == "task.opened" and e.payload.get("task_id") == task_id:
            return [
                (k, v if isinstance(v, str) else json.dumps(v, ensure_ascii=False))
                for k, v in e.payload.items()
                if k not in _OPENING_KEYS
            ]
    return []


def _case_page(
    request: Request,
    me: User,
    state: CaseState,
    status: int = 200,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: tuple[str, str] | None = None,
) -> HTMLResponse:
    words = texts(request)
    engine = request.app.state.engine
    stored = EventStore(engine).read(state.case_id)
    events = [e.as_new_event() for e in stored]
    # The applicant as this officer may see them (as `case show --as`): the ID number,
    # phone and account in clear only where their role's work needs it, in their
    # jurisdiction; each reveal is logged with who looked.
    found: CaseService | None = request.app.state.service
    if found is not None:
        applicant = found.intake.personal.applicant_in(
            state.case_id, state.district, events, me.actor()
        )
    else:  # no keys without the service: masked only
        applicant = PersonalData(engine, None).applicant_in(
            state.case_id, state.district, events, None
        )
    moment = now()
    process = PROCESSES.get(state.case_type)
    offered = [] if process is None else offered_actions(process, state, me.actor(), moment)
    if state.task is None and state.parallel:
        # Every open task is one of several: each has its own form below (the case's
        # own actions, a comment or a withdrawal, stay in this one).
        on_tasks = TASK_ACTIONS | (process.task_actions if process is not None else frozenset())
        offered = [a for a in offered if a not in on_tasks]
    everyone: list[Actor] | None = None
    candidates = []
    if process is not None and Action.REASSIGN in offered:
        everyone = [u.actor() for u in directory(request).list() if not u.disabled]
        candidates = reassign_candidates(process, state, everyone)
    kind = CASE_TYPES.get(state.case_type)
    panels = []
    cal = calendar(request)
    for n, task in enumerate(state.parallel.values(), start=1):
        on_task = (
            []
            if process is None
            else [
                a
                for a in offered_actions(process, state, me.actor(), moment, task.task_id)
                if a in TASK_ACTIONS | process.task_actions
            ]
        )
        choices = []
        if process is not None and Action.REASSIGN in on_task:
            if everyone is None:
                everyone = [u.actor() for u in directory(request).list() if not u.disabled]
            choices = reassign_candidates(process, state, everyone, task.task_id)
        panels.append(
            TaskPanel(
                n=n,
                view=TaskView.of(task),
                about=task_about(events, task.task_id),
                clock=task_clock(state, events, moment, cal, task.task_id),
                offered=[str(a) for a in on_task],
                candidates=choices,
                generated=action_forms(request, kind, state, on_task, task.stage),
                key=str(uuid.uuid4()),
            )
        )
    visiting = hand_written_form(kind, state, offered) == home_visit.FORM
    details = case_details(state, stored)
    people_names = names(request)
    return render(
        request,
        "case.html",
        status,
        view=CaseView.of(state),
        state=state,
        kind=kind,
        facts=state.facts,
        details=details,
        recorded=application_rows(details.application, words),
        audit=audit_sheet(state, words),
        # The review sheet (categories, amounts, the relief fund): only for the types
        # it describes.
        review=Queries(engine).review(state, events)
        if kind is not None and kind.has_review_sheet
        else None,
        applicant=applicant,
        personal=kind.personal_fields() if kind is not None else (),
        people={f: state.facts.get(f) for f in (kind.person_fields if kind else {})},
        clock=task_clock(state, events, moment, cal),
        panels=panels,
        entries=timeline(stored, words, people_names, kind),
        names=people_names,
        offered=[str(a) for a in offered],
        candidates=candidates,
        visiting=visiting,
        generated=action_forms(request, kind, state, offered),
        companions=home_visit.companions(request, me, state) if visiting else [],
        form=form or {},
        errors=errors or {},
        notice=notice,
        key=str(uuid.uuid4()),
        page_path=f"/cases/{quote(state.case_id)}",
    )


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> HTMLResponse:
    me = signed_in(request)
    return _case_page(request, me, visible_state(request, me, case_id))


@router.post("/cases/{case_id}/act")
async def act(request: Request, case_id: str) -> Response:
    me = signed_in(request)
    form = await read_form(request)
    check_form(request, form)
    state = visible_state(request, me, case_id)
    chosen, errors, banner, status = await perform(request, me, state, form)
    if errors or banner:
        # The refusal on the page itself, with what was typed, never through the URL.
        kept = {k: v for k, v in form.items() if k not in ("csrf_token", "key")}
        fresh = visible_state(request, me, case_id)
        return _case_page(request, me, fresh, status, kept, errors, banner)
    assert chosen is not None
    return RedirectResponse(f"/cases/{quote(case_id)}?notice=done&action={chosen}#top", 303)


router.include_router(supervision.router)
