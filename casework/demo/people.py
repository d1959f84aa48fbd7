"""Demo users: every role of processes.md in three districts and the city federation."""

from __future__ import annotations

from casework.domain.org import CITY, Role
from casework.store.directory import User

R = Role
DEMO_DISTRICTS = {"chongchuan": "崇川区", "tongzhou": "通州区", "haimen": "海门区"}

_DISTRICT_STAFF: list[tuple[str, str, list[Role]]] = [
    ("grassroots1", "基层干事一", [R.GRASSROOTS_OFFICER]),
    ("grassroots2", "基层干事二", [R.GRASSROOTS_OFFICER]),
    ("grassroots3", "基层干事三", [R.GRASSROOTS_OFFICER]),
    ("officer1", "区县干事一", [R.DISTRICT_OFFICER]),
    ("officer2", "区县干事二", [R.DISTRICT_OFFICER, R.DISTRICT_LEADER]),
    ("leader", "区县领导", [R.DISTRICT_LEADER]),
    ("supervisor", "区县督办", [R.SUPERVISOR]),
    ("legalaid", "法援中心干事", [R.LEGAL_AID_OFFICER]),
    ("legalaid2", "法援中心干事二", [R.LEGAL_AID_OFFICER]),
    ("lawyer", "援助律师", [R.LAWYER]),
    ("lawyer2", "援助律师二", [R.LAWYER]),
    ("auditor", "区县审计员", [R.AUDITOR]),
]

_CITY_STAFF: list[tuple[str, str, list[Role]]] = [
    ("city.officer1", "市总干事一", [R.CITY_OFFICER]),
    ("city.officer2", "市总干事二", [R.CITY_OFFICER]),
    ("city.leader", "市总领导", [R.CITY_LEADER]),
    ("city.supervisor", "市总督办", [R.SUPERVISOR]),
    ("city.admin", "系统管理员", [R.ADMIN]),
    ("city.legalaid", "市法援中心干事", [R.LEGAL_AID_OFFICER]),
    # The city's legal-aid centre serves the stations outside the demo districts: a
    # second officer reviews what the first records, as in each district.
    ("city.legalaid2", "市法援中心干事二", [R.LEGAL_AID_OFFICER]),
    ("city.lawyer", "市法援律师", [R.LAWYER]),
    ("city.lawyer2", "市法援律师二", [R.LAWYER]),
    ("city.auditor", "经审会审计员", [R.AUDITOR]),
    ("city.auditor2", "经审会审计员二", [R.AUDITOR]),
    ("city.auditlead", "经审会审计组长", [R.AUDIT_LEAD]),
    ("city.committee1", "评审委员一", [R.COMMITTEE_MEMBER]),
    ("city.committee2", "评审委员二", [R.COMMITTEE_MEMBER]),
    ("city.committee3", "评审委员三", [R.COMMITTEE_MEMBER]),
]

VETTING_STAFF: dict[str, tuple[str, str]] = {
    # department -> (user id, name): one 联审 vetting officer per department.
    "discipline": ("vet.discipline", "纪检监察联审员"),
    "police": ("vet.police", "公安联审员"),
    "environment": ("vet.environment", "生态环境联审员"),
    "tax": ("vet.tax", "税务联审员"),
    "social_insurance": ("vet.social_insurance", "人社联审员"),
    "work_safety": ("vet.work_safety", "应急管理联审员"),
}


def demo_users() -> list[User]:
    people = [
        User(id=f"{slug}.{sid}", name=f"{district}{name}", roles=roles, district=district)
        for slug, district in DEMO_DISTRICTS.items()
        for sid, name, roles in _DISTRICT_STAFF
    ]
    people += [
        User(id=uid, name=name, roles=roles, district=CITY) for uid, name, roles in _CITY_STAFF
    ]
    people += [
        User(id=uid, name=name, roles=[R.VETTING_OFFICER], district=CITY, department=dept)
        for dept, (uid, name) in VETTING_STAFF.items()
    ]
    return people


DEMO_PASSWORD = "casework-demo"
"""Every demo user's password (README). Only the demo seed sets it: a production stack
(`casework serve` and `casework worker`) seeds no users at all."""

DEMO_BUDGET_FEN = 150_000_000
"""1,500,000 元 a district a year: about the seed year's 1,334万元 spread over 9 districts."""
