"""Who may be named in a hospital call, checked where every HIS call passes (issue 10 item 1).

The GraphQL endpoint opens one guard per request with ``call_guard``, holding a check built for the
request's principal and the cards and ID numbers it has proven (resolvers/context.py builds it from
resolvers/access.py; this module knows nothing of principals). ``HisClient`` runs the check on each
request before it is sent, whichever code made the call: a loader, a resolver, or a service such as
the payment service, which builds its own requests from the caller's arguments. Tasks started while
the guard is open inherit it, because asyncio copies the context into every task it creates.

Outside a request (jobs, shims, the payment worker, the outbox) no guard is open and ``check`` does
nothing: those callers act for the platform, on records the hospital or a paid order named.
A refusal is whatever the check raises (resolvers/access.py's ``NotFound``, code 20215): the call is
not sent, exactly as for a card that does not exist.

A check that passed is not run again for the same method and the same request object within the guard:
a fan-out hands one frozen request to every hospital, and what the check reads (the caller, the cards
proven, the method, the request) cannot change under it. A refusal is never remembered: it is checked again.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar

from .models.base import HisRequest

CallCheck = Callable[[str, HisRequest], Awaitable[None]]
"""``check(method_name, request)``: return if the call may go out, raise to refuse it."""

_current: ContextVar[CallCheck | None] = ContextVar("his_call_guard", default=None)


class _Passed:
    __slots__ = ("lock", "passed", "request")

    def __init__(self, request: HisRequest) -> None:
        self.request = request  # held, so that its id is never another request's while remembered
        self.lock = asyncio.Lock()
        self.passed = False


class PassedOnce:
    """``check``, run once per (method, request object) it lets through.

    Calls for the same pair while the first is being checked wait for it (the fifty calls of a fan-out start
    at once) and then pass without checking again. A refusal is not remembered: the next caller checks anew.
    """

    __slots__ = ("_check", "_seen")

    def __init__(self, check: CallCheck) -> None:
        self._check = check
        self._seen: dict[tuple[str, int], _Passed] = {}

    async def __call__(self, method: str, request: HisRequest) -> None:
        key = (method, id(request))
        seen = self._seen.get(key)
        if seen is None or seen.request is not request:
            seen = self._seen[key] = _Passed(request)
        elif seen.passed:
            return
        async with seen.lock:
            if not seen.passed:
                await self._check(method, request)
                seen.passed = True


@contextlib.contextmanager
def call_guard(check: CallCheck) -> Iterator[None]:
    """Run ``check`` on every hospital call made by the code (and the tasks it starts) inside; once per
    (method, request object) that passed it."""
    token = _current.set(PassedOnce(check))
    try:
        yield
    finally:
        _current.reset(token)


def current_guard() -> CallCheck | None:
    return _current.get()


async def check(method: str, request: HisRequest) -> None:
    """Refuse (raise) a call the open guard does not allow; no guard: every call may go out."""
    guard = _current.get()
    if guard is not None:
        await guard(method, request)
