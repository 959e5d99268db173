"""Per-request loading: the same HIS call runs once per request, however many fields need it.

Keys are (method, hospital, request), so two fields asking the same method of the same hospital
with the same parameters share one call; a failing key fails only itself.

The shared call is a task of its own, and every field awaits it through ``asyncio.shield`` (or, in a
fan-out, follows it with a done callback: resolvers/fanout.py): when graphql-core gives up on one field
(a sibling's error nulled its parent) and that field's waiting is cancelled, the call the other fields
share goes on (issue 12 item 5). Calls still running when
the response is ready are cancelled then (``Context.cancel_leftovers``), so none holds a
connection for a field nobody will read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from his_clients import jsonio
from his_clients.client import HisClient
from his_clients.guard import PassedOnce
from his_clients.method import HisMethod, ReplyT, RequestT
from his_clients.models.base import HisRequest

Authorize = Callable[[str, HisRequest], Awaitable[None]]
Track = Callable[["asyncio.Future[Any]"], None]


def _wire_key(request: HisRequest) -> bytes:
    return jsonio.dumps_sorted(request.to_wire())


async def _request_ended(method: str, request: HisRequest) -> None:
    raise RuntimeError(f"the request has ended: {method} is not called")


class HisCalls:
    """Every HIS call of one request goes through here.

    HIS methods take one hospital per call (or, behind a regional endpoint, one comma-separated
    group), so there is nothing to batch: batching would only make each key wait for the slowest of
    its batch. What this gives is the per-request cache, failures included: a hospital that failed
    once in a request is not asked again by the request's other fields.
    """

    def __init__(self, his: HisClient, *, deadline: float, authorize: Authorize, track: Track | None = None) -> None:
        self._his = his
        self._deadline = deadline
        # Once per (method, request object) that passes: the caller and the cards they have proven do not change
        # within a request, so a fan-out's fifty calls naming the same card are authorised once, not fifty times.
        self._authorize = PassedOnce(authorize)
        self._track = track
        self._calls: dict[tuple[str, str, bytes], asyncio.Future[Any]] = {}
        # A fan-out hands the same (frozen) request to every hospital: it is serialised for the key once,
        # not once per hospital. The request is held with its key, so its id is never another's.
        self._wire_keys: dict[int, tuple[HisRequest, bytes]] = {}

    def close(self) -> None:
        """The request has ended: what it called is let go, and no call starts any more. The shared calls (tasks
        holding their replies) and the context's bound methods held here formed a cycle with the request's
        context, so the request's objects (replies, entries, tasks) waited for the cyclic garbage collector;
        let go here, reference counting frees them when the response is done."""
        self._calls.clear()
        self._wire_keys.clear()
        self._track = None
        self._authorize = PassedOnce(_request_ended)

    async def __call__(self, method: HisMethod[RequestT, ReplyT], hospital_ids: str, request: RequestT) -> ReplyT:
        """``method`` at one hospital, or at a comma-separated group behind one regional endpoint."""
        reply: ReplyT = await asyncio.shield(self.start(method, hospital_ids, request))
        return reply

    def start(
        self, method: HisMethod[RequestT, ReplyT], hospital_ids: str, request: RequestT
    ) -> asyncio.Future[ReplyT]:
        """The call, started now or shared with a field that asked the same first. Whoever waits for it must not
        cancel it (``asyncio.shield``, or a done callback as ``per_hospital`` does): another field may share it."""
        known = self._wire_keys.get(id(request))
        if known is None or known[0] is not request:
            known = self._wire_keys[id(request)] = (request, _wire_key(request))
        key = (method.name, hospital_ids, known[1])
        call = self._calls.get(key)
        if call is None:
            call = asyncio.ensure_future(self._call(method, hospital_ids, request))
            self._calls[key] = call
            if self._track is not None:
                self._track(call)
        return call

    async def _call(self, method: HisMethod[Any, Any], hospital_ids: str, request: HisRequest) -> Any:
        await self._authorize(method.name, request)  # every read that names a patient passes here
        if "," in hospital_ids:
            return await self._his.call_for_hospitals(method, hospital_ids.split(","), request, deadline=self._deadline)
        return await self._his.call(method, hospital_ids, request, deadline=self._deadline)


class Loaders:
    """Every loader of one request."""

    def __init__(self, his: HisClient, *, deadline: float, authorize: Authorize, track: Track | None = None) -> None:
        self.his = HisCalls(his, deadline=deadline, authorize=authorize, track=track)
