"""Fixtures of the scheduled-job tests: the store on SQLite and PostgreSQL, the simulated region, a clock."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, time

import pytest
from sqlalchemy import select

from his_clients.client import HisClient
from his_clients.registry import Registry
from services.jobs import JobScheduler, JobsConfig, JobSpec
from services.payments.clock import CHINA_TIME, ManualClock
from services.surveys.links import SurveyLinks
from store.db import Database
from store.jobs import JobRun
from store.messages import OutboundMessage
from tests.store.conftest import database_factory, db, migrated_database  # noqa: F401 - fixtures used here

SECRET = b"jobs-test-secret-0123456789"
LINK_BASE = "https://gateway.example"


def beijing(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """A moment given in Beijing time, as the store wants it (aware, UTC)."""
    return datetime(year, month, day, hour, minute, tzinfo=CHINA_TIME).astimezone(UTC)


def spec(task: str, *, at: time = time(9, 0), hospitals: tuple[str, ...] | None = ("253",), **kw: object) -> JobSpec:
    return JobSpec.model_validate({"name": f"job-{task}", "task": task, "at": at, "hospitals": hospitals, **kw})


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(beijing(2026, 3, 10, 10, 0))


@pytest.fixture
def links() -> SurveyLinks:
    return SurveyLinks(SECRET, base_url=LINK_BASE, ttl_s=14 * 86_400)


@pytest.fixture
async def his(region: Registry) -> AsyncIterator[HisClient]:
    async with HisClient(region) as client:
        yield client


SchedulerFactory = Callable[..., JobScheduler]


@pytest.fixture
def make_scheduler(
    db: Database,  # noqa: F811 - the fixture imported above
    his: HisClient,
    clock: ManualClock,
    links: SurveyLinks,
    sim_admin: object,
) -> SchedulerFactory:
    """Schedulers on the test database and the simulated region (the simulator is reset after the test)."""

    def make(
        *jobs: JobSpec,
        database: Database | None = None,
        his_client: HisClient | None = None,
        instance: str | None = None,
        **config: object,
    ) -> JobScheduler:
        return JobScheduler(
            db=database or db,
            his=his_client or his,
            config=JobsConfig.model_validate({"jobs": jobs, **config}),
            survey_links=links,
            clock=clock,
            instance=instance,
        )

    return make


async def runs_of(database: Database) -> list[JobRun]:
    async with database.session() as session:
        return list((await session.execute(select(JobRun).order_by(JobRun.job, JobRun.scheduled_for))).scalars())


async def messages_of(database: Database, **where: str) -> list[OutboundMessage]:
    query = select(OutboundMessage).order_by(OutboundMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboundMessage, name) == value)
    async with database.session() as session:
        return list((await session.execute(query)).scalars())
