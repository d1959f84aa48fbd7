from tests.workflows.conftest import Harness, civil_affairs_done, findings
from tests.workflows.steps import REGISTERED


async def test_under_threshold_case_goes_from_open_to_filed(harness: Harness) -> None:
    h = harness
    view = await h.open()
    cid = view.case_id
    assert view.stage == "grassroots_review"
    await h.act(cid, "chongchuan.grassroots2", "approve", "材料齐全")
    await civil_affairs_done(h, cid)
    v = await h.act(
        cid,
        "chongchuan.grassroots2",
        "approve",
        "已入户",
        findings("chongchuan.grassroots2", "chongchuan.grassroots3"),
    )
    assert v.stage == "public_notice"
    await h.env.sleep(8 * 24 * 3600)
    v = h.queries.case_view(cid)
    assert v.stage == "district_review", v
    await h.act(cid, "chongchuan.officer1", "approve", "同意")
    v = await h.act(cid, "chongchuan.leader", "approve", "同意")
    assert v.stage in ("disbursement", "receipt_confirmation")
    await h.env.sleep(60)
    v = h.queries.case_view(cid)
    assert v.stage == "receipt_confirmation", v
    v = await h.act(cid, "chongchuan.grassroots2", "approve", "电话回访，确认已到账")
    assert v.stage == "registration", v
    v = await h.act(cid, "chongchuan.officer1", "approve", "已录入", REGISTERED)
    assert v.status == "closed" and v.outcome == "approved"
    print([e.type for e in h.store.read(cid)])
