"""What operators read about the scheduled jobs: their recent runs, from the ``job_runs`` table."""

from __future__ import annotations

from store.db import Database
from store.jobs import JobRun, JobRuns


async def list_runs(
    db: Database, *, job: str | None = None, latest_only: bool = False, limit: int = 50
) -> list[JobRun]:
    """Runs newest slot first (of one job, or every job); with `latest_only`, each job's newest run."""
    async with db.session() as session:
        runs = JobRuns(session)
        if latest_only:
            latest = await runs.latest_per_job()
            return [run for run in latest if job is None or run.job == job][:limit]
        return await runs.recent(job=job, limit=limit)
