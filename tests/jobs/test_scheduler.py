"""The scheduler: every slot runs once across instances, downtime is caught up once, a failing hospital
is recorded while the others' messages are queued, a dead runner's slot is taken over. SQLite and
PostgreSQL (the lock is the store's unique row)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from his_clients.client import HisClient
from his_clients.registry import Registry
from services.jobs import JobsConfig, JobSpec
from services.payments.clock import ManualClock
from store.db import Database
from store.jobs import JobRun, JobRuns, JobRunState
from tests.conftest import inject, running_gateway

from .conftest import SchedulerFactory, beijing, messages_of, runs_of, spec

BILLS = "hospital.interface.inpatientList"


async def test_two_instances_run_each_slot_once(db: Database, make_scheduler: SchedulerFactory) -> None:
    other_db = Database(db.url.render_as_string(hide_password=False))
    try:
        jobs = (spec("12.1.1", hospitals=("253", "256")), spec("22.1.1", hospitals=("253", "256")))
        first = make_scheduler(*jobs, instance="one")
        second = make_scheduler(*jobs, database=other_db, instance="two")
        reports = [r for batch in await asyncio.gather(first.tick(), second.tick()) for r in batch]
        # Again, both at once: nothing left to run.
        again = [r for batch in await asyncio.gather(first.tick(), second.tick()) for r in batch]
    finally:
        await other_db.dispose()

    assert sorted(r.job for r in reports) == ["job-12.1.1", "job-22.1.1"]
    assert all(r.state is JobRunState.SUCCEEDED and r.queued > 0 for r in reports)
    assert again == []
    runs = await runs_of(db)
    assert [(r.job, r.state, r.attempt) for r in runs] == [
        ("job-12.1.1", "succeeded", 1),
        ("job-22.1.1", "succeeded", 1),
    ]
    assert {r.instance for r in runs} <= {"one", "two"}
    messages = await messages_of(db)
    assert len(messages) == sum(r.queued for r in reports)
    assert len({m.dedupe_key for m in messages}) == len(messages)


async def test_downtime_of_three_days_catches_up_the_latest_slot_once(
    db: Database, make_scheduler: SchedulerFactory, clock: ManualClock
) -> None:
    scheduler = make_scheduler(spec("12.1.1", at=time(8, 0)))
    first = await scheduler.tick()
    assert [r.scheduled_for for r in first] == [beijing(2026, 3, 10, 8, 0)]
    assert await scheduler.tick() == []  # the same slot, later the same morning: done already

    clock.advance(timedelta(days=3, hours=1))  # down from 10:00 on the 10th to 11:00 on the 13th
    caught_up = await scheduler.tick()
    assert [r.scheduled_for for r in caught_up] == [beijing(2026, 3, 13, 8, 0)]
    assert await scheduler.tick() == []

    runs = await runs_of(db)
    assert [r.scheduled_for for r in runs] == [beijing(2026, 3, 10, 8, 0), beijing(2026, 3, 13, 8, 0)]
    # The catch-up run notified the bill of its own slot's day before (the 12th), not the missed days'.
    bill_days = Counter(m.payload["date"] for m in await messages_of(db, kind="dailyInpatientBill"))
    assert set(bill_days) == {"2026-03-09", "2026-03-12"}
    assert bill_days["2026-03-09"] == bill_days["2026-03-12"] == first[0].queued == caught_up[0].queued


async def test_a_slot_not_yet_reached_waits_for_its_time(
    db: Database, make_scheduler: SchedulerFactory, clock: ManualClock
) -> None:
    scheduler = make_scheduler(spec("12.1.1", at=time(11, 30)))
    [report] = await scheduler.tick()
    assert report.scheduled_for == beijing(2026, 3, 9, 11, 30)  # at 10:00 the due slot is yesterday's
    clock.advance(timedelta(hours=1, minutes=29))
    assert await scheduler.tick() == []
    clock.advance(timedelta(minutes=1))
    [report] = await scheduler.tick()
    assert report.scheduled_for == beijing(2026, 3, 10, 11, 30)


async def test_a_failing_hospital_is_recorded_and_the_others_are_served(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="254", method=BILLS, kind="code", code="10003", msg="HIS busy")
    inject(sim_admin, hospitalId="255", method=BILLS, kind="invalid_json")
    scheduler = make_scheduler(spec("12.1.1", hospitals=("253", "254", "255", "256", "nowhere")))
    [report] = await scheduler.tick()

    assert report.state is JobRunState.PARTIAL
    assert report.hospitals == 5
    assert [(f["hospitalId"], f["code"]) for f in report.failures] == [
        ("254", "10003"),
        ("255", "HIS_PROTOCOL_ERROR"),
        ("nowhere", "UNKNOWN_HOSPITAL"),
    ]
    [run] = await runs_of(db)
    assert run.state == "partial"
    assert run.failures == report.failures
    assert run.error is not None
    assert run.error.startswith("3 of 5 hospitals failed: 254 10003")
    assert run.finished_at is not None
    queued_at = Counter(m.hospital_id for m in await messages_of(db))
    assert set(queued_at) == {"253", "256"}
    assert sum(queued_at.values()) == report.queued == run.queued


async def test_every_hospital_failing_fails_the_run(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="*", method=BILLS, kind="http500")
    [report] = await make_scheduler(spec("12.1.1", hospitals=("253", "254"))).tick()
    assert report.state is JobRunState.FAILED
    assert {f["code"] for f in report.failures} == {"HIS_HTTP_ERROR"}
    assert await messages_of(db) == []


async def test_by_default_a_job_asks_every_hospital_that_opened_its_method(
    db: Database, make_scheduler: SchedulerFactory, region: Registry
) -> None:
    # Hospital 255 has not opened 12.1.1: it is not asked (and nothing fails); 257 is excluded.
    closed = region.hospitals[2].model_copy(update={"opened": frozenset({"hospital.interface.queryWaitPay"})})
    registry = Registry(hospitals=(*region.hospitals[:2], closed, *region.hospitals[3:]), endpoints=region.endpoints)
    async with HisClient(registry) as his:
        job = JobSpec(name="bills", task="12.1.1", at=time(8, 0), exclude=("257",))
        [report] = await make_scheduler(job, his_client=his).tick()
    assert report.state is JobRunState.SUCCEEDED
    assert report.hospitals == 3
    assert {m.hospital_id for m in await messages_of(db)} == {"253", "254", "256"}


async def test_a_run_whose_instance_died_is_taken_over_after_the_lease(
    db: Database, make_scheduler: SchedulerFactory, clock: ManualClock
) -> None:
    job = spec("12.1.1")
    slot = job.latest_slot(clock.now())
    async with db.session() as session:  # an instance claimed the slot, then died before a beat
        claimed = await JobRuns(session).claim(
            job=job.name, task=job.task, scheduled_for=slot, instance="dead", now=clock.now()
        )
        assert claimed is not None
    scheduler = make_scheduler(job, lease_s=600)
    assert await scheduler.tick() == []  # still within its lease
    clock.advance(timedelta(minutes=10))
    [report] = await scheduler.tick()
    assert report.state is JobRunState.SUCCEEDED
    assert report.queued > 0
    [run] = await runs_of(db)
    assert (run.attempt, run.instance, run.state) == (2, scheduler.instance, "succeeded")
    # The dead runner's late writes are fenced off by the attempt.
    async with db.session() as session:
        assert not await JobRuns(session).beat(run.id, attempt=1, now=clock.now(), hospitals=9, queued=9)


async def test_an_interrupted_run_is_resumed_by_the_next_tick(
    db: Database, make_scheduler: SchedulerFactory, sim_admin: httpx.Client
) -> None:
    scheduler = make_scheduler(spec("12.1.1", hospitals=("253", "254", "255")), hospital_concurrency=1)
    stop = asyncio.Event()
    # The instance is stopped while the first hospital is being asked: the others are left for later.
    inject(sim_admin, hospitalId="253", method=BILLS, kind="latency", latencyMs=300, times=1)
    runner = asyncio.create_task(scheduler.run_forever(stop=stop))
    await asyncio.sleep(0.15)
    stop.set()
    await asyncio.wait_for(runner, timeout=10)
    [run] = await runs_of(db)
    assert (run.state, run.hospitals) == ("interrupted", 1)

    [report] = await make_scheduler(spec("12.1.1", hospitals=("253", "254", "255"))).tick()
    assert report.state is JobRunState.SUCCEEDED
    assert report.hospitals == 3
    [run] = await runs_of(db)
    assert (run.state, run.attempt) == ("succeeded", 2)
    # 253's messages were queued by the first attempt, the rest by the second, none twice.
    assert {m.hospital_id for m in await messages_of(db)} == {"253", "254", "255"}


async def test_a_disabled_job_never_runs(db: Database, make_scheduler: SchedulerFactory) -> None:
    assert await make_scheduler(spec("12.1.1", enabled=False)).tick() == []
    assert await runs_of(db) == []


def test_job_names_must_be_unique() -> None:
    job = JobSpec(name="same", task="12.1.1", at=time(8, 0))
    with pytest.raises(ValueError, match="same"):
        JobsConfig(jobs=(job, job))


def test_jobs_are_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "HISGRAPH_JOBS__JOBS", '[{"name": "bills-253", "task": "12.1.1", "at": "07:15", "hospitals": ["253"]}]'
    )
    monkeypatch.setenv("HISGRAPH_JOBS__DEPOSIT_THRESHOLD", "300")
    settings = Settings()
    assert settings.run_jobs is False  # off unless asked (hisgraph serve and demo ask)
    [job] = settings.jobs.jobs
    assert (job.name, job.task, job.at, job.hospitals) == ("bills-253", "12.1.1", time(7, 15), ("253",))
    assert str(settings.jobs.deposit_threshold) == "300"
    assert Settings().surveys.questionnaire("1") is not None


async def test_the_app_runs_the_jobs_in_its_lifespan_and_stops_cleanly(region: Registry, tmp_path: Path) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}"
    # Due slot: today's or yesterday's midnight, never run before: the app catches it up on start.
    jobs = JobsConfig(jobs=(JobSpec(name="bills", task="12.1.1", at=time(0, 0), hospitals=("253",)),), tick_s=0.2)
    settings = Settings(database_url=database_url, registry=region, run_jobs=True, jobs=jobs)
    async with running_gateway(settings, signed_in=False) as client:
        db: Database = client._transport.app.state.services.db  # type: ignore[attr-defined]
        for _ in range(100):
            async with db.session() as session:
                run = (await session.execute(select(JobRun))).scalar_one_or_none()
            if run is not None and run.state == "succeeded":
                break
            await asyncio.sleep(0.1)
        assert run is not None
        assert run.state == "succeeded"
        assert run.scheduled_for <= datetime.now(UTC)
        assert len(await messages_of(db)) == run.queued > 0
