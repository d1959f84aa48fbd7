"""Operations: `casework migrate`, the deployment's one-off schema step (deploy/: a
compose service, a Kubernetes Job), run before new workers and API processes start; and
`casework doctor`, which finds cases whose workflow and read model disagree."""

from __future__ import annotations

from typing import Any

import typer
from rich.markup import escape

from casework.cli import AsOpt, JsonOpt, _service, app, emit_json, fail, handled, out, run, settings


@app.command()
@handled
def migrate(as_json: bool = JsonOpt) -> None:
    """Bring the database schema to the newest revision (idempotent), then exit.

    Workers and the API also migrate when they start; running this first means several
    of them starting at once find nothing left to do."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy.exc import OperationalError

    from casework.privacy.keys import KeyringError, load_keyring
    from casework.store.db import make_engine
    from casework.store.db import migrate as upgrade

    s = settings()
    eng = make_engine(s.database_url)
    try:
        try:
            keys = load_keyring(s)
        except KeyringError as e:
            fail(f"CASEWORK_ENCRYPTION_KEYS: {e}", 1)
        try:
            upgrade(eng, keys)
            with eng.connect() as conn:
                revision = MigrationContext.configure(conn).get_current_revision()
        except OperationalError as e:
            fail(f"CASEWORK_DATABASE_URL: 数据库不可达 (database unreachable): {e.orig}", 1)
    finally:
        eng.dispose()
    if as_json:
        emit_json({"revision": revision})
    else:
        out.print(f"数据库已是最新 (schema up to date): revision {revision}")


@app.command()
@handled
def doctor(
    as_user: str = AsOpt,
    do_repair: bool = typer.Option(
        False, "--repair", help="Record the terminations found (default: report only)."
    ),
    restart_case: str | None = typer.Option(
        None, "--restart", metavar="CASE_ID", help="Start this case's stopped workflow again."
    ),
    as_json: bool = JsonOpt,
) -> None:
    """Find cases whose workflow and read model disagree (admin or city officer).

    Report only by default (a dry run: nothing written). `--repair` records each
    workflow terminated from Temporal as `case.terminated` (who and why, from its
    history) and closes the case; everything else is reported, never repaired.
    `--restart CASE_ID` starts an open case's stopped workflow again from its recorded
    events. Exit code 1 when something was found that is still wrong."""
    from casework import doctor as ops
    from casework.store.directory import Directory

    async def go() -> Any:
        service = await _service()
        operator = Directory(service.engine).active(as_user).actor()
        ops.require_operator(operator)
        if restart_case is not None:
            view = await ops.restart(
                service.client,
                service.engine,
                restart_case,
                service.task_queue,
                operator,
                settings().processes,
            )
            return view
        looked_at, findings = await ops.examine(service.client, service.engine)
        if do_repair:
            findings = await ops.repair(service.client, service.engine, findings, operator)
        return looked_at, findings

    result = run(go())
    if restart_case is not None:
        if as_json:
            emit_json(result)
        else:
            out.print(f"[green]已重新启动 (restarted):[/] {restart_case} (seq {result.seq})")
        return
    looked_at, findings = result
    if as_json:
        emit_json({"open_cases": looked_at, "findings": findings, "repair": do_repair})
    else:
        out.print(f"已检查 {looked_at} 个办理中的案件 (open cases checked: {looked_at})")
        for f in findings:
            state = (
                "已修复 repaired"
                if f.repaired
                else ("可修复 repairable" if f.repairable else "需人工处理 report only")
            )
            who = (
                f" · {escape(f.identity or '-')}: {escape(f.reason or '-')}"
                if f.kind == "terminated"
                else ""
            )
            wf = f" · workflow seq {f.workflow_seq}" if f.workflow_seq is not None else ""
            out.print(f"{f.case_id} · {f.kind} · store seq {f.store_seq}{wf} · {state}{who}")
        if not findings:
            out.print("[green]一致 (all consistent)[/]")
        elif not do_repair and any(f.repairable for f in findings):
            out.print("修复请加 --repair (run again with --repair to record the terminations)")
    if any(not f.repaired for f in findings):
        raise typer.Exit(1)
