"""Operators' view of the scheduled jobs (11.1.1, 12.1.1, 19.2.x, 22.1.x): each run, its state and failures.

A run covers every hospital its job serves: a region operator sees it whole; a hospital operator sees
only the runs that asked their hospital, each as it went for that hospital alone (its state, its
messages, its failure), never the region's figures nor a summary naming the others.

``runJobNow`` (region operators) starts a job at once, audited.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from his_clients.codes import ReturnCode
from services.audit import record
from services.identity.principal import OperatorPrincipal
from services.jobs.runtime import scheduler_for
from services.jobs.status import list_runs
from store.jobs import FINISHED_STATES, JobRun, JobRunState

from ..access import Forbidden
from ..context import Info
from ..results import InputRefused

MAX_RUNS = 500


@strawberry.enum(description="Where a run of a scheduled job stands.")
class JobRunStatus(Enum):
    RUNNING = strawberry.enum_value("running", description="An instance is running it now.")
    SUCCEEDED = strawberry.enum_value("succeeded", description="Every hospital was asked and its messages queued.")
    PARTIAL = strawberry.enum_value(
        "partial", description="Finished, but some hospitals failed (see failures); the others' messages are queued."
    )
    FAILED = strawberry.enum_value("failed", description="Every hospital failed.")
    INTERRUPTED = strawberry.enum_value(
        "interrupted", description="Its instance was stopped mid-run; the next tick of any instance resumes it."
    )


@strawberry.type(description="A hospital a job run could not serve.")
class JobRunFailure:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that failed.")
    code: str = strawberry.field(
        description=(
            "The 附四 code it answered (e.g. 10003), or ours: HIS_TIMEOUT, HIS_PROTOCOL_ERROR, UNKNOWN_HOSPITAL..."
        )
    )
    message: str = strawberry.field(description="What went wrong, personal data masked.")


@strawberry.type(description="One run of a scheduled job: one job, one daily slot, run once across all instances.")
class JobRunRecord:
    id: strawberry.ID = strawberry.field(description="The run's id.")
    job: str = strawberry.field(description="The job's configured name, e.g. deposit-reminders.")
    task: str = strawberry.field(
        description=(
            "The spec section it carries out: 11.1.1 low-deposit reminders, 12.1.1 one-day bill notices, "
            "19.2.1/19.2.2 revisit reminders, 22.1.1/22.1.2 satisfaction surveys."
        )
    )
    scheduled_for: datetime = strawberry.field(
        description="The slot it stands for (UTC); a run caught up after downtime keeps its slot."
    )
    state: JobRunStatus = strawberry.field(description="Where it stands.")
    instance: str = strawberry.field(description="The gateway instance that ran it last (host:pid:tag).")
    attempt: int = strawberry.field(
        description="1, plus one for each takeover of a run whose instance died or stopped."
    )
    started_at: datetime = strawberry.field(description="When its current attempt began (UTC).")
    finished_at: datetime | None = strawberry.field(description="When it ended (UTC); null while running.")
    hospitals: int = strawberry.field(
        description="Hospitals asked; for a hospital operator 1 (their hospital was asked) or 0 (not yet)."
    )
    queued: int = strawberry.field(
        description=(
            "Messages it queued (those an earlier run had queued are not counted); for a hospital operator, "
            "their hospital's messages only."
        )
    )
    failures: list[JobRunFailure] = strawberry.field(description="The hospitals that failed, with why.")
    error: str | None = strawberry.field(
        description="A summary of what failed; shown to region operators only (it names every hospital)."
    )
    next_run_at: datetime | None = strawberry.field(
        description=(
            "When its job is next due (UTC), from this instance's schedule; null when the job is disabled, no "
            "longer configured, or this instance does not run the scheduler."
        )
    )

    @classmethod
    def from_row(cls, row: JobRun, *, hospital_id: str | None, next_run_at: datetime | None) -> JobRunRecord:
        failures = [f for f in row.failures or [] if hospital_id is None or f.get("hospitalId") == hospital_id]
        state = JobRunStatus(row.state)
        hospitals, queued = row.hospitals, row.queued
        if hospital_id is not None:
            # A hospital operator's run is the run for their hospital alone.
            per_hospital = row.hospital_queued if isinstance(row.hospital_queued, dict) else {}
            hospitals = 1 if hospital_id in per_hospital or failures else 0
            queued = int(per_hospital.get(hospital_id, 0))
            if failures:
                state = JobRunStatus.FAILED
            elif row.state in FINISHED_STATES:
                state = JobRunStatus.SUCCEEDED
        return cls(
            id=strawberry.ID(str(row.id)),
            job=row.job,
            task=row.task,
            scheduled_for=row.scheduled_for,
            state=state,
            instance=row.instance,
            attempt=row.attempt,
            started_at=row.started_at,
            finished_at=row.finished_at,
            hospitals=hospitals,
            queued=queued,
            next_run_at=next_run_at,
            failures=[
                JobRunFailure(
                    hospital_id=strawberry.ID(str(f.get("hospitalId", ""))),
                    code=str(f.get("code", "")),
                    message=str(f.get("message", "")),
                )
                for f in failures
            ],
            error=row.error if hospital_id is None else None,
        )


def _asked(row: JobRun, hospital_id: str) -> bool:
    """Whether a run asked this hospital (runs older than migration 0011 say so only by a failure)."""
    per_hospital = row.hospital_queued if isinstance(row.hospital_queued, dict) else {}
    return hospital_id in per_hospital or any(f.get("hospitalId") == hospital_id for f in row.failures or [])


def _next_runs(info: Info) -> dict[str, datetime | None]:
    scheduler = scheduler_for(info.context.services.db)
    if scheduler is None:
        return {}
    now = scheduler.now()
    return {spec.name: spec.next_slot(now) for spec in scheduler.config.jobs}


async def job_runs(
    info: Info,
    job: Annotated[str | None, strawberry.argument(description="Only this job's runs (its configured name).")] = None,
    latest_only: Annotated[
        bool, strawberry.argument(description="Only each job's newest run: the dashboard's 'last run' column.")
    ] = False,
    failed_only: Annotated[
        bool,
        strawberry.argument(
            description="Only runs that failed for some hospital (PARTIAL or FAILED; for a hospital operator, "
            "those that failed for their hospital)."
        ),
    ] = False,
    limit: Annotated[int, strawberry.argument(description=f"At most this many runs (1-{MAX_RUNS}).")] = 50,
) -> list[JobRunRecord] | None:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):  # pragma: no cover - Query.operator checks it
        raise Forbidden("operators only")
    own = None if principal.role == "region" else (principal.hospital_id or "")
    wanted = max(1, min(limit, MAX_RUNS))
    states = [JobRunState.PARTIAL.value, JobRunState.FAILED.value] if failed_only else None
    # A hospital operator's runs are those that asked their hospital: read more, keep theirs.
    rows = await list_runs(
        info.context.services.db,
        job=job,
        latest_only=latest_only,
        states=states,
        limit=wanted if own is None else MAX_RUNS,
    )
    if own is not None:
        rows = [row for row in rows if _asked(row, own)]
    next_runs = _next_runs(info)
    records = [JobRunRecord.from_row(row, hospital_id=own, next_run_at=next_runs.get(row.job)) for row in rows]
    if failed_only:
        records = [r for r in records if r.failures]
    return records[:wanted]


job_runs_field = strawberry.field(
    resolver=job_runs,
    description=(
        "Runs of the scheduled jobs (11.1.1 deposit reminders, 12.1.1 bill notices, 19.2.x revisit reminders, "
        "22.1.x surveys), newest slot first: state, messages queued, hospitals that failed."
    ),
)


@strawberry.type
class JobRunNowMutation:
    @strawberry.mutation(
        description=(
            "Start a scheduled job at once, for every hospital it serves (region operators only; audited as "
            "job-run-started). The run goes on in the background: it is returned RUNNING and jobRuns shows how "
            "it ends. Its messages carry the scheduled runs' keys, so a patient already told is not told "
            "twice. An unknown job is refused (20004); so is a job this instance does not run (20004)."
        )
    )
    async def run_job_now(
        self,
        info: Info,
        job: Annotated[str, strawberry.argument(description="The job's configured name, e.g. deposit-reminders.")],
    ) -> JobRunRecord:
        principal = info.context.principal
        if not isinstance(principal, OperatorPrincipal) or principal.role != "region":
            raise Forbidden("region operators only")
        services = info.context.services
        scheduler = scheduler_for(services.db)
        if scheduler is None:
            raise InputRefused("job", ReturnCode.PARAMETER_RANGE, "the scheduled jobs do not run on this instance")
        name = job.strip()
        if scheduler.spec(name) is None:
            known = ", ".join(spec.name for spec in scheduler.config.jobs)
            raise InputRefused("job", ReturnCode.PARAMETER_RANGE, f"no such job; the jobs are: {known}")
        run = await scheduler.run_now(name)
        if run is None:
            raise InputRefused("job", ReturnCode.PARAMETER_RANGE, "a run of this job started this second already")
        async with services.db.session() as db:  # audited (issue 15 item 9)
            record(
                db,
                principal,
                "job-run-started",
                target=f"job {name}",
                detail={"runId": run.id, "task": run.task},
            )
        return JobRunRecord.from_row(run, hospital_id=None, next_run_at=_next_runs(info).get(name))
