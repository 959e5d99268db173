"""Rate limits count GraphQL operations, not HTTP requests: a batch cannot multiply the budget (issue 10 item 2).

Through the real app in production mode (limits on by default there); the buckets' clock is injected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from api.ratelimit import MemoryBuckets, RedisBuckets, count_operations
from api.settings import RateLimits, TokenBucket
from tests.api.test_rate_limits import REDIS_URL, client, gateway
from tests.api.test_rate_limits import redis_prefix as redis_prefix
from tests.conftest import sign_in_patient

ONE = {"query": "{ __typename }"}
BATCH_OF_FIVE = [ONE] * 5
FIVE_A_MINUTE_BURST_FIVE = TokenBucket(per_minute=60, burst=5)


def limits(**buckets: Any) -> RateLimits:
    """Limits as production has them by default (enabled None), with small buckets."""
    return RateLimits(**{"per_ip": None, "per_account": None, **buckets})


async def test_a_batch_of_five_counts_five_against_the_address(tmp_path: Path) -> None:
    """issue 10 item 2: one request of 5 batched operations takes 5 tokens of the per-address bucket, so
    the next operation from that address waits; a second address is untouched."""
    async with (
        gateway(tmp_path, limits(per_ip=FIVE_A_MINUTE_BURST_FIVE), mode="production") as (app, clock),
        client(app, "10.0.0.1") as attacker,
        client(app, "10.0.0.2") as other,
    ):
        batch = await attacker.post("/graphql", json=BATCH_OF_FIVE)
        assert batch.status_code == 200
        assert len(batch.json()) == 5
        refused = await attacker.post("/graphql", json=ONE)
        assert refused.status_code == 429
        assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert (await other.post("/graphql", json=ONE)).status_code == 200
        clock.now += 1  # one token a second
        assert (await attacker.post("/graphql", json=ONE)).status_code == 200
        assert (await attacker.post("/graphql", json=BATCH_OF_FIVE)).status_code == 429


async def test_a_batch_of_five_counts_five_against_the_account(tmp_path: Path) -> None:
    """issue 10 item 2: the same per signed-in account (the real session-token key), whatever address it uses."""
    async with gateway(tmp_path, limits(per_account=FIVE_A_MINUTE_BURST_FIVE), mode="production") as (app, _clock):
        token = await sign_in_patient(app, openid="test:batcher")
        bearer = {"Authorization": f"Bearer {token}"}
        async with client(app, "10.0.0.1", **bearer) as first, client(app, "10.0.0.9", **bearer) as second:
            assert (await first.post("/graphql", json=BATCH_OF_FIVE)).status_code == 200
            assert (await second.post("/graphql", json=ONE)).status_code == 429


async def test_five_single_requests_and_one_batch_cost_the_same(tmp_path: Path) -> None:
    """issue 10 item 2: the budget is in operations: 5 single requests exhaust it exactly as one batch does."""
    async with (
        gateway(tmp_path, limits(per_ip=FIVE_A_MINUTE_BURST_FIVE), mode="production") as (app, _clock),
        client(app, "10.0.0.3") as http,
    ):
        assert [(await http.post("/graphql", json=ONE)).status_code for _ in range(5)] == [200] * 5
        assert (await http.post("/graphql", json=BATCH_OF_FIVE)).status_code == 429


async def test_an_oversized_body_is_not_held_by_the_limiter(tmp_path: Path) -> None:
    """issue 10 items 2 and 10: counting reads at most the guard's GraphQL limit; a larger body is still the
    guard's 413, never held whole by the limiter."""
    async with (
        gateway(tmp_path, limits(per_ip=FIVE_A_MINUTE_BURST_FIVE), mode="production") as (app, _clock),
        client(app, "10.0.0.4") as http,
    ):
        huge = b"[" + b",".join([b'{"query":"{ __typename }"}'] * 20_000) + b"]"
        response = await http.post("/graphql", content=huge, headers={"Content-Type": "application/json"})
        assert response.status_code == 413


def test_counting_is_cheap_and_never_fails() -> None:
    """issue 10 item 2: a batch counts its elements; an object, garbage or deep nesting counts 1, no error."""
    assert count_operations(b' [{"query":"{a}"},{"query":"{b}"}]') == 2
    assert count_operations(b'{"query":"{a}"}') == 1
    assert count_operations(b"[]") == 1
    assert count_operations(b"[" * 100_000) == 1
    assert count_operations(b"\xff[") == 1
    assert count_operations(b'["x", 1, null]') == 3


async def test_a_shim_call_still_counts_one(tmp_path: Path) -> None:
    """issue 10 item 2: only GraphQL operations are counted per operation; a shim call takes one token."""
    async with (
        gateway(tmp_path, limits(per_ip=TokenBucket(per_minute=60, burst=2)), mode="production") as (app, _clock),
        client(app, "10.0.0.5") as http,
    ):
        body = {"medicalCardNumber": "001000056254587"}
        codes = [(await http.post("/prefront/patient/getPatientInfo", json=body)).json()["code"] for _ in range(3)]
        assert "40001" not in codes[:2]
        assert codes[2] == "40001"


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["memory", "redis"])
async def test_both_backends_take_a_batch_whole_or_not_at_all(backend: str, redis_prefix: str) -> None:
    """issue 10 item 2: a bucket takes ``count`` tokens at once (at most its burst); refused, it takes none."""
    buckets = MemoryBuckets() if backend == "memory" else RedisBuckets(REDIS_URL, prefix=redis_prefix)
    now = 1_000_000.0
    try:
        assert await buckets.take("ip:a", FIVE_A_MINUTE_BURST_FIVE, now=now, count=4) == 0
        assert await buckets.take("ip:a", FIVE_A_MINUTE_BURST_FIVE, now=now, count=2) == pytest.approx(1.0)
        assert await buckets.take("ip:a", FIVE_A_MINUTE_BURST_FIVE, now=now, count=1) == 0  # nothing was taken
        assert await buckets.take("ip:b", FIVE_A_MINUTE_BURST_FIVE, now=now, count=50) == 0  # capped at the burst
        assert await buckets.take("ip:b", FIVE_A_MINUTE_BURST_FIVE, now=now) == pytest.approx(1.0)
    finally:
        await buckets.aclose()
