"""`casework refunds import|apply|run|status|exceptions`: union-dues refunds to small
firms (小微企业工会经费返还, processes.md section 5).

A district officer (their district) or a city officer (any) imports the year's dues
payment file (every row checked; with errors nothing is imported unless `--skip-bad`),
applications arrive one at a time (`casework case open refund --file …`) or in bulk
(`apply`), and `run` matches them all against the payment records through the
`RefundRun` workflow (batches, a progress bar, resumable): clean matches are paid the
dues paid, every other application is left for a person (`exceptions`).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from casework.cli import (
    BARE_HELP,
    AsOpt,
    JsonOpt,
    app,
    emit_json,
    engine,
    fail,
    handled,
    keyring,
    out,
    run,
    settings,
)
from casework.cli.render import Col, listing

refunds_app = typer.Typer(
    help="工会经费返还 (union-dues refunds: import payments, apply, run, status, exceptions).",
    **BARE_HELP,
)
app.add_typer(refunds_app, name="refunds")

YearOpt = typer.Option(..., "--year", min=2000, max=2100, help="年度 (the dues year).")
FileOpt = typer.Option(..., "--file", "-f", help="CSV file (UTF-8 or GB18030).")
MAX_FILE_BYTES = 20_000_000


def _actor(as_user: str) -> Any:
    from casework.store.directory import Directory

    return Directory(engine()).active(as_user).actor()


def _refunds(with_keys: bool = True) -> Any:
    from casework.store.refunds import Refunds

    return Refunds(engine(), keyring() if with_keys else None)


def _read(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"field --file: 文件过大 (larger than {MAX_FILE_BYTES:,} bytes)")
        return path.read_bytes()
    except OSError as e:
        fail(f"field --file: 无法读取 (cannot read) {path}: {e.strerror}")


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


def _failures(failed: list[Any]) -> None:
    listing(
        out,
        [
            Col("行 line", justify="right", head=True),
            Col("字段 field", head=True),
            Col("原因 reason"),
        ],
        [[str(f.line), f.field, escape(f.message)] for f in failed[:200]],
        title="有误的行 (rows with errors)",
    )
    if len(failed) > 200:
        out.print(f"… 另有 {len(failed) - 200} 行 (and {len(failed) - 200} more)")


@refunds_app.command("import")
@handled
def refunds_import(
    year: int = YearOpt,
    file: Path = FileOpt,
    as_user: str = AsOpt,
    skip_bad: bool = typer.Option(
        False, "--skip-bad", help="Import the good rows of a file with errors."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """导入缴费记录 import a year's dues payment file (district or city officer)."""
    from casework.domain.refund import FileUnreadable
    from casework.store.refunds import FileRejected

    data = _read(file)
    try:
        report = _refunds().import_payments(year, data, _actor(as_user), skip_bad=skip_bad)
    except FileUnreadable as e:
        fail(f"field --file: {e}")
    except FileRejected as e:
        if as_json:
            emit_json({"imported": 0, "failed": [f.model_dump() for f in e.failures]})
        else:
            _failures(e.failures)
        fail(f"{e.message}; 更正后重新导入或使用 --skip-bad (correct them, or --skip-bad)")
    if as_json:
        emit_json(report)
        return
    out.print(
        f"[green]已导入 (imported):[/] {report.imported} 家企业 firms, "
        f"实缴经费 dues {_yuan(report.dues_fen)} 元"
    )
    if report.failed:
        _failures(report.failed)
        out.print(f"[yellow]已跳过 {len(report.failed)} 行 (skipped rows)[/]")


@refunds_app.command("apply")
@handled
def refunds_apply(
    year: int = YearOpt,
    file: Path = FileOpt,
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """受理申请（批量） record many firms' applications from a CSV file; all or nothing."""
    from casework.domain.refund import (
        APPLICATION_COLUMNS,
        FileUnreadable,
        check_application_file,
        read_csv,
    )

    try:
        ok, failed = check_application_file(read_csv(_read(file), APPLICATION_COLUMNS), year)
    except FileUnreadable as e:
        fail(f"field --file: {e}")
    if failed:
        if not as_json:
            _failures(failed)
        fail(f"{len(failed)} 行有误，未受理 (rows with errors, nothing recorded)")
    received = _refunds(with_keys=False).receive([a for _, a in ok], _actor(as_user))
    if as_json:
        emit_json(received)
    else:
        out.print(
            f"[green]已受理 (received):[/] {len(received.ids)} 份申请 applications "
            f"{received.ids[0]} … {received.ids[-1]}"
        )


def _scope(actor: Any, district: str | None) -> str | None:
    from casework.domain.org import CITY

    if district is None and actor.district != CITY:
        return str(actor.district)
    return district


@refunds_app.command("run")
@handled
def refunds_run(
    year: int = YearOpt,
    as_user: str = AsOpt,
    district: str | None = typer.Option(
        None, "--district", help="One district (a district officer's own, by default)."
    ),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the run to its end."),
    as_json: bool = JsonOpt,
) -> None:
    """匹配并返还 match the year's applications and pay the clean ones, through the
    `RefundRun` workflow. Started again while it runs, it follows the run going."""
    from temporalio.common import WorkflowIDConflictPolicy

    from casework.domain.batch import RunProgress
    from casework.domain.refund import RefundRunState, check_runner, refund_run_id
    from casework.temporal import connect

    actor = _actor(as_user)
    scope = _scope(actor, district)
    check_runner(actor, scope)
    s = settings()
    import casework.cli as cli_module

    cli_module._temporal_used = True  # leave with os._exit (casework.cli.main)
    wid = refund_run_id(year, scope)

    async def go() -> RunProgress | None:
        try:
            client = await connect(s)
        except RuntimeError as e:
            fail(f"cannot reach Temporal at {s.temporal_address} ({e}); is `make run` running?", 1)
        # A run going on is followed; a finished one leaves the id free for the next run
        # (applications keep arriving): selection by status pays nobody twice.
        handle = await client.start_workflow(
            "RefundRun",
            RefundRunState(year=year, district=scope, actor=actor),
            id=wid,
            task_queue=s.task_queue,
            result_type=RunProgress,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )
        if not wait:
            return None
        result = asyncio.ensure_future(handle.result())
        columns = (
            TextColumn("返还 refunding"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=out, disable=as_json, transient=False) as bar:
            task = bar.add_task("refund", total=None)
            while not result.done():
                try:
                    p = await handle.query("progress", result_type=RunProgress)
                    bar.update(task, total=p.total or None, completed=p.done)
                except Exception:  # noqa: BLE001 - between runs (continue-as-new): ask again
                    pass
                await asyncio.wait([result], timeout=1.0)
            final = result.result()
            bar.update(task, total=final.total, completed=final.done)
        return final

    final = run(go())
    if final is None:
        out.print(f"已开始 (started): {wid}")
    elif as_json:
        emit_json(final)
    else:
        out.print(
            f"[green]返还完成 (refunded):[/] {final.counts.get('paid', 0)} 家 firms "
            f"{_yuan(final.amount_fen)} 元; 待复核 exceptions {final.counts.get('exception', 0)}; "
            f"银行退回 failed {final.counts.get('failed', 0)}"
        )


@refunds_app.command("status")
@handled
def refunds_status(year: int = YearOpt, as_user: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """返还进度 the year's figures by district, read from the committed rows."""
    status = _refunds(with_keys=False).status(year, _actor(as_user))
    if as_json:
        emit_json(status)
        return
    p = status.progress
    listing(
        out,
        [
            Col("区县 district", head=True),
            Col("缴费记录 records", justify="right"),
            Col("申请 applications", justify="right"),
            Col("已返还 paid", justify="right"),
            Col("返还金额 元 refunded", justify="right"),
            Col("待复核 exceptions", justify="right"),
            Col("银行退回 failed", justify="right"),
            Col("待匹配 waiting", justify="right"),
        ],
        [
            [
                d.district,
                str(d.records),
                str(d.applications),
                str(d.paid),
                _yuan(d.refunded_fen),
                str(d.exceptions),
                str(d.failed),
                str(d.waiting),
            ]
            for d in status.districts
        ],
        title=f"{year} 年工会经费返还 (union-dues refunds)",
        empty=f"{year} 年尚无返还记录 (nothing imported or applied for {year} yet)",
    )
    out.print(
        f"进度 progress: {p.done}/{p.total}"
        + (" 完成 (finished)" if p.finished else f"，待匹配 {p.left} (to match)")
    )


@refunds_app.command("exceptions")
@handled
def refunds_exceptions(year: int = YearOpt, as_user: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """待复核 the applications the run left for a person (your jurisdiction)."""
    from casework.domain.refund import EXCEPTION_WORDS

    rows = _refunds(with_keys=False).exceptions(year, _actor(as_user))
    if as_json:
        emit_json(rows)
        return
    listing(
        out,
        [
            Col("申请 application", key=True),
            Col("企业 firm"),
            Col("区县 district"),
            Col("原因 reasons"),
            Col("复核案件 case", key=True),
        ],
        [
            [
                r.application_id,
                escape(r.firm),
                r.district,
                "; ".join(f"{EXCEPTION_WORDS[x][0]} ({EXCEPTION_WORDS[x][1]})" for x in r.reasons),
                r.review_case_id or "-",
            ]
            for r in rows
        ],
        empty=f"{year} 年没有待复核的申请 (no exceptions)",
    )
