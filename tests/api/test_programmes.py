"""/api/programmes: a programme's figures and failed payments within the user's
jurisdiction (a district outside the programme answers 404, like none), failed rows for
district and city officers only, nothing without a signed-in user."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from sqlalchemy import Engine

from activities.disbursement import FakeBank
from activities.programme import ProgrammePayments
from casework.demo.programme import id_number, put_on_register, spec
from casework.domain.programme import PayRequest, ProgrammeSpec
from casework.store.directory import Directory
from casework.store.programmes import Programmes
from tests.api.conftest import bearer
from tests.conftest import TEST_KEYRING

CC, TZ = "崇川区", "通州区"


def paid_programme(engine: Engine, directory: Directory) -> str:
    """A programme of 崇川区 and 通州区: 崇川区's list paid, one row declined by the bank."""
    put_on_register(engine, TEST_KEYRING, [(id_number(n), "deep", CC) for n in range(5)])
    p = Programmes(engine, TEST_KEYRING)
    city = directory.get("city.officer1").actor()
    pid = p.open(ProgrammeSpec.model_validate(spec(2027, [CC, TZ], 10**8)), city)
    rows = "\n".join(
        f"工会,职工{n},{id_number(n)},deep,50000,{'6222000000000000' if n == 4 else f'62221111{n:08d}'}"
        for n in range(1, 5)
    )
    listed = p.submit(
        pid,
        f"union,name,id_number,category,amount_fen,bank_account\n{rows}\n".encode(),
        directory.get("chongchuan.grassroots1").actor(),
    )
    p.review(listed.list_id, directory.get("chongchuan.officer1").actor(), approve=True)
    p.approve_district(pid, CC, city)
    ProgrammePayments(engine, FakeBank(), TEST_KEYRING).pay_programme(
        PayRequest(programme_id=pid, actor=city)
    )
    return pid


async def test_figures_and_failed_rows_within_the_jurisdiction(
    api: httpx.AsyncClient, sqlite_engine: Engine, directory: Directory
) -> None:
    pid = paid_programme(sqlite_engine, directory)

    def as_(user: str) -> dict[str, str]:
        return bearer(sqlite_engine, user)

    city = await api.get(f"/api/programmes/{pid}", headers=as_("city.officer1"))
    assert city.status_code == 200
    body = city.json()
    assert [d["district"] for d in body["districts"]] == [CC, TZ]
    assert body["progress"]["counts"] == {"paid": 3, "failed": 1}
    assert body["progress"]["amount_fen"] == 150_000
    assert body["lists_due"] is None  # the deadline not recorded yet
    mine = (await api.get(f"/api/programmes/{pid}", headers=as_("chongchuan.grassroots1"))).json()
    assert [d["district"] for d in mine["districts"]] == [CC]

    # The deadline as recorded, beside the live figures; a district sees its own.
    Programmes(sqlite_engine).record_lists_due(pid, now=datetime(2099, 1, 1, tzinfo=UTC))
    due = (await api.get(f"/api/programmes/{pid}", headers=as_("city.officer1"))).json()
    assert due["lists_due"]["overdue_districts"] == [TZ]
    assert due["lists_due"]["recorded_at"].startswith("2099-01-01T00:00:00")
    tz_view = (await api.get(f"/api/programmes/{pid}", headers=as_("tongzhou.officer1"))).json()
    assert tz_view["lists_due"]["overdue_districts"] == [TZ]
    cc_view = (await api.get(f"/api/programmes/{pid}", headers=as_("chongchuan.officer1"))).json()
    assert cc_view["lists_due"]["overdue_districts"] == []

    failed = await api.get(f"/api/programmes/{pid}/failed", headers=as_("chongchuan.officer1"))
    assert failed.status_code == 200
    [row] = failed.json()
    assert (row["line"], row["district"]) == (5, CC)
    assert row["id_masked"] != id_number(4) and "*" in row["id_masked"]
    assert "6222" not in failed.text  # no account, clear or masked
    tz = await api.get(f"/api/programmes/{pid}/failed", headers=as_("tongzhou.officer1"))
    assert tz.json() == []
    refused = await api.get(f"/api/programmes/{pid}/failed", headers=as_("chongchuan.grassroots1"))
    assert (refused.status_code, refused.json()["detail"]["code"]) == (403, "role_not_held")

    # A district without a budget in the programme: the same answer as no programme.
    outside = await api.get(f"/api/programmes/{pid}", headers=as_("haimen.officer1"))
    none = await api.get("/api/programmes/PG-2027-000999", headers=as_("haimen.officer1"))
    assert outside.status_code == none.status_code == 404
    assert outside.json()["detail"].replace(pid, "X") == none.json()["detail"].replace(
        "PG-2027-000999", "X"
    )
    outside = await api.get(f"/api/programmes/{pid}/failed", headers=as_("haimen.officer1"))
    assert outside.status_code == 404
    bad = await api.get("/api/programmes/HR-2027-000001", headers=as_("city.officer1"))
    assert bad.status_code == 422
    for path in (f"/api/programmes/{pid}", f"/api/programmes/{pid}/failed"):
        assert (await api.get(path)).status_code == 401
        forged = await api.get(path, headers={"Authorization": "Bearer forged"})
        assert forged.status_code == 401
