"""What the scheduled jobs do and when: job specs, their defaults, and the slot a job is due for.

Each job carries out one of the spec's polled interfaces (its ``task``, the section number) every day
at ``at`` Beijing time, for every hospital of the registry that has opened the method, or for the
hospitals it lists. Configure them in api/settings.py's ``jobs`` (``HISGRAPH_JOBS__JOBS`` as JSON,
``HISGRAPH_JOBS__DEPOSIT_THRESHOLD=300`` ...); ``run_jobs`` turns the scheduler on. Two specs may
share a task, e.g. one hospital reminded at another hour than the rest of the region::

    [{"name": "deposit-reminders", "task": "11.1.1", "at": "09:00", "exclude": ["253"]},
     {"name": "deposit-reminders-253", "task": "11.1.1", "at": "17:30", "hospitals": ["253"]}]

Catch-up: a job is due for its most recent slot (the latest ``at`` not after now). An instance that
was down for three days runs that slot once when it comes back, not the three it missed: a deposit
reminder or a bill notice of three days ago says nothing today's does not, and a burst of stale
messages helps no patient. The windows the HIS is asked about follow the slot, not the clock, so the
catch-up run asks about the slot's day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from services.payments.clock import CHINA_TIME

TaskName = Literal["11.1.1", "12.1.1", "19.2.1", "19.2.2", "22.1.1", "22.1.2"]
"""The spec section a job carries out:

- 11.1.1 住院押金不足提醒: inpatients whose deposit is below ``deposit_threshold`` get the 11.2.1 reminder.
- 12.1.1 住院一日清单: every current inpatient gets a notice of yesterday's bill (12.1.2 shows it).
- 19.2.1 / 19.2.2 复诊提醒（定时任务模式）: patients with a revisit ``revisit_days_ahead`` days on are reminded.
- 22.1.1 / 22.1.2 诊后满意度调查: yesterday's outpatients / discharged inpatients get a survey link.
"""


class JobSpec(BaseModel):
    """One scheduled job: which task, when each day, for which hospitals."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")
    """Unique; runs are recorded (and locked) under it."""
    task: TaskName
    at: time
    """Time of day, Beijing time (HH:MM)."""
    hospitals: tuple[str, ...] | None = None
    """Only these hospitals; None: every hospital of the registry that has opened the task's method."""
    exclude: tuple[str, ...] = ()
    """Hospitals left out (e.g. those another spec of the same task serves at their own hour)."""
    enabled: bool = True

    @field_validator("at")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("give the time of day without a zone: it is Beijing time")
        return value.replace(second=0, microsecond=0)

    def latest_slot(self, now: datetime) -> datetime:
        """The most recent time (UTC) at or before `now` this job was due."""
        local = now.astimezone(CHINA_TIME)
        slot = datetime.combine(local.date(), self.at, tzinfo=CHINA_TIME)
        if slot > local:
            slot -= timedelta(days=1)
        return slot.astimezone(UTC)

    def next_slot(self, now: datetime) -> datetime | None:
        """The next time (UTC) after `now` this job is due; None while it is disabled."""
        if not self.enabled:
            return None
        local = now.astimezone(CHINA_TIME)
        slot = datetime.combine(local.date(), self.at, tzinfo=CHINA_TIME)
        if slot <= local:
            slot = datetime.combine(local.date() + timedelta(days=1), self.at, tzinfo=CHINA_TIME)
        return slot.astimezone(UTC)


def beijing_day(moment: datetime) -> date:
    """The calendar day in Beijing of a UTC moment (the day a slot stands for)."""
    return moment.astimezone(CHINA_TIME).date()


DEFAULT_JOBS: tuple[JobSpec, ...] = (
    JobSpec(name="daily-bills", task="12.1.1", at=time(8, 0)),
    JobSpec(name="deposit-reminders", task="11.1.1", at=time(9, 0)),
    JobSpec(name="revisit-reminders", task="19.2.1", at=time(10, 0)),
    JobSpec(name="physical-revisit-reminders", task="19.2.2", at=time(10, 0)),
    JobSpec(name="outpatient-surveys", task="22.1.1", at=time(10, 30)),
    JobSpec(name="discharge-surveys", task="22.1.2", at=time(10, 30)),
)
"""12.1.1 is asked in the morning (每天早上, yesterday's bill); the others at hours patients read messages."""


class JobsConfig(BaseModel):
    """The scheduler's settings and the jobs it runs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    jobs: tuple[JobSpec, ...] = DEFAULT_JOBS
    tick_s: float = Field(default=60.0, gt=0, le=3600)
    """How often each instance looks for a due job."""
    lease_s: float = Field(default=900.0, ge=10)
    """A run whose instance has not reported for this long is taken over by another (it died)."""
    hospital_concurrency: int = Field(default=4, ge=1, le=64)
    """Hospitals one run asks at once."""
    deposit_threshold: Decimal = Field(default=Decimal("500"), ge=0, max_digits=12, decimal_places=2)
    """11.1.1 prePay (住院押金最低额度): patients whose deposit balance is below it are reminded (yuan)."""
    revisit_days_ahead: int = Field(default=1, ge=0, le=30)
    """19.2.x: remind of the revisits on the day this many days after the slot's day (1: tomorrow's)."""
    surveys_only_paid: bool = False
    """22.1.x: survey only visits the hospital marks paid (isPaid 1); by default every visit it lists."""

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [job.name for job in self.jobs]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"job names repeat: {repeated}")
        return self
