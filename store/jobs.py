"""Runs of the scheduled jobs: one row per job and time slot, claimed by the instance that runs it.

Every instance of the gateway ticks the same schedule, so each of them finds the same slot due (the
deposit reminders of 09:00 today, say). The row ``(job, scheduled_for)`` is unique: the instance
whose INSERT lands runs the slot, the others see the unique violation and skip it. The runner beats
``heartbeat_at`` while it works; a row left ``running`` with no beat for a lease (its instance died)
or left ``interrupted`` (its instance was stopped) is taken over by one instance, again by a guarded
UPDATE, and ``attempt`` fences the writes of the runner that lost it.

    running --> succeeded | partial (some hospitals failed) | failed
    running --(instance stopped)--> interrupted --(taken over)--> running
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Integer, String, Text, UniqueConstraint, and_, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from .models import Base, BigIntegerId, UtcDateTime


class JobRunState(StrEnum):
    """Where a run of a job stands."""

    RUNNING = "running"
    SUCCEEDED = "succeeded"
    PARTIAL = "partial"
    """Finished, but some hospitals failed (``failures`` says which); the others' messages are queued."""
    FAILED = "failed"
    """Every hospital failed, or the run itself broke (``error``)."""
    INTERRUPTED = "interrupted"
    """Its instance was stopped mid-run: the next tick of any instance takes it over."""


FINISHED_STATES = frozenset({JobRunState.SUCCEEDED, JobRunState.PARTIAL, JobRunState.FAILED})


class JobRun(Base):
    """One run of one scheduled job, for one time slot."""

    __tablename__ = "job_runs"
    __table_args__ = (UniqueConstraint("job", "scheduled_for", name="uq_job_runs_slot"),)

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(64))
    """The job's configured name (e.g. deposit-reminders)."""
    task: Mapped[str] = mapped_column(String(16))
    """The spec section it carries out (11.1.1, 12.1.1, 19.2.1, 19.2.2, 22.1.1, 22.1.2)."""
    scheduled_for: Mapped[datetime] = mapped_column(UtcDateTime)
    """The slot (UTC) this run stands for; a catch-up run after downtime keeps the slot it catches up."""
    state: Mapped[str] = mapped_column(String(16), default=JobRunState.RUNNING.value, index=True)
    instance: Mapped[str] = mapped_column(String(128))
    """Who runs it (host:pid:random), for operators."""
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    """1 for the first runner; each takeover adds one and fences the previous runner's writes."""
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(UtcDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hospitals: Mapped[int] = mapped_column(Integer, default=0)
    """Hospitals asked so far."""
    queued: Mapped[int] = mapped_column(Integer, default=0)
    """Messages this run queued (a message an earlier run already queued is not counted)."""
    failures: Mapped[Any] = mapped_column(JSON, default=list)
    """``[{hospitalId, code, message}]``: the hospitals that failed (messages masked)."""
    error: Mapped[str | None] = mapped_column(Text)
    """Why the run failed, or a summary of the hospitals that did."""
    hospital_queued: Mapped[Any | None] = mapped_column(JSON)
    """``{hospitalId: messages queued}`` for every hospital asked so far (None on runs older than 0011):
    what a hospital operator's view counts."""


class JobRuns:
    """Claims, beats and finishes `JobRun` rows inside the caller's session (the caller owns the transaction).

    A claim is committed by the caller before the run starts, so the other instances see it at once.
    """

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def claim(
        self, *, job: str, task: str, scheduled_for: datetime, instance: str, now: datetime
    ) -> JobRun | None:
        """Insert the run of this slot; None when another instance inserted it first."""
        run = JobRun(
            job=job,
            task=task,
            scheduled_for=scheduled_for,
            state=JobRunState.RUNNING.value,
            instance=instance,
            attempt=1,
            started_at=now,
            heartbeat_at=now,
            hospitals=0,
            queued=0,
            failures=[],
        )
        try:
            async with self._session.begin_nested():
                self._session.add(run)
        except IntegrityError:
            return None
        return run

    async def get(self, *, job: str, scheduled_for: datetime) -> JobRun | None:
        query = select(JobRun).where(JobRun.job == job, JobRun.scheduled_for == scheduled_for)
        return (await self._session.execute(query)).scalar_one_or_none()

    async def take_over(self, run: JobRun, *, instance: str, now: datetime, stale_before: datetime) -> bool:
        """Take over a run left ``interrupted``, or ``running`` with no beat since `stale_before`.

        Guarded by the attempt it was read with, so of several instances trying at once one wins.
        """
        result = await self._session.execute(
            update(JobRun)
            .where(
                JobRun.id == run.id,
                JobRun.attempt == run.attempt,
                or_(
                    JobRun.state == JobRunState.INTERRUPTED.value,
                    and_(JobRun.state == JobRunState.RUNNING.value, JobRun.heartbeat_at <= stale_before),
                ),
            )
            .values(
                state=JobRunState.RUNNING.value,
                instance=instance,
                attempt=run.attempt + 1,
                started_at=now,
                heartbeat_at=now,
                finished_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if getattr(result, "rowcount", 0) != 1:
            return False
        await self._session.refresh(run)
        return True

    async def beat(
        self,
        run_id: int,
        *,
        attempt: int,
        now: datetime,
        hospitals: int,
        queued: int,
        hospital_queued: dict[str, int] | None = None,
    ) -> bool:
        """Record progress; False when this runner has lost the run (another took it over)."""
        values: dict[str, Any] = {"heartbeat_at": now, "hospitals": hospitals, "queued": queued}
        if hospital_queued is not None:
            values["hospital_queued"] = dict(hospital_queued)
        return await self._guarded(run_id, attempt, values)

    async def finish(
        self,
        run_id: int,
        *,
        attempt: int,
        state: JobRunState,
        now: datetime,
        hospitals: int,
        queued: int,
        failures: list[dict[str, str]],
        error: str | None,
        hospital_queued: dict[str, int] | None = None,
    ) -> bool:
        """End the run in `state` (a finished state, or interrupted); False when this runner lost it."""
        values: dict[str, Any] = {
            "state": state.value,
            "heartbeat_at": now,
            "finished_at": now if state in FINISHED_STATES else None,
            "hospitals": hospitals,
            "queued": queued,
            "failures": failures,
            "error": error,
        }
        if hospital_queued is not None:
            values["hospital_queued"] = dict(hospital_queued)
        return await self._guarded(run_id, attempt, values)

    async def _guarded(self, run_id: int, attempt: int, values: dict[str, Any]) -> bool:
        result = await self._session.execute(
            update(JobRun)
            .where(JobRun.id == run_id, JobRun.attempt == attempt, JobRun.state == JobRunState.RUNNING.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    async def recent(self, *, job: str | None = None, states: list[str] | None = None, limit: int = 50) -> list[JobRun]:
        """Runs newest slot first (of one job, or of every job; only in ``states`` when given)."""
        query = select(JobRun).order_by(JobRun.scheduled_for.desc(), JobRun.id.desc()).limit(limit)
        if job is not None:
            query = query.where(JobRun.job == job)
        if states is not None:
            query = query.where(JobRun.state.in_(states))
        return list((await self._session.execute(query)).scalars())

    async def latest_per_job(self) -> list[JobRun]:
        """The newest run of every job that ever ran, by job name."""
        newest = select(JobRun.job, func.max(JobRun.scheduled_for).label("slot")).group_by(JobRun.job).subquery()
        query = (
            select(JobRun)
            .join(newest, and_(JobRun.job == newest.c.job, JobRun.scheduled_for == newest.c.slot))
            .order_by(JobRun.job)
        )
        return list((await self._session.execute(query)).scalars())
