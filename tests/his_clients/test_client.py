"""The one call path, against the simulated region over real HTTP on loopback: JSON, and both SOAP styles.

The ``region`` fixture here overrides the suite's: every test taking it runs once per transport
(tests/his_clients/transports.py), so a WebService hospital keeps the same contract as an HTTP one.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest

from his_clients.client import HisClient
from his_clients.codes import ReturnCode
from his_clients.errors import (
    HisCircuitOpen,
    HisHttpError,
    HisNoData,
    HisNotOpened,
    HisProtocolError,
    HisRejected,
    HisTimeout,
)
from his_clients.fanout import deadline_in
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Hospital, Registry
from his_clients.resilience import GatewaySaturated
from simulator.server import RunningSimulator
from tests.conftest import calls, inject
from tests.his_clients.transports import TRANSPORTS, region_over

CARD = "001000056254587"
WAIT_PAY = QUERY_WAIT_PAY.name


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def region(simulator: RunningSimulator, transport: str) -> Registry:
    return region_over(simulator.base_url, transport)


def request(card: str = CARD) -> QueryWaitPayRequest:
    return QueryWaitPayRequest(medical_card_number=card)


def with_hospital(registry: Registry, hospital_id: str, **changes: object) -> Registry:
    hospitals = tuple(h.model_copy(update=changes) if h.id == hospital_id else h for h in registry.hospitals)
    return Registry(hospitals=hospitals, endpoints=registry.endpoints)


async def test_standalone_and_regional_hospitals_answer(region: Registry, sim_admin: httpx.Client) -> None:
    async with HisClient(region) as client:
        standalone = await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
        regional = await client.call(QUERY_WAIT_PAY, "256", request(), deadline=None)
    assert standalone.amount > 0
    assert all(isinstance(item.item_amount, Decimal) for item in standalone.detail)
    assert regional.amount > 0
    received = calls(sim_admin, method=WAIT_PAY)
    assert {c["hospitalId"] for c in received} == {"253", "256"}
    # Behind the regional endpoint the hospital is told apart by hospitalId in the body.
    assert next(c for c in received if c["hospitalId"] == "256")["body"]["hospitalId"] == "256"


async def test_a_business_code_arrives_as_that_code(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="254", method=WAIT_PAY, kind="code", code="60101", msg="该卡不允许线上交费")
    async with HisClient(region) as client:
        with pytest.raises(HisRejected) as caught:
            await client.call(QUERY_WAIT_PAY, "254", request(), deadline=None)
    assert caught.value.code == "60101"
    assert caught.value.return_code is ReturnCode.CARD_NO_ONLINE_PAYMENT
    assert caught.value.extensions == {"hospitalId": "254", "code": "60101", "method": WAIT_PAY}


async def test_no_data_is_its_own_error(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="code", code="10002", msg="未查询到数据")
    async with HisClient(region) as client:
        with pytest.raises(HisNoData):
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)


async def test_a_method_not_opened_answers_40003_without_a_network_call(
    region: Registry, sim_admin: httpx.Client
) -> None:
    registry = with_hospital(region, "253", opened=frozenset({"hospital.interface.queryBalance"}))
    async with HisClient(registry) as client:
        with pytest.raises(HisNotOpened) as caught:
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
    assert caught.value.code == ReturnCode.NOT_OPENED
    assert calls(sim_admin, method=WAIT_PAY) == []


async def test_a_method_path_can_be_mapped_elsewhere(region: Registry, sim_admin: httpx.Client, transport: str) -> None:
    if transport != "http":
        pytest.skip("over SOAP method_paths name operations: tests/his_clients/test_soap.py")
    # The hospital serves queryWaitPay under another name: here, the regional endpoint's URL.
    hospital = region.hospital("255")
    assert hospital is not None
    assert hospital.base_url is not None
    elsewhere = str(hospital.base_url).replace("/his/255", "/his/253") + "/" + WAIT_PAY
    registry = with_hospital(region, "255", method_paths={WAIT_PAY: elsewhere})
    async with HisClient(registry) as client:
        await client.call(QUERY_WAIT_PAY, "255", request(), deadline=None)
    assert [c["hospitalId"] for c in calls(sim_admin, method=WAIT_PAY)] == ["253"]


async def test_unknown_hospital_is_60001(region: Registry) -> None:
    async with HisClient(region) as client:
        with pytest.raises(HisRejected) as caught:
            await client.call(QUERY_WAIT_PAY, "999", request(), deadline=None)
    assert caught.value.code == ReturnCode.HOSPITAL_NOT_FOUND


async def test_http_500_on_a_read_is_retried_once(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="http500", times=1)
    async with HisClient(region) as client:
        reply = await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
    assert reply.amount > 0
    assert len(calls(sim_admin, method=WAIT_PAY)) == 2

    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="http500")
    async with HisClient(region) as client:
        with pytest.raises(HisHttpError) as caught:
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
    assert caught.value.status == 500


async def test_invalid_json_is_a_protocol_error(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="invalid_json")
    async with HisClient(region) as client:
        with pytest.raises(HisProtocolError):
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)


async def test_a_hanging_hospital_times_out_at_its_own_timeout(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="hang")
    registry = with_hospital(region, "253", timeout_s=0.3)
    async with HisClient(registry) as client:
        # A hang never ends by itself, so HisTimeout inside any outer bound proves the 0.3 s timeout cut it (the
        # bound would end it with TimeoutError instead). A wide one: a loaded run took 4.3 s here over SOAP.
        with pytest.raises(HisTimeout):
            async with asyncio.timeout(10.0):
                await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)


async def test_the_deadline_caps_the_hospital_timeout(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="hang")
    async with HisClient(region) as client:
        started = time.monotonic()
        with pytest.raises(HisTimeout):
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=deadline_in(0.2))
        assert time.monotonic() - started < 1.5


async def test_the_circuit_opens_after_repeated_failures_and_recovers(
    region: Registry, sim_admin: httpx.Client
) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="invalid_json")
    now = [0.0]
    async with HisClient(region, breaker_threshold=3, breaker_reset_s=30.0, clock=lambda: now[0]) as client:
        for _ in range(3):
            with pytest.raises(HisProtocolError):
                await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
        with pytest.raises(HisCircuitOpen):
            await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
        assert len(calls(sim_admin, method=WAIT_PAY)) == 3  # the open circuit made no call
        # Other hospitals are unaffected.
        await client.call(QUERY_WAIT_PAY, "254", request(), deadline=None)

        sim_admin.delete("/admin/faults")
        now[0] += 31.0  # half-open: one trial call goes through and closes the circuit
        await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
        await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)


async def test_the_bulkhead_limits_calls_in_flight_per_hospital(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="latency", latencyMs=200)
    registry = with_hospital(region, "253", max_connections=2, timeout_s=0.5)
    async with HisClient(registry) as client:
        await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)  # a WebService upstream reads its WSDL first
        outcomes = await asyncio.gather(
            *(client.call(QUERY_WAIT_PAY, "253", request(), deadline=None) for _ in range(10)), return_exceptions=True
        )
        fast = await client.call(QUERY_WAIT_PAY, "254", request(), deadline=None)
    # Two at a time, 200 ms each, 500 ms budget: some wait too long in the bulkhead (the gateway's own queue,
    # never the hospital's timeout: issue 13 item 3); others still answer.
    assert any(isinstance(o, GatewaySaturated) for o in outcomes)
    assert not any(isinstance(o, HisTimeout) for o in outcomes)
    assert any(not isinstance(o, BaseException) for o in outcomes)
    assert fast.amount > 0


def test_registry_rejects_a_hospital_with_two_addresses() -> None:
    with pytest.raises(ValueError, match="exactly one of base_url or endpoint"):
        Hospital(id="1", name="x", base_url="http://127.0.0.1:1/his/1", endpoint="county")


async def test_each_hospital_latency_is_remembered(region: Registry, sim_admin: httpx.Client) -> None:
    inject(sim_admin, hospitalId="253", method=WAIT_PAY, kind="latency", latencyMs=150)
    async with HisClient(region) as client:
        assert client.expected_latency_s("253") == 0.0
        await client.call(QUERY_WAIT_PAY, "253", request(), deadline=None)
        await client.call(QUERY_WAIT_PAY, "254", request(), deadline=None)
        # Fan-outs start with the hospitals expected to answer last.
        assert client.expected_latency_s("253") > 0.15 > client.expected_latency_s("254") > 0.0
