"""A reproducible 送温暖 programme for the demo, the tests and the benchmark: households
put on the register, each union's list of recipients (CSV), about 3% of rows failing a
check (a wrong check digit, a person another union already named, an amount above the
standard) and a few accounts the bank declines.

The seed year's figure is 34,429 person-times of about 387 元 (processes.md 1b).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from casework.domain.identity import id_check_digit
from casework.privacy.keys import Keyring
from casework.privacy.lookup import identity_digest, lookup_key
from casework.store.tables import applicant_identities, households

STANDARDS_FEN = {"deep": 50_000, "relative": 35_000, "accident": 35_000}
HEADER = "union,name,id_number,category,amount_fen,bank_account"
DECLINED_SUFFIX = "0000"
"""The FakeBank declines accounts ending so (activities.disbursement.FakeBank)."""


def id_number(n: int) -> str:
    """The n-th person's ID number: valid, and different for every n below 3,650,000."""
    born = date(1960, 1, 1) + timedelta(days=n // 1000)
    body = f"320602{born:%Y%m%d}{n % 1000:03d}"
    return body + id_check_digit(body)


def spec(year: int, districts: list[str], budget_fen: int) -> dict[str, Any]:
    """A 送温暖 programme for households on the register, as `programme open` takes it."""
    return {
        "name": f"{year}年元旦春节送温暖",
        "kind": "song_wen_nuan",
        "year": year,
        "starts_on": f"{year - 1}-12-20",
        "lists_due_on": f"{year}-01-10",
        "ends_on": f"{year}-02-28",
        "qualifies": "register",
        "standards_fen": STANDARDS_FEN,
        "budget_fen": dict.fromkeys(districts, budget_fen),
    }


@dataclass
class Generated:
    register: list[tuple[str, str, str]] = field(default_factory=list)
    """(ID number, category, district) of each household to put on the register."""
    lists: dict[str, list[bytes]] = field(default_factory=dict)
    """Each district's unions' lists (CSV)."""
    bad_rows: int = 0
    declined: int = 0

    @property
    def rows(self) -> int:
        return sum(data.count(b"\n") - 1 for ls in self.lists.values() for data in ls)


def generate(
    recipients: int,
    districts: list[str],
    *,
    per_list: int = 500,
    failing: float = 0.03,
    declined: float = 0.002,
    seed: int = 20270101,
) -> Generated:
    """`recipients` rows over `districts`, in lists of about `per_list` rows."""
    rng = random.Random(seed)
    out = Generated()
    categories = list(STANDARDS_FEN)
    for n in range(recipients):
        district = districts[n % len(districts)]
        category = rng.choices(categories, weights=(5, 3, 2))[0]
        out.register.append((id_number(n), category, district))
    by_district: dict[str, list[int]] = {d: [] for d in districts}
    for n in range(recipients):
        by_district[districts[n % len(districts)]].append(n)
    for district, people in by_district.items():
        lists: list[bytes] = []
        for start in range(0, len(people), per_list):
            union = f"{district}第{start // per_list + 1}基层工会"
            lines = [HEADER]
            for n in people[start : start + per_list]:
                number, category, _ = out.register[n]
                amount = STANDARDS_FEN[category] - rng.choice((0, 0, 0, 5_000, 10_000))
                account = f"6222{rng.randrange(10**12):012d}"
                roll = rng.random()
                if roll < failing / 3:
                    number = number[:17] + ("0" if number[17] != "0" else "1")
                    out.bad_rows += 1
                elif roll < 2 * failing / 3 and n > 0:
                    number = out.register[n - 1][0]  # named by the list already: a duplicate
                    out.bad_rows += 1
                elif roll < failing:
                    amount = STANDARDS_FEN[category] + 100
                    out.bad_rows += 1
                elif roll < failing + declined:
                    account = account[:-4] + DECLINED_SUFFIX
                    out.declined += 1
                lines.append(f"{union},职工{n},{number},{category},{amount},{account}")
            lists.append(("\n".join(lines) + "\n").encode())
        out.lists[district] = lists
    return out


def put_on_register(engine: Engine, keyring: Keyring, entries: list[tuple[str, str, str]]) -> None:
    """File each household straight into the register and the identity index, as a
    hardship case that ended in `household.filed` would have (bulk, for volume)."""
    key_id = keyring.current_id
    key = lookup_key(keyring.current)
    now = datetime.now(UTC)
    rows_h: list[dict[str, Any]] = []
    rows_i: list[dict[str, Any]] = []
    for number, category, district in entries:
        case_id = f"HR-DEMO-{uuid.uuid4().hex[:20]}"
        rows_h.append(
            {
                "case_id": case_id,
                "district": district,
                "applicant_name": "职工",
                "category": category,
                "filed_at": now,
                "filed_by": "demo",
            }
        )
        rows_i.append(
            {
                "case_id": case_id,
                "key_id": key_id,
                "digest": identity_digest(key, number),
                "created_at": now,
            }
        )
    with engine.begin() as conn:
        for i in range(0, len(rows_h), 5000):
            conn.execute(insert(households), rows_h[i : i + 5000])
            conn.execute(insert(applicant_identities), rows_i[i : i + 5000])


def summer_spec(year: int) -> dict[str, Any]:
    """夏季安康送清凉 for frontline workers their unions name (as
    examples/programme-summer.json, in `year`)."""
    return {
        "name": f"{year}年夏季安康送清凉",
        "kind": "summer",
        "year": year,
        "starts_on": f"{year}-06-01",
        "lists_due_on": f"{year}-06-30",
        "ends_on": f"{year}-08-31",
        "qualifies": "frontline",
        "standards_fen": {"frontline": 20_000},
        "budget_fen": {"崇川区": 2_000_000, "通州区": 2_000_000, "海门区": 2_000_000},
    }


def summer_list() -> bytes:
    """崇川区建筑公司工会's list (as examples/programme-summer-recipients.csv): seven
    workers, one above the standard, one account the fake bank declines."""
    rows = [HEADER]
    for k in range(1, 8):
        amount = 25_000 if k == 6 else 20_000
        account = "6222888800000000" if k == 7 else f"622288880000{100 + k:04d}"
        rows.append(
            f"崇川区建筑公司工会,职工{100 + k},{id_number(1_000 + k)},frontline,{amount},{account}"
        )
    return ("\n".join(rows) + "\n").encode()


def seed_demo_programme(engine: Engine, keyring: Keyring, today: date) -> str:
    """`make run`'s programme: a 夏季送清凉 next summer (frontline workers, so no register
    is needed; its lists never past due). 崇川区's union has submitted its list (one row
    above the standard fails its check), the district has approved it and the city the
    district's total: what is left is the payment run, one of whose accounts the fake
    bank declines (`programme failed`, `programme correct`)."""
    from casework.domain.programme import ProgrammeSpec
    from casework.store.directory import Directory
    from casework.store.programmes import Programmes

    directory = Directory(engine)
    programmes = Programmes(engine, keyring)
    city = directory.get("city.officer1").actor()
    programme_id = programmes.open(ProgrammeSpec.model_validate(summer_spec(today.year + 1)), city)
    submitted = programmes.submit(
        programme_id, summer_list(), directory.get("chongchuan.grassroots1").actor()
    )
    programmes.review(
        submitted.list_id,
        directory.get("chongchuan.officer1").actor(),
        approve=True,
        comment="名单核对无误",
    )
    programmes.approve_district(programme_id, "崇川区", city)
    return programme_id
