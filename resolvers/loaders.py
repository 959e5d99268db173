"""Per-request loading: the same HIS call runs once per request, however many fields need it.

Keys are (method, hospital, request), so two fields asking the same method of the same hospital
with the same parameters share one call; a failing key fails only itself.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiodataloader import DataLoader

from his_clients.client import HisClient
from his_clients.method import HisMethod, ReplyT, RequestT
from his_clients.models.base import HisRequest

CallKey = tuple[HisMethod[Any, Any], str, HisRequest]
Authorize = Callable[[str, HisRequest], Awaitable[None]]


def _cache_key(key: CallKey) -> tuple[str, str, str]:
    method, hospital_ids, request = key
    return method.name, hospital_ids, json.dumps(request.to_wire(), sort_keys=True, ensure_ascii=False)


class HisCalls:
    """Every HIS call of one request goes through here.

    HIS methods take one hospital per call (or, behind a regional endpoint, one comma-separated
    group), so there is nothing to batch: batching would only make each key wait for the slowest of
    its batch. What this gives is the per-request cache.
    """

    def __init__(self, his: HisClient, *, deadline: float, authorize: Authorize) -> None:
        self._his = his
        self._deadline = deadline
        self._authorize = authorize
        self._loader: DataLoader[CallKey, Any] = DataLoader(
            self._load, batch=False, cache=True, get_cache_key=_cache_key
        )

    async def __call__(self, method: HisMethod[RequestT, ReplyT], hospital_ids: str, request: RequestT) -> ReplyT:
        """``method`` at one hospital, or at a comma-separated group behind one regional endpoint."""
        reply: ReplyT = await self._loader.load((method, hospital_ids, request))
        return reply

    async def _load(self, keys: Sequence[CallKey]) -> list[Any]:
        # batch=False: every batch holds exactly one key, so a failure belongs to that key alone.
        return [await self._call(*key) for key in keys]

    async def _call(self, method: HisMethod[Any, Any], hospital_ids: str, request: HisRequest) -> Any:
        await self._authorize(method.name, request)  # every read that names a patient passes here
        if "," in hospital_ids:
            return await self._his.call_for_hospitals(method, hospital_ids.split(","), request, deadline=self._deadline)
        return await self._his.call(method, hospital_ids, request, deadline=self._deadline)


class Loaders:
    """Every loader of one request."""

    def __init__(self, his: HisClient, *, deadline: float, authorize: Authorize) -> None:
        self.his = HisCalls(his, deadline=deadline, authorize=authorize)
