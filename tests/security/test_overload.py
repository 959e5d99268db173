"""The morning rush: a saturated gateway refuses new requests fast and never blames the hospitals for its own
queue (issue 13 item 3). The loop is blocked on purpose (``time.sleep`` on the loop's thread, the simulator
answering from its own thread meanwhile): behaviour is asserted, never speed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api.settings import Settings
from his_clients.client import HisClient
from his_clients.errors import HisTimeout
from his_clients.fanout import deadline_in
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Registry
from his_clients.resilience import CircuitState, GatewaySaturated
from tests.conftest import DEMO_CARD, inject, running_gateway

WAIT_PAY = QUERY_WAIT_PAY.name
PENDING = f'{{ patient(medicalCardNumber: "{DEMO_CARD}") {{ pendingPayments(hospitalId: "253") {{ hospitalId }} }} }}'


def with_timeout(registry: Registry, hospital_id: str, timeout_s: float) -> Registry:
    hospitals = tuple(
        h.model_copy(update={"timeout_s": timeout_s}) if h.id == hospital_id else h for h in registry.hospitals
    )
    return Registry(hospitals=hospitals, endpoints=registry.endpoints)


def block_loop(seconds: float) -> None:
    """Hold the event loop's thread, as a burst of CPU-bound requests would."""
    time.sleep(seconds)


@pytest.fixture
async def production_gateway(region: Registry, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    settings = Settings(
        mode="production",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        session_secret="overload-test-session-secret-0123456789",
        file_link_secret="overload-test-file-link-secret-0123456789",
        allow_sandbox_payments=True,
        allow_fake_sms=True,
        allow_loopback_public_url=True,
        run_payment_worker=False,
        overload_max_lag_ms=200,
        overload_retry_after_s=2,
    )
    async with running_gateway(settings) as client:
        yield client


async def test_a_lagging_loop_refuses_new_requests_with_503_and_retry_after(
    production_gateway: httpx.AsyncClient, sim_admin: httpx.Client
) -> None:
    """issue 13 item 3: when the loop lags beyond the set bound, a new request is refused at once with 503 and
    Retry-After (no hospital called); the health endpoints still answer; once the loop catches up, requests
    are served again."""
    served = await production_gateway.post("/graphql", json={"query": PENDING})
    assert served.status_code == 200, served.text[:300]
    assert "errors" not in served.json(), served.text[:300]
    sim_admin.delete("/admin/calls")

    block_loop(0.6)
    refused = await production_gateway.post("/graphql", json={"query": PENDING})
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "2"
    assert refused.json()["errors"][0]["extensions"]["code"] == "GATEWAY_BUSY"
    assert sim_admin.get("/admin/calls").json() == []  # refused before any hospital was asked

    block_loop(0.6)
    assert (await production_gateway.get("/healthz")).status_code == 200  # health is never refused
    assert (await production_gateway.get("/readyz")).status_code == 200

    await asyncio.sleep(0.2)  # the loop catches up: its next ticks are on time
    again = await production_gateway.post("/graphql", json={"query": PENDING})
    assert again.status_code == 200, again.text[:300]
    assert "errors" not in again.json(), again.text[:300]


async def test_a_hospital_answering_in_time_is_not_a_timeout_when_the_gateway_stalled(
    region: Registry, sim_admin: httpx.Client
) -> None:
    """issue 13 item 3: the hospital answers in a few ms, but the gateway's loop is blocked for longer than the
    hospital's whole timeout right after the request went out. Its timeout runs from sending, less the
    gateway's stall: the answer is read, no HIS_TIMEOUT, no breaker failure."""
    registry = with_timeout(region, "253", 0.3)
    request = QueryWaitPayRequest(medical_card_number=DEMO_CARD)
    async with HisClient(registry, breaker_threshold=1) as client:
        await client.call(
            QUERY_WAIT_PAY, "253", request, deadline=None
        )  # the connection is open: the next call sends at once
        for _ in range(3):
            call = asyncio.create_task(client.call(QUERY_WAIT_PAY, "253", request, deadline=None))
            asyncio.get_running_loop().call_later(0.01, block_loop, 0.8)  # > the 0.3 s timeout
            reply = await call
            assert reply.amount > 0
        assert client.circuit_state("253") is CircuitState.CLOSED  # one failure would have opened it


async def test_a_deadline_spent_in_the_stalled_gateway_is_the_gateways_refusal(
    region: Registry, sim_admin: httpx.Client
) -> None:
    """issue 13 item 3: a request deadline that ran out while the gateway's loop was blocked is GATEWAY_BUSY,
    not HIS_TIMEOUT, and never a breaker failure; so is a deadline gone before the call was sent."""
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="hang")
    request = QueryWaitPayRequest(medical_card_number=DEMO_CARD)
    async with HisClient(region, breaker_threshold=1) as client:
        await client.call(QUERY_WAIT_PAY, "254", request, deadline=None)  # the loop monitor is running before the stall
        call = asyncio.create_task(client.call(QUERY_WAIT_PAY, "253", request, deadline=deadline_in(0.2)))
        asyncio.get_running_loop().call_later(0.01, block_loop, 0.6)
        with pytest.raises(GatewaySaturated) as stalled:
            await call
        assert stalled.value.code == "GATEWAY_BUSY"
        with pytest.raises(GatewaySaturated):
            await client.call(QUERY_WAIT_PAY, "253", request, deadline=deadline_in(-0.1))
        assert client.circuit_state("253") is CircuitState.CLOSED


async def test_a_hospital_that_is_really_slow_still_times_out_and_counts(
    region: Registry, sim_admin: httpx.Client
) -> None:
    """issue 13 item 3 (the other side): with the loop free, a hospital slower than its timeout is HIS_TIMEOUT
    and a breaker failure, as before."""
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="latency", latencyMs=800)
    registry = with_timeout(region, "253", 0.3)
    request = QueryWaitPayRequest(medical_card_number=DEMO_CARD)
    async with HisClient(registry, breaker_threshold=1) as client:
        with pytest.raises(HisTimeout) as slow:
            await client.call(QUERY_WAIT_PAY, "253", request, deadline=None)
        assert not isinstance(slow.value, GatewaySaturated)
        assert client.circuit_state("253") is CircuitState.OPEN
