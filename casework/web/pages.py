"""Officers' pages: sign in, inbox, opening a case, the case page with its actions.
The supervisors' pages are in `casework.web.supervision`; what pages share (sign-in
state, CSRF, layout, errors) in `casework.web.site`."""

from __future__ import annotations

import asyncio
import secrets
import unicodedata
import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from casework.auth.edge import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    client_address,
    same_secret,
    signed_in_response,
)
from casework.auth.signin import SignInRefused
from casework.domain.case import Action, CaseState, CaseView
from casework.domain.hardship import HardshipApplication, Stage
from casework.domain.offer import offered_actions, reassign_candidates
from casework.domain.org import DISTRICTS, Role
from casework.domain.processes import PROCESSES
from casework.service import ActionRefused, CaseService
from casework.store.directory import User
from casework.store.event_store import EventStore
from casework.store.personal import PersonalData
from casework.store.queries import Queries
from casework.store.supervision import task_clock
from casework.web import supervision
from casework.web.acting import approval_fields, companions, perform, visible_state
from casework.web.forms import parse_whole, parse_yuan, read_form
from casework.web.i18n import Texts
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
    require_role,
    service,
    signed_in,
    texts,
    user,
)
from casework.web.timeline import case_details, timeline

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

APPLICATION_FIELDS: dict[tuple[str, ...], str] = {
    ("applicant", "name"): "name",
    ("applicant", "id_number"): "id_number",
    ("applicant", "phone"): "phone",
    ("applicant", "employer"): "employer",
    ("applicant", "district"): "district",
    ("applicant", "bank_account"): "bank_account",
    ("household", "size"): "household_size",
    ("household", "yearly_income_fen"): "yearly_income",
    ("household", "medical_expenses_fen"): "medical_expenses",
    ("household", "schooling_expenses_fen"): "schooling_expenses",
    ("category",): "category",
    ("relief_type",): "relief_type",
    ("requested_amount_fen",): "requested_amount",
    ("reason",): "reason",
}
"""Where each field of the application sits on the form."""

FORM_ORDER = list(APPLICATION_FIELDS.values())

RANGES: dict[str, tuple[str, str]] = {
    "household_size": ("1", "30"),
    "yearly_income": ("0", "1,000,000,000"),
    "medical_expenses": ("0", "1,000,000,000"),
    "schooling_expenses": ("0", "1,000,000,000"),
    "requested_amount": ("0.01", "10,000,000"),
}
"""The application's bounds as people type them (persons, yuan)."""


def _problem(error: ErrorDetails, field: str, words: Texts) -> str:
    """A validation problem in words, without repeating what was typed."""
    kind = error["type"]
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "missing" or (
        kind == "string_too_short" and (error.get("ctx") or {}).get("min_length") == 1
    ):
        return words.t("required")
    if kind == "string_too_long":
        return words.t("too_long", n=(error.get("ctx") or {}).get("max_length", "?"))
    if kind == "enum":
        return words.t("bad_choice")
    if kind == "string_pattern_mismatch":
        return words.t("bank_account_digits")
    if field in RANGES:
        lo, hi = RANGES[field]
        return words.t("between", lo=lo, hi=hi)
    return str(error["msg"])


def _blank_application(me: User) -> dict[str, str]:
    return {
        # One key per form: a second click on submit, or the form sent again after a
        # lost answer, finds the case the first opened.
        "idempotency_key": str(uuid.uuid4()),
        "district": me.district if me.district in DISTRICTS else DISTRICTS[0],
        "category": "relative",
        "relief_type": "living",
    }


def _new_case_page(
    request: Request, form: dict[str, str], errors: dict[str, str], status: int = 200
) -> HTMLResponse:
    words = texts(request)
    ordered = sorted(
        errors.items(), key=lambda kv: FORM_ORDER.index(kv[0]) if kv[0] in FORM_ORDER else -1
    )
    return render(
        request,
        "new_case.html",
        status,
        form=form,
        errors=dict(ordered),
        districts=DISTRICTS,
        categories=["deep", "relative", "accident"],
        relief_types=["living", "medical", "education", "seasonal"],
        words=words,
        page_path="/cases/new",
    )


@router.get("/cases/new")
def new_case(request: Request) -> HTMLResponse:
    me = require_role(request, Role.GRASSROOTS_OFFICER, "forbidden_open")
    return _new_case_page(request, _blank_application(me), {})


def _bank_account(raw: str) -> str | None:
    text = unicodedata.normalize("NFKC", raw).replace(" ", "")
    return text or None


@router.post("/cases/new")
async def open_case(request: Request) -> Response:
    me = signed_in(request)
    form = await read_form(request)
    check_form(request, form)
    if Role.GRASSROOTS_OFFICER not in me.roles:
        raise HTTPException(403, texts(request).t("forbidden_open"))
    words = texts(request)
    kept = {k: v for k, v in form.items() if k != "csrf_token"}
    errors: dict[str, str] = {}
    household: dict[str, Any] = {}
    for name, fen_key, required in (
        ("yearly_income", "yearly_income_fen", True),
        ("medical_expenses", "medical_expenses_fen", False),
        ("schooling_expenses", "schooling_expenses_fen", False),
    ):
        raw = form.get(name, "").strip()
        if not raw and not required:
            continue  # no such expenses: 0
        amount_fen, problem = parse_yuan(raw, maximum_fen=10**11)
        if problem:
            errors[name] = words.t(problem)
        household[fen_key] = amount_fen
    amount, problem = parse_yuan(form.get("requested_amount", ""))
    if problem:
        errors["requested_amount"] = words.t(problem)
    size, problem = parse_whole(form.get("household_size", ""), bad="bad_count")
    if problem:
        errors["household_size"] = words.t(problem)
    data: dict[str, Any] = {
        "applicant": {
            "name": form.get("name", ""),
            "id_number": unicodedata.normalize("NFKC", form.get("id_number", "")),
            "phone": unicodedata.normalize("NFKC", form.get("phone", "")).strip(),
            "employer": form.get("employer", ""),
            "district": form.get("district", ""),
            "bank_account": _bank_account(form.get("bank_account", "")),
        },
        "household": {"size": size, **household},
        "category": form.get("category", ""),
        "relief_type": form.get("relief_type", ""),
        "requested_amount_fen": amount,
        "reason": form.get("reason", ""),
    }
    # Every problem at once: the rest of the application is checked even when a
    # number did not parse (its own message stays the one shown for it).
    application = None
    try:
        application = HardshipApplication.model_validate(data)
    except ValidationError as exc:
        for e in exc.errors():
            field = APPLICATION_FIELDS.get(tuple(str(p) for p in e["loc"]))
            if field is None:
                field = "reason"
            errors.setdefault(field, _problem(e, field, words))
    if errors or application is None:
        return _new_case_page(request, kept, errors, 422)
    try:
        key = form.get("idempotency_key", "")[:200] or None
        view = await service(request).open_hardship(application, me.actor(), key)
    except ActionRefused as refused:
        field = {"applicant.district": "district", "applicant.id_number": "id_number"}.get(
            refused.field or "", ""
        )
        errors[field or "form"] = f"{words.t('refused')} ({refused.code}): {refused.message}"
        return _new_case_page(request, kept, errors, 409)
    return RedirectResponse(f"/cases/{quote(view.case_id)}?notice=opened", 303)


# -- the case page -----------------------------------------------------------------------


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
    candidates = []
    if process is not None and Action.REASSIGN in offered:
        people = [u.actor() for u in directory(request).list() if not u.disabled]
        candidates = reassign_candidates(process, state, people)
    visiting = Action.APPROVE in offered and state.stage == Stage.HOME_VISIT
    approving = approval_fields(state.stage) if Action.APPROVE in offered else ""
    people_names = names(request)
    return render(
        request,
        "case.html",
        status,
        view=CaseView.of(state),
        state=state,
        facts=state.facts,
        details=case_details(state, stored),
        review=Queries(engine).review(state, events),
        applicant=applicant,
        clock=task_clock(state, events, moment, calendar(request)),
        entries=timeline(stored, words, people_names),
        names=people_names,
        offered=[a.value for a in offered],
        candidates=candidates,
        visiting=visiting,
        approving=approving,
        companions=companions(request, me, state) if visiting else [],
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
    return RedirectResponse(f"/cases/{quote(case_id)}?notice=done&action={chosen.value}#top", 303)


router.include_router(supervision.router)
