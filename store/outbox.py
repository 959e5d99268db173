"""The transactional outbox: work an order's transaction promised, queued in that same transaction.

The worker claims due jobs, carries them out and finishes or retries them; a crash at any point leaves a
store from which it resumes. Orders and refunds, whose steps these are, live in store.orders.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from store.models import Base, BigIntegerId, TimestampedMixin, UtcDateTime


class JobState(StrEnum):
    PENDING = "PENDING"
    DONE = "DONE"


class OutboxJob(TimestampedMixin, Base):
    """Work an earlier transaction promised: done by the worker, retried until it is done.

    `dedupe_key` is unique: the same step of the same order is never queued twice, however many
    duplicate notifications race to queue it.
    """

    __tablename__ = "outbox_jobs"

    id: Mapped[int] = mapped_column(BigIntegerId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    order_id: Mapped[int | None] = mapped_column(BigIntegerId, ForeignKey("orders.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(BigIntegerId, ForeignKey("refunds.id"))
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)
    """When the job may run next (a retry sets it later)."""
    started_at: Mapped[datetime] = mapped_column(UtcDateTime)
    """When the step was first queued: the start of its retry window."""
    locked_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    """A worker's lease; a worker that crashed loses it when it runs out."""
    attempts: Mapped[int] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)


class OutboxRepository:
    """Queues, claims and finishes outbox jobs inside the caller's session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def enqueue(
        self,
        *,
        kind: str,
        dedupe_key: str,
        at: datetime,
        due_at: datetime | None = None,
        order_id: int | None = None,
        refund_id: int | None = None,
    ) -> OutboxJob:
        """Queue a job; the unique dedupe_key makes a racing second copy fail its transaction."""
        job = OutboxJob(
            kind=kind,
            dedupe_key=dedupe_key,
            order_id=order_id,
            refund_id=refund_id,
            state=JobState.PENDING,
            due_at=due_at or at,
            started_at=at,
            attempts=0,
            created_at=at,
            updated_at=at,
        )
        self._session.add(job)
        await self._session.flush()
        return job

    async def claim_due(self, *, now: datetime, lease_until: datetime, limit: int) -> list[OutboxJob]:
        """Take up to `limit` due jobs no live worker holds, leasing them until `lease_until`.

        PostgreSQL skips rows another worker is claiming (SKIP LOCKED); SQLite's write lock
        serialises claims. A job whose worker died is claimed again once its lease ran out.
        """
        query = (
            select(OutboxJob)
            .where(
                OutboxJob.state == JobState.PENDING,
                OutboxJob.due_at <= now,
                (OutboxJob.locked_until.is_(None)) | (OutboxJob.locked_until <= now),
            )
            .order_by(OutboxJob.due_at, OutboxJob.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        jobs = list((await self._session.execute(query)).scalars())
        for job in jobs:
            job.locked_until = lease_until
            job.attempts += 1
            job.updated_at = now
        await self._session.flush()
        return jobs

    async def get(self, job_id: int, *, for_update: bool = False) -> OutboxJob | None:
        query = select(OutboxJob).where(OutboxJob.id == job_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalar_one_or_none()

    async def for_order(self, order_id: int) -> list[OutboxJob]:
        result = await self._session.execute(
            select(OutboxJob).where(OutboxJob.order_id == order_id).order_by(OutboxJob.id)
        )
        return list(result.scalars())

    @staticmethod
    def finish(job: OutboxJob, *, at: datetime) -> None:
        job.state = JobState.DONE
        job.locked_until = None
        job.updated_at = at

    @staticmethod
    def retry(job: OutboxJob, *, due_at: datetime, error: str, at: datetime) -> None:
        job.due_at = due_at
        job.locked_until = None
        job.last_error = error[:2000]
        job.updated_at = at
