"""Two gateway instances on one PostgreSQL database: the background work runs once (issue 14, "Many instances").

Two apps are built with `create_app` and started at the same moment (their lifespans, as two `hisgraph
serve --no-migrate` processes would start them) on one PostgreSQL database migrated once beforehand, each
with every background worker on: the scheduler (its catch-up runs), the payments' outbox worker, the
message worker and the official account's access-token holder. A burst of work is due before they start:
40 outbox jobs and 40 queued messages. The store and WeChat's fake then say each piece was claimed and
done once: one job run per job and slot, never taken over; each outbox job claimed once and DONE; each
message claimed once, SENT and received once by WeChat; and one stable_token call for both instances.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from api.settings import Settings
from his_clients.registry import Registry
from services.messages.config import OfficialAccountConfig
from store.db import Database
from store.followers import FollowerRepository
from store.jobs import FINISHED_STATES, JobRun
from store.messages import MessageState, OutboundMessage
from store.outbox import JobState, OutboxJob, OutboxRepository
from tests.messages.fake_official_account import APPID, SECRET, FakeOfficialAccount, FakeServer
from tests.messages.support import add_patients, keys_received, queue
from tests.store.conftest import DatabaseFactory, database_factory

__all__ = ["database_factory"]

pytestmark = pytest.mark.postgres

BURST = 40
TEMPLATES = {"lisReport": {"template_id": "tmpl-lis", "data": {"first": "{userName}", "key": "{reportkey}"}}}


@pytest.fixture
def official() -> Iterator[FakeServer]:
    server = FakeServer(FakeOfficialAccount())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def shared_database(database_factory: DatabaseFactory) -> str:
    """One PostgreSQL database, migrated once (`hisgraph migrate`) before any instance starts."""
    url = await database_factory.create("postgres")
    db = Database(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()
    return url


async def queue_the_burst(url: str) -> None:
    """40 outbox jobs and 40 messages due now, before either instance starts."""
    db = Database(url)
    try:
        await add_patients(db)  # 张三's account (union-zhang) holds card-zhang
        async with db.session() as session:
            await FollowerRepository(session).upsert(
                unionid="union-zhang",
                openid="oa-zhang",
                subscribed=True,
                last_interaction_at=None,
                now=datetime.now(UTC),
            )
            outbox = OutboxRepository(session)
            for index in range(BURST):
                # A notify step whose order is gone: the worker finishes it without calling anyone.
                await outbox.enqueue(kind="notify_his", dedupe_key=f"burst:{index}", at=datetime.now(UTC))
        for index in range(BURST):
            await queue(db, f"burst-{index}")
    finally:
        await db.dispose()


async def settled(url: str, job_names: list[str]) -> bool:
    db = Database(url)
    try:
        async with db.session() as session:
            pending_jobs = await session.scalar(
                select(func.count()).select_from(OutboxJob).where(OutboxJob.state != JobState.DONE)
            )
            unsent = await session.scalar(
                select(func.count())
                .select_from(OutboundMessage)
                .where(OutboundMessage.kind == "lisReport", OutboundMessage.state != MessageState.SENT)
            )
            runs = list((await session.execute(select(JobRun))).scalars())
    finally:
        await db.dispose()
    finished = {run.job for run in runs if run.state in FINISHED_STATES}
    return pending_jobs == 0 and unsent == 0 and finished >= set(job_names)


async def test_two_instances_share_the_background_work_and_each_piece_runs_once(
    shared_database: str, region: Registry, official: FakeServer, sim_admin: httpx.Client
) -> None:
    """issue 14 "Many instances": the scheduler, the outbox worker, the message worker and the access-token
    holder run one at a time across instances."""
    url = shared_database
    await queue_the_burst(url)
    settings = Settings(
        database_url=url,
        registry=region,
        migrate_on_start=False,  # as `serve --no-migrate`: the migrations ran once, above
        run_jobs=True,
        run_payment_worker=True,
        wechat_official=OfficialAccountConfig(
            appid=APPID, secret=SECRET, base_url=official.base_url, templates=TEMPLATES, idle_s=0.2
        ),
    )
    job_names = [job.name for job in settings.jobs.jobs if job.enabled]
    first, second = create_app(settings), create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        # Both start at the same moment: their workers wake to the same due work.
        await asyncio.gather(
            stack.enter_async_context(first.router.lifespan_context(first)),
            stack.enter_async_context(second.router.lifespan_context(second)),
        )
        for _ in range(600):  # a bound on a loaded machine, not a timing assertion
            if await settled(url, job_names):
                break
            await asyncio.sleep(0.2)

    db = Database(url)
    try:
        async with db.session() as session:
            runs = list((await session.execute(select(JobRun))).scalars())
            jobs = list((await session.execute(select(OutboxJob))).scalars())
            messages = list(
                (await session.execute(select(OutboundMessage).where(OutboundMessage.kind == "lisReport"))).scalars()
            )
    finally:
        await db.dispose()

    # The scheduler: each job's catch-up slot was claimed by one instance and run once, never taken over.
    assert Counter(run.job for run in runs) == Counter(job_names)
    assert all(run.attempt == 1 and run.state in FINISHED_STATES for run in runs), [
        (run.job, run.attempt, run.state, run.error) for run in runs
    ]
    # The outbox worker: each job claimed once (attempts counts claims) and done.
    assert len(jobs) == BURST
    assert [(job.state, job.attempts) for job in jobs] == [(JobState.DONE, 1)] * BURST
    # The message worker: each message claimed once, sent, and received once by WeChat.
    burst = {f"burst-{index}" for index in range(BURST)}
    assert [(m.state, m.attempts) for m in messages if m.dedupe_key.rsplit(":", 1)[-1] in burst] == [
        (MessageState.SENT, 1)
    ] * BURST
    received = keys_received(official.official)
    assert {key: received[key] for key in burst} == dict.fromkeys(burst, 1)
    # The access-token holder: one instance fetched the token; the other read it from the store.
    assert len(official.official.stable_token_calls) == 1
    assert official.official.token_fetches == 1
