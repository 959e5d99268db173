"""Turning a per-hospital fan-out into a GraphQL list: failing hospitals become their own errors.

graphql-core completes each list item on its own: an item that is an exception becomes ``null`` at
that index plus one error carrying the exception's ``extensions`` (``hospitalId``, ``code``,
``method``), while the other items stand.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar, cast

from his_clients.errors import HisError, HisNoData
from his_clients.fanout import fan_out, parse_hospital_ids

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


async def per_hospital(
    info: Info,
    raw_hospital_ids: str,
    *,
    method: str,
    load: Callable[[str], Awaitable[T]],
    convert: Callable[[str, T], R],
) -> list[R | None]:
    """One entry per hospital that answered with data, a null entry and an error per hospital that failed.

    A hospital answering 10002 (未查询到数据) has nothing to show and is left out.
    """
    hospital_ids = hospital_ids_argument(info, raw_hospital_ids)
    result = await fan_out(hospital_ids, load, method=method, deadline=info.context.deadline)
    entries: list[R | None] = []
    for hospital_id in hospital_ids:
        error: HisError | None = result.errors.get(hospital_id)
        if isinstance(error, HisNoData):
            continue
        if error is not None:
            # graphql-core turns an exception in a list slot into null plus a located error.
            entries.append(cast(R, error))
            continue
        entries.append(convert(hospital_id, result.replies[hospital_id]))
    return entries
