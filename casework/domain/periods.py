"""Time limits of tasks: working days on the statutory calendar, or seconds (demos)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from casework.domain.calendar import STATUTORY, WorkingCalendar


class Period(BaseModel):
    """A time limit: working days on the statutory calendar, or seconds (demo stacks)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    working_days: int | None = Field(default=None, ge=1, le=365)
    seconds: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _one(self) -> Period:
        if (self.working_days is None) == (self.seconds is None):
            raise ValueError("give exactly one of working_days or seconds")
        return self

    def label(self) -> tuple[str, str]:
        """How people read it: (Chinese, English)."""
        if self.seconds is not None:
            return f"{self.seconds} 秒", f"{self.seconds} seconds"
        return f"{self.working_days} 个工作日", f"{self.working_days} working days"

    def end(self, start: datetime, calendar: WorkingCalendar = STATUTORY) -> datetime:
        if self.seconds is not None:
            return start + timedelta(seconds=self.seconds)
        assert self.working_days is not None
        return calendar.add_working_days(start, self.working_days)
