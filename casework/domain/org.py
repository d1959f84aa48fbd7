"""The federation's organisation: districts, roles and the acting person."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

CITY = "市总工会"
"""Jurisdiction of city-level staff: the whole city."""

DISTRICTS: tuple[str, ...] = (
    "崇川区",
    "通州区",
    "海门区",
    "海安市",
    "如皋市",
    "如东县",
    "启东市",
    "南通经济技术开发区",
    "市直",
)


class Role(StrEnum):
    GRASSROOTS_OFFICER = "grassroots_officer"
    DISTRICT_OFFICER = "district_officer"
    DISTRICT_LEADER = "district_leader"
    CITY_OFFICER = "city_officer"
    CITY_LEADER = "city_leader"
    LEGAL_AID_OFFICER = "legal_aid_officer"
    LAWYER = "lawyer"
    AUDITOR = "auditor"
    AUDIT_LEAD = "audit_lead"
    COMMITTEE_MEMBER = "committee_member"
    VETTING_OFFICER = "vetting_officer"  # 联审部门: answers for one department (Actor.department)
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


class Actor(BaseModel):
    """Who is acting: built by the API/CLI from an authenticated user."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    roles: tuple[Role, ...]
    district: str
    department: str | None = Field(default=None, max_length=32)
    """The 联审 vetting department a vetting officer answers for (casework.domain.award's
    VettingDepartment); None for everyone else. The directory vouches for it."""

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    def covers(self, district: str) -> bool:
        """Whether `district` is inside this person's jurisdiction."""
        return self.district in (CITY, district)
