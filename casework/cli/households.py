"""`casework households list|show|exit`: the household register (建档) and leaving it
(解困脱困).

`list` and `show` read the `households` projection; with `--as` they keep to that
user's jurisdiction (a district officer sees their district), without it they show the
whole city, as `case show` does. The applicant's ID number is only ever shown masked.
`exit` goes through Temporal (the `HouseholdExit` workflow): the worker judges it by the
rules in force, checks the user against the directory and records it.
"""

from __future__ import annotations

import uuid
from typing import Any

import typer
from rich.markup import escape

from casework.cli import (
    BARE_HELP,
    AsOpt,
    JsonOpt,
    _service,
    app,
    emit_json,
    engine,
    fail,
    handled,
    local_time,
    out,
    run,
    settings,
)
from casework.cli.render import Col, Rows, listing, sheet
from casework.domain.org import CITY, DISTRICTS

households_app = typer.Typer(
    help="困难职工档案 (the household register: list, show, exit 解困脱困).",
    **BARE_HELP,
)
app.add_typer(households_app, name="households")

STATUSES = ("on_register", "exited")
KINDS = ("income", "annual_review")

STATUS_WORDS = {"on_register": "在册 on register", "exited": "已退出 exited"}
KIND_WORDS = {"income": "收入高于低保 income", "annual_review": "年度复核 annual review"}
CATEGORY_WORDS = {"deep": "深度困难", "relative": "相对困难", "accident": "意外致困"}


def _viewer(as_user: str | None) -> Any:
    """The user whose jurisdiction applies (None: the operator's whole-city view)."""
    from casework.store.directory import Directory

    return Directory(engine()).active(as_user) if as_user else None


def _day(moment: Any) -> str:
    return "-" if moment is None else local_time(moment)[:10]


def _fen(value: int) -> str:
    return f"{value / 100:,.2f}"


@households_app.command("list")
@handled
def households_list(
    district: str | None = typer.Option(None, "--district", help="Only this district."),
    status: str | None = typer.Option(
        None, "--status", help="on_register (在册) or exited (已退出)."
    ),
    as_user: str | None = typer.Option(
        None, "--as", help="Viewing user: only files of their jurisdiction."
    ),
    limit: int = typer.Option(1000, "--limit", min=1, max=100_000, help="At most this many."),
    as_json: bool = JsonOpt,
) -> None:
    """Households filed (建档), newest case first: district, applicant, category, the
    national-system reference, since when, and their exit if they left."""
    from casework.store.households import HouseholdRegister

    if district is not None and district not in DISTRICTS:
        fail(f"field --district: unknown district {district!r}; one of: {', '.join(DISTRICTS)}")
    if status is not None and status not in STATUSES:
        fail(f"field --status: {status!r}; one of: {', '.join(STATUSES)}")
    viewer = _viewer(as_user)
    if viewer is not None and viewer.district != CITY:
        if district not in (None, viewer.district):
            fail(
                f"refused: outside_jurisdiction: {district} 不在您的管辖范围 {viewer.district} 内 "
                "(outside jurisdiction)"
            )
        district = viewer.district
    page = HouseholdRegister(engine()).page(
        district=district,
        status=status,  # type: ignore[arg-type]
        limit=limit,
    )
    if as_json:
        emit_json(page.items)
        return
    listing(
        out,
        [
            Col("案件 case", key=True),
            Col("区县 district"),
            Col("申请人 applicant"),
            Col("类别 category"),
            Col("建档 filed", key=True),
            Col("状态 status"),
            Col("退出 exited"),
        ],
        [
            [
                h.case_id,
                h.district,
                escape(h.applicant_name or "-"),
                CATEGORY_WORDS.get(h.category or "", h.category or "-"),
                _day(h.filed_at),
                STATUS_WORDS[h.status].split()[0],
                f"{_day(h.exited_at)} {KIND_WORDS[h.exit_kind].split()[0]}" if h.exit_kind else "-",
            ]
            for h in page.items
        ],
        title="困难职工档案 household register",
        empty="没有档案 (no households on file)",
    )
    if page.items and page.next_cursor is not None:
        out.print(f"仅显示最新的 {limit} 户 (the newest {limit} shown; --limit for more)")


def _detail(case_id: str, viewer: Any) -> Any:
    from casework.store.households import HouseholdRegister

    detail = HouseholdRegister(engine()).detail(case_id)
    if detail is None or (viewer is not None and not viewer.covers(detail.district)):
        # Outside the jurisdiction reads like a file that does not exist.
        fail(f"未找到档案 (no household filed by case): {case_id}")
    return detail


def _print_detail(d: Any) -> None:
    table = Rows()
    table.add_row("案件 case", d.case_id)
    table.add_row("区县 district", d.district)
    table.add_row("申请人 applicant", escape(d.applicant_name or "-"))
    table.add_row("身份证号 ID number", escape(d.id_number or "-"))
    table.add_row("类别 category", CATEGORY_WORDS.get(d.category or "", d.category or "-"))
    table.add_row("全国系统编号 national ref", escape(d.national_ref or "-"))
    table.add_row("建档 filed", f"{local_time(d.filed_at)} · {d.filed_by}")
    table.add_row("状态 status", STATUS_WORDS[d.status])
    if d.exited_at is not None:
        table.add_row(
            "退出 exited",
            f"{local_time(d.exited_at)} · {d.exited_by} · {KIND_WORDS[d.exit_kind]}",
        )
        table.add_row("原因 reason", escape(d.exit_reason or "-"))
    for m in d.exit_months or []:
        table.add_row(
            f"  {m.month}",
            f"人均 {_fen(m.income_per_head_fen)} 元 > 低保 {_fen(m.di_bao_fen)} 元 "
            f"({m.di_bao_year})",
        )
    sheet(out, table.rows)


@households_app.command("show")
@handled
def households_show(
    case_id: str = typer.Argument(..., help="The case that filed the household."),
    as_user: str | None = typer.Option(
        None, "--as", help="Viewing user: a file outside their jurisdiction is not shown."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """One household's file: who, district, category, since when, the case that filed
    it, the national-system reference, and its exit (with each month's income against
    低保) if it left. The ID number is shown masked."""
    detail = _detail(case_id, _viewer(as_user))
    if as_json:
        emit_json(detail)
    else:
        _print_detail(detail)


def _incomes(value: str | None) -> list[int]:
    if value is None or not value.strip():
        return []
    incomes: list[int] = []
    for n, part in enumerate(value.split(","), 1):
        text = part.strip()
        if not text.isascii() or not text.isdigit() or len(text) > 12:
            fail(
                f"field --incomes-fen: value {n} ({escape(text[:20])!r}) is not a whole number "
                "of fen (分), e.g. 95000,96000,..."
            )
        incomes.append(int(text))
    return incomes


@households_app.command("exit")
@handled
def households_exit(
    case_id: str = typer.Argument(..., help="The case that filed the household."),
    kind: str = typer.Option(
        ...,
        "--kind",
        help="income: income per head above 低保 for the last months (the household's "
        "grassroots officer); annual_review: removed by the annual review (a district "
        "officer).",
    ),
    incomes_fen: str | None = typer.Option(
        None,
        "--incomes-fen",
        help="income: the monthly income per head in fen (分) of each of the last months, "
        "oldest first, the last one being last month, e.g. 95000,96000,95500,97000,98000,"
        "99000 (at least the configured 6 months).",
    ),
    comment: str | None = typer.Option(None, "--comment", "-m", help="The reason, recorded."),
    as_user: str = AsOpt,
    key: str | None = typer.Option(
        None, "--key", help="Idempotency key: the same key records the exit once."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """A household leaves the register (解困脱困): recorded on the case that filed it.
    Its personal data is kept for the retention period from then on."""
    from casework.domain.register import ExitKind, ExitRequest
    from casework.store.directory import Directory

    if kind not in KINDS:
        fail(f"field --kind: {kind!r}; one of: {', '.join(KINDS)}")
    if key is not None and not 1 <= len(key) <= 200:
        fail("field --key: 1 to 200 characters")
    request = ExitRequest(kind=ExitKind(kind), comment=comment, incomes_fen=_incomes(incomes_fen))
    actor = Directory(engine()).active(as_user).actor()
    # Always an idempotency key, so that "try again" can name it.
    key = key or f"cli-exit-{uuid.uuid4()}"
    wait = settings().act_wait_seconds

    async def go() -> Any:
        service = await _service()
        return await service.exit_household(case_id, actor, request, key, wait)

    detail = run(go())
    if as_json:
        emit_json(detail)
    else:
        out.print(f"[green]已解困脱困 (left the register):[/] {case_id}")
        _print_detail(detail)
