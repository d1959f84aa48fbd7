"""`casework programme open|submit|lists|review|approve|show|run|failed|correct`: relief
programmes (送温暖, 夏季安康"三送"; processes.md 1b).

The city opens a programme, each union's grassroots officer submits its list (every
row checked; failed rows reported with line and field, the rest going on), the
district approves or returns each list, the city approves each district's total, and
`run` pays every approved row through the `ProgrammeRun` workflow (batches, a progress
bar). Only failed payments come back to a person: `failed` lists them, `correct` puts
a corrected row back for the next run. Each command is checked against the directory
and recorded on the programme's stream with the acting user.
"""

from __future__ import annotations

import asyncio
import csv
import io
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
    load_json_file,
    out,
    run,
    settings,
)
from casework.cli.render import Col, listing

programme_app = typer.Typer(
    help="帮扶项目 送温暖/夏季安康 (relief programmes: open, submit lists, review, approve, "
    "run the payments, correct failed rows).",
    **BARE_HELP,
)
app.add_typer(programme_app, name="programme")

MAX_FILE_BYTES = 2_000_000
STATUS_WORDS = {
    "submitted": "待审核 submitted",
    "approved": "已通过 approved",
    "returned": "已退回 returned",
}


def _actor(as_user: str) -> Any:
    from casework.store.directory import Directory

    return Directory(engine()).active(as_user).actor()


def _programmes(with_keys: bool = True) -> Any:
    from casework.store.programmes import Programmes

    return Programmes(engine(), keyring() if with_keys else None)


def _read(path: Path, field: str = "--file") -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            fail(f"field {field}: 文件过大 (larger than {MAX_FILE_BYTES:,} bytes)")
        return path.read_bytes()
    except OSError as e:
        fail(f"field {field}: 无法读取 (cannot read) {path}: {e.strerror}")


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}"


@programme_app.command("open")
@handled
def programme_open(
    file: Path = typer.Option(..., "--file", help="The programme (JSON): examples/programme.json."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """发起 a programme: name, period, budget per district, standard amount per category,
    who qualifies. A city officer."""
    from casework.domain.programme import ProgrammeSpec

    spec = ProgrammeSpec.model_validate(load_json_file(file, "programme"))
    pid = _programmes().open(spec, _actor(as_user))
    if as_json:
        emit_json({"programme_id": pid})
    else:
        out.print(f"[green]已发起 (opened):[/] {pid} {escape(spec.name)}")


@programme_app.command("submit")
@handled
def programme_submit(
    programme_id: str = typer.Argument(...),
    file: Path = typer.Option(
        ...,
        "--file",
        help="The union's list (CSV, UTF-8 or GB18030): union,name,id_number,category,"
        "amount_fen[,bank_account].",
    ),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """名单上报 a union's list (a grassroots officer, for their district). Every row is
    checked; failed rows are reported with line and field, the rest go on."""
    from casework.domain.programme import ListUnreadable

    data = _read(file)
    try:
        summary = _programmes().submit(programme_id, data, _actor(as_user))
    except ListUnreadable as e:
        fail(f"field --file: {e}")
    if as_json:
        emit_json(summary)
        return
    out.print(
        f"[green]已上报 (submitted):[/] {summary.list_id} · {summary.district} · "
        f"{summary.accepted} 行通过 accepted, {summary.failed} 行未通过 failed, "
        f"{_yuan(summary.total_fen)} 元"
    )
    _print_failures(summary.failures)


def _print_failures(failures: list[Any]) -> None:
    listing(
        out,
        [
            Col("行 line", justify="right", head=True),
            Col("字段 field", head=True),
            Col("原因 reason"),
        ],
        [[str(f.line), f.field, escape(f.message)] for f in failures],
        title="未通过的行 failed rows (退回基层工会更正 back to the union)",
    )


@programme_app.command("lists")
@handled
def programme_lists(
    programme_id: str = typer.Argument(...),
    as_user: str = AsOpt,
    failures: bool = typer.Option(False, "--failures", help="Also each list's failed rows."),
    as_json: bool = JsonOpt,
) -> None:
    """The submitted lists the user's jurisdiction covers, with their status."""
    lists = _programmes(with_keys=False).lists(programme_id, _actor(as_user))
    if as_json:
        emit_json(lists)
        return
    listing(
        out,
        [
            Col("名单 list", key=True),
            Col("区县 district"),
            Col("工会 union"),
            Col("行 rows", justify="right"),
            Col("通过 ok", justify="right"),
            Col("未通过 failed", justify="right"),
            Col("金额 元 amount", justify="right"),
            Col("状态 status"),
        ],
        [
            [
                s.list_id,
                s.district,
                escape(s.union_name),
                str(s.rows),
                str(s.accepted),
                str(s.failed),
                _yuan(s.total_fen),
                STATUS_WORDS.get(s.status, s.status),
            ]
            for s in lists
        ],
        title=f"{programme_id} 名单 lists",
        empty="没有名单 (no lists)",
    )
    if failures:
        for s in lists:
            if s.failures:
                out.print(f"[bold]{s.list_id}[/]")
                _print_failures(s.failures)


@programme_app.command("review")
@handled
def programme_review(
    list_id: str = typer.Argument(..., help="The list (see `programme lists`)."),
    approve: bool = typer.Option(
        False, "--approve/--return", help="Approve the list, or return it to the union."
    ),
    comment: str | None = typer.Option(None, "--comment", "-m", help="Why (required to return)."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """区县审核 a union's list (a district officer of its district)."""
    summary = _programmes(with_keys=False).review(
        list_id, _actor(as_user), approve=approve, comment=comment
    )
    if as_json:
        emit_json(summary)
    else:
        out.print(f"{summary.list_id}: {STATUS_WORDS.get(summary.status, summary.status)}")


@programme_app.command("approve")
@handled
def programme_approve(
    programme_id: str = typer.Argument(...),
    district: str = typer.Option(..., "--district", help="The district whose total is approved."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """市总审批 a district's total (a city officer): its approved lists' rows are to be paid."""
    figures = _programmes(with_keys=False).approve_district(programme_id, district, _actor(as_user))
    if as_json:
        emit_json(figures)
    else:
        out.print(
            f"[green]已审批 (approved):[/] {district}: "
            f"{figures.recipients.get('approved', 0)} 人待发放 to pay"
        )


@programme_app.command("show")
@handled
def programme_show(
    programme_id: str = typer.Argument(...),
    as_user: str | None = typer.Option(
        None, "--as", help="Viewing user: only the districts of their jurisdiction."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Per district: lists, rows, failed rows, amounts, paid; and the payment run."""
    viewer = _actor(as_user) if as_user else None
    summary = _programmes(with_keys=False).summary(programme_id, viewer)
    if as_json:
        emit_json(summary)
        return
    numbers = [
        *("名单 lists", "待审 pending", "行 rows", "未通过 failed", "上报 元 listed"),
        *("预算 元 budget", "已发 人 paid", "失败 failed", "已发 元 paid"),
    ]
    rows = []
    for d in summary.districts:
        rows.append(
            [
                d.district + (" [red]名单逾期 lists overdue[/]" if d.lists_overdue else ""),
                str(d.lists),
                str(d.lists_submitted),
                str(d.rows),
                str(d.failed_rows),
                _yuan(d.listed_fen),
                _yuan(d.budget_fen),
                str(d.recipients.get("paid", 0)),
                str(d.recipients.get("failed", 0)),
                _yuan(d.paid_fen),
            ]
        )
    listing(
        out,
        [Col("区县 district", head=True), *(Col(n, justify="right") for n in numbers)],
        rows,
        title=f"{summary.programme_id} {escape(summary.name)} ({summary.status})",
    )
    due = summary.lists_due
    if due is None:
        out.print("名单上报截止 lists deadline: 未记录 not recorded yet")
    else:
        from casework.domain.calendar import CHINA_TZ

        at = due.recorded_at.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
        named = "、".join(escape(d) for d in due.overdue_districts) or "无 none"
        out.print(
            f"名单上报截止 lists deadline {due.lists_due_on}: 已于 {at} (北京时间 Beijing) 记录 "
            f"recorded · 届时未报区县 districts without a list then: {named}"
        )
    p = summary.progress
    out.print(
        f"发放 payments: {p.done}/{p.total} · 已发 paid {p.counts.get('paid', 0)} 人次 "
        f"{_yuan(p.amount_fen)} 元 · 失败 failed {p.counts.get('failed', 0)}"
    )


@programme_app.command("run")
@handled
def programme_run(
    programme_id: str = typer.Argument(...),
    as_user: str = AsOpt,
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the run to its end."),
    as_json: bool = JsonOpt,
) -> None:
    """发放 pay every approved row (a city officer), through the `ProgrammeRun` workflow.
    Started again while it runs, it follows the run already going."""
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from casework.domain.batch import RunProgress
    from casework.domain.org import CITY, Role
    from casework.domain.programme import ProgrammeRunState, programme_workflow_id
    from casework.temporal import connect

    actor = _actor(as_user)
    if not actor.has_role(Role.CITY_OFFICER) or actor.district != CITY:
        fail("refused: role_not_held: 发放需要市总 city_officer 角色 (a city officer runs it)")
    _programmes(with_keys=False).spec(programme_id)
    s = settings()
    import casework.cli as cli_module

    cli_module._temporal_used = True  # leave with os._exit (casework.cli.main)

    async def go() -> RunProgress | None:
        try:
            client = await connect(s)
        except RuntimeError as e:
            fail(f"cannot reach Temporal at {s.temporal_address} ({e}); is `make run` running?", 1)
        wid = programme_workflow_id(programme_id)
        try:
            handle = await client.start_workflow(
                "ProgrammeRun",
                ProgrammeRunState(programme_id=programme_id, actor=actor),
                id=wid,
                task_queue=s.task_queue,
                result_type=RunProgress,
            )
        except WorkflowAlreadyStartedError:
            handle = client.get_workflow_handle(wid, result_type=RunProgress)
            if not as_json:
                out.print(f"发放已在进行 (already running): {wid}")
        if not wait:
            return None
        result = asyncio.ensure_future(handle.result())
        columns = (
            TextColumn("发放 paying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=out, disable=as_json, transient=False) as bar:
            task = bar.add_task("pay", total=None)
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
        out.print(f"已开始 (started): {programme_workflow_id(programme_id)}")
    elif as_json:
        emit_json(final)
    else:
        out.print(
            f"[green]发放完成 (paid):[/] {final.counts.get('paid', 0)} 人次 "
            f"{_yuan(final.amount_fen)} 元; 失败 failed {final.counts.get('failed', 0)} "
            "(`casework programme failed` 列出待更正的行 lists them)"
        )


@programme_app.command("failed")
@handled
def programme_failed(
    programme_id: str = typer.Argument(...),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """The rows the payment run could not pay, in the user's jurisdiction."""
    rows = _programmes(with_keys=False).failed_payments(programme_id, _actor(as_user))
    if as_json:
        emit_json(rows)
        return
    listing(
        out,
        [
            Col("行号 row id", key=True),
            Col("区县 district"),
            Col("工会 union"),
            Col("行 line", justify="right"),
            Col("姓名 name"),
            Col("身份证 ID", key=True),
            Col("元 yuan", justify="right"),
            Col("原因 reason"),
        ],
        [
            [
                str(r.recipient_id),
                r.district,
                escape(r.union_name),
                str(r.line),
                escape(r.name),
                r.id_masked,
                _yuan(r.amount_fen),
                escape(r.failure or "-"),
            ]
            for r in rows
        ],
        title=f"{programme_id} 发放失败 failed payments",
        empty="没有发放失败的行 (no failed payments)",
    )


@programme_app.command("correct")
@handled
def programme_correct(
    programme_id: str = typer.Argument(...),
    file: Path = typer.Option(..., "--file", help="CSV: recipient_id,bank_account."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """更正 failed rows' bank accounts (a district officer): each goes back to be paid by
    the next `programme run`. A line that cannot be corrected is reported; the others go on."""
    from casework.domain.refusal import Refused

    text = _read(file).decode("utf-8-sig", errors="replace")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    if not {"recipient_id", "bank_account"} <= set(reader.fieldnames or []):
        fail("field --file: 需要列 recipient_id,bank_account (columns required)")
    programmes = _programmes()
    actor = _actor(as_user)
    done: list[int] = []
    problems: list[dict[str, Any]] = []
    for row in reader:
        line = reader.line_num
        rid = (row.get("recipient_id") or "").strip()
        if not rid.isascii() or not rid.isdigit():
            problems.append(
                {
                    "line": line,
                    "field": "recipient_id",
                    "code": "invalid",
                    "message": "须为数字 (a number)",
                }
            )
            continue
        try:
            programmes.correct(
                programme_id, int(rid), (row.get("bank_account") or "").strip(), actor
            )
            done.append(int(rid))
        except Refused as e:
            problems.append(
                {
                    "line": line,
                    "field": e.field or "recipient_id",
                    "code": e.code,
                    "message": e.message,
                }
            )
    if as_json:
        emit_json({"corrected": done, "failed": problems})
    else:
        out.print(f"[green]已更正 (corrected):[/] {len(done)} 行 rows")
        for p in problems:
            where = escape(f"[{p['field']}] {p['code']}")
            out.print(f"[red]行 line {p['line']} {where}:[/] {escape(p['message'])}")
    if problems:
        raise typer.Exit(2)


@programme_app.command("exceptions")
@handled
def programme_exceptions(as_user: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """What of the open programmes waits on this user (例外待办): a returned list, lists
    to review, failed payments, a district total to approve, rows to pay."""
    from casework.store.programme_exceptions import exceptions_for

    items = exceptions_for(engine(), _actor(as_user))
    if as_json:
        emit_json(items)
        return
    if not items:
        out.print("没有待处理的项目例外 (no programme exceptions)")
        return
    listing(
        out,
        [
            Col("项目 programme", key=True),
            Col("区县 district"),
            Col("待办 what"),
            Col("数 n", justify="right"),
        ],
        [[i.programme_id, i.district, f"{i.what[0]} ({i.what[1]})", str(i.count)] for i in items],
        title="项目例外 programme exceptions",
    )
    for i in items:
        out.print(f"  {escape(i.command)} --as {as_user}", soft_wrap=True)
