"""Handlers per domain. Each module registers its methods with `handles`; `templated` lists the
methods answered from the spec's response example filled from the data. A method registered nowhere
is not served (the app answers 40003)."""

from __future__ import annotations

from collections.abc import Callable

from simulator.envelope import Reply
from simulator.handlers.context import CallContext

Handler = Callable[[CallContext], Reply]
HANDLERS: dict[str, Handler] = {}


def handles(*methods: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for method in methods:
            if method in HANDLERS:
                raise ValueError(f"{method} has two handlers")
            HANDLERS[method] = handler
        return handler

    return register


def handler_for(method: str) -> Handler | None:
    _register_domains()
    _register_templated()  # last: it only fills in what no domain module answers
    return HANDLERS.get(method)


def _register_domains() -> None:
    # Importing the domain modules registers their handlers.
    from simulator.handlers import (  # noqa: F401
        actions,
        appointments,
        bookings,
        cards,
        inpatient,
        irregular,
        medical_insurance,
        outpatient,
        payments,
        records,
        registration,
        reports,
        schedules,
    )


def _register_templated() -> None:
    from simulator.handlers import templated  # noqa: F401
