"""Turning a per-hospital fan-out into a GraphQL list: failing hospitals become their own errors.

The resolver returns one awaitable per hospital. graphql-core completes each list item on its own
as soon as its awaitable is done, so the answers of fast hospitals are turned into GraphQL while
the slow ones are still out: when the slowest answers, only its own entry is left to complete.
An item that raises becomes ``null`` at its index plus one error carrying the exception's
``extensions`` (``hospitalId``, ``code``, ``method``); the other items stand.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from his_clients.errors import HisNoData, HisTimeout
from his_clients.fanout import parse_hospital_ids

from .context import Info

T = TypeVar("T")
R = TypeVar("R")


class UnknownHospitalsError(ValueError):
    """A query named hospital ids that are not in the registry."""

    def __init__(self, hospital_ids: Sequence[str]) -> None:
        super().__init__(f"unknown hospitalId: {', '.join(hospital_ids)}")
        self.extensions = {"code": "60001", "hospitalId": ",".join(hospital_ids)}


def hospital_ids_argument(info: Info, raw: str) -> list[str]:
    """The spec's comma-separated hospitalId, checked against the registry."""
    hospital_ids = parse_hospital_ids(raw)
    unknown = [h for h in hospital_ids if info.context.registry.hospital(h) is None]
    if unknown:
        raise UnknownHospitalsError(unknown)
    return hospital_ids


def per_hospital(
    info: Info,
    raw_hospital_ids: str,
    *,
    method: str,
    load: Callable[[str], Awaitable[T]],
    convert: Callable[[str, T], R],
    empty: Callable[[str], R],
) -> list[Awaitable[R]]:
    """One entry per hospital, in the order asked, each settled on its own under the request's deadline.

    A hospital answering 10002 (未查询到数据) gets ``empty(hospital_id)``: nothing, not an error.
    """
    deadline = info.context.deadline

    async def one(hospital_id: str) -> R:
        try:
            async with asyncio.timeout_at(deadline):
                reply = await load(hospital_id)
        except TimeoutError:
            raise HisTimeout(
                "no answer before the request's deadline", hospital_id=hospital_id, method=method
            ) from None
        except HisNoData:
            return empty(hospital_id)
        return convert(hospital_id, reply)

    # Tasks, not bare coroutines: every hospital is asked now, before graphql-core gets to the list.
    # They start slowest-first (each runs up to its send in the order created): the slowest answer
    # ends the fan-out, so its request should not queue behind the others'. Results keep the order asked.
    hospital_ids = hospital_ids_argument(info, raw_hospital_ids)
    his = info.context.his
    tasks = {
        hospital_id: asyncio.ensure_future(one(hospital_id))
        for hospital_id in sorted(hospital_ids, key=his.expected_latency_s, reverse=True)
    }
    return [tasks[hospital_id] for hospital_id in hospital_ids]
