"""`casework campaign open|forward|vote`: award campaigns (评选活动, processes.md section
3, issue #13).

The city opens a campaign (the award, the year, each district's quota, the ratio rules,
the vetting departments and the notices' lengths); each nomination is a case of its own
(`casework case open nomination --campaign ID`). A district forwards its approved
nominations as one batch (quota, the award's shared places and the ratio rules judged in
one transaction), the committee's vote is recorded for the whole campaign; each command
is checked against the directory and recorded on the campaign's stream, then the
nominations it touched are told to read their rows.
"""

from __future__ import annotations

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
    handled,
    load_json_file,
    out,
    run,
)

campaign_app = typer.Typer(
    help="评选活动 劳模/五一奖章/工人先锋号 (award campaigns: open, forward a district's "
    "nominations, record the committee's vote).",
    **BARE_HELP,
)
app.add_typer(campaign_app, name="campaign")


def _actor(as_user: str) -> Any:
    from casework.store.directory import Directory

    return Directory(engine()).active(as_user).actor()


def _campaigns() -> Any:
    from casework.store.campaigns import Campaigns

    return Campaigns(engine())


def _deliver(case_ids: list[str]) -> int:
    """Tell the nominations to read their rows (idempotent: safe to run again)."""
    from activities.nomination import deliver_campaign_news
    from casework.cli import _service

    async def go() -> int:
        service = await _service()
        return await deliver_campaign_news(service.client, case_ids)

    return run(go())  # type: ignore[no-any-return]


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
    cid = _campaigns().open(spec, _actor(as_user))
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
    as_json: bool = JsonOpt,
) -> None:
    """区县报送: every approved, not yet forwarded nomination of the district, as one
    batch, within its quota and the award's places, the ratio rules holding. A district
    officer of that district."""
    done = _campaigns().forward(campaign_id, district, _actor(as_user))
    _deliver(done.case_ids)
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
    as_json: bool = JsonOpt,
) -> None:
    """评审委员会表决: members present and each nomination's votes for; two thirds of
    those present pass it, with the quorum present. A committee member records it."""
    from casework.domain.nomination import CommitteeVote

    vote = CommitteeVote.model_validate(load_json_file(file, "votes"))
    done = _campaigns().record_vote(campaign_id, vote, _actor(as_user))
    _deliver([*done.passed, *done.failed])
    if as_json:
        emit_json(done)
        return
    out.print(
        f"[green]已表决 (recorded):[/] {len(done.passed)} 通过 passed, "
        f"{len(done.failed)} 未通过 failed"
    )
