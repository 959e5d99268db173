"""Memory held by hostile requests: whatever a caller sends, nothing of its request outlives the response.

A request's context reaches its replies, its loaders (and the authorisation they passed) and its execution state.
Before issue 13's third session that graph was freed only by the cyclic garbage collector, and a pooled connection
or a cancelled timer could keep it alive after the response: a caller could make the gateway hold every request it
sent for a while. Here a caller sends what a hostile one would: a card it never proved, hospital ids the registry
does not know, one hospital repeated hundreds of times, a query that does not validate.
"""

from __future__ import annotations

import gc
import weakref
from typing import Any

import httpx

from his_clients.models.base import HisReply
from resolvers.context import Context
from resolvers.execution import LeafFastExecutionContext
from resolvers.loaders import HisCalls, Loaders
from tests.conftest import DEMO_CARD

NOT_MINE = "001000099999999"
HOSTILE = (
    f'{{ patient(medicalCardNumber: "{NOT_MINE}") {{ pendingPayments(hospitalId: "253,254") {{ hospitalId }} }} }}',
    f'{{ patient(medicalCardNumber: "{DEMO_CARD}") {{ pendingPayments(hospitalId: "253,nope,999,254") '
    "{ hospitalId items { id amount } } } }",
    f'{{ patient(medicalCardNumber: "{DEMO_CARD}") {{ pendingPayments(hospitalId: "'
    + ",".join(["253"] * 300)
    + '") { hospitalId } } }',
    "{ nope }",
)


async def test_hostile_requests_leave_nothing_of_themselves(
    gateway: httpx.AsyncClient, saved_garbage: list[Any]
) -> None:
    for query in HOSTILE:  # caches filled, connections opened (by these very requests)
        assert (await gateway.post("/graphql", json={"query": query})).status_code == 200
    gc.collect()
    saved_garbage.clear()
    # Other tests' contexts, and those above: by identity (an id alone could be a new context's, reused).
    alive = {id(found): weakref.ref(found) for found in gc.get_objects() if isinstance(found, Context)}
    for query in HOSTILE * 3:
        assert (await gateway.post("/graphql", json={"query": query})).status_code == 200
    gc.collect()
    kinds = (Context, Loaders, HisCalls, LeafFastExecutionContext, HisReply)
    assert sorted({type(found).__qualname__ for found in saved_garbage if isinstance(found, kinds)}) == []
    left = [found for found in gc.get_objects() if isinstance(found, Context)]
    assert [found for found in left if (known := alive.get(id(found))) is None or known() is not found] == []
