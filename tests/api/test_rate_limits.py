"""Rate limits per address and per account: 429 (or 40001 for shims) with Retry-After, then recovery.

Through the real app; the buckets' clock is injected, so recovery takes no sleeping.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio
from starlette.applications import Starlette
from starlette.requests import Request

from api.demo import simulated_region
from api.ratelimit import RateLimit, RedisBuckets
from api.settings import RateLimits, Settings, TokenBucket
from store.seed import seed_demo
from tests.conftest import running_gateway

REDIS_URL = os.environ.get("HISGRAPH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
GRAPHQL = {"query": "{ __typename }"}
SHIM = "/prefront/patient/getPatientInfo"
TWO_A_SECOND_BURST_TWO = TokenBucket(per_minute=60, burst=2)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def account_header(request: Request) -> str | None:
    """Stands in for the session token until accounts reach the limiter."""
    return request.headers.get("X-Test-Account")


@contextlib.asynccontextmanager
async def gateway(
    tmp_path: Path, limits: RateLimits, *, mode: str = "dev", **middleware: Any
) -> AsyncIterator[tuple[Starlette, Clock]]:
    settings = Settings(
        mode=mode,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=simulated_region("http://127.0.0.1:9"),
        rate_limits=limits,
        cache_prefix=middleware.pop("cache_prefix", "hisgraph"),
        # What these tests use and production refuses unless allowed (Settings.production_refusals).
        allow_random_secrets=True,
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
    )
    clock = Clock()
    async with running_gateway(settings) as client:
        app: Starlette = client._transport.app  # type: ignore[attr-defined]
        # The middleware stack is built on the first request: give the app's RateLimit our clock first.
        assert app.middleware_stack is None
        rate_limit_class: object = RateLimit  # Middleware.cls is typed as a factory protocol, not a class
        (rate_limit,) = [m for m in app.user_middleware if m.cls is rate_limit_class]
        rate_limit.kwargs.update(clock=clock, **middleware)
        await seed_demo(app.state.services.db)
        yield app, clock


def client(app: Starlette, address: str = "127.0.0.1", **headers: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40123))
    return httpx.AsyncClient(transport=transport, base_url="http://gateway", headers=headers)


def enabled(**limits: Any) -> RateLimits:
    return RateLimits(**{"enabled": True, "per_ip": TWO_A_SECOND_BURST_TWO, "per_account": None, **limits})


async def test_graphql_gets_429_with_retry_after_then_recovers(tmp_path: Path) -> None:
    async with gateway(tmp_path, enabled()) as (app, clock), client(app) as http:
        assert [(await http.post("/graphql", json=GRAPHQL)).status_code for _ in range(2)] == [200, 200]
        refused = await http.post("/graphql", json=GRAPHQL)
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == "1"
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        clock.now += 0.5
        assert (await http.post("/graphql", json=GRAPHQL)).status_code == 429
        clock.now += 1
        assert (await http.post("/graphql", json=GRAPHQL)).status_code == 200
        assert (await http.post("/graphql", json=GRAPHQL)).status_code == 429
        clock.now += 60  # a long pause refills the burst, no more
        assert [(await http.post("/graphql", json=GRAPHQL)).status_code for _ in range(3)] == [200, 200, 429]


async def test_a_shim_gets_the_spec_envelope_40001(tmp_path: Path) -> None:
    async with gateway(tmp_path, enabled()) as (app, clock), client(app) as http:
        body = {"medicalCardNumber": "001000056254587"}
        assert [(await http.post(SHIM, json=body)).json()["code"] for _ in range(2)] == ["10001", "10001"]
        refused = await http.post(SHIM, json=body)
        assert refused.status_code == 200
        assert refused.json() == {"success": False, "msg": "系统繁忙", "code": "40001", "data": None}
        assert refused.headers["Retry-After"] == "1"
        clock.now += 1
        sloppy_path = "http://gateway//prefront/patient/getPatientInfo/"
        assert (await http.post(sloppy_path, json=body)).json()["code"] == "10001"


async def test_each_address_has_its_own_bucket_and_exempt_ones_none(tmp_path: Path) -> None:
    limits = enabled(exempt_ips=("192.168.5.0/24",))
    async with gateway(tmp_path, limits) as (app, _clock):
        async with client(app, "10.0.0.1") as first, client(app, "10.0.0.2") as second:
            for _ in range(2):
                await first.post("/graphql", json=GRAPHQL)
            assert (await first.post("/graphql", json=GRAPHQL)).status_code == 429
            assert (await second.post("/graphql", json=GRAPHQL)).status_code == 200
        async with client(app, "192.168.5.7") as exempt:
            assert {(await exempt.post("/graphql", json=GRAPHQL)).status_code for _ in range(10)} == {200}


async def test_health_checks_are_never_limited(tmp_path: Path) -> None:
    async with gateway(tmp_path, enabled()) as (app, _clock), client(app) as http:
        assert {(await http.get("/healthz")).status_code for _ in range(10)} == {200}
        assert {(await http.get("/readyz")).status_code for _ in range(10)} == {200}


async def test_accounts_have_buckets_of_their_own(tmp_path: Path) -> None:
    limits = enabled(per_ip=None, per_account=TWO_A_SECOND_BURST_TWO)
    async with gateway(tmp_path, limits, account_key=account_header) as (app, clock):
        async with client(app, **{"X-Test-Account": "a"}) as alice, client(app, **{"X-Test-Account": "b"}) as bob:
            assert [(await alice.post("/graphql", json=GRAPHQL)).status_code for _ in range(3)] == [200, 200, 429]
            assert (await bob.post("/graphql", json=GRAPHQL)).status_code == 200
            clock.now += 1
            assert (await alice.post("/graphql", json=GRAPHQL)).status_code == 200
        async with client(app) as anonymous:  # no account: only the address's bucket (none here) applies
            assert {(await anonymous.post("/graphql", json=GRAPHQL)).status_code for _ in range(5)} == {200}


async def test_off_in_dev_by_default_and_on_in_production(tmp_path: Path) -> None:
    tight = RateLimits(per_ip=TokenBucket(per_minute=1, burst=1))
    async with gateway(tmp_path / "dev", tight) as (app, _clock), client(app) as http:
        assert {(await http.post("/graphql", json=GRAPHQL)).status_code for _ in range(5)} == {200}
    async with gateway(tmp_path / "production", tight, mode="production") as (app, _clock), client(app) as http:
        assert [(await http.post("/graphql", json=GRAPHQL)).status_code for _ in range(2)] == [200, 429]
    assert not RateLimits(enabled=False).active(production=True)
    assert RateLimits().active(production=True)
    assert not Settings().rate_limits.active(production=not Settings().dev)


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
async def test_workers_sharing_redis_share_the_buckets(redis_prefix: str) -> None:
    first, second = RedisBuckets(REDIS_URL, prefix=redis_prefix), RedisBuckets(REDIS_URL, prefix=redis_prefix)
    now = 1_000_000.0
    try:
        assert await first.take("ip:10.0.0.1", TWO_A_SECOND_BURST_TWO, now=now) == 0
        assert await second.take("ip:10.0.0.1", TWO_A_SECOND_BURST_TWO, now=now) == 0
        assert await first.take("ip:10.0.0.1", TWO_A_SECOND_BURST_TWO, now=now) == pytest.approx(1.0)
        assert await second.take("ip:10.0.0.2", TWO_A_SECOND_BURST_TWO, now=now) == 0
        assert await second.take("ip:10.0.0.1", TWO_A_SECOND_BURST_TWO, now=now + 1) == 0
    finally:
        await first.aclose()
        await second.aclose()


@pytest.mark.redis
async def test_the_app_limits_through_redis(tmp_path: Path, redis_prefix: str) -> None:
    limits = enabled(backend="redis")
    async with gateway(tmp_path, limits, cache_prefix=redis_prefix) as (app, clock), client(app) as http:
        assert [(await http.post("/graphql", json=GRAPHQL)).status_code for _ in range(3)] == [200, 200, 429]
        clock.now += 1
        assert (await http.post("/graphql", json=GRAPHQL)).status_code == 200
        rate_limit = app.middleware_stack
        while not isinstance(rate_limit, RateLimit):
            rate_limit = rate_limit.app  # type: ignore[union-attr]
        await rate_limit.buckets.aclose()
