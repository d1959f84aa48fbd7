"""`casework funds allocate|top-up|reduce|show|reconcile`: the funds ledger (issue #14).

A city officer allocates each district's relief fund for the year and tops it up; every
movement is an event on the year's ledger stream, checked against the directory. A
top-up (or allocation) then wakes the hardship cases waiting for that fund. `show`
gives budget, reserved, paid, released and left per district and source; `reconcile`
compares what the ledger paid with what the bank reports.
"""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from casework.cli import (
    BARE_HELP,
    AsOpt,
    JsonOpt,
    app,
    emit_json,
    engine,
    fail,
    handled,
    out,
    settings,
)
from casework.cli.render import Col, listing

funds_app = typer.Typer(
    help="帮扶资金台账 (the funds ledger: allocate, top up, show, reconcile).",
    **BARE_HELP,
)
app.add_typer(funds_app, name="funds")

DistrictOpt = typer.Option(..., "--district", help="区县 (the district).")
YearOpt = typer.Option(..., "--year", help="年度 (the budget year).")
AmountOpt = typer.Option(..., "--amount-fen", help="金额，分 (amount in fen).")
KeyOpt = typer.Option(
    None, "--key", help="Idempotency key: the same command with the same key moves money once."
)


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _ledger() -> Any:
    from casework.store.funds import FundsLedger

    return FundsLedger(engine())


def _actor(as_user: str) -> Any:
    from casework.store.directory import Directory

    return Directory(engine()).active(as_user).actor()


def _wake(district: str, year: int) -> list[str]:
    """Signal the cases waiting for this fund; without Temporal, their timers remain."""
    import asyncio

    from casework.funds import wake_waiting_cases
    from casework.store.funds import FundsLedger
    from casework.temporal import connect

    if not FundsLedger(engine()).awaiting(district, year):
        return []

    async def go() -> list[str]:
        client = await connect(settings())
        return await wake_waiting_cases(client, engine(), district, year)

    try:
        return asyncio.run(go())
    except RuntimeError as e:
        out.print(
            f"[yellow]未能通知等待资金的案件 (could not signal the waiting cases: {escape(str(e))});"
            " 它们会自行重试 (they try again on their own)[/]"
        )
        return []


def _move(
    kind: str, as_user: str, district: str, year: int, amount: int, key: str | None
) -> tuple[Any, list[str]]:
    ledger = _ledger()
    action = {"allocate": ledger.allocate, "top-up": ledger.top_up, "reduce": ledger.reduce}[kind]
    moved = action(_actor(as_user), district, year, amount, key)
    woken = _wake(district, year) if kind != "reduce" else []
    return moved, woken


def _print_move(moved: Any, woken: list[str], as_json: bool) -> None:
    if as_json:
        emit_json({**moved.model_dump(mode="json"), "woken_cases": woken})
        return
    words = {
        "funds.allocated": "已下达 (allocated)",
        "funds.topped_up": "已追加 (topped up)",
        "funds.reduced": "已调减 (reduced)",
    }[moved.type]
    again = " · 此前已记录 (recorded before)" if moved.replayed else ""
    out.print(
        f"[green]{words}:[/] {moved.district} {moved.year} 年 {_yuan(moved.amount_fen)} 元 · "
        f"预算 budget {_yuan(moved.budget_fen)} 元{again}"
    )
    if woken:
        out.print(f"已通知等待资金的案件 (cases woken): {', '.join(woken)}")


@funds_app.command("allocate")
@handled
def funds_allocate(
    district: str = DistrictOpt,
    year: int = YearOpt,
    amount_fen: int = AmountOpt,
    key: str | None = KeyOpt,
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """下达 a district's relief fund for the year (a city officer; once, then top up)."""
    moved, woken = _move("allocate", as_user, district, year, amount_fen, key)
    _print_move(moved, woken, as_json)


@funds_app.command("top-up")
@handled
def funds_top_up(
    district: str = DistrictOpt,
    year: int = YearOpt,
    amount_fen: int = AmountOpt,
    key: str | None = KeyOpt,
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """追加 a district's relief fund (a city officer); the cases waiting for it go on."""
    moved, woken = _move("top-up", as_user, district, year, amount_fen, key)
    _print_move(moved, woken, as_json)


@funds_app.command("reduce")
@handled
def funds_reduce(
    district: str = DistrictOpt,
    year: int = YearOpt,
    amount_fen: int = AmountOpt,
    key: str | None = KeyOpt,
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """调减 a district's relief fund (a city officer): never below what is committed."""
    moved, woken = _move("reduce", as_user, district, year, amount_fen, key)
    _print_move(moved, woken, as_json)


@funds_app.command("show")
@handled
def funds_show(
    year: int | None = typer.Option(None, "--year", help="年度 (default: this year)."),
    district: str | None = typer.Option(None, "--district", help="Only this district."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Budget, reserved, paid, released and left per district and source (yuan; fen in
    --json). City staff see every district, district staff their own."""
    from casework.store.funds import this_year

    report = _ledger().report(_actor(as_user), year or this_year(), district)
    if as_json:
        emit_json(report)
        return
    money = ("预算 budget", "预留 reserved", "已付 paid", "释放 released", "余额 left")
    columns = [Col("区县 district", key=True), Col("来源 source")] + [
        Col(m, justify="right") for m in money
    ]
    rows: list[list[str]] = []
    for d in report.districts:
        shown = [*d.sources, d.total] if len(d.sources) > 1 else d.sources
        for f in shown:
            rows.append(
                [
                    d.district,
                    escape(f.label),
                    _yuan(f.budget_fen),
                    _yuan(f.reserved_fen),
                    _yuan(f.paid_fen),
                    _yuan(f.released_fen),
                    _yuan(f.left_fen),
                ]
            )
        if d.awaiting_cases:
            waiting = f"[yellow]{d.awaiting_cases} 件等待资金 (cases awaiting funds)[/]"
            rows.append([d.district, waiting, "", "", "", "", ""])
    listing(
        out,
        columns,
        rows,
        title=f"帮扶资金台账 funds ledger · {report.year} 年 (元 yuan)",
        empty=f"{report.year} 年尚无资金记录 (nothing allocated or paid that year)",
    )


@funds_app.command("reconcile")
@handled
def funds_reconcile(
    year: int = YearOpt,
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """对账: what the ledger paid from the year's funds against the bank's transfers
    (CASEWORK_BANK_LEDGER); every difference listed, exit code 1 when there are any.
    City staff (who may read every district)."""
    from activities.ledger_bank import LedgerBank
    from casework.domain.org import CITY
    from casework.store.funds import FundsLedger, reconcile

    actor = _actor(as_user)
    FundsLedger.may_read(actor)
    if actor.district != CITY:
        fail("对账需要市总工作人员 (city staff reconcile the whole city)")
    path = settings().bank_ledger
    if path is None or not path.exists():
        fail("field CASEWORK_BANK_LEDGER: 未配置银行流水 (no bank ledger file configured)")
    differences = reconcile(engine(), year, LedgerBank(path).transfers())
    if as_json:
        emit_json({"year": year, "differences": [d.model_dump() for d in differences]})
    elif not differences:
        out.print(f"[green]{year} 年台账与银行一致 (ledger and bank agree)[/]")
    else:
        words = {
            "missing_at_bank": "银行无此笔 (missing at the bank)",
            "not_in_ledger": "台账无此笔 (not in the ledger)",
            "amount_differs": "金额不符 (amounts differ)",
        }
        listing(
            out,
            [
                Col("差异 kind"),
                Col("对象 reference", key=True, head=True),
                Col("来源 source"),
                Col("幂等键 key", key=True),
                Col("台账 ledger (元)", justify="right"),
                Col("银行 bank (元)", justify="right"),
            ],
            [
                [
                    words[d.kind],
                    d.reference,
                    d.source or "-",
                    d.idempotency_key,
                    "-" if d.ledger_fen is None else _yuan(d.ledger_fen),
                    "-" if d.bank_fen is None else _yuan(d.bank_fen),
                ]
                for d in differences
            ],
            title=f"对账差异 reconciliation differences · {year} 年",
        )
    if differences:
        raise typer.Exit(1)
