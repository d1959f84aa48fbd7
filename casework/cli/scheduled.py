"""`casework schedules apply|list`, `casework assess run|status`, `casework report annual`:
the runs of the calendar and the year-end report (docs/batch-runs.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn

from casework.cli import (
    BARE_HELP,
    AsOpt,
    JsonOpt,
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

schedules_app = typer.Typer(help="定时任务 (Temporal Schedules of the runs).", **BARE_HELP)
assess_app = typer.Typer(
    help="年度运行 (annual review, year-end report: start by hand, progress).", **BARE_HELP
)
report_app = typer.Typer(help="报告 (the year-end report).", **BARE_HELP)
app.add_typer(schedules_app, name="schedules")
app.add_typer(assess_app, name="assess")
app.add_typer(report_app, name="report")

YearOpt = typer.Option(..., "--year", min=2000, max=2100, help="The year (e.g. 2026).")


async def _client() -> Any:
    import casework.cli as cli
    from casework.temporal import connect

    cli._temporal_used = True
    s = settings()
    try:
        return await connect(s)
    except RuntimeError as e:
        fail(f"cannot reach Temporal at {s.temporal_address} ({e}); is `make run` running?", 1)


def _city_user(as_user: str, what: str) -> Any:
    from casework.assess import NotAllowed, check_city_role
    from casework.store.directory import Directory

    user = Directory(engine()).active(as_user)
    try:
        check_city_role(user, what)
    except NotAllowed as e:
        fail(f"refused: forbidden: {e}")
    return user


def _kind(kind: str) -> str:
    from casework.assess import check_kind

    try:
        return check_kind(kind)
    except ValueError as e:
        fail(str(e))


@schedules_app.command("apply")
@handled
def schedules_apply(
    file: Path | None = typer.Option(
        None, "--file", help="Schedules file (default: the shipped casework/schedules.toml)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Create or update the Schedules (idempotent); delete those of closed programmes."""
    from casework import scheduling

    try:
        config = scheduling.load(file)
    except scheduling.ScheduleFileError as e:
        fail(str(e))
    eng = engine()

    async def go() -> Any:
        return await scheduling.apply(await _client(), eng, config, settings().task_queue)

    results = run(go())
    if as_json:
        emit_json(results)
        return
    words = {
        "created": "已创建 created",
        "updated": "已更新 updated",
        "unchanged": "无变化 unchanged",
        "deleted": "已删除 deleted",
    }
    for r in results:
        out.print(f"{words[r.change]}: {r.schedule_id}")


@schedules_app.command("list")
@handled
def schedules_list(as_json: bool = JsonOpt) -> None:
    """Each schedule, its times in words and its next runs (Beijing time)."""
    from casework import scheduling

    async def go() -> Any:
        return await scheduling.listed(await _client())

    items = run(go())
    if as_json:
        emit_json(items)
        return
    if not items:
        out.print("没有定时任务 (no schedules): run `casework schedules apply`")
    for s in items:
        nxt = ", ".join(local_time(t) for t in s.next_runs) or "-"
        out.print(f"[bold]{escape(s.schedule_id)}[/] → {escape(s.workflow)}", highlight=False)
        out.print(f"  时间 when: {escape(s.words)}", highlight=False, soft_wrap=True)
        out.print(
            f"  下次运行 next runs (北京时间 Beijing time): {nxt}"
            + (" (暂停 paused)" if s.paused else ""),
            highlight=False,
            soft_wrap=True,
        )


def _print_run(info: Any) -> None:
    state = "已存在 (existing run)" if info.already else "运行 (run)"
    out.print(
        f"{state}: {info.workflow_id} · 状态 status {info.status} · "
        f"开始 started {local_time(info.started_at)}"
        + (f" · 结束 closed {local_time(info.closed_at)}" if info.closed_at else "")
    )


@assess_app.command("run")
@handled
def assess_run(
    kind: str, year: int = YearOpt, as_user: str = AsOpt, as_json: bool = JsonOpt
) -> None:
    """Start the run of KIND (annual-review, annual-report) for a year; started again, the
    existing run is reported."""
    from casework.assess import start_run

    kind = _kind(kind)
    _city_user(as_user, "启动年度运行 (start a run)")

    async def go() -> Any:
        return await start_run(await _client(), kind, year, settings().task_queue)

    info = run(go())
    if as_json:
        emit_json(info)
    else:
        _print_run(info)


@assess_app.command("status")
@handled
def assess_status(
    kind: str, year: int = YearOpt, as_user: str = AsOpt, as_json: bool = JsonOpt
) -> None:
    """Where the run of KIND for a year is: a progress bar, counts by outcome, status."""
    from casework.assess import RunNotFound, describe_run

    kind = _kind(kind)
    _city_user(as_user, "查看年度运行 (read a run)")

    async def go() -> Any:
        try:
            return await describe_run(await _client(), kind, year)
        except RunNotFound as e:
            fail(str(e))

    info = run(go())
    if as_json:
        emit_json(info)
        return
    _print_run(info)
    p = info.progress
    if p is None:
        out.print("进度不可用 (no progress: the run answers no query now)")
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        console=out,
    ) as bar:
        bar.add_task("进度 progress", total=max(p.total, 1), completed=p.done)
    counts = ", ".join(f"{k} {v}" for k, v in sorted(p.counts.items())) or "-"
    out.print(f"按结果 by outcome: {counts}" + (" · 已完成 finished" if p.finished else ""))


@report_app.command("annual")
@handled
def report_annual(
    year: int = YearOpt,
    fmt: str = typer.Option("md", "--format", help="md, json or csv."),
    fresh: bool = typer.Option(
        False, "--fresh", help="Recompute now and store it (replacing the stored one)."
    ),
    as_user: str = AsOpt,
) -> None:
    """The year-end report: the stored one, or computed now (`--fresh`, or none stored)."""
    from casework.store.annual_report import AnnualReports

    if fmt not in ("md", "json", "csv"):
        fail(f"field --format: {fmt!r}; one of: md, json, csv")
    user = _city_user(as_user, "查看年度报告 (read the year-end report)")
    reports = AnnualReports(engine())
    report = None if fresh else reports.stored(year)
    if report is None:
        report = reports.fresh(year, user.id)
    if fmt == "json":
        emit_json(report)
    elif fmt == "csv":
        _csv(report.figures)
    else:
        out.print(report.markdown, markup=False, highlight=False, soft_wrap=True)


def _csv(f: Any) -> None:
    import csv
    import sys

    w = csv.writer(sys.stdout)
    w.writerow(["section", "name", "dimension", "key", "count", "amount_fen"])
    for p in f.programmes:
        w.writerow(["programme", p.name, "total", "", p.total.count, p.total.amount_fen])
        for dim, tallies in (("district", p.by_district), ("category", p.by_category)):
            for k, t in sorted(tallies.items()):
                w.writerow(["programme", p.name, dim, k, t.count, t.amount_fen])
    r = f.relief
    w.writerow(["relief", "hardship", "total", "", r.total.count, r.total.amount_fen])
    for dim, tallies in (
        ("district", r.by_district),
        ("category", r.by_category),
        ("relief_type", r.by_relief_type),
    ):
        for k, t in sorted(tallies.items()):
            w.writerow(["relief", "hardship", dim, k, t.count, t.amount_fen])
    a = f.legal_aid
    w.writerow(["legal_aid", "opened", "", "", a.opened, ""])
    w.writerow(["legal_aid", "closed", "", "", a.closed, a.recovered_fen])
    w.writerow(["awards", "awards", "", "", f.awards, ""])
    u = f.audit
    w.writerow(["audit", "projects", "", "", u.projects, ""])
    w.writerow(["audit", "findings_rectified", "", "", u.findings_rectified, ""])
    for s in f.stages:
        w.writerow(["stage", s.stage, "median_days", "", s.tasks, s.median_days])
        w.writerow(["stage", s.stage, "p90_days", "", s.tasks, s.p90_days])
        w.writerow(["stage", s.stage, "overdue", "", s.overdue, ""])
    for k, n in sorted(f.review.by_outcome.items()):
        w.writerow(["review", "outcome", "", k, n, ""])
