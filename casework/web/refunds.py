"""The refunds page (/refunds, /refunds/{year}): a dues year's refunds to small firms by
district, the run's progress, and the applications left for review with their review
cases. The same readers as the API: the city's staff every district, district staff,
supervisors and auditors their own."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from casework.domain.calendar import CHINA_TZ
from casework.domain.refund import EXCEPTION_WORDS
from casework.domain.refusal import Refused
from casework.store.refunds import Refunds
from casework.web.site import PageRoute, render, signed_in, texts

router = APIRouter(include_in_schema=False, route_class=PageRoute)


@router.get("/refunds")
def refunds_page_latest(request: Request) -> HTMLResponse:
    """The last year with records, or last year's dues when there are none."""
    year = Refunds(request.app.state.engine).latest_year()
    return refunds_page(request, year or datetime.now(UTC).astimezone(CHINA_TZ).year - 1)


@router.get("/refunds/{year}")
def refunds_page(request: Request, year: int) -> HTMLResponse:
    me = signed_in(request)
    if not 2000 <= year <= 2100:
        raise HTTPException(404)
    refunds = Refunds(request.app.state.engine)
    try:
        status = refunds.status(year, me.actor())
        exceptions = refunds.exceptions(year, me.actor())
    except Refused:
        raise HTTPException(403, texts(request).t("forbidden_refunds")) from None
    return render(
        request,
        "refunds.html",
        200,
        year=year,
        refunds=status,
        exceptions=exceptions,
        reasons=EXCEPTION_WORDS,
    )
