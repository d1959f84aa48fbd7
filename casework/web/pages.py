"""Officers' pages: sign in, inbox, case page with its actions, opening a case."""

from __future__ import annotations

import asyncio
import hmac
import json
import secrets
import uuid
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from casework.auth.edge import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    EdgeAuth,
    check_csrf,
    client_address,
    set_session_cookie,
)
from casework.auth.signin import SignInRefused
from casework.domain.calendar import CHINA_TZ
from casework.domain.case import Action
from casework.domain.hardship import HardshipApplication
from casework.domain.org import DISTRICTS
from casework.service import ActionRefused, CaseNotFound, CaseService
from casework.store.auth import WebSession
from casework.store.directory import User
from casework.store.personal import PersonalData
from casework.store.queries import Queries, UnknownCase
from casework.web.i18n import LANGS, translator

LANG_COOKIE = "casework_lang"

log = structlog.get_logger("casework.web")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
router = APIRouter(include_in_schema=False)


def _yuan(fen: int | None) -> str:
    return "-" if fen is None else f"{fen / 100:,.2f}"


def _local_time(value: datetime | None) -> str:
    return "-" if value is None else value.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")


def _local_date(value: datetime | None) -> str:
    # A deadline is the end of a working day: show that day, not the next midnight.
    if value is None:
        return "-"
    local = value.astimezone(CHINA_TZ)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        local = local.fromordinal(local.toordinal() - 1)
    return local.strftime("%Y-%m-%d")


def _lang(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return chosen if chosen in LANGS else "zh"


def _auth(request: Request) -> EdgeAuth:
    return request.app.state.auth  # type: ignore[no-any-return]


def _who(request: Request) -> tuple[User, WebSession] | None:
    """The signed-in user and their session (once per request). A trusted proxy's user
    (single sign-on in front) gets a session of their own on their first page."""
    if hasattr(request.state, "who"):
        return request.state.who  # type: ignore[no-any-return]
    auth = _auth(request)
    found = auth.from_session(request)
    proxied = auth.from_proxy(request)
    if proxied is not None and (found is None or found[0].id != proxied.id):
        if found is not None:
            auth.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        session_id, session = auth.sessions.create(proxied.id, "proxy", client_address(request))
        request.state.started_session = session_id
        log.info("auth.signed_in", user=proxied.id, address=client_address(request), via="proxy")
        found = (proxied, session)
    request.state.who = found
    return found


def _user(request: Request) -> User | None:
    found = _who(request)
    return None if found is None else found[0]


class Forbidden(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403,
            "请求来源或表单令牌无效，请刷新页面后重试 (form expired or sent from another site; reload the page)",
        )


def _check_form(request: Request, form: dict[str, str]) -> None:
    """Every POST of a signed-in page: from our own origin, with the session's token."""
    found = _who(request)
    auth = _auth(request)
    if found is None:
        raise HTTPException(303, headers={"Location": "/login"})
    if not auth.same_origin(request) or not check_csrf(found[1], form.get("csrf_token")):
        log.warning(
            "auth.csrf_refused",
            user=found[0].id,
            path=request.url.path,
            origin=request.headers.get("origin"),
        )
        raise Forbidden()


def _t(request: Request, key: str) -> str:
    return translator(_lang(request))[0](key)


def _csrf_token(request: Request) -> str:
    found = _who(request)
    return "" if found is None else found[1].csrf_token


def _render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    lang = _lang(request)
    t, stage, action = translator(lang)
    flash = request.query_params.get("flash")
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": t,
            "stage": stage,
            "action": action,
            "yuan": _yuan,
            "local_time": _local_time,
            "local_date": _local_date,
            "user": _user(request),
            "csrf_token": _csrf_token(request),
            "flash": context.pop("flash", flash),
            "flash_kind": context.pop("flash_kind", request.query_params.get("kind", "ok")),
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, samesite="lax")
    return response


def _service(request: Request) -> CaseService:
    service: CaseService | None = request.app.state.service
    if service is None:
        raise HTTPException(503, "Temporal 不可用 (Temporal unavailable)")
    return service


def _signed_in(request: Request) -> User:
    user = _user(request)
    if user is None:
        raise HTTPException(303, headers={"Location": "/login"})
    return user


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/inbox" if _user(request) else "/login", 303)


def _login_form(
    request: Request, status: int = 200, error: str | None = None, user_id: str = ""
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = _render(
        request,
        "login.html",
        status,
        login_token=token,
        error=error,
        user_id=user_id,
        oidc=_auth(request).oidc is not None,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="strict",
        secure=_auth(request).secure_cookies(request),
    )
    return response


@router.get("/login")
def login_page(request: Request) -> Response:
    if _user(request) is not None:
        return RedirectResponse("/inbox", 303)
    return _login_form(request)


@router.post("/login")
async def login(request: Request) -> Response:
    auth = _auth(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    user_id = form.get("user_id", "")[:64]
    # Login CSRF: the form must come from our page, which set this cookie.
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    given = form.get("login_token", "")
    if (
        not auth.same_origin(request)
        or not cookie
        or not hmac.compare_digest(cookie.encode(), given.encode())
    ):
        log.warning("auth.login_csrf_refused", address=client_address(request))
        return _login_form(request, 403, _t(request, "login_expired"), user_id)
    address = client_address(request)
    try:
        user = await asyncio.to_thread(
            auth.authenticator.sign_in, user_id, form.get("password", ""), address
        )
    except SignInRefused as refused:
        status = 429 if refused.code == "rate_limited" else 401
        message = refused.message
        if refused.retry_at is not None:
            message += f" ({_t(request, 'retry_after')} {_local_time(refused.retry_at)})"
        return _login_form(request, status, message, user_id)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:  # never carry a session id across a sign-in (session fixation)
        auth.sessions.end(previous)
    session_id, _ = auth.sessions.create(user.id, "password", address)
    log.info("auth.signed_in", user=user.id, address=address, via="password")
    response = RedirectResponse("/inbox", 303)
    set_session_cookie(response, auth, request, session_id)
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.get("/logout")
def logout_page(request: Request) -> Response:
    if _user(request) is None:
        return RedirectResponse("/login", 303)
    return _render(request, "logout.html")


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    found = _who(request)
    if found is not None:
        _check_form(request, form)
        _auth(request).sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        log.info("auth.signed_out", user=found[0].id, address=client_address(request))
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/inbox")
def inbox(request: Request) -> HTMLResponse:
    user = _signed_in(request)
    return _render(request, "inbox.html", items=Queries(request.app.state.engine).inbox(user))


@router.get("/cases/new")
def new_case(request: Request) -> HTMLResponse:
    _signed_in(request)
    # One key per form: a second click on submit, or the form sent again after a lost
    # answer, finds the case the first opened.
    form = {"idempotency_key": str(uuid.uuid4())}
    return _render(request, "new_case.html", form=form, errors=[], districts=DISTRICTS)


def _fen(value: str, field: str, errors: list[str]) -> int | None:
    try:
        amount = Decimal(value.strip())
    except InvalidOperation:
        errors.append(f"field {field}: 请输入金额，如 3000 或 3000.50 (enter an amount in yuan)")
        return None
    fen = amount * 100
    if fen != fen.to_integral_value():
        errors.append(f"field {field}: 最多两位小数 (at most two decimals)")
        return None
    return int(fen)


@router.post("/cases/new")
async def open_case(request: Request) -> Response:
    user = _signed_in(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    _check_form(request, form)
    errors: list[str] = []
    income = _fen(form.get("monthly_income", ""), "household.monthly_income_fen", errors)
    amount = _fen(form.get("requested_amount", ""), "requested_amount_fen", errors)
    data = {
        "applicant": {
            "name": form.get("name", ""),
            "id_number": form.get("id_number", ""),
            "phone": form.get("phone", ""),
            "employer": form.get("employer", ""),
            "district": form.get("district", ""),
            "bank_account": form.get("bank_account") or None,
        },
        "household": {"size": int(form.get("household_size") or 0), "monthly_income_fen": income},
        "category": form.get("category", ""),
        "relief_type": form.get("relief_type", ""),
        "requested_amount_fen": amount,
        "reason": form.get("reason", ""),
    }
    application = None
    if not errors:
        try:
            application = HardshipApplication.model_validate(data)
        except ValidationError as exc:
            errors += [
                f"field {'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            ]
    if application is None:
        return _render(request, "new_case.html", 422, form=form, errors=errors, districts=DISTRICTS)
    try:
        key = form.get("idempotency_key", "")[:200] or None
        view = await _service(request).open_hardship(application, user.actor(), key)
    except ActionRefused as refused:
        return _render(
            request,
            "new_case.html",
            409,
            form=form,
            errors=[f"{refused.code}: {refused.message}"],
            districts=DISTRICTS,
        )
    return RedirectResponse(f"/cases/{view.case_id}?flash={quote('已立案 opened')}", 303)


@router.get("/cases/{case_id}")
def case_page(request: Request, case_id: str) -> HTMLResponse:
    user = _signed_in(request)
    queries = Queries(request.app.state.engine)
    try:
        state = queries.case_state(case_id)
        history = queries.history(case_id)
    except UnknownCase as e:
        raise HTTPException(404, str(e)) from None
    from casework.domain.case import CaseView

    # The applicant as this officer may see them (as `case show --as`): the ID number,
    # phone and account in clear only where their role's work needs it, in their
    # jurisdiction; each reveal is logged with who looked.
    service: CaseService | None = request.app.state.service
    if service is not None:
        applicant = service.intake.personal.applicant_in(
            case_id, state.district, history, user.actor()
        )
    else:  # no keys without the service: masked only
        personal = PersonalData(request.app.state.engine, None)
        applicant = personal.applicant_in(case_id, state.district, history, None)
    return _render(
        request,
        "case.html",
        view=CaseView.of(state),
        facts=state.facts,
        applicant=applicant,
        history=history,
        actions=[a.value for a in Action],
        key=str(uuid.uuid4()),
    )


@router.post("/cases/{case_id}/act")
async def act(request: Request, case_id: str) -> Response:
    user = _signed_in(request)
    form = {k: str(v) for k, v in (await request.form()).items()}
    _check_form(request, form)
    back = f"/cases/{case_id}"
    try:
        chosen = Action(form.get("action", ""))
        raw = form.get("data", "").strip()
        data = json.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("field data: 须为 JSON 对象 (must be a JSON object)")
        await _service(request).act(
            case_id,
            user.actor(),
            chosen,
            form.get("comment") or None,
            data,
            form.get("key") or None,  # the form's key makes a double submit act once
            form.get("stage") or None,  # the stage the officer was looking at
        )
    except ActionRefused as refused:
        message = f"操作被拒绝 refused ({refused.code}): {refused.message}"
        return RedirectResponse(f"{back}?flash={quote(message)}&kind=error", 303)
    except (ValueError, json.JSONDecodeError) as exc:
        return RedirectResponse(f"{back}?flash={quote(str(exc))}&kind=error", 303)
    except CaseNotFound as exc:
        return RedirectResponse(f"{back}?flash={quote(str(exc))}&kind=error", 303)
    return RedirectResponse(f"{back}?flash={quote('已办理 done: ' + chosen.value)}", 303)
