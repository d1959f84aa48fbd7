"""`casework`: the command line for officers, supervisors and operators.

Commands go to Temporal (through `casework.service`), reads come from the store's
projections. `--json` prints one JSON document on stdout and nothing else there.
Errors go to stderr, name the field or rule, and exit 2 (bad input, refused action),
3 (try again: the database or Temporal unreachable, the outcome not back in time) or 1
(anything else).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import structlog
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from casework.cli.render import Col, Rows, beijing, beijing_day, listing, sheet
from casework.domain.calendar import CHINA_TZ, WorkingCalendar
from casework.domain.case import Action, CaseView, Refused
from casework.domain.case_type import UnknownAction
from casework.domain.org import CITY
from casework.domain.personal import BANK_ACCOUNT
from casework.domain.registry import ACTION_NAMES, CASE_TYPES, INTAKES, known_action
from casework.settings import Settings

T = TypeVar("T")
log = structlog.get_logger("casework.cli")

app = typer.Typer(
    name="casework",
    help="casework — 工会案件审批流程引擎 (case approval workflows: hardship relief 困难职工帮扶, legal aid 工会法律援助, ...).",
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help: fits 80 columns, and lists --help without a type.
    rich_markup_mode=None,
)


def _help_when_bare(ctx: typer.Context) -> None:
    """A command group typed alone (`casework users`): its help, and success (exit 0),
    as `casework` alone; Click's `no_args_is_help` would exit 2."""
    if ctx.invoked_subcommand is None:
        out.print(ctx.get_help(), highlight=False, markup=False)
        raise typer.Exit(0)


BARE_HELP: dict[str, Any] = {"invoke_without_command": True, "callback": _help_when_bare}
"""Every command group's settings: help when typed alone."""

users_app = typer.Typer(help="用户 (users and their roles).", **BARE_HELP)
case_app = typer.Typer(help="案件 (open, show and trace cases).", **BARE_HELP)
audit_app = typer.Typer(
    help="审计 (integrity checks of the event log; an audit's sample of relief cases).",
    **BARE_HELP,
)
projections_app = typer.Typer(help="读模型 (read models).", **BARE_HELP)
app.add_typer(users_app, name="users")
app.add_typer(case_app, name="case")
app.add_typer(audit_app, name="audit")
app.add_typer(projections_app, name="projections")
privacy_app = typer.Typer(
    help="个人信息 (personal data: erasure after the retention period, encryption keys).",
    **BARE_HELP,
)
app.add_typer(privacy_app, name="privacy")

out = Console()
err = Console(stderr=True, soft_wrap=True)

JsonOpt = typer.Option(False, "--json", help="Print one JSON document on stdout.")
AsOpt = typer.Option(
    ..., "--as", help="Acting user id (see `casework users list`); not a disabled user."
)


class CliError(Exception):
    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def fail(message: str, code: int = 2) -> NoReturn:
    raise CliError(message, code)


TRY_AGAIN = 3
"""Exit code: a passing fault (database or Temporal unreachable, outcome not back in
time); the
same command, with the same --key, may be sent again and is applied at most once."""


def handled(fn: Callable[..., T]) -> Callable[..., T]:
    """Turn known failures into a clear message on stderr and the right exit code."""
    from sqlalchemy.exc import OperationalError

    from casework.privacy.fields import DecryptionFailed
    from casework.privacy.keys import KeyringError
    from casework.service_errors import ActionPending, ActionRefused, CaseNotFound
    from casework.store.directory import UnknownUser, UserDisabled
    from casework.store.queries import UnknownCase
    from casework.store.supervision import SupervisionRefused

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return fn(*args, **kwargs)
        except CliError as e:
            err.print(f"[red]错误 (error):[/] {escape(e.message)}", highlight=False)
            raise typer.Exit(e.code) from None
        except ValidationError as e:  # e.g. a --comment longer than an action takes
            err.print(
                f"[red]错误 (error):[/] {escape(validation_message(e, '输入无效 (invalid input)'))}",
                highlight=False,
            )
            raise typer.Exit(2) from None
        except (ActionRefused, SupervisionRefused, Refused) as e:
            where = escape(f" [field: {shown(e.field)}]") if e.field else ""
            err.print(
                f"[red]操作被拒绝 (refused: {escape(e.code)}){where}:[/] "
                f"{escape(shown(e.message, 1000, newlines=True))}",
                highlight=False,
            )
            raise typer.Exit(2) from None
        except (UnknownUser, UserDisabled, UnknownCase, CaseNotFound) as e:
            err.print(f"[red]错误 (error):[/] {escape(str(e))}", highlight=False)
            raise typer.Exit(2) from None
        except ActionPending as e:
            err.print(
                f"[yellow]尚未确认 (not confirmed yet):[/] {escape(str(e))}. "
                f"请稍后重试 (try again) with the same command and --key {escape(e.key)}: "
                "it is applied at most once.",
                highlight=False,
            )
            raise typer.Exit(TRY_AGAIN) from None
        except OperationalError as e:
            reason = str(e.orig or e).strip().splitlines()[0]
            err.print(
                f"[red]数据库暂时无法访问 (database unreachable):[/] {escape(reason)}. "
                "请稍后重试 (try again).",
                highlight=False,
            )
            raise typer.Exit(TRY_AGAIN) from None
        except (KeyringError, DecryptionFailed) as e:
            err.print(f"[red]加密密钥错误 (encryption keys):[/] {escape(str(e))}", highlight=False)
            raise typer.Exit(1) from None
        except ConnectionError as e:
            err.print(f"[red]无法连接 (cannot connect):[/] {escape(str(e))}", highlight=False)
            raise typer.Exit(1) from None
        except RuntimeError as e:
            if "Failed client connect" in str(e) or "connection" in str(e).lower():
                err.print(
                    "[red]无法连接 Temporal (cannot reach Temporal):[/] 请稍后重试 (try again).",
                    highlight=False,
                )
                log.debug("temporal.unreachable", reason=str(e).splitlines()[0][:200])
                raise typer.Exit(TRY_AGAIN) from None
            raise

    return wrapper


def settings() -> Settings:
    return Settings()


@app.callback(invoke_without_command=True)
@handled
def _log_setup(ctx: typer.Context) -> None:
    if ctx.invoked_subcommand is None:  # `casework` alone: its help, and success
        out.print(ctx.get_help(), highlight=False, markup=False)
        raise typer.Exit(0)
    # Every command logs as the worker does: lines on stderr (stdout stays for --json),
    # CASEWORK_LOG_LEVEL / CASEWORK_LOG_JSON honoured, personal data masked.
    from casework.logging import configure_logging

    try:
        s = settings()
        configure_logging(s.log_level, s.log_json)
    except ValidationError as e:  # a malformed CASEWORK_* variable
        # Each variable and what is wrong with it, never pydantic's text: that repeats the
        # input, which for a rule across fields is every setting, keys and passwords too.
        fail(
            "配置无效 (invalid configuration):\n  "
            + "\n  ".join(
                f"{'CASEWORK_' + str(err['loc'][0]).upper() if err['loc'] else 'settings'}: "
                f"{shown(err['msg'], 300)}"
                for err in e.errors()
            ),
            1,
        )
    except ValueError as e:  # an unknown log level
        fail(f"配置无效 (invalid configuration): {e}", 1)


def keyring() -> Any:
    """The deployment's master keys (CASEWORK_ENCRYPTION_KEYS, or the embedded key file)."""
    from casework.privacy.keys import load_keyring

    return load_keyring(settings())


def engine() -> Any:
    from casework.store.db import make_engine, migrate

    eng = make_engine(settings().database_url)
    migrate(eng)
    return eng


def calendar() -> WorkingCalendar:
    """The working-day calendar of the processes (with CASEWORK_HOLIDAYS_FILE)."""
    from casework.config import ConfigError

    try:
        overrides = settings().processes.calendar
    except ConfigError as e:
        fail(f"configuration: {e}", 1)
    return WorkingCalendar(overrides)


def parse_at(value: str | None) -> datetime:
    """`--at`: an ISO date or date-time, Beijing time unless it names an offset."""
    if value is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        fail(f"field --at: expected YYYY-MM-DD or YYYY-MM-DDTHH:MM, got {value!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(UTC)


def emit_json(value: Any) -> None:
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    elif isinstance(value, list):
        value = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


local_time = beijing
"""A time as people here read it: Beijing time (casework.cli.render)."""
due_day = beijing_day
"""A deadline's last day, Beijing time (casework.cli.render)."""


def print_case(
    view: CaseView, clock: Any = None, applicant: Any = None, parallel_clocks: Any = None
) -> None:
    table = Rows()
    table.add_row("案件 case", view.case_id)
    table.add_row("类型 type", view.type)
    status = view.status.value + (f" ({view.outcome.value})" if view.outcome else "")
    table.add_row("状态 status", status)
    table.add_row("阶段 stage", view.stage)
    table.add_row("区县 district", view.district)
    table.add_row("立案人 opened by", view.opened_by)
    if applicant is not None:
        table.add_row("申请人 applicant", escape(applicant.name or "-"))
        table.add_row("身份证号 ID number", escape(applicant.id_number or "-"))
        table.add_row("手机 phone", escape(applicant.phone or "-"))
        kind = CASE_TYPES.get(view.type)
        if applicant.bank_account is not None or kind is None or BANK_ACCOUNT in kind.who_sees:
            # Only processes that pay the applicant take an account (hardship relief).
            table.add_row("银行账户 bank account", escape(applicant.bank_account or "未登记 none"))
    task = view.open_task
    if task:
        waiting = " · 等待补充材料 waiting for info" if task.waiting_info else ""
        table.add_row(
            "待办 open task",
            f"{task.stage} · {task.role} · {task.district} · "
            f"{task.assignee or '未认领 unclaimed'}{waiting}",
        )
        table.add_row("期限 due", f"{due_day(task.due_at)} 24:00" if task.due_at else "-")
    if task and view.parallel_tasks:
        table.add_row("任务编号 task id", task.task_id or "-")
    if clock is not None:
        left = clock.working_days_left
        if left is None:
            remaining = "无时限 no time limit"
        elif left < 0:
            remaining = f"[red]超期 {-left} 个工作日 ({-left} working days overdue)[/]"
        else:
            remaining = f"剩余 {left} 个工作日 ({left} working days left)"
        state = []
        if clock.paused:
            state.append(f"计时暂停 clock paused ({clock.pause_reason})")
        if clock.escalated:
            state.append("[red]已升级督办 escalated[/]")
        table.add_row(
            "计时 clock",
            f"已用 {clock.working_days_used} 个工作日 ({clock.working_days_used} used) · "
            + remaining
            + ("".join(f" · {x}" for x in state)),
        )
        for p in clock.pauses:
            table.add_row(
                "暂停 pause",
                f"{local_time(p.started_at)} → {local_time(p.ended_at) if p.ended_at else '…'}"
                f" ({p.reason})",
            )
    for d in view.deadlines:
        table.add_row(
            f"期限 {escape(d.label[0])} ({d.name})", deadline_line(d, view.status == "closed")
        )
    clocks = {c.task_id: c for c in parallel_clocks or []}
    for n, p in enumerate(view.parallel_tasks, start=1):
        table.add_row(f"并行任务 task {n}", parallel_task_lines(p, clocks.get(p.task_id or "")))
    sheet(out, table.rows)
    if view.parallel_tasks:
        out.print("按任务办理 (act on one): casework act CASE ACTION --task TASK_ID")


def parallel_task_lines(task: Any, clock: Any = None) -> str:
    """One of several open tasks in `case show`: its id on a line of its own (never
    cut at 80 columns), then what it is, who has it and its clock."""
    marks = []
    if task.overdue:
        marks.append("[red]超期 overdue[/]")
    if task.escalated:
        marks.append("[red]已升级督办 escalated[/]")
    if task.paused:
        marks.append("计时暂停 clock paused")
    if task.waiting_info:
        marks.append("等待补充材料 waiting for info")
    if clock is not None and clock.working_days_left is not None:
        left = clock.working_days_left
        marks.append(
            f"剩余 {left} 个工作日 ({left} working days left)"
            if left >= 0
            else f"超期 {-left} 个工作日 ({-left} working days overdue)"
        )
    return "\n".join(
        [
            task.task_id or "-",
            f"{task.stage} · {task.role} · {task.district} · {task.assignee or '未认领 unclaimed'}",
            " · ".join([f"期限 due {due_day(task.due_at)}", *marks]),
        ]
    )


_DEADLINE_STATUS = {
    "running": "计算中 running",
    "suspended": "中止 suspended",
    "passed": "[red]已届满 passed[/]",
    "met": "已按期办理 met",
    "cleared": "解除 cleared",
}


def deadline_line(d: Any, case_closed: bool = False) -> str:
    """A case deadline in `case show`: its last day, status and marks. A closed case no
    longer watches the deadlines it left running (a refused application's limitation)."""
    parts = [f"{due_day(d.due_at)} 24:00", _DEADLINE_STATUS.get(d.status, d.status)]
    if d.status == "running" and case_closed:
        parts[1] = "案件已结案，不再跟踪 (case closed: no longer tracked)"
    elif d.status == "running":
        last_day = (d.due_at - timedelta(microseconds=1)).astimezone(CHINA_TZ).date()
        days = (last_day - datetime.now(UTC).astimezone(CHINA_TZ).date()).days + 1
        parts.append(f"剩余 {days} 日 ({days} days left)" if days > 0 else "[red]已到期 due[/]")
    if d.status == "suspended" and d.days_left is not None:
        parts.append(f"中止时剩余 {d.days_left} 日 ({d.days_left} days left when suspended)")
    if d.warned_days_before is not None:
        parts.append(f"已预警 warned {d.warned_days_before} 日前")
    if d.escalated:
        parts.append("[red]已升级督办 escalated[/]")
    return " · ".join(parts)


def print_sheet(rows: list[tuple[str, str]], kind: Any) -> None:
    """A case type's own sheet (`CaseType.sheet_lines`): what the case is about."""
    sheet(
        out,
        [(label, escape(text)) for label, text in rows],
        title=f"案件要点 {kind.label[0]} ({kind.label[1]})",
    )


def print_review(review: Any) -> None:
    """What the reviewer decides on (casework.domain.review)."""
    from casework.domain.review import sheet_lines

    sheet(
        out,
        [(label, escape(text)) for label, text in sheet_lines(review)],
        title="审核要点 (what the reviewer decides on)",
    )


MAX_JSON_BYTES = 256_000
"""An application or action data file is a few kilobytes. Refused before reading
beyond this: far larger data would pass Temporal's payload limits (2 MB; a refused
Update echoes its input), fail the case's workflow task and end in a traceback."""
MAX_JSON_DEPTH = 20
"""Nesting deeper than this is refused (the documents need three levels)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} 不是合法的 JSON 值 ({name} is not a JSON value)")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"重复的键 (duplicate key) {shown(key)}")
        result[key] = value
    return result


def _depth(value: Any) -> int:
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            todo.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def load_json_file(path: Path, what: str) -> Any:
    """A JSON document from a UTF-8 file (a byte-order mark is allowed): strict JSON (no
    NaN, no duplicate keys), at most MAX_JSON_BYTES and MAX_JSON_DEPTH levels."""
    try:
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            fail(
                f"{what} file {path}: 文件过大 (too large: {size} bytes, at most {MAX_JSON_BYTES})"
            )
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        fail(f"cannot read {what} file {path}: {e.strerror}")
    except UnicodeDecodeError:
        fail(f"{what} file {path} is not UTF-8 text (请另存为 UTF-8 / save it as UTF-8)")
    try:
        data = json.loads(
            text, parse_constant=_refuse_constant, object_pairs_hook=_no_duplicate_keys
        )
    except json.JSONDecodeError as e:
        fail(f"{what} file {path} is not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})")
    except RecursionError:  # nested far too deep for the parser itself
        data = None
        too_deep = True
    except ValueError as e:  # NaN, a duplicate key, an integer of thousands of digits
        fail(f"{what} file {path} is not valid JSON: {e}")
    else:
        too_deep = _depth(data) > MAX_JSON_DEPTH
    if too_deep:
        fail(f"{what} file {path}: 嵌套过深 (nested more than {MAX_JSON_DEPTH} levels deep)")
    return data


def shown(value: Any, limit: int = 60, newlines: bool = False) -> str:
    """A value from a file as it may appear in a message: control and other invisible
    characters escaped (line breaks kept if `newlines`), cut after `limit` characters."""
    text = str(value)
    clipped = text[:limit]
    safe = "".join(
        c
        if c.isprintable() or (newlines and c == "\n")
        else c.encode("unicode_escape").decode("ascii")
        for c in clipped
    )
    return safe + ("…" if len(text) > limit else "")


def validation_message(
    exc: ValidationError, title: str = "申请材料无效 (invalid application)"
) -> str:
    lines = []
    for error in exc.errors():
        loc = ".".join(shown(p) for p in error["loc"]) or "(document)"
        lines.append(f"field {loc}: {shown(error['msg'], 300, newlines=True)}")
    return title + ":\n  " + "\n  ".join(lines)


async def _service() -> Any:
    from casework.service import CaseService
    from casework.temporal import connect

    global _temporal_used
    _temporal_used = True
    s = settings()
    try:
        client = await connect(s)
    except RuntimeError as e:
        # The SDK's reason is a transport error chain; the officer needs one plain line.
        log.debug("temporal.unreachable", reason=str(e).splitlines()[0][:200])
        fail(
            f"无法连接 Temporal (cannot reach Temporal at {s.temporal_address}): "
            "请稍后重试 (try again); `make run` 是否在运行 (is `make run` running)?",
            TRY_AGAIN,
        )
    return CaseService(client, engine(), s.task_queue)


# -- users -------------------------------------------------------------------------------


@users_app.command("list")
@handled
def users_list(as_json: bool = JsonOpt) -> None:
    """List users with their roles and jurisdiction."""
    from casework.store.directory import Directory

    people = Directory(engine()).list()
    if as_json:
        emit_json(people)
        return
    listing(
        out,
        [Col("id", key=True), Col("姓名 name"), Col("角色 roles"), Col("辖区 district")],
        [[p.id, escape(p.name), ", ".join(p.roles), p.district] for p in people],
        empty="没有用户 (no users)",
    )


# -- cases -------------------------------------------------------------------------------


@case_app.command("open")
@handled
def case_open(
    case_type: str = typer.Argument(
        ...,
        help="Case type: "
        + ", ".join(f"{t.name} ({t.label[0]})" for t in CASE_TYPES.values())
        + "; or an application recorded as a row: "
        + ", ".join(f"{i.name} ({i.label[0]})" for i in INTAKES.values())
        + ".",
    ),
    file: Path = typer.Option(..., "--file", "-f", help="Application JSON file."),
    as_user: str = AsOpt,
    key: str | None = typer.Option(
        None,
        "--key",
        help="Idempotency key: sent again with the same key, the opening finds the case "
        "it opened instead of opening another.",
    ),
    campaign: str | None = typer.Option(
        None,
        "--campaign",
        help="The award campaign a nomination belongs to (CP-YYYY-NNN): types whose "
        "application names one.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Open a case from an application file; prints the case id."""
    from casework.store.directory import Directory

    intake = INTAKES.get(case_type)
    if intake is not None:
        _receive(intake, file, as_user, as_json)
        return
    kind = CASE_TYPES.get(case_type)
    if kind is None:
        fail(
            f"field case_type: unknown case type {case_type!r}; available: "
            + ", ".join([*CASE_TYPES, *INTAKES])
        )
    data = load_json_file(file, "application")
    if campaign is not None:
        if "campaign_id" not in kind.application_model.model_fields:
            fail(f"field --campaign: a {case_type} case belongs to no campaign")
        if not isinstance(data, dict):
            fail("field application: the file must hold a JSON object")
        data["campaign_id"] = campaign
    try:
        application = kind.application_model.model_validate(data)
    except ValidationError as e:
        fail(validation_message(e))
    # What was submitted, for whoever debugs an intake; the log masks the ID number,
    # phone and bank account (casework.logging).
    structlog.get_logger("casework.cli").debug(
        "case.open.requested",
        by=as_user,
        file=str(file),
        application=application.model_dump(mode="json"),
    )
    actor = Directory(engine()).active(as_user).actor()
    if key is not None and not 1 <= len(key) <= 200:
        fail("field --key: 1 to 200 characters")
    # Always an idempotency key, so that "try again" can name it.
    key = key or f"cli-open-{uuid.uuid4()}"
    wait = settings().act_wait_seconds

    async def go() -> CaseView:
        service = await _service()
        return await service.open_case(kind, application, actor, key, wait)  # type: ignore[no-any-return]

    view = run(go())
    if as_json:
        emit_json(view)
    else:
        out.print(f"已立案 (opened) [bold]{view.case_id}[/]")
        print_case(view)


def _receive(intake: Any, file: Path, as_user: str, as_json: bool) -> None:
    """An application that is a row, not a case (registry.INTAKES): recorded by its
    intake, its id printed; a case opens later only if a person must look at it."""
    import importlib

    from casework.store.directory import Directory

    data = load_json_file(file, "application")
    try:
        application = intake.application_model.model_validate(data)
    except ValidationError as e:
        fail(validation_message(e))
    actor = Directory(engine()).active(as_user).actor()
    module, name = intake.receiver.split(":")
    received = getattr(importlib.import_module(module), name)(engine(), application, actor)
    if as_json:
        emit_json({"application_id": received, "intake": intake.name})
    else:
        out.print(f"已受理 (received) [bold]{received}[/]")


@case_app.command("show")
@handled
def case_show(
    case_id: str,
    as_user: str | None = typer.Option(
        None,
        "--as",
        help="Viewing user: the ID number, phone and bank account are shown in clear only "
        "to roles whose work needs them; masked otherwise (and without --as).",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Stage, status, open task, assignee, due date, time used and left on the task,
    the case's deadlines, the applicant, and what the reviewer decides on: declared and
    computed category, income per head against 低保, the home-visit findings, the
    civil-affairs result, the amounts requested and approved, and the district's relief
    fund. A type with a sheet of its own shows that instead (legal aid: the stage in
    words, the station, the dispute and the acceptance conditions, the lawyer and the
    recorded steps, the closing report and the follow-up).

    A case with several open tasks (an audit's rectifications) lists each with its
    task id (name it with `act --task`), stage, assignee, due date and marks.

    Time is counted in working days; the task's clock stands still while paused."""
    from casework.store.directory import Directory
    from casework.store.event_store import EventStore
    from casework.store.personal import PersonalData
    from casework.store.queries import Queries
    from casework.store.supervision import task_clock

    eng = engine()
    state = Queries(eng).case_state(case_id)
    view = CaseView.of(state)
    viewer = Directory(eng).active(as_user).actor() if as_user else None
    events = [e.as_new_event() for e in EventStore(eng).read(case_id)]
    moment = datetime.now(UTC)
    clock = task_clock(state, events, moment, calendar())
    parallel_clocks = [
        found
        for task_id in state.parallel
        if (found := task_clock(state, events, moment, calendar(), task_id)) is not None
    ]
    personal = PersonalData(eng, keyring() if viewer else None)
    applicant = personal.applicant_in(case_id, state.district, events, viewer)
    if applicant is not None and not (applicant.name or applicant.id_number or applicant.erased):
        applicant = None  # a case about no person (an audit project)
    # The review sheet for the types it describes (hardship); a type's own sheet (legal
    # aid) for the types that have one.
    kind = CASE_TYPES.get(state.case_type)
    sheet = kind.sheet_lines(state, events) if kind and kind.sheet_lines else None
    reviewed = kind is None or kind.has_review_sheet
    review = Queries(eng).review(state, events) if reviewed else None
    if as_json:
        # The case view's keys are a contract; the clock, the applicant and what the
        # reviewer decides on come as more keys (a type's own sheet: `sheet`).
        emit_json(
            {
                **view.model_dump(mode="json"),
                "task_clock": clock.model_dump(mode="json") if clock else None,
                # The clocks of the tasks beside the stage's (`parallel_tasks`), as opened.
                "parallel_task_clocks": [c.model_dump(mode="json") for c in parallel_clocks],
                "applicant": applicant.model_dump(mode="json") if applicant else None,
                "review": review.model_dump(mode="json") if review else None,
                **(
                    {"sheet": [{"label": label, "text": text} for label, text in sheet]}
                    if sheet is not None
                    else {}
                ),
            }
        )
    else:
        print_case(view, clock, applicant, parallel_clocks)
        if sheet is not None:
            print_sheet(sheet, kind)
        if review is not None:
            print_review(review)


@case_app.command("history")
@handled
def case_history(case_id: str, as_json: bool = JsonOpt) -> None:
    """Every recorded event of a case, in order: when (Beijing time), what happened in
    words, who, and the start of its hash (`--json`: the event type, the whole hash,
    ISO 8601 times with their offset)."""
    from casework.store.queries import Queries
    from casework.web.i18n import Texts
    from casework.web.timeline import timeline

    items = Queries(engine()).history(case_id)
    if as_json:
        emit_json(items)
        return
    # The words the web timeline uses (基层初审通过 grassroots review approved).
    kind = CASE_TYPES.get(str(items[0].payload.get("case_type"))) if items else None
    zh, en = (timeline(items, Texts(lang), {}, kind) for lang in ("zh", "en"))
    rows = []
    for h, z, e in zip(items, zh, en, strict=True):
        payload = json.dumps(h.payload, ensure_ascii=False)
        rows.append(
            [
                str(h.seq),
                local_time(h.occurred_at, seconds=True),
                escape(z.label if z.label == e.label else f"{z.label} ({e.label})"),
                h.actor_id,
                h.hash[:HASH_SHOWN],
                escape(clipped_json(payload)),
            ]
        )
    listing(
        out,
        [
            Col("seq", justify="right", head=True),
            Col("时间 time", head=True),
            Col("事件 event", head=True),
            Col("操作人 actor", key=True),
            Col("哈希 hash", key=True),
            Col("内容 payload"),
        ],
        rows,
        title=f"{case_id} 案件记录 history (北京时间 Beijing time)",
    )


def clipped_json(text: str, limit: int = 90) -> str:
    """A payload for a table: cut after a whole key-value pair, so no id is cut."""
    if len(text) < limit:
        return text
    cut = text.rfind(", ", 0, limit - 3)
    return text[: cut if cut > 0 else limit - 3] + ", ..."


HASH_SHOWN = 12
"""Hex digits of an event's hash in `case history` (the whole hash: `--json`)."""


# -- officers' work ----------------------------------------------------------------------


@app.command()
@handled
def inbox(as_user: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """Open tasks this user may act on now: a case with several open tasks (an audit's
    rectifications) once per task this user may work, its task id listed below the
    table (`act CASE ACTION --task TASK_ID`)."""
    from casework.store.directory import Directory
    from casework.store.queries import Queries

    eng = engine()
    user = Directory(eng).active(as_user)
    items = Queries(eng).inbox(user)
    if as_json:
        emit_json(items)
        return
    refs = task_refs([(i.case_id, i.task_id) for i in items if i.parallel])
    listing(
        out,
        [
            Col("案件 case", key=True),
            *([Col("#", key=True)] if refs else []),  # the task: its id below the table
            Col("类型 type"),
            Col("阶段 stage"),
            Col("期限 due", key=True),
            Col("认领 assignee", key=True),
            Col("申请人 applicant"),
            Col("金额 元 amount", justify="right"),
        ],
        [
            [
                i.case_id,
                *([f"#{refs[i.case_id, i.task_id]}" if i.parallel else ""] if refs else []),
                i.type,
                i.stage,
                due_day(i.due_at),
                i.assignee or "-",
                escape(i.applicant_name or "-"),
                f"{i.amount_fen / 100:,.2f}" if i.amount_fen is not None else "-",
            ]
            for i in items
        ],
        empty="没有待办任务 (no open tasks)",
    )
    print_task_ids(refs)
    from casework.store.programme_exceptions import exceptions_for

    if waiting := exceptions_for(eng, user.actor()):
        out.print(
            f"另有 {len(waiting)} 项项目例外待办 ({len(waiting)} programme exceptions wait on "
            f"you): casework programme exceptions --as {as_user}",
            soft_wrap=True,
        )


def task_refs(tasks: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Numbers (#1, #2, ...) for the listed tasks that are one of several open tasks of
    their case, by (case id, task id), in the order listed: a table at 80 columns has
    no room for their ids, which `print_task_ids` lists below it in full."""
    refs: dict[tuple[str, str], int] = {}
    for key in tasks:
        refs.setdefault(key, len(refs) + 1)
    return refs


def print_task_ids(refs: dict[tuple[str, str], int]) -> None:
    if not refs:
        return
    listing(
        out,
        [
            Col("#", key=True, justify="right"),
            Col("案件 case", key=True),
            Col("任务 task", key=True),
        ],
        [[f"#{n}", case_id, task_id] for (case_id, task_id), n in refs.items()],
        title="任务编号 task ids: casework act CASE ACTION --task TASK_ID",
    )


@app.command()
@handled
def act(
    case_id: str,
    action: str = typer.Argument(..., help="|".join(ACTION_NAMES)),
    as_user: str = AsOpt,
    comment: str | None = typer.Option(None, "--comment", "-m", help="意见/原因."),
    data_file: Path | None = typer.Option(None, "--data-file", help="JSON data for the action."),
    key: str | None = typer.Option(
        None, "--key", help="Idempotency key: the same key is applied once."
    ),
    stage: str | None = typer.Option(
        None, "--stage", help="Act only if the case is still at this stage."
    ),
    task: str | None = typer.Option(
        None,
        "--task",
        help="The open task acted on where the case has several (an audit's "
        "rectifications): its id, as `case show` and `inbox` list them.",
    ),
    to: str | None = typer.Option(None, "--to", help="reassign: the user who takes the task."),
    until: str | None = typer.Option(
        None, "--until", help="extend: the new due date, YYYY-MM-DD (end of that day)."
    ),
    deadline: str | None = typer.Option(
        None,
        "--deadline",
        help="interrupt-deadline, suspend-deadline, resume-deadline: which case deadline "
        "(e.g. limitation).",
    ),
    on: str | None = typer.Option(
        None,
        "--on",
        help="interrupt-deadline: the day the interrupting fact happened, YYYY-MM-DD "
        "(default today).",
    ),
    opinion: str | None = typer.Option(
        None, "--opinion", help="vet: a vetting department's opinion, clear|adverse."
    ),
    finding: str | None = typer.Option(
        None,
        "--finding",
        help="investigate: what the objection's investigation found, upheld|dismissed.",
    ),
    objector: str | None = typer.Option(
        None,
        "--objector",
        help="object: the objector's real name (sealed, never shown in clear); none: anonymous.",
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Act on a case: claim, approve, reject, return, request-info, provide-info, ...

    Supervisors: reassign --to USER, extend --until YYYY-MM-DD, hold, resume, each with
    --comment. A case with several open tasks: --task TASK_ID names the one (claim,
    approve, request-info, and the supervisors' actions alike). Case deadlines (processes that have them): interrupt-deadline --deadline
    NAME [--on YYYY-MM-DD], suspend-deadline --deadline NAME, resume-deadline --deadline
    NAME, each with --comment (the reason)."""
    from casework.store.directory import Directory

    try:
        chosen = known_action(action)
    except UnknownAction:
        fail(f"field action: unknown action {action!r}; one of: {', '.join(ACTION_NAMES)}")
    data = load_json_file(data_file, "data") if data_file else {}
    if not isinstance(data, dict):
        fail("field data: the data file must hold a JSON object")
    directory = Directory(engine())
    if to is not None:
        if chosen is not Action.REASSIGN:
            fail(f"field --to: only for reassign, not {chosen}")
        try:
            data["to"] = directory.active(to).actor().model_dump(mode="json")
        except LookupError as e:  # unknown or disabled
            fail(f"field --to: {e}")
    elif chosen is Action.REASSIGN and "to" not in data:
        fail("field --to: reassign needs --to USER (who takes the task)")
    if until is not None:
        if chosen is not Action.EXTEND:
            fail(f"field --until: only for extend, not {chosen}")
        try:
            date.fromisoformat(until)
        except ValueError:
            fail(f"field --until: expected a date YYYY-MM-DD, got {until!r}")
        data["until"] = until
    elif chosen is Action.EXTEND and "until" not in data:
        fail("field --until: extend needs --until YYYY-MM-DD (the new due date)")
    deadline_actions = (Action.INTERRUPT_DEADLINE, Action.SUSPEND_DEADLINE, Action.RESUME_DEADLINE)
    if deadline is not None:
        if chosen not in deadline_actions:
            fail(f"field --deadline: only for the deadline actions, not {chosen}")
        data["deadline"] = deadline
    if on is not None:
        if chosen is not Action.INTERRUPT_DEADLINE:
            fail(f"field --on: only for interrupt-deadline, not {chosen}")
        try:
            date.fromisoformat(on)
        except ValueError:
            fail(f"field --on: expected a date YYYY-MM-DD, got {on!r}")
        data["on"] = on
    # A process's own action data given as options (the action's model checks them).
    for name, value in (("opinion", opinion), ("finding", finding), ("objector", objector)):
        if value is not None:
            data[name] = value
    actor = directory.active(as_user).actor()
    # Always an idempotency key, so that "try again" can name it.
    key = key or f"cli-{uuid.uuid4()}"
    wait = settings().act_wait_seconds

    async def go() -> CaseView:
        service = await _service()
        return await service.act(  # type: ignore[no-any-return]
            case_id, actor, chosen, comment, data, key, stage, wait, task_id=task
        )

    from casework.service import ActionRefused

    try:
        view = run(go())
    except ActionRefused as e:
        if data_file is None and (e.field or "").startswith("data"):
            e.message += "\n" + data_file_hint(case_id)
        raise
    if as_json:
        emit_json(view)
    else:
        out.print(f"[green]完成 (done):[/] {chosen} {case_id}")
        print_case(view)


DATA_EXAMPLES = {
    "HR": "examples/home-visit-findings.json (入户调查 home visit)",
    "RV": "examples/reverification-findings.json (核查 re-verification visit)",
    "LA": "examples/legal-aid-*.json (法律援助 legal aid)",
    "AU": "examples/audit-*.json (审计 audit)",
}
"""The example data file to point to when an action's data is missing, by case prefix."""


def data_file_hint(case_id: str) -> str:
    """Where an approval's data goes: the option that carries it and an example."""
    example = DATA_EXAMPLES.get(case_id.split("-", 1)[0], "examples/")
    return (
        "这些数据用 --data-file 提供 (give them in a JSON file: --data-file FILE); "
        f"示例 example: {example}"
    )


# -- supervisors -------------------------------------------------------------------------

AtOpt = typer.Option(
    None,
    "--at",
    help="Look as of this time instead of now: YYYY-MM-DD[THH:MM], Beijing time.",
)


def stage_words(stage: str) -> str:
    """A stage as supervisors read it (基层初审, not grassroots_review); `--json` keeps the
    code. The case number's prefix already tells the case type."""
    from casework.web.i18n import STAGES

    return STAGES.get(stage, (stage, stage))[0]


@app.command()
@handled
def stuck(
    as_user: str = AsOpt,
    district: str | None = typer.Option(
        None, "--district", help="Only this district's queue (or 市总工会 for city stages)."
    ),
    case_type: str | None = typer.Option(
        None, "--type", help="Only this case type: " + ", ".join(CASE_TYPES) + "."
    ),
    overdue_only: bool = typer.Option(
        False, "--overdue-only", help="Only tasks past due (with --idle-days: and idle)."
    ),
    idle_days: int | None = typer.Option(
        None,
        "--idle-days",
        min=0,
        help="Also tasks whose case had no event on the last N working days.",
    ),
    assignee: str | None = typer.Option(None, "--assignee", help="Only this officer's tasks."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="At most this many."),
    at: str | None = AtOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Stuck tasks, oldest first: past due, or idle for --idle-days working days; and
    case deadlines (a limitation period) inside their warning window or passed. A case
    with several open tasks (an audit's rectifications) comes once per stuck task, its
    task id listed below the table.

    Supervisors see their district's queue (市总工会 staff: the whole city); anyone else
    only their own tasks (--assignee with their own id)."""
    from casework.store.directory import Directory
    from casework.store.queries import Queries
    from casework.store.supervision import SupervisorQueries

    eng = engine()
    user = Directory(eng).active(as_user)
    now = parse_at(at)
    items = SupervisorQueries(eng, calendar()).stuck(
        user,
        now=now,
        district=district,
        case_type=case_type,
        overdue_only=overdue_only,
        idle_days=idle_days,
        assignee=assignee,
        limit=limit,
    )
    if as_json:
        emit_json(items)
        return
    # Tasks beside their case's stage task (an audit's rectifications) are listed each
    # on its own, numbered, their ids below the table (act on one with --task).
    states = Queries(eng).case_states(sorted({i.case_id for i in items if i.task_id}))
    refs = task_refs(
        [
            (i.case_id, i.task_id)
            for i in items
            if i.task_id and i.case_id in states and i.task_id in states[i.case_id].parallel
        ]
    )
    scope = district or assignee or ("全市 whole city" if user.district == CITY else user.district)
    rows = []
    for i in items:
        notes = []
        if i.deadline is not None:
            label = escape(i.deadline_label[0]) if i.deadline_label else i.deadline
            notes.append(
                f"[red]案件期限 {label} ({i.deadline}) 已届满 passed[/]"
                if i.reason == "deadline_passed"
                else f"案件期限 {label} ({i.deadline}) 剩余 {i.days_left} 日 ({i.days_left} days left)"
            )
        if i.reason == "awaiting_funds":
            notes.append("[yellow]等待资金追加 (awaiting a top-up of the fund)[/]")
        if i.escalated:
            notes.append("[red]已升级 escalated[/]")
        if i.paused:
            notes.append("待补材料 waiting info" if i.status == "waiting_info" else "暂停 on hold")
        if i.idle_working_days:
            notes.append(f"{i.idle_working_days} 工作日无进展 idle")
        ref = refs.get((i.case_id, i.task_id or ""))
        rows.append(
            [
                i.case_id,
                *([f"#{ref}" if ref else ""] if refs else []),
                stage_words(i.stage),
                i.district,
                i.assignee or "未认领 unclaimed",
                due_day(i.due_at),
                str(i.days_overdue) if i.days_overdue else "-",
                local_time(i.last_event_at),
                ", ".join(notes),
            ]
        )
    listing(
        out,
        [
            Col("案件 case", key=True),
            *([Col("#", key=True)] if refs else []),  # the task: its id below the table
            Col("阶段 stage"),
            Col("队列 queue"),
            Col("承办 assignee", key=True),
            Col("期限 due", key=True),
            Col("超期 late", justify="right"),
            Col("最后事件 last event"),
            Col("说明 notes"),
        ],
        rows,
        title=f"卡办任务 stuck tasks · {scope} · {local_time(now)} 北京时间",
        empty=f"没有卡办任务 (nothing stuck) · {scope} · {local_time(now)}",
    )
    print_task_ids(refs)
    if items and len(items) == limit:
        out.print(f"仅显示最早的 {limit} 项 (the oldest {limit} shown; --limit for more)")


@app.command()
@handled
def board(
    as_user: str = AsOpt,
    district: str | None = typer.Option(None, "--district", help="Only this district's queue."),
    at: str | None = AtOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Per district and stage: open, overdue, escalated tasks (each of a case's several
    open tasks counted: an audit's rectifications) and median age; then per
    district the case deadlines: active, near (inside the warning window), passed,
    escalated."""
    from casework.store.directory import Directory
    from casework.store.supervision import SupervisorQueries

    eng = engine()
    user = Directory(eng).active(as_user)
    now = parse_at(at)
    rows = SupervisorQueries(eng, calendar()).board(user, now=now, district=district)
    if as_json:
        emit_json(rows)
        return
    tasks = [r for r in rows if r.kind == "task"]
    scope = district or user.district
    listing(
        out,
        [
            Col("区县 district", head=True),
            Col("阶段 stage", head=True),
            Col("在办 open", justify="right"),
            Col("超期 overdue", justify="right"),
            Col("升级 escalated", justify="right"),
            Col("中位时长 median age (days)", justify="right"),
        ],
        [
            [
                r.district,
                stage_words(r.stage),
                str(r.open),
                f"[red]{r.overdue}[/]" if r.overdue else "0",
                f"[red]{r.escalated}[/]" if r.escalated else "0",
                f"{r.median_age_days:.1f}",
            ]
            for r in tasks
        ],
        title=f"督办看板 board · {scope} · {local_time(now)} 北京时间",
        empty=f"没有在办任务 (no open tasks) · {scope}",
        total=[
            "合计 total",
            "",
            str(sum(r.open for r in tasks)),
            str(sum(r.overdue for r in tasks)),
            str(sum(r.escalated for r in tasks)),
            "",
        ],
    )
    deadlines = [r for r in rows if r.kind == "deadline"]
    listing(
        out,
        [
            Col("区县 district", head=True),
            Col("期限 deadline", head=True),
            Col("在计 active", justify="right"),
            Col("临近 near", justify="right"),
            Col("已届满 passed", justify="right"),
            Col("升级 escalated", justify="right"),
            Col("中位时长 median age (days)", justify="right"),
        ],
        [
            [
                r.district,
                f"{escape(r.label[0]) if r.label else r.stage} ({r.stage})",
                str(r.open),
                f"[yellow]{r.near}[/]" if r.near else "0",
                f"[red]{r.overdue}[/]" if r.overdue else "0",
                f"[red]{r.escalated}[/]" if r.escalated else "0",
                f"{r.median_age_days:.1f}",
            ]
            for r in deadlines
        ],
        title="案件期限 case deadlines",
    )


@app.command("reassign-all")
@handled
def reassign_all(
    from_user: str = typer.Option(..., "--from", help="The officer whose open tasks move."),
    to_user: str = typer.Option(..., "--to", help="The officer who takes them."),
    as_user: str = AsOpt,
    comment: str | None = typer.Option(
        None, "--comment", "-m", help="The reason (default: names both officers)."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Move every open task of one officer to another (supervisors).

    One line per task (a case with several open tasks of theirs, one per task), moved
    or refused and why; each moves whole or not at all; exit 2 if any was refused."""
    from casework.service import ActionRefused, CaseNotFound
    from casework.store.directory import Directory
    from casework.store.supervision import SupervisorQueries

    if from_user == to_user:
        fail("field --to: the tasks are already theirs (--from and --to are the same user)")
    eng = engine()
    directory = Directory(eng)
    supervisor = directory.active(as_user)
    try:
        target = directory.active(to_user).actor()
    except LookupError as e:  # unknown or disabled
        fail(f"field --to: {e}")
    tasks = SupervisorQueries(eng, calendar()).open_tasks(supervisor, from_user)
    reason = (comment or "").strip() or f"{from_user} 的待办移交 {to_user} (reassign-all)"
    data = {"to": target.model_dump(mode="json")}
    actor = supervisor.actor()

    async def go() -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        service = await _service() if tasks else None
        for task in tasks:
            line: dict[str, Any] = {
                "case_id": task.case_id,
                "stage": task.stage,
                "task_id": task.task_id,
            }
            try:
                # The task by its id: a case may hold several (the stage's and parallel
                # ones), and one that closed meanwhile is refused (unknown_task).
                await service.act(  # type: ignore[union-attr]
                    task.case_id, actor, Action.REASSIGN, reason, data, task_id=task.task_id
                )
                line |= {"result": "moved", "code": None, "message": None}
            except ActionRefused as e:
                line |= {"result": "refused", "code": e.code, "message": e.message}
            except CaseNotFound as e:
                line |= {"result": "refused", "code": "not_found", "message": str(e)}
            results.append(line)
        return results

    results = run(go())
    moved = sum(r["result"] == "moved" for r in results)
    refused = len(results) - moved
    if as_json:
        emit_json(
            {
                "from": from_user,
                "to": to_user,
                "moved": moved,
                "refused": refused,
                "results": results,
            }
        )
    else:
        listing(
            out,
            [Col("案件 case", key=True), Col("阶段 stage"), Col("结果 result"), Col("原因 why")],
            [
                [
                    r["case_id"],
                    r["stage"],
                    "[green]已移交 moved[/]" if r["result"] == "moved" else "[red]拒绝 refused[/]",
                    escape(f"{r['code']}: {r['message']}") if r["code"] else "",
                ]
                for r in results
            ],
            title=f"待办移交 reassign-all · {from_user} → {to_user}",
        )
        out.print(
            f"已移交 moved {moved} · 拒绝 refused {refused}"
            if results
            else f"{from_user} 没有在办任务 (no open tasks)"
        )
    if refused:
        raise typer.Exit(2)


# -- integrity and read models -----------------------------------------------------------


@audit_app.command("verify")
@handled
def audit_verify(as_json: bool = JsonOpt) -> None:
    """Walk every case's hash chain; exit 1 if any link is broken."""
    from casework.store.event_store import EventStore

    report = EventStore(engine()).verify()
    doc = {
        "cases_checked": report.cases_checked,
        "events_checked": report.events_checked,
        "broken": report.broken,
    }
    if as_json:
        emit_json(doc)
    else:
        out.print(f"检查案件 cases: {report.cases_checked} · 事件 events: {report.events_checked}")
        for b in report.broken:
            err.print(f"[red]断链 (broken)[/] {b['case_id']} seq {b['seq']}: {b['problem']}")
        if not report.broken:
            out.print("[green]哈希链完整 (hash chains intact)[/]")
    if report.broken:
        raise typer.Exit(1)


@projections_app.command("rebuild")
@handled
def projections_rebuild(as_json: bool = JsonOpt) -> None:
    """Truncate the read models and replay every event."""
    from casework.store import projections

    count = projections.rebuild(engine())
    if as_json:
        emit_json({"events_replayed": count})
    else:
        out.print(f"读模型已重建 (read models rebuilt): {count} events replayed")


# -- personal data ---------------------------------------------------------------------


@privacy_app.command("erase")
@handled
def privacy_erase(
    case_id: str,
    as_user: str = AsOpt,
    comment: str | None = typer.Option(None, "--comment", "-m", help="The reason, recorded."),
    as_json: bool = JsonOpt,
) -> None:
    """Destroy a closed case's data key once its retention period is over (admin).

    The ID number, phone and bank account become unreadable everywhere they were
    stored (event log, Temporal history, backups); the hash chain still verifies.
    The period is `retention_years` (default 10) of the process configuration,
    counted from the day the case closed. A relief programme's id (PG-...): its
    recipients' ID numbers and bank accounts, counted from the day it closed."""
    from casework.config import ConfigError
    from casework.domain.streams import PROGRAMME_PREFIX
    from casework.store.directory import Directory
    from casework.store.personal import PersonalData
    from casework.store.programmes import Programmes
    from casework.store.queries import Queries

    eng = engine()
    admin = Directory(eng).active(as_user).actor()
    if case_id.startswith(f"{PROGRAMME_PREFIX}-"):
        event = Programmes(eng).erase_personal(
            case_id, admin, retention_years=_programme_retention(), reason=comment
        )
    else:
        state = Queries(eng).case_state(case_id)
        try:
            retention = settings().processes.section(state.case_type).retention_years
        except ConfigError as e:
            fail(f"configuration: {e}", 1)
        event = PersonalData(eng, None).erase(
            case_id, admin, retention_years=retention, reason=comment
        )
    if as_json:
        emit_json(
            {
                "case_id": case_id,
                "erased": True,
                "seq": event.seq,
                "erased_at": event.occurred_at.isoformat(),
                "erased_by": admin.id,
            }
        )
    else:
        out.print(
            f"[green]已销毁个人信息 (personal data erased):[/] {case_id} "
            f"(seq {event.seq}, {local_time(event.occurred_at)})"
        )


def _programme_retention() -> int:
    """How long a relief programme keeps its recipients' personal data after it
    closes: the hardship process's `retention_years` (programmes are its part 1b)."""
    from casework.config import ConfigError

    try:
        return int(settings().processes.section("hardship").retention_years)
    except ConfigError as e:
        fail(f"configuration: {e}", 1)


@privacy_app.command("sweep")
@handled
def privacy_sweep(
    as_user: str = AsOpt,
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cases due; erase nothing."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many cases."),
    comment: str | None = typer.Option(None, "--comment", "-m", help="The reason, recorded."),
    as_json: bool = JsonOpt,
) -> None:
    """Erase the personal data of every closed case whose retention period is over
    (admin): the scheduled run of `privacy erase`, oldest first, one case at a time; a
    case that cannot be erased is reported and the others go on. Then the same for the
    relief programmes closed longer ago than their retention period."""
    from casework.config import ConfigError
    from casework.store.directory import Directory
    from casework.store.personal import PersonalData
    from casework.store.programmes import Programmes

    eng = engine()
    admin = Directory(eng).active(as_user).actor()
    try:
        processes = settings().processes
        retention = {name: processes.section(name).retention_years for name in CASE_TYPES}
    except ConfigError as e:
        fail(f"configuration: {e}", 1)
    lines = PersonalData(eng, None).sweep(
        admin, retention_years=retention, dry_run=dry_run, limit=limit, reason=comment
    )
    left = None if limit is None else limit - len(lines)
    if left is None or left > 0:
        lines += Programmes(eng).sweep_personal(
            admin,
            retention_years=_programme_retention(),
            dry_run=dry_run,
            limit=left,
            reason=comment,
        )
    if as_json:
        emit_json(lines)
        return
    listing(
        out,
        [Col("案件 case", key=True), Col("结果 result"), Col("原因 reason")],
        [[line.case_id, line.result, escape(line.message or "")] for line in lines],
    )
    counts = {r: sum(1 for line in lines if line.result == r) for r in ("erased", "due", "refused")}
    out.print(
        f"保存期满 {len(lines)} 件 (past retention): erased {counts['erased']}, "
        f"due {counts['due']}, refused {counts['refused']}"
    )


@privacy_app.command("rewrap")
@handled
def privacy_rewrap(as_json: bool = JsonOpt) -> None:
    """Re-encrypt every case's data key with the current master key (the first of
    CASEWORK_ENCRYPTION_KEYS), and hash the hardship applicants' ID numbers again with
    its lookup key (one person, one file), so that older master keys can be retired."""
    from casework.store.personal import PersonalData

    personal = PersonalData(engine(), keyring())
    moved = personal.rewrap()
    hashed = personal.refresh_identities()
    if as_json:
        emit_json({"rewrapped": moved, "identities": hashed})
    else:
        out.print(f"已重新加密案件密钥 (case keys rewrapped): {moved}")
        out.print(f"已更新身份索引 (identity hashes written): {hashed}")


@privacy_app.command("new-key")
@handled
def privacy_new_key(
    key_id: str | None = typer.Option(None, "--id", help="Key id (default: k<date>-<random>)."),
) -> None:
    """Print a new random master key as `id:BASE64`, to put first in
    CASEWORK_ENCRYPTION_KEYS (keep the old keys after it)."""
    from casework.privacy.keys import Keyring, KeyringError

    try:
        sys.stdout.write(Keyring.generate(key_id).serialize() + "\n")
    except KeyringError as e:
        fail(f"field --id: {e}")


@app.command("codec-server")
@handled
def codec_server(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8081, help="Port to listen on."),
    origin: list[str] = typer.Option(
        None,
        "--origin",
        help="Web UI origin allowed to call it (repeatable; default: the dev server's UI).",
    ),
) -> None:
    """Decode casework's encrypted Temporal payloads for the Web UI and `temporal` CLI.

    UI: set the codec endpoint to http://HOST:PORT (or start the dev server with
    --ui-codec-endpoint). CLI: temporal workflow show -w CASE_ID --codec-endpoint
    http://HOST:PORT. Personal fields stay encrypted with their case keys."""
    import uvicorn

    from casework.privacy.codec_server import create_codec_app

    s = settings()
    origins = origin or [
        f"http://localhost:{s.temporal_ui_port}",
        f"http://127.0.0.1:{s.temporal_ui_port}",
    ]
    token = s.codec_server_token.get_secret_value() if s.codec_server_token else None
    codec_app = create_codec_app(keyring(), origins, token)
    err.print(
        f"codec server on http://{host}:{port} (origins: {', '.join(origins)}; "
        f"{'token required' if token else 'no token: keep it on a trusted address'})",
        highlight=False,
    )
    uvicorn.run(codec_app, host=host, port=port, log_level="warning")


# -- running the engine ------------------------------------------------------------------


@app.command()
@handled
def up(
    demo_cases: bool = typer.Option(True, help="Seed demo cases when the database has none."),
) -> None:
    """Run the engine: embedded Temporal dev server, worker, web/API and demo data."""
    from casework.stack import serve_forever

    global _temporal_used
    _temporal_used = True
    run(serve_forever(settings(), seed_cases=demo_cases))


@app.command()
@handled
def serve() -> None:
    """Serve the web pages and HTTP API only (production, behind a TLS proxy): Temporal
    and workers run elsewhere; no demo users. CASEWORK_API_HOST / _PORT."""
    from casework.stack import serve_api

    global _temporal_used
    _temporal_used = True
    run(serve_api(settings()))


@app.command()
@handled
def demo(as_json: bool = JsonOpt) -> None:
    """Drive demo cases through approval, rejection and return (hardship relief), and
    legal-aid cases to a settlement, a refusal and a returned closing report; print a
    summary."""
    from casework.stack import run_demo_once

    global _temporal_used
    _temporal_used = True
    views = run(run_demo_once(settings(), quiet=as_json))
    if as_json:
        emit_json(views)
        return
    listing(
        out,
        [
            Col("案件 case", key=True),
            Col("区县 district"),
            Col("状态 status"),
            Col("结果 outcome"),
            Col("阶段 stage"),
        ],
        [[v.case_id, v.district, v.status, v.outcome or "-", v.stage] for v in views],
    )


@app.command()
@handled
def worker() -> None:
    """Run a worker only (scale out by running more)."""
    from worker import main as worker_main

    global _temporal_used
    _temporal_used = True
    worker_main()


_temporal_used = False


def main() -> None:
    """Entry point. After talking to Temporal the process leaves with `os._exit`: the SDK's
    Rust threads can otherwise crash interpreter teardown (temporalio/sdk-python#300)."""
    code: int = 0
    try:
        app()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        import traceback

        from casework.logging import redact

        sys.stderr.write(redact(traceback.format_exc()))  # no personal data in clear
        code = 1
    if not _temporal_used:
        sys.exit(code)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


# Command groups kept in modules of their own register themselves on import.
from casework.cli import (  # noqa: E402,F401
    accounts,
    audits,
    campaigns,
    funds,
    households,
    operations,
    programmes,
    refunds,
    reviews,
    scheduled,
)

if __name__ == "__main__":
    main()
