"""What of the relief programmes waits on a person (processes.md 1b: "only exceptions
reach a person's inbox"): a union's returned list, lists awaiting the district's review,
failed payments to correct, a district total for the city to approve, approved rows
waiting for the payment run. Counted per programme and district from the programme's
records, for the user's role and jurisdiction; `casework inbox` points to them and
`casework programme exceptions` lists them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, func, select

from casework.domain.org import CITY, Actor, Role
from casework.store.tables import programme_lists, programme_recipients, programmes

Kind = Literal["list_returned", "list_to_review", "payment_failed", "total_to_approve", "to_pay"]

WORDS: dict[str, tuple[str, str]] = {
    "list_returned": (
        "名单被退回，请更正后重报",
        "a list was returned: correct it and submit again",
    ),
    "list_to_review": ("名单待审核", "lists awaiting the district's review"),
    "payment_failed": ("发放失败，请更正账户", "failed payments: correct the accounts"),
    "total_to_approve": ("区县汇总待市总审批", "the district's total awaits the city's approval"),
    "to_pay": ("已批准待发放", "approved rows waiting for the payment run"),
}
COMMANDS: dict[str, str] = {
    "list_returned": "casework programme lists {p} --failures",
    "list_to_review": "casework programme lists {p}",
    "payment_failed": "casework programme failed {p}",
    "total_to_approve": "casework programme approve {p} --district {d}",
    "to_pay": "casework programme run {p}",
}


class ProgrammeException(BaseModel):
    programme_id: str
    name: str
    district: str
    kind: Kind
    count: int = Field(description="Lists (list_*) or rows (the others).")
    what: tuple[str, str] = Field(description="What waits, in Chinese and English.")
    command: str = Field(description="The command that works it (add --as USER).")


def exceptions_for(engine: Engine, user: Actor) -> list[ProgrammeException]:
    """The programme work waiting on `user`: by their roles, in their jurisdiction, over
    the programmes still open."""
    wanted: set[str] = set()
    if user.has_role(Role.GRASSROOTS_OFFICER):
        wanted.add("list_returned")
    if user.has_role(Role.DISTRICT_OFFICER):
        wanted |= {"list_to_review", "payment_failed"}
    if user.has_role(Role.CITY_OFFICER) and user.district == CITY:
        wanted |= {"total_to_approve", "to_pay"}
    if not wanted:
        return []
    found: dict[tuple[str, str, str], int] = {}
    with engine.connect() as conn:
        names = dict(
            conn.execute(
                select(programmes.c.programme_id, programmes.c.name).where(
                    programmes.c.status == "open"
                )
            ).all()
        )
        if not names:
            return []
        lists = conn.execute(
            select(
                programme_lists.c.programme_id,
                programme_lists.c.district,
                programme_lists.c.union_name,
                programme_lists.c.status,
                programme_lists.c.submitted_at,
            ).where(programme_lists.c.programme_id.in_(names))
        ).all()
        rows = conn.execute(
            select(
                programme_recipients.c.programme_id,
                programme_recipients.c.district,
                programme_recipients.c.status,
                func.count(),
            )
            .where(
                programme_recipients.c.programme_id.in_(names),
                programme_recipients.c.status.in_(("listed", "approved", "failed")),
            )
            .group_by(
                programme_recipients.c.programme_id,
                programme_recipients.c.district,
                programme_recipients.c.status,
            )
        ).all()
    # A union's returned list waits on it until the union sends a list again.
    latest: dict[tuple[str, str, str], object] = {}
    for p, d, union, _, at in lists:
        latest[p, d, union] = max(at, latest.get((p, d, union), at))  # type: ignore[type-var]
    awaiting_review = set()
    for p, d, union, status, at in lists:
        if status == "submitted":
            awaiting_review.add((p, d))
            found[p, d, "list_to_review"] = found.get((p, d, "list_to_review"), 0) + 1
        elif status == "returned" and latest[p, d, union] == at:
            found[p, d, "list_returned"] = found.get((p, d, "list_returned"), 0) + 1
    for p, d, status, n in rows:
        if status == "failed":
            found[p, d, "payment_failed"] = n
        elif status == "approved":
            found[p, d, "to_pay"] = found.get((p, d, "to_pay"), 0) + n
        elif status == "listed" and (p, d) not in awaiting_review:
            found[p, d, "total_to_approve"] = n  # every list reviewed: the city's turn
    return [
        ProgrammeException(
            programme_id=p,
            name=names[p],
            district=d,
            kind=kind,  # type: ignore[arg-type]
            count=n,
            what=WORDS[kind],
            command=COMMANDS[kind].format(p=p, d=d),
        )
        for (p, d, kind), n in sorted(found.items())
        if kind in wanted and user.covers(d)
    ]
