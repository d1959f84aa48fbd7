"""`casework review show --year Y`: the annual review of the register (年度复核) per
district, read from `register_reviews`. With `--as` it keeps to that user's jurisdiction
(a district officer sees their district); without it the whole city, as `households
list` does. The run itself is started by its schedule or `casework assess run
annual-review --year Y`."""

from __future__ import annotations

import typer

from casework.cli import BARE_HELP, JsonOpt, app, emit_json, engine, handled, out
from casework.cli.render import Col, listing
from casework.domain.org import CITY

review_app = typer.Typer(
    help="年度复核 (the annual review of the household register).", **BARE_HELP
)
app.add_typer(review_app, name="review")

COLUMNS = (
    ("renewed", "续期 renewed"),
    ("exit_proposed", "建议退出 exit proposed"),
    ("reverify", "复核核实 re-verify"),
    ("spot_checked", "抽查 spot-checked"),
    ("follow_ups", "核查立案 follow-ups"),
    ("resolved", "已处理 resolved"),
)


@review_app.command("show")
@handled
def review_show(
    year: int = typer.Option(..., "--year", min=2000, max=2100, help="The review year."),
    as_user: str | None = typer.Option(None, "--as", help="Viewing user: only their jurisdiction."),
    as_json: bool = JsonOpt,
) -> None:
    """Per district: renewed, exit proposed, re-verify, spot-checked, follow-up cases
    opened (复核核查), resolved."""
    from casework.store.annual_review import review_figures
    from casework.store.directory import Directory

    viewer = Directory(engine()).active(as_user) if as_user else None
    district = None if viewer is None or viewer.district == CITY else viewer.district
    with engine().connect() as conn:
        figures = review_figures(conn, year, district)
    if as_json:
        emit_json(figures)
        return
    listing(
        out,
        [Col("区县 district", head=True), *(Col(words, justify="right") for _, words in COLUMNS)],
        [[d.district, *(str(getattr(d, f)) for f, _ in COLUMNS)] for d in figures.districts],
        title=f"{year} 年度复核 annual review of the register",
        empty=f"{year} 年尚未复核 (no review recorded for {year})",
        total=["合计 total", *(str(figures.total(f)) for f, _ in COLUMNS)]
        if len(figures.districts) > 1
        else None,
    )
    if figures.districts and not figures.spot_checks_drawn:
        out.print("抽查尚未抽取 (spot checks not drawn yet: the run is still going)")
