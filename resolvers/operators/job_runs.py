"""Operators' view of the scheduled jobs (11.1.1, 12.1.1, 19.2.x, 22.1.x): each run, its state and failures.

A run covers every hospital its job serves: a region operator sees it whole; a hospital operator sees
the runs with only their own hospital's failures, and no summary naming the others.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from services.identity.principal import OperatorPrincipal
from services.jobs.status import list_runs
from store.jobs import JobRun

from ..access import Forbidden
from ..context import Info

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
    hospitals: int = strawberry.field(description="Hospitals asked.")
    queued: int = strawberry.field(description="Messages it queued (those an earlier run had queued are not counted).")
    failures: list[JobRunFailure] = strawberry.field(description="The hospitals that failed, with why.")
    error: str | None = strawberry.field(
        description="A summary of what failed; shown to region operators only (it names every hospital)."
    )

    @classmethod
    def from_row(cls, row: JobRun, *, hospital_id: str | None) -> JobRunRecord:
        failures = [f for f in row.failures or [] if hospital_id is None or f.get("hospitalId") == hospital_id]
        return cls(
            id=strawberry.ID(str(row.id)),
            job=row.job,
            task=row.task,
            scheduled_for=row.scheduled_for,
            state=JobRunStatus(row.state),
            instance=row.instance,
            attempt=row.attempt,
            started_at=row.started_at,
            finished_at=row.finished_at,
            hospitals=row.hospitals,
            queued=row.queued,
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


async def job_runs(
    info: Info,
    job: Annotated[str | None, strawberry.argument(description="Only this job's runs (its configured name).")] = None,
    latest_only: Annotated[
        bool, strawberry.argument(description="Only each job's newest run: the dashboard's 'last run' column.")
    ] = False,
    limit: Annotated[int, strawberry.argument(description=f"At most this many runs (1-{MAX_RUNS}).")] = 50,
) -> list[JobRunRecord] | None:
    principal = info.context.principal
    if not isinstance(principal, OperatorPrincipal):  # pragma: no cover - Query.operator checks it
        raise Forbidden("operators only")
    rows = await list_runs(
        info.context.services.db, job=job, latest_only=latest_only, limit=max(1, min(limit, MAX_RUNS))
    )
    own = None if principal.role == "region" else (principal.hospital_id or "")
    return [JobRunRecord.from_row(row, hospital_id=own) for row in rows]


job_runs_field = strawberry.field(
    resolver=job_runs,
    description=(
        "Runs of the scheduled jobs (11.1.1 deposit reminders, 12.1.1 bill notices, 19.2.x revisit reminders, "
        "22.1.x surveys), newest slot first: state, messages queued, hospitals that failed."
    ),
)
