"""A budget of hospital calls for one inbound request, charged where every HIS call passes.

The GraphQL endpoint opens one budget per HTTP request (a batch shares it) with ``call_budget``;
``HisClient`` charges it before each call goes out (``charge``). Tasks started while the budget is
open (per-hospital fan-outs, loader batches) inherit it, because asyncio copies the context into
every task it creates. Outside a budget (jobs, shims, the payment worker) ``charge`` does nothing.

A call over the budget is refused before it is sent, as ``HisCallBudgetExceeded``: a kind of
``HisCircuitOpen`` (an unavailable hospital whose call was certainly not sent, so a write refused
this way was not applied), so every layer that copes with a hospital being unavailable copes with
it, and the one GraphQL field that needed the call gets an error with ``extensions.code``
``HIS_CALL_BUDGET`` (issue 10 item 3).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar

from .errors import HisCircuitOpen


class HisCallBudgetExceeded(HisCircuitOpen):
    """This request has made as many hospital calls as one request may; this one was not sent."""

    code = "HIS_CALL_BUDGET"


class CallBudget:
    """How many hospital calls one request may still make. Shared by every task of the request."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.spent = 0

    def charge(self, *, hospital_id: str, method: str) -> None:
        if self.spent >= self.limit:
            raise HisCallBudgetExceeded(
                f"this request has made the {self.limit} hospital calls one request may",
                hospital_id=hospital_id,
                method=method,
            )
        self.spent += 1


_current: ContextVar[CallBudget | None] = ContextVar("his_call_budget", default=None)


@contextlib.contextmanager
def call_budget(limit: int) -> Iterator[CallBudget]:
    """Open a budget of ``limit`` hospital calls for the code (and the tasks it starts) inside."""
    budget = CallBudget(limit)
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def current_budget() -> CallBudget | None:
    return _current.get()


def charge(*, hospital_id: str, method: str) -> None:
    """Count one hospital call against the open budget; raise if it is spent. No budget: no limit."""
    budget = _current.get()
    if budget is not None:
        budget.charge(hospital_id=hospital_id, method=method)
