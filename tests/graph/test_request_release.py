"""A request's objects are freed by reference counting once its response is done, not left in reference cycles for
the cyclic garbage collector to find (issue 13 items 2 and 4).

The request's context and its loaders referred to each other (bound methods, and the calls' tasks holding the guard
that holds the context), and graphql-core's executor held its own bound methods: every request's replies, entries,
tasks and execution state (~250 objects at 5 hospitals) waited for the collector, which walked them all.
"""

from __future__ import annotations

import asyncio
import gc
import weakref
from typing import Any

import httpx
import pytest

from his_clients.models.base import HisReply
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from resolvers.context import Context
from resolvers.execution import LeafFastExecutionContext, _track
from resolvers.loaders import HisCalls, Loaders

from ..conftest import DEMO_CARD, run_graphql

BILLS = (
    f'{{ patient(medicalCardNumber: "{DEMO_CARD}") {{ pendingPayments(hospitalId: "253,254,999") '
    "{ hospitalId totalAmount items { id amount } } } }"
)
"""Two hospitals that answer and one that is no hospital (an error of its own)."""


def _request_objects(garbage: list[Any]) -> list[str]:
    kinds = (Context, Loaders, HisCalls, LeafFastExecutionContext, HisReply)
    return sorted({type(found).__qualname__ for found in garbage if isinstance(found, kinds)})


async def test_a_fan_out_leaves_nothing_for_the_collector(gateway: httpx.AsyncClient, saved_garbage: list[Any]) -> None:
    await run_graphql(gateway, BILLS)  # caches filled, connections made
    gc.collect()
    saved_garbage.clear()
    before = {id(found): weakref.ref(found) for found in gc.get_objects() if isinstance(found, Context)}  # others'
    body = await run_graphql(gateway, BILLS)
    entries = body["data"]["patient"]["pendingPayments"]
    assert [entry and entry["hospitalId"] for entry in entries] == ["253", "254", None]
    assert entries[0]["items"], body
    assert len(body["errors"]) == 1, body
    gc.collect()
    assert _request_objects(saved_garbage) == []
    # ...and nothing still holds it: asyncio keeps a cancelled timer (the fan-out's deadline, a hospital's clock)
    # until it is due, with the context it was made in, which reached the whole request.
    left = [found for found in gc.get_objects() if isinstance(found, Context)]
    assert [found for found in left if (known := before.get(id(found))) is None or known() is not found] == []


async def test_calls_started_after_the_request_ended_are_refused() -> None:
    """HisCalls.close() (Context.end(), when the response is ready) lets the calls go: one started afterwards is
    refused before it reaches the client, so no hospital is asked."""
    asked: list[str] = []

    class Client:
        async def call(self, method: Any, hospital_id: str, request: Any, *, deadline: float) -> None:
            asked.append(hospital_id)

    async def authorize(method: str, request: Any) -> None:
        return None

    calls = HisCalls(Client(), deadline=1e12, authorize=authorize)  # type: ignore[arg-type]
    request = QueryWaitPayRequest(medical_card_number=DEMO_CARD)
    await calls(QUERY_WAIT_PAY, "253", request)
    assert asked == ["253"]
    calls.close()
    with pytest.raises(RuntimeError, match="the request has ended"):
        await calls(QUERY_WAIT_PAY, "254", request)
    assert asked == ["253"]


async def test_work_tracked_after_its_execution_is_gone_is_still_settled() -> None:
    """graphql-core's track helper reaches the executor weakly; with the executor gone, the work still settles."""

    class Gone:
        pass

    gone = Gone()
    ref = weakref.ref(gone)
    del gone
    settled: list[str] = []

    async def work() -> None:
        settled.append("done")

    _track(ref, [work(), 3])  # type: ignore[arg-type]
    for _ in range(3):
        await asyncio.sleep(0)
    assert settled == ["done"]
