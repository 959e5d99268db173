"""Turning a per-hospital fan-out into a GraphQL list: failing hospitals become their own errors.

The resolver returns one awaitable per hospital. graphql-core completes each list item on its own
as soon as its awaitable is done, so the answers of fast hospitals are turned into GraphQL while
the slow ones are still out: when the slowest answers, only its own entry is left to complete.
An item that raises becomes ``null`` at its index plus one error carrying the exception's
``extensions`` (``hospitalId``, ``code``, ``method``); the other items stand.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from his_clients.errors import HisError, HisNoData, HisTimeout
from his_clients.fanout import group_for_one_call, has_unlabelled_records, parse_hospital_ids, split_by_hospital
from his_clients.method import HisMethod, ReplyT, RequestT
from his_clients.resilience import GatewaySaturated, stall_mark, stalled_since
from services.identity.principal import OperatorPrincipal
from services.refusals import RefusalCode, Refused

from .access import Forbidden
from .context import Info

R = TypeVar("R")


class UnknownHospitalsError(Refused):
    """A query named hospital ids that are not in the registry (附四 60001, the ids in ``hospitalId``)."""

    def __init__(self, hospital_ids: Sequence[str]) -> None:
        super().__init__(
            RefusalCode.HOSPITAL_NOT_FOUND,
            f"医院不存在（hospitalId: {', '.join(hospital_ids)}）",
            hospital_id=",".join(hospital_ids),
        )


def _scoped_hospital_ids(info: Info, raw: str) -> tuple[list[str], list[str]]:
    """The spec's comma-separated hospitalId, parsed once: (every id in the order asked, those unknown)."""
    hospital_ids = parse_hospital_ids(raw)
    unknown = [h for h in hospital_ids if info.context.registry.hospital(h) is None]
    principal = info.context.principal
    if isinstance(principal, OperatorPrincipal):
        others = [h for h in hospital_ids if h not in unknown and not principal.may_see(h)]
        if others:
            raise Forbidden(f"a hospital operator sees only hospital {principal.hospital_id}")
    return hospital_ids, unknown


def hospital_ids_argument(info: Info, raw: str) -> list[str]:
    """The spec's comma-separated hospitalId, checked against the registry (an unknown id refuses the field)."""
    hospital_ids, unknown = _scoped_hospital_ids(info, raw)
    if unknown:
        raise UnknownHospitalsError(unknown)
    return hospital_ids


def known_hospital_ids(info: Info, raw: str) -> list[str]:
    """The registry's hospitals among the spec's comma-separated hospitalId: a per-hospital list answers an
    unknown id with an error on its own entry (``per_hospital``), so what it reads first skips that id."""
    hospital_ids, unknown = _scoped_hospital_ids(info, raw)
    return [h for h in hospital_ids if h not in unknown]


def per_hospital(
    info: Info,
    raw_hospital_ids: str,
    *,
    method: HisMethod[RequestT, ReplyT],
    request: RequestT,
    convert: Callable[[str, ReplyT], R],
    empty: Callable[[str], R],
) -> list[Awaitable[R]]:
    """One entry per hospital, in the order asked, each settled on its own under the request's deadline.

    Behind one regional endpoint, where the spec lets one call carry ``hospitalId1,hospitalId2``,
    the group is asked once and the records split by their hospitalId; elsewhere each hospital is
    asked on its own. A hospital answering 10002 (未查询到数据) gets ``empty(hospital_id)``.
    """
    context = info.context
    asked, unknown = _scoped_hospital_ids(info, raw_hospital_ids)
    hospital_ids = [h for h in asked if h not in unknown]
    context.charge_hospitals(len(hospital_ids))
    groups = group_for_one_call(context.registry, method, hospital_ids)
    deadline = context.deadline

    async def settle(hospital_id: str, reply: Callable[[], Awaitable[ReplyT]]) -> R:
        # ``reply`` makes its awaitable only once this task runs: a task cancelled before it starts
        # (graphql-core cancels a nulled parent's pending fields) leaves no coroutine never awaited.
        mark = stall_mark()
        try:
            async with asyncio.timeout_at(deadline):
                answer = await reply()
        except TimeoutError:
            if stalled_since(mark):  # the deadline ran out in our own saturated loop: not the hospital's doing
                raise GatewaySaturated(
                    "the gateway was too busy to finish before the request's deadline",
                    hospital_id=hospital_id,
                    method=method.name,
                ) from None
            raise HisTimeout(
                "no answer before the request's deadline", hospital_id=hospital_id, method=method.name
            ) from None
        except HisNoData:
            return empty(hospital_id)
        return convert(hospital_id, answer)

    async def share_of(group_call: Awaitable[ReplyT], group: list[str], hospital_id: str) -> ReplyT:
        try:
            reply = await asyncio.shield(group_call)  # shared by the group: one waiter's cancel is its own
        except HisError as error:
            # The group's one call failed: each hospital of it reports the failure as its own.
            raise error.for_hospital(hospital_id) from error
        if has_unlabelled_records(reply):
            # Records naming no hospital can be neither dropped nor shown under every hospital of the
            # group: this hospital is asked on its own, and what it answers is its own.
            own: ReplyT = await context.loaders.his(method, hospital_id, request)
            return own
        split: ReplyT = split_by_hospital(reply, group)[hospital_id]
        return split

    # Tasks, not bare coroutines: every hospital is asked now, before graphql-core gets to the list.
    # They start slowest-first (each runs up to its send in the order created): the slowest answer
    # ends the fan-out, so its request should not queue behind the others'. Results keep the order asked.
    his = context.his
    tasks: dict[str, asyncio.Future[R]] = {}
    for group in sorted(groups, key=lambda g: max(map(his.expected_latency_s, g)), reverse=True):
        if len(group) == 1:
            [hospital_id] = group
            tasks[hospital_id] = asyncio.ensure_future(
                settle(hospital_id, functools.partial(context.loaders.his, method, hospital_id, request))
            )
            continue
        group_call = asyncio.ensure_future(context.loaders.his(method, ",".join(group), request))
        context.track(group_call)
        for hospital_id in group:
            share = functools.partial(share_of, group_call, group, hospital_id)
            tasks[hospital_id] = asyncio.ensure_future(settle(hospital_id, share))
    for hospital_id in unknown:
        # An id the registry does not know is an error on its own entry, like a failing hospital (issue 12
        # item 12): the other hospitals' entries, and the parent, stand.
        refused: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        refused.set_exception(UnknownHospitalsError([hospital_id]))
        tasks[hospital_id] = refused
    for task in tasks.values():
        context.track(task)  # still running when the response is ready (its parent nulled): cancelled then
    return [tasks[hospital_id] for hospital_id in asked]
