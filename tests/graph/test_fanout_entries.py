"""A fan-out's entries (resolvers/fanout.py ``per_hospital``): each hospital's entry is settled by its own call,
one timer ends every entry still open at the request's deadline, and a field giving up on its entry never
cancels the call it may share with another field.

The calls here are futures the test settles by hand, standing for the request's ``HisCalls``: what is under test
is how the entries follow them, on the real event loop and the real registry.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from his_clients.errors import HisNoData, HisRejected, HisTimeout
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from his_clients.registry import Registry
from his_clients.resilience import GatewaySaturated, loop_lag
from resolvers.fanout import UnknownHospitalsError, per_hospital
from tests.conftest import DEMO_CARD

REQUEST = QueryWaitPayRequest(medical_card_number=DEMO_CARD)


class HandSettledCalls:
    """The request's HIS calls, each a future the test ends: ``start`` as ``HisCalls.start`` answers."""

    def __init__(self) -> None:
        self.started: dict[str, asyncio.Future[Any]] = {}

    def start(self, method: Any, hospital_ids: str, request: Any) -> asyncio.Future[Any]:
        assert method is QUERY_WAIT_PAY
        assert request is REQUEST
        if hospital_ids not in self.started:
            self.started[hospital_ids] = asyncio.get_running_loop().create_future()
        return self.started[hospital_ids]


def fan_out(region: Registry, hospital_ids: str, *, deadline_s: float, convert: Any = None) -> tuple[list[Any], Any]:
    calls = HandSettledCalls()
    tracked: list[asyncio.Future[Any]] = []
    context = SimpleNamespace(
        registry=region,
        principal=None,
        deadline=asyncio.get_running_loop().time() + deadline_s,
        his=SimpleNamespace(expected_latency_s=lambda hospital_id: 0.0),
        loaders=SimpleNamespace(his=calls),
        charge_hospitals=lambda count: None,
        track=tracked.append,
    )
    entries = per_hospital(
        SimpleNamespace(context=context),  # type: ignore[arg-type]
        hospital_ids,
        method=QUERY_WAIT_PAY,
        request=REQUEST,
        convert=convert or (lambda hospital_id, reply: (hospital_id, reply)),
        empty=lambda hospital_id: (hospital_id, "nothing due"),
    )
    return entries, SimpleNamespace(calls=calls.started, tracked=tracked)


async def outcomes(entries: list[Any]) -> list[Any]:
    return list(await asyncio.gather(*entries, return_exceptions=True))


async def test_each_entry_is_settled_by_its_own_call_in_the_order_asked(region: Registry) -> None:
    entries, state = fan_out(region, "255,253,999,254", deadline_s=30)
    assert set(state.calls) == {"253", "254", "255"}  # every known hospital asked at once; 999 is not in the registry
    state.calls["253"].set_result("bills at 253")
    state.calls["254"].set_exception(HisNoData("未查询到数据", hospital_id="254", method=QUERY_WAIT_PAY.name))
    refusal = HisRejected("该卡不允许线上交费", hospital_id="255", method=QUERY_WAIT_PAY.name, code="60101")
    state.calls["255"].set_exception(refusal)
    first, second, unknown, fourth = await outcomes(entries)
    assert first is refusal
    assert second == ("253", "bills at 253")
    assert isinstance(unknown, UnknownHospitalsError)
    assert "999" in str(unknown)
    assert fourth == ("254", "nothing due")  # 10002 is an entry with nothing in it, not a failure
    assert all(entry in state.tracked for entry in entries)  # cancelled at the response's end if still open


async def test_a_conversion_that_fails_is_that_entrys_error_alone(region: Registry) -> None:
    def convert(hospital_id: str, reply: str) -> str:
        if hospital_id == "254":
            raise ValueError("an answer we cannot show")
        return reply

    entries, state = fan_out(region, "253,254", deadline_s=30, convert=convert)
    state.calls["253"].set_result("bills at 253")
    state.calls["254"].set_result("bills at 254")
    good, bad = await outcomes(entries)
    assert good == "bills at 253"
    assert isinstance(bad, ValueError)


async def test_the_deadline_ends_every_entry_still_open_as_the_hospitals_timeout(region: Registry) -> None:
    entries, state = fan_out(region, "253,254,255", deadline_s=0.2)
    state.calls["253"].set_result("bills at 253")  # 254 and 255 never answer
    answered, late, later = await asyncio.wait_for(outcomes(entries), timeout=10)
    assert answered == ("253", "bills at 253")
    for error, hospital_id in ((late, "254"), (later, "255")):
        assert isinstance(error, HisTimeout)
        assert not isinstance(error, GatewaySaturated)
        assert (error.hospital_id, error.method, error.code) == (hospital_id, QUERY_WAIT_PAY.name, "HIS_TIMEOUT")
    # The calls themselves go on (another field may share them) until the response ends them.
    assert not state.calls["254"].done()


async def test_a_deadline_spent_in_a_stalled_loop_is_the_gateways(region: Registry) -> None:
    """issue 13 item 3: the time ran out while the gateway's own loop was blocked: GATEWAY_BUSY, not HIS_TIMEOUT."""
    loop_lag()  # the lag monitor runs before the stall, as it does in a served process
    await asyncio.sleep(0.1)
    entries, _state = fan_out(region, "253", deadline_s=0.2)
    asyncio.get_running_loop().call_later(0.01, time.sleep, 0.8)  # a burst of CPU-bound work holds the loop
    [error] = await asyncio.wait_for(outcomes(entries), timeout=10)
    assert isinstance(error, GatewaySaturated)
    assert (error.hospital_id, error.code) == ("253", "GATEWAY_BUSY")


async def test_a_field_giving_up_on_its_entry_leaves_the_shared_call_running(region: Registry) -> None:
    """issue 12 item 5: graphql-core cancels a nulled parent's pending fields; the call may be another field's too."""
    entries, state = fan_out(region, "253,254", deadline_s=30)
    entries[0].cancel()
    await asyncio.sleep(0)
    assert not state.calls["253"].cancelled()
    state.calls["253"].set_result("bills at 253")  # answering later settles nothing that was given up
    state.calls["254"].set_result("bills at 254")
    given_up, other = await outcomes(entries)
    assert isinstance(given_up, asyncio.CancelledError)
    assert other == ("254", "bills at 254")


async def test_a_call_cancelled_at_the_responses_end_cancels_its_entry(region: Registry) -> None:
    entries, state = fan_out(region, "253", deadline_s=30)
    state.calls["253"].cancel()  # Context.cancel_leftovers: the response is ready, nobody reads this call
    with pytest.raises(asyncio.CancelledError):
        await entries[0]
