"""Turning a per-hospital fan-out into a GraphQL list: failing hospitals become their own errors.

The resolver returns one awaitable per hospital. graphql-core completes each list item on its own
as soon as its awaitable is done, so the answers of fast hospitals are turned into GraphQL while
the slow ones are still out: when the slowest answers, only its own entry is left to complete.
An item that raises becomes ``null`` at its index plus one error carrying the exception's
``extensions`` (``hospitalId``, ``code``, ``method``); the other items stand.
"""

from __future__ import annotations

import asyncio
import contextvars
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
    loop = asyncio.get_running_loop()
    # Each hospital's entry is a plain future, settled by a callback when its call ends: no task of its own per
    # hospital, no shield and no timer (one timer ends the whole fan-out at the deadline). A field giving up on
    # its entry (graphql-core cancels a nulled parent's pending fields) cancels the entry only: the call, which
    # another field may share, goes on until the response is ready (Context.cancel_leftovers).
    entries: dict[str, asyncio.Future[R]] = {hospital_id: loop.create_future() for hospital_id in hospital_ids}
    mark = stall_mark()

    def settle(hospital_id: str, call: asyncio.Future[ReplyT]) -> None:
        entry = entries[hospital_id]
        if entry.done():  # the deadline ended it first, or its field gave up on it
            return
        if call.cancelled():
            entry.cancel()
            return
        error = call.exception()
        try:
            if error is None:
                entry.set_result(convert(hospital_id, call.result()))
            elif isinstance(error, HisNoData):  # 10002 未查询到数据: nothing there, not a failure
                entry.set_result(empty(hospital_id))
            else:
                entry.set_exception(error)
        except Exception as failure:  # converting the answer failed: this entry's error
            entry.set_exception(failure)

    def expire() -> None:
        # The request's deadline: every entry still open ends now. Ran out in our own saturated loop: not the
        # hospitals' doing (issue 13 item 3).
        saturated = stalled_since(mark)
        for hospital_id, entry in entries.items():
            if entry.done():
                continue
            if saturated:
                entry.set_exception(
                    GatewaySaturated(
                        "the gateway was too busy to finish before the request's deadline",
                        hospital_id=hospital_id,
                        method=method.name,
                    )
                )
            else:
                entry.set_exception(
                    HisTimeout("no answer before the request's deadline", hospital_id=hospital_id, method=method.name)
                )

    async def share_of(group_call: asyncio.Future[ReplyT], group: list[str], hospital_id: str) -> ReplyT:
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

    # Every hospital is asked now, before graphql-core gets to the list. The calls start slowest-first (each
    # runs up to its send in the order created): the slowest answer ends the fan-out, so its request should not
    # queue behind the others'. Entries keep the order asked.
    his = context.his
    calls = context.loaders.his
    for group in sorted(groups, key=lambda g: max(map(his.expected_latency_s, g)), reverse=True):
        if len(group) == 1:
            [hospital_id] = group
            call = calls.start(method, hospital_id, request)
            call.add_done_callback(functools.partial(settle, hospital_id))
            continue
        group_call = calls.start(method, ",".join(group), request)
        for hospital_id in group:
            share = asyncio.ensure_future(share_of(group_call, group, hospital_id))
            context.track(share)
            share.add_done_callback(functools.partial(settle, hospital_id))
    if hospital_ids:
        # In a context of its own: asyncio keeps a cancelled timer until it is due, with the context it was made in
        # (the request's: its guard, and through it the whole request), so the request would outlive its response.
        timer = loop.call_at(context.deadline, expire, context=contextvars.Context())
        open_entries = len(entries)

        def closed(_entry: asyncio.Future[R]) -> None:
            nonlocal open_entries
            open_entries -= 1
            if not open_entries:
                timer.cancel()  # every entry settled: the deadline's timer holds nothing past the fan-out

        for entry in entries.values():
            entry.add_done_callback(closed)
    for hospital_id in unknown:
        # An id the registry does not know is an error on its own entry, like a failing hospital (issue 12
        # item 12): the other hospitals' entries, and the parent, stand.
        refused: asyncio.Future[R] = loop.create_future()
        refused.set_exception(UnknownHospitalsError([hospital_id]))
        entries[hospital_id] = refused
    for entry in entries.values():
        context.track(entry)  # still open when the response is ready (its parent nulled): cancelled then
    answers: list[Awaitable[R]] = [entries[hospital_id] for hospital_id in asked]
    return answers
