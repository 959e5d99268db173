"""Per-request loaders: the same HIS call runs once per request, however many fields need it.

Keys always include the hospital. A failing key gets its exception in its own slot, never for the
whole batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import TypeVar

from aiodataloader import DataLoader

from his_clients.client import HisClient
from his_clients.models.outpatient import QUERY_WAIT_PAY, PendingPayment, QueryWaitPayRequest

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class KeyedLoader(DataLoader[K, V]):
    """A DataLoader whose keys are loaded one call each, concurrently, errors kept per key.

    HIS methods take one key per call, so there is nothing to batch; batching would only make every
    key wait for the slowest hospital of the batch. What the loader gives is the per-request cache:
    the same key asked by several fields is one call.
    """

    def __init__(self, load_one: Callable[[K], Awaitable[V]]) -> None:
        super().__init__(batch=False, cache=True)
        self._load_one = load_one

    async def batch_load_fn(self, keys: Sequence[K]) -> list[V]:
        # With batch=False every batch holds one key, so a failure belongs to that key alone.
        return [await self._load_one(key) for key in keys]


class Loaders:
    """Every loader of one request, created lazily."""

    def __init__(self, his: HisClient, *, deadline: float) -> None:
        self._his = his
        self._deadline = deadline
        self.pending_payments: KeyedLoader[tuple[str, str], PendingPayment] = KeyedLoader(self._pending_payments)

    async def _pending_payments(self, key: tuple[str, str]) -> PendingPayment:
        """3.1.1 queryWaitPay keyed by (hospital id, medical card number)."""
        hospital_id, medical_card_number = key
        request = QueryWaitPayRequest(medical_card_number=medical_card_number)
        return await self._his.call(QUERY_WAIT_PAY, hospital_id, request, deadline=self._deadline)


__all__ = ["KeyedLoader", "Loaders"]
