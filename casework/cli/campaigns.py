"""`casework campaign open|forward|vote`: award campaigns (评选活动, processes.md section
3, issue #13).

The city opens a campaign (the award, the year, each district's quota, the ratio rules,
the vetting departments and the notices' lengths); each nomination is a case of its own
(`casework case open nomination --campaign ID`). A district forwards its approved
nominations as one batch (quota, the award's shared places and the ratio rules judged in
one transaction), the committee's vote is recorded for the whole campaign: both are
Updates of the campaign's workflow (workflows/campaign.py), which records them on the
campaign's stream, checked against the directory, and then tells every nomination
concerned, durably. `show`, `honours` and `list` read the store.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
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
    load_json_file,
    out,
    run,
    settings,
)
from casework.cli.render import Col, listing, sheet

campaign_app = typer.Typer(
    help="评选活动 劳模/五一奖章/工人先锋号 (award campaigns: open, forward a district's "
    "nominations, record the committee's vote).",
    **BARE_HELP,
)
app.add_typer(campaign_app, name="campaign")


def _actor(as_user: str, eng: Any = None) -> Any:
    from casework.store.directory import Directory

    return Directory(eng or engine()).active(as_user).actor()


def _campaigns(eng: Any = None) -> Any:
    from casework.store.campaigns import Campaigns

    return Campaigns(eng or engine())


def _service() -> Any:
    """The campaign's edge to Temporal: its workflow's Updates."""
    from casework.campaign_service import CampaignService
    from casework.cli import _service as case_service

    async def go() -> Any:
        service = await case_service()
        s = settings()
        return CampaignService(service.client, engine(), s.task_queue, wait=s.act_wait_seconds)

    return run(go())


KeyOpt = typer.Option(
    None, "--key", help="Idempotency key: the same command with the same key is applied once."
)


@campaign_app.command("open")
@handled
def campaign_open(
    file: Path = typer.Option(..., "--file", help="The campaign (JSON): examples/campaign.json."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """发起评选: award, year, quotas per district, ratio rules, vetting departments,
    notices, committee. A city officer."""
    from casework.domain.award import campaign_spec

    data = load_json_file(file, "campaign")
    spec = campaign_spec(data if isinstance(data, dict) else {"": data})
    actor = _actor(as_user)
    svc = _service()
    cid = run(svc.open(spec, actor))
    if as_json:
        emit_json({"campaign_id": cid})
    else:
        out.print(f"[green]已发起 (opened):[/] {cid} {escape(spec.name)}")


@campaign_app.command("forward")
@handled
def campaign_forward(
    campaign_id: str = typer.Argument(...),
    district: str = typer.Option(..., "--district", help="The district that forwards."),
    as_user: str = AsOpt,
    key: str | None = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """区县报送: every approved, not yet forwarded nomination of the district, as one
    batch, within its quota and the award's places, the ratio rules holding. A district
    officer of that district."""
    actor = _actor(as_user)
    svc = _service()
    done = run(svc.forward(campaign_id, district, actor, key))
    if as_json:
        emit_json(done)
        return
    out.print(
        f"[green]已报送 (forwarded):[/] {len(done.case_ids)} · {escape(district)} "
        f"名额 {done.district_forwarded}/{done.quota} · 总名额 places "
        f"{done.places_forwarded}/{done.places}"
    )
    for case_id in done.case_ids:
        out.print(f"  {case_id}")


@campaign_app.command("vote")
@handled
def campaign_vote(
    campaign_id: str = typer.Argument(...),
    file: Path = typer.Option(
        ..., "--file", help='The vote (JSON): {"present": N, "votes": {"NM-…": votes for}}.'
    ),
    as_user: str = AsOpt,
    key: str | None = KeyOpt,
    as_json: bool = JsonOpt,
) -> None:
    """评审委员会表决: members present and each nomination's votes for; two thirds of
    those present pass it, with the quorum present. A committee member records it."""
    from casework.domain.nomination import CommitteeVote

    vote = CommitteeVote.model_validate(load_json_file(file, "votes"))
    actor = _actor(as_user)
    svc = _service()
    done = run(svc.vote(campaign_id, vote, actor, key))
    if as_json:
        emit_json(done)
        return
    out.print(
        f"[green]已表决 (recorded):[/] {len(done.passed)} 通过 passed, "
        f"{len(done.failed)} 未通过 failed"
    )


LIST_AT_MOST = 50
"""`campaign show` lists every nomination up to this many; beyond, a count per stage and
the filters that list them (`--district`, `--stage`, `--all`): a thousand rows are no
overview, and laying them out took most of a second (BENCHMARKS.md)."""


@campaign_app.command("show")
@handled
def campaign_show(
    campaign_id: str = typer.Argument(...),
    district: str | None = typer.Option(
        None, "--district", help="List this district's nominations (区县)."
    ),
    stage: str | None = typer.Option(
        None,
        "--stage",
        help="List the nominations at this stage or outcome (its key: vetting, honoured, ...).",
    ),
    every: bool = typer.Option(False, "--all", help="List every nomination."),
    as_user: str = AsOpt,
    as_json: bool = JsonOpt,
) -> None:
    """评选进度: places and each district's quota used and left, the ratio rules' status,
    the nominations per stage; each nomination's stage and outcome when there are at
    most 50, or with --district/--stage (together they narrow) or --all. City staff and
    the committee see every district's nominations, district staff their own. --json:
    the whole overview (the filters narrow its nominations)."""
    from casework.campaign_service import overview_for

    eng = engine()  # one engine, one schema check (a good part of the time)
    seen = overview_for(_campaigns(eng), campaign_id, _actor(as_user, eng))
    chosen = _chosen(seen, district, stage)
    if as_json:
        if district is not None or stage is not None:
            seen = seen.model_copy(update={"nominations": chosen})
        emit_json(seen)
        return
    _print_overview(seen)
    filtered = district is not None or stage is not None
    if filtered or every or len(seen.nominations) <= LIST_AT_MOST:
        _print_nominations(chosen)
    else:
        out.print(
            f"共 {len(seen.nominations)} 个推荐 (nominations): 用 --district 区县 或 --stage "
            "阶段 列出其中的推荐, --all 全部列出 (list them with --district, --stage or --all)",
            highlight=False,
        )


def _stage_key(n: Any) -> str:
    return str(n.outcome or n.stage)


def _chosen(seen: Any, district: str | None, stage: str | None) -> list[Any]:
    """The nominations the filters choose; a filter naming nothing there is refused,
    naming the option and what it takes."""
    from casework.domain.nomination import OUTCOME_WORDS, STAGE_LABELS

    if district is not None and district not in {q.district for q in seen.quotas}:
        fail(
            f"field --district: {district} 不在本次评选中 (not in this campaign): "
            + ", ".join(q.district for q in seen.quotas)
        )
    keys = [str(k) for k in (*STAGE_LABELS, *OUTCOME_WORDS)]
    if stage is not None and stage not in keys:
        fail(f"field --stage: {stage} 不是阶段或结果 (not a stage or outcome): " + ", ".join(keys))
    return [
        n
        for n in seen.nominations
        if (district is None or n.district == district)
        and (stage is None or _stage_key(n) == stage)
    ]


def _print_overview(seen: Any) -> None:
    from casework.domain.campaign import stage_words
    from casework.domain.nomination import OUTCOME_WORDS, STAGE_LABELS

    sheet(
        out,
        [
            ("评选活动 campaign", seen.campaign_id),
            ("名称 name", seen.name),
            ("奖项 award", seen.award),
            ("年度 year", str(seen.year)),
            ("状态 status", seen.status),
            ("总名额 places", f"{seen.places_forwarded}/{seen.places} 已报送 (forwarded)"),
        ],
    )
    listing(
        out,
        [
            Col("区县 district"),
            Col("名额 quota", justify="right"),
            Col("已报送 used", justify="right"),
            Col("剩余 left", justify="right"),
        ],
        [[q.district, str(q.quota), str(q.forwarded), str(q.left)] for q in seen.quotas],
        title="名额 quotas",
    )
    listing(
        out,
        [Col("比例要求 rule", key=True), Col("要求 bound"), Col("状态 status")],
        [
            [
                r.criterion,
                f"{'≤' if r.bound == 'at_most' else '≥'} {r.percent}%",
                "符合 holds" if r.breach is None else f"不符合 broken: {r.breach}",
            ]
            for r in seen.rules
        ],
        title="比例要求 ratio rules",
        empty="无比例要求 (no ratio rules)",
    )
    counts: dict[str, int] = {}
    for n in seen.nominations:
        counts[_stage_key(n)] = counts.get(_stage_key(n), 0) + 1
    order = {str(k): i for i, k in enumerate((*STAGE_LABELS, *OUTCOME_WORDS))}
    listing(
        out,
        [Col("阶段 stage"), Col("--stage", key=True), Col("推荐 nominations", justify="right")],
        [
            [stage_words(k, 2), k, str(c)]
            for k, c in sorted(counts.items(), key=lambda kc: order.get(kc[0], len(order)))
        ],
        title="各阶段 by stage",
        empty="暂无推荐 (no nominations)",
        total=["合计 total", "", str(len(seen.nominations))] if counts else None,
    )


def _print_nominations(chosen: list[Any]) -> None:
    from casework.domain.campaign import stage_words

    listing(
        out,
        [
            Col("推荐 case", key=True),
            Col("区县"),
            Col("被推荐 nominee"),
            Col("阶段 stage"),
            Col("结果 outcome"),
        ],
        [
            [
                n.case_id,
                n.district,
                n.name,
                stage_words(n.stage, 2),
                stage_words(n.outcome, 2),
            ]
            for n in chosen
        ],
        title="推荐 nominations",
        empty="没有符合条件的推荐 (no nominations here)",
        total=["合计 total", str(len(chosen)), "", "", ""],
    )


class HonoursFormat(StrEnum):
    text = "text"
    json = "json"
    csv = "csv"


@campaign_app.command("honours")
@handled
def campaign_honours(
    campaign_id: str = typer.Argument(...),
    fmt: HonoursFormat = typer.Option(HonoursFormat.text, "--format", help="text, json or csv."),
    output: Path | None = typer.Option(None, "--output", help="Write to this file."),
    as_user: str = AsOpt,
) -> None:
    """表彰名单: the honoured nominations (revoked titles left out), name and unit. Public
    to any signed-in user once the campaign is closed. CSV opens in Excel (UTF-8 BOM)."""
    from casework.campaign_service import honours_for
    from casework.domain.award_steps import to_json, to_text
    from casework.domain.campaign import honours_csv

    eng = engine()  # one engine, one schema check (a good part of the time)
    rows = honours_for(_campaigns(eng), campaign_id, _actor(as_user, eng))
    body: bytes = {
        HonoursFormat.text: lambda: to_text(rows).encode(),
        HonoursFormat.json: lambda: (to_json(rows) + "\n").encode(),
        HonoursFormat.csv: lambda: honours_csv(rows),
    }[fmt]()
    if output is not None:
        output.write_bytes(body)
        out.print(f"[green]已写入 (written):[/] {escape(str(output))} ({len(rows)})")
        return
    sys.stdout.buffer.write(body)
    sys.stdout.flush()


@campaign_app.command("list")
@handled
def campaign_list(as_user: str = AsOpt, as_json: bool = JsonOpt) -> None:
    """评选活动: every campaign for union staff and the committee; the closed ones (their
    honour lists public) for anyone else."""
    from casework.campaign_service import summaries_for

    eng = engine()  # one engine, one schema check (a good part of the time)
    found = summaries_for(_campaigns(eng), _actor(as_user, eng))
    if as_json:
        emit_json(found)
        return
    listing(
        out,
        [
            Col("评选活动 campaign", key=True),
            Col("名称 name"),
            Col("年度 year", key=True),
            Col("状态 status"),
            Col("名额 places", justify="right"),
            Col("推荐 nominations", justify="right"),
        ],
        [
            [
                c.campaign_id,
                c.name,
                str(c.year),
                c.status,
                f"{c.places_forwarded}/{c.places}",
                str(c.nominations),
            ]
            for c in found
        ],
        empty="暂无评选活动 (no campaigns)",
    )


@campaign_app.command("demo")
@handled
def campaign_demo(
    nominations: int = typer.Option(1000, "--nominations", min=1, max=20_000),
    seed: int = typer.Option(2027, "--seed", help="The same seed, the same campaign."),
    as_json: bool = JsonOpt,
) -> None:
    """A seeded demo campaign of many nominations at several stages (casework.demo.
    campaign): recorded through the store's append path, without workflows, so they can
    be read (show, list, the page, the benchmark) but not acted on."""
    from casework.demo.campaign import seed_campaign
    from casework.demo.seed import seed_reference_data

    eng = engine()
    seed_reference_data(eng)
    seeded = seed_campaign(eng, nominations, seed)
    if as_json:
        emit_json(seeded.__dict__)
        return
    out.print(f"[green]已生成 (seeded):[/] {seeded.campaign_id} · {seeded.nominations} 推荐")
    for stage, n in seeded.stages.items():
        out.print(f"  {stage}: {n}")
