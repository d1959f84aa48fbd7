"""`casework audit sample|finding`: the sample of relief cases a special audit draws
(抽样审计, issue #11), beside `audit verify`.

`sample` sends the project's `draw-sample` action: the worker draws the closed hardship
cases of the district and year from the store, checks each one's hash chain and its
money against the relief-fund ledger, and the project records the answer as working
papers (`sample.drawn`); printed here from the log. `finding` turns a sampled case's
problem into a finding in one step (`record-finding` with `data.sample_case`).
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import typer
from rich.markup import escape

from casework.cli import (
    AsOpt,
    JsonOpt,
    _service,
    audit_app,
    emit_json,
    engine,
    fail,
    handled,
    out,
    print_case,
    run,
    settings,
)
from casework.cli.render import Col, listing
from casework.domain.audit import AuditAction
from casework.domain.audit_sample import MAX_SEED, SampleRequest
from casework.domain.case import Action, CaseView
from casework.domain.org import DISTRICTS

KeyOpt = typer.Option(None, "--key", help="Idempotency key: the same key is applied once.")
CommentOpt = typer.Option(None, "--comment", "-m", help="意见/说明 (a note for the papers).")


def _send(
    case_id: str,
    as_user: str,
    action: Action | str,
    comment: str | None,
    data: dict[str, Any],
    key: str | None,
) -> CaseView:
    from casework.store.directory import Directory

    actor = Directory(engine()).active(as_user).actor()
    key = key or f"cli-{uuid.uuid4()}"  # so that "try again" can name it
    wait = settings().act_wait_seconds

    async def go() -> CaseView:
        service = await _service()
        return await service.act(case_id, actor, action, comment, data, key, None, wait)  # type: ignore[no-any-return]

    return run(go())


def _last_sample(case_id: str) -> dict[str, Any]:
    from casework.store.event_store import EventStore

    drawn = [e for e in EventStore(engine()).read(case_id) if e.type == "sample.drawn"]
    if not drawn:
        fail(f"{case_id}: 没有抽样 (no sample drawn)")
    payload = {k: v for k, v in drawn[-1].payload.items() if k != "facts"}
    return {"case_id": case_id, "drawn_at": drawn[-1].occurred_at.isoformat(), **payload}


def _yuan(fen: Any) -> str:
    return "-" if fen is None else f"{int(fen) / 100:,.2f}"


@audit_app.command("sample")
@handled
def audit_sample(
    project: str = typer.Argument(..., help="The audit project (AU-...)."),
    district: str | None = typer.Option(
        None, "--district", help="The audited district (default: the project's)."
    ),
    year: int = typer.Option(..., "--year", help="The relief fund's year."),
    rate: str = typer.Option("0.3", "--rate", help="Share of the cases, up to 1 (rounded up)."),
    seed: int | None = typer.Option(
        None,
        "--seed",
        min=0,
        max=MAX_SEED,
        help="Random seed: the same seed draws the same cases (default: a new one, printed).",
    ),
    as_user: str = AsOpt,
    comment: str | None = CommentOpt,
    key: str | None = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Draw a sample of the closed hardship cases of the audited district and year for
    a special audit of relief money (困难职工帮扶资金, 送温暖资金): the project's team or
    lead, during fieldwork. Each drawn case's hash chain and payment (against the
    relief-fund ledger) is checked; the sample is kept on the project as working papers
    (`case show`). A problem becomes a finding with `casework audit finding`."""
    if district is not None and district not in DISTRICTS:
        fail(f"field --district: unknown district {district!r}; one of: {', '.join(DISTRICTS)}")
    data: dict[str, Any] = {
        "year": year,
        "rate": rate,
        "seed": secrets.randbelow(MAX_SEED + 1) if seed is None else seed,
        **({"district": district} if district else {}),
    }
    SampleRequest.model_validate(data)  # what is typed wrong is said before anything is sent
    _send(project, as_user, AuditAction.DRAW_SAMPLE, comment, data, key)
    drawn = _last_sample(project)
    if as_json:
        emit_json(drawn)
        return
    cases = drawn["cases"]
    wanting = [c for c in cases if c["problems"]]
    listing(
        out,
        [
            Col("案件 case", key=True),
            Col("结果 outcome"),
            Col("核定 元 approved", justify="right"),
            Col("拨付 元 paid", justify="right"),
            Col("哈希链 chain"),
            Col("资金 payment"),
        ],
        [
            [
                c["case_id"],
                c["outcome"] or "-",
                _yuan(c["approved_fen"]),
                _yuan(c["paid_fen"]),
                "完整 ok" if c["chain"] == "intact" else "[red]断裂 broken[/]",
                "相符 ok" if c["payment"] == "ok" else "[red]不符 mismatch[/]",
            ]
            for c in cases
        ],
        title=(
            f"抽样 sample {drawn['sample_id']} · {drawn['district']} {drawn['year']} · "
            f"比例 rate {drawn['rate']} · 种子 seed {drawn['seed']} · "
            f"{len(cases)}/{drawn['candidates']} 件"
        ),
        empty=f"抽样 sample {drawn['sample_id']}: 没有可抽查的案件 (no closed cases to draw)",
    )
    for c in wanting:
        for p in c["problems"]:
            out.print(f"[red]{c['case_id']}[/] {escape(p['detail'])}", highlight=False)
    out.print(
        f"有问题 {len(wanting)} 件 (with problems). 记为审计发现 (as a finding): casework audit "
        f"finding {project} CASE_ID --as {as_user}"
        if wanting
        else "抽查案件均无问题 (no problems found)",
        highlight=False,
    )
    out.print(
        f"同一种子可重新抽得同样的案件 (the same seed draws them again): --seed {drawn['seed']}",
        highlight=False,
    )


@audit_app.command("finding")
@handled
def audit_finding(
    project: str = typer.Argument(..., help="The audit project (AU-...)."),
    sample_case: str = typer.Argument(..., help="The sampled case (HR-...)."),
    as_user: str = AsOpt,
    comment: str | None = CommentOpt,
    key: str | None = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Record a sampled case's problem as a finding of the project, in one step: its
    type, amount, description and evidence from the sample's check (`act PROJECT
    record-finding --data-file F` with `sample_case` and your own words otherwise)."""
    view = _send(
        project, as_user, AuditAction.RECORD_FINDING, comment, {"sample_case": sample_case}, key
    )
    from casework.domain.audit import findings
    from casework.store.queries import Queries

    [finding] = [
        f
        for f in findings(Queries(engine()).case_state(project))
        if f.sample_case == sample_case and f.active
    ]
    if as_json:
        emit_json(
            {"case": view.model_dump(mode="json"), "finding": finding.model_dump(mode="json")}
        )
        return
    out.print(
        f"[green]已记录审计发现 (finding recorded):[/] {finding.id} · {escape(finding.description)}",
        highlight=False,
    )
    print_case(view)
