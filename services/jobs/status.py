"""What operators read about the scheduled jobs: their recent runs, from the ``job_runs`` table."""

from __future__ import annotations

from store.db import Database
from store.jobs import JobRun, JobRuns


async def list_runs(
    db: Database,
    *,
    job: str | None = None,
    latest_only: bool = False,
    states: list[str] | None = None,
    limit: int = 50,
) -> list[JobRun]:
    """Runs newest slot first (of one job, or every job; only in ``states`` when given); with
    `latest_only`, each job's newest run."""
    async with db.session() as session:
        runs = JobRuns(session)
        if latest_only:
            latest = await runs.latest_per_job()
            chosen = [run for run in latest if job is None or run.job == job]
            return [run for run in chosen if states is None or run.state in states][:limit]
        return await runs.recent(job=job, states=states, limit=limit)
