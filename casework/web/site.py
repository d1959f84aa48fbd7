"""What every page shares: who is signed in, the CSRF check of forms, rendering in the
site's layout (errors too), the notice banner, and the clock and calendar pages read."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from casework.assess import reads_reports
from casework.auth.edge import SESSION_COOKIE, EdgeAuth, check_csrf, client_address
from casework.domain.calendar import CHINA_TZ, CalendarOverrides, WorkingCalendar
from casework.domain.campaign import reads_campaigns
from casework.domain.org import Role
from casework.domain.registry import ACTION_NAMES, CASE_TYPES
from casework.service import CaseService
from casework.store.auth import WebSession
from casework.store.directory import Directory, User
from casework.store.funds import reads_funds
from casework.store.refunds import reads_refunds
from casework.store.supervision import SupervisorQueries
from casework.web.formatting import at_value, deadline, local_date, local_time, yuan
from casework.web.forms import BadForm
from casework.web.i18n import LANGS, Texts

LANG_COOKIE = "casework_lang"

log = structlog.get_logger("casework.web")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


def action_styles() -> str:
    """The CSS that shows an action form's fieldset for the action chosen (no script),
    one rule per verb there is: the shared ones and every registered type's own, so that
    a new type's actions need no line in site.css. Where `:has()` is not understood
    every fieldset shows."""
    from casework.domain.registry import ACTION_NAMES  # the registry imports much

    shown = ",\n".join(
        # Unquoted: a verb is a CSS identifier, and `value="…"` stays the options' own.
        f"  form.act:has(select[name=action] option[value={name}]:checked) .for-{name}"
        for name in ACTION_NAMES
    )
    return (
        "@supports selector(:has(*)) {\n  form.act .for { display: none; }\n"
        f"{shown} {{ display: block; }}\n}}"
    )


templates.env.globals["action_styles"] = action_styles()


def lang(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE) or "zh"
    return chosen if chosen in LANGS else "zh"


def texts(request: Request) -> Texts:
    return Texts(lang(request))


def auth(request: Request) -> EdgeAuth:
    return request.app.state.auth  # type: ignore[no-any-return]


def who(request: Request) -> tuple[User, WebSession] | None:
    """The signed-in user and their session (once per request). A trusted proxy's user
    (single sign-on in front) gets a session of their own on their first page."""
    if hasattr(request.state, "who"):
        return request.state.who  # type: ignore[no-any-return]
    edge = auth(request)
    found = edge.from_session(request)
    proxied = edge.from_proxy(request)
    if proxied is not None and (found is None or found[0].id != proxied.id):
        if found is not None:
            edge.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        session_id, session = edge.sessions.create(proxied.id, "proxy", client_address(request))
        request.state.started_session = session_id
        log.info("auth.signed_in", user=proxied.id, address=client_address(request), via="proxy")
        found = (proxied, session)
    request.state.who = found
    return found


def user(request: Request) -> User | None:
    found = who(request)
    return None if found is None else found[0]


def to_sign_in() -> HTTPException:
    return HTTPException(303, headers={"Location": "/login"})


def signed_in(request: Request) -> User:
    found = user(request)
    if found is None:
        raise to_sign_in()
    return found


def require_role(request: Request, role: Role, message: str = "forbidden_role") -> User:
    """The signed-in user if they hold `role`; 403 (in the site's layout) otherwise."""
    found = signed_in(request)
    if role not in found.roles:
        raise HTTPException(403, texts(request).t(message))
    return found


class Forbidden(HTTPException):
    def __init__(self) -> None:
        super().__init__(
            403,
            "请求来源或表单令牌无效，请刷新页面后重试 (form expired or sent from another site; reload the page)",
        )


def check_form(request: Request, form: dict[str, str]) -> None:
    """Every POST of a signed-in page: from our own origin, with the session's token."""
    found = who(request)
    edge = auth(request)
    if found is None:
        raise to_sign_in()
    if not edge.same_origin(request) or not check_csrf(found[1], form.get("csrf_token")):
        log.warning(
            "auth.csrf_refused",
            user=found[0].id,
            path=request.url.path,
            origin=request.headers.get("origin"),
        )
        raise Forbidden()


def csrf_token(request: Request) -> str:
    found = who(request)
    return "" if found is None else found[1].csrf_token


def url_notice(request: Request, words: Texts) -> tuple[str, str] | None:
    """The banner a redirect asked for: only a code (`?notice=done&action=approve`) whose
    words are ours. Any other text in the URL is never shown."""
    text = words.notice(request.query_params.get("notice"))
    if text is None:
        return None
    acted = request.query_params.get("action")
    if request.query_params.get("notice") == "done" and acted in ACTION_NAMES:
        text = (
            f"{text}：{words.action(acted)}"
            if words.lang == "zh"
            else f"{text}: {words.action(acted)}"
        )
    return ("ok", text)


FILTERS = frozenset({"district", "type", "overdue_only", "idle_days", "assignee", "limit", "at"})
"""Query parameters a page link may carry over (the supervisors' filters); nothing else
from a URL is repeated on a page."""


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    """A page in the site's layout. `notice=(kind, text)`: a banner of the handler's own
    words (a refusal, say); without it, the one `?notice=` names, if any."""
    words = texts(request)
    current = user(request)
    notice = context.pop("notice", None)
    if notice is None and request.method == "GET":
        notice = url_notice(request, words)
    if request.method == "GET":
        kept = urlencode([(k, v) for k, v in request.query_params.multi_items() if k in FILTERS])
        page = f"{request.url.path}?{kept}" if kept else request.url.path
    else:  # a form re-rendered: switching language shows the page itself again
        page = context.pop("page_path", "/inbox")
    other = "zh" if words.lang == "en" else "en"
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": words.lang,
            "texts": words,
            "t": words.t,
            "stage": words.stage,
            "action": words.action,
            "yuan": yuan,
            "local_time": local_time,
            "local_date": local_date,
            "deadline": deadline,
            "at_value": at_value,
            "user": current,
            "is_supervisor": current is not None and Role.SUPERVISOR in current.roles,
            "may_open": current is not None
            and any(t.opener_role in current.roles for t in CASE_TYPES.values()),
            "may_read_reports": current is not None and reads_reports(current),
            "may_read_funds": current is not None and reads_funds(current),
            "may_read_refunds": current is not None and reads_refunds(current),
            "may_read_campaigns": current is not None and reads_campaigns(current),
            "report_year": now().astimezone(CHINA_TZ).year - 1,
            "csrf_token": csrf_token(request),
            "notice": notice,
            "lang_link": page + ("&" if "?" in page else "?") + f"lang={other}",
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, words.lang, samesite="lax")
    return response


TITLES = {
    400: ("请求无效", "Bad request"),
    403: ("无权访问", "Forbidden"),
    404: ("未找到", "Not found"),
    409: ("操作被拒绝", "Refused"),
    413: ("内容过大", "Too large"),
    500: ("服务器错误", "Server error"),
    503: ("服务暂不可用", "Service unavailable"),
}


def error_page(request: Request, status: int, message: str | None) -> Response:
    """An error in the site's layout (never FastAPI's JSON, never a traceback)."""
    words = texts(request)
    pair = TITLES.get(status, ("出错了", "Something went wrong"))
    try:
        return render(
            request,
            "error.html",
            status,
            title=pair[words.index],
            message=message or words.t("error"),
            status_code=status,
        )
    except Exception:  # noqa: BLE001 - the layout itself failed (the database away)
        log.exception("web.error_page_failed", status=status)
        body = f"<!doctype html><meta charset=utf-8><title>{status}</title><p>{pair[0]} {pair[1]}"
        return HTMLResponse(body, status)


class PageRoute(APIRoute):
    """A page: whatever goes wrong is answered by a page in the site's layout. A
    redirect raised as an exception (to the sign-in page) is a redirect."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                return await handler(request)
            except BadForm as bad:
                return error_page(request, bad.status, texts(request).t(bad.key))
            except HTTPException as e:
                if 300 <= e.status_code < 400 and e.headers and "Location" in e.headers:
                    return RedirectResponse(e.headers["Location"], e.status_code)
                detail = e.detail if isinstance(e.detail, str) else None
                if e.status_code == 404:
                    detail = texts(request).t("not_found")
                return error_page(request, e.status_code, detail)
            except RequestValidationError:
                return error_page(request, 400, texts(request).t("bad_request"))
            except Exception:  # noqa: BLE001 - a page never shows a traceback
                log.exception("web.page_failed", path=request.url.path)
                return error_page(request, 500, texts(request).t("internal"))

        return page


def service(request: Request) -> CaseService:
    found: CaseService | None = request.app.state.service
    if found is None:
        raise HTTPException(503, texts(request).t("unavailable"))
    return found


def now() -> datetime:
    return datetime.now(UTC)


def calendar(request: Request) -> WorkingCalendar:
    """The processes' working-day calendar (with the operator's holiday file), once per
    app: the supervisors' reads keep their working-day tables per calendar."""
    state = request.app.state
    found: WorkingCalendar | None = getattr(state, "web_calendar", None)
    if found is None:
        from casework.settings import Settings

        try:
            overrides = Settings().processes.calendar
        except ValueError as e:  # ConfigError: a file that does not parse
            log.error("web.calendar_config_invalid", error=str(e))
            overrides = CalendarOverrides()
        found = state.web_calendar = WorkingCalendar(overrides)
    return found


def supervision(request: Request) -> SupervisorQueries:
    state = request.app.state
    found: SupervisorQueries | None = getattr(state, "web_supervision", None)
    if found is None:
        found = state.web_supervision = SupervisorQueries(state.engine, calendar(request))
    return found


def directory(request: Request) -> Directory:
    return Directory(request.app.state.engine)


def names(request: Request) -> dict[str, str]:
    """Every user's name by id (once per request), to show people as name and id."""
    if not hasattr(request.state, "names"):
        request.state.names = {u.id: u.name for u in directory(request).list()}
    return request.state.names  # type: ignore[no-any-return]
