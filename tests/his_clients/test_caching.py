"""Reference data is cached per hospital and identical concurrent misses make one upstream call.

Run against the simulated region over real HTTP, in-process and in the real Redis on this machine
(two clients sharing one Redis stand for two workers).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio

from his_clients.caching import MemoryBackend, RedisBackend, ReferenceCache, is_personal
from his_clients.client import HisClient
from his_clients.errors import HisRejected
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.models.registration_today import TODAY_REGISTER_GET_DEPTS, TodayRegisterGetDeptsRequest
from his_clients.registry import Registry
from tests.conftest import calls, inject

DEPTS = TODAY_REGISTER_GET_DEPTS.name
REDIS_URL = os.environ.get("HISGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def departments(client: HisClient, hospital_id: str = "253") -> object:
    return await client.call(TODAY_REGISTER_GET_DEPTS, hospital_id, TodayRegisterGetDeptsRequest(), deadline=None)


def test_only_reference_data_without_personal_fields_is_cached() -> None:
    cache = ReferenceCache(MemoryBackend())
    assert cache.ttl_for(DEPTS, {"hospitalId": "253"}) == 300
    assert cache.ttl_for(QUERY_WAIT_PAY.name, {"hospitalId": "253"}) is None  # patient state, never
    assert cache.ttl_for(DEPTS, {"hospitalId": "253", "medicalCardNumber": "001000056254587"}) is None
    assert is_personal({" idcard ": "370102197907025236"})
    assert not is_personal({"idCard": ""})
    assert ReferenceCache(MemoryBackend(), ttl_s={DEPTS: 0}).ttl_for(DEPTS, {}) is None


async def test_a_rush_of_identical_calls_makes_one_upstream_call(region: Registry, sim_admin: httpx.Client) -> None:
    async with HisClient(region, cache=ReferenceCache(MemoryBackend())) as client:
        replies = await asyncio.gather(*(departments(client) for _ in range(100)))
        assert all(reply == replies[0] for reply in replies)
        assert len(calls(sim_admin, method=DEPTS)) == 1
        await departments(client)  # within the TTL: from the cache
        await departments(client, "254")  # another hospital is its own entry
        assert [c["hospitalId"] for c in calls(sim_admin, method=DEPTS)] == ["253", "254"]


async def test_patient_calls_always_reach_the_hospital(region: Registry, sim_admin: httpx.Client) -> None:
    request = QueryWaitPayRequest(medical_card_number="001000056254587")
    async with HisClient(region, cache=ReferenceCache(MemoryBackend())) as client:
        await asyncio.gather(*(client.call(QUERY_WAIT_PAY, "253", request, deadline=None) for _ in range(3)))
    assert len(calls(sim_admin, method=QUERY_WAIT_PAY.name)) == 3


async def test_invalidating_a_hospital_drops_what_was_cached(region: Registry, sim_admin: httpx.Client) -> None:
    cache = ReferenceCache(MemoryBackend())
    async with HisClient(region, cache=cache) as client:
        await departments(client)
        await departments(client, "254")
        await cache.invalidate("253")
        await departments(client)
        await departments(client, "254")
    assert [c["hospitalId"] for c in calls(sim_admin, method=DEPTS)] == ["253", "254", "253"]


async def test_failures_are_shared_by_the_waiting_callers_but_never_cached(
    region: Registry, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="253", method=DEPTS, kind="code", code="40001", msg="系统繁忙", times=1)
    async with HisClient(region, cache=ReferenceCache(MemoryBackend())) as client:
        outcomes = await asyncio.gather(*(departments(client) for _ in range(10)), return_exceptions=True)
        assert all(isinstance(o, HisRejected) and o.code == "40001" for o in outcomes)
        await departments(client)  # the next call goes out again, and succeeds
    assert len(calls(sim_admin, method=DEPTS)) == 2


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of this test's own, removed afterwards: other runs share the server."""
    prefix = f"hisgraph-test-{uuid.uuid4().hex}"
    connection = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        await connection.ping()
    except (OSError, redis.RedisError) as exc:
        await connection.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")
    try:
        yield prefix
    finally:
        keys = [key async for key in connection.scan_iter(f"{prefix}:*")]
        if keys:
            await connection.delete(*keys)
        await connection.aclose()


@pytest.mark.redis
async def test_workers_sharing_redis_share_the_cache_and_its_coalescing(
    region: Registry, sim_admin: httpx.Client, redis_prefix: str
) -> None:
    first = HisClient(region, cache=ReferenceCache(RedisBackend(REDIS_URL, prefix=redis_prefix)))
    second = HisClient(region, cache=ReferenceCache(RedisBackend(REDIS_URL, prefix=redis_prefix)))
    async with first, second:
        inject(sim_admin, hospitalId="253", method=DEPTS, kind="latency", latencyMs=200)
        replies = await asyncio.gather(*(departments(c) for c in (first, second) for _ in range(50)))
        assert all(reply == replies[0] for reply in replies)
        assert len(calls(sim_admin, method=DEPTS)) == 1
        await first.cache.invalidate("253")  # type: ignore[union-attr]
        await departments(second)
    assert len(calls(sim_admin, method=DEPTS)) == 2


@pytest.mark.redis
async def test_a_worker_whose_load_fails_lets_the_others_try(
    region: Registry, sim_admin: httpx.Client, redis_prefix: str
) -> None:
    inject(sim_admin, hospitalId="253", method=DEPTS, kind="code", code="40001", msg="系统繁忙", times=1)
    first = HisClient(region, cache=ReferenceCache(RedisBackend(REDIS_URL, prefix=redis_prefix)))
    second = HisClient(region, cache=ReferenceCache(RedisBackend(REDIS_URL, prefix=redis_prefix)))
    async with first, second:
        outcomes = await asyncio.gather(departments(first), departments(second), return_exceptions=True)
    # One worker's call was refused; the other, finding the lock released with no value, asked itself.
    assert sum(isinstance(o, HisRejected) for o in outcomes) == 1
    assert len(calls(sim_admin, method=DEPTS)) == 2
