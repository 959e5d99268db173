"""Metrics and traces around each HIS call, without his_clients knowing Prometheus.

``@his_call`` wraps ``HisClient._exchange``: one OpenTelemetry span per call (attributes ``his.hospital``,
``his.method``, ``his.transport``, ``his.code``, ``his.outcome``), current while the request goes out, so
``inject_trace_headers`` puts its ``traceparent`` on the HTTP request (JSON and SOAP alike). Latency and
outcome go to the ``CallMetrics`` that the gateway installs (api/metrics.py); without one, nothing is
counted. The OpenTelemetry API is a no-op until the gateway sets a tracer provider (api/tracing.py).

Hot path: one dict lookup for the pre-bound recorder of (hospital, method), then plain calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, Concatenate, Final, Protocol, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.baggage.propagation import W3CBaggagePropagator
from opentelemetry.propagators.composite import CompositePropagator
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from . import health
from .budget import HisCallBudgetExceeded
from .codes import ReturnCode
from .errors import (
    HisCircuitOpen,
    HisConnectError,
    HisError,
    HisHttpError,
    HisProtocolError,
    HisRejected,
    HisTimeout,
)
from .resilience import GatewaySaturated

if TYPE_CHECKING:
    from .method import HisMethod
    from .registry import Hospital

SUCCESS_CODE = ReturnCode.SUCCESS.value
"""The 附四 code counted for a call that answered data."""

KINDS = (
    "ok", "rejected", "timeout", "connect", "http", "protocol", "budget", "circuit_open", "saturated", "cancelled",
    "error",
)  # fmt: skip
"""Failure kinds of a HIS call, as counted and traced (``ok`` is none)."""


class CallRecorder(Protocol):
    """The metrics of one (hospital, method), bound once."""

    def started(self) -> None: ...

    def finished(self, seconds: float, code: str, kind: str, breaker_state: str) -> None: ...


class CallMetrics(Protocol):
    def bind(self, hospital_id: str, method: str) -> CallRecorder: ...

    def cache_lookup(self, method: str, hit: bool, hospital_id: str = ...) -> None: ...


_metrics: CallMetrics | None = None
_bound: dict[tuple[str, str], CallRecorder] = {}
_tracer = trace.get_tracer("hisgraph.his")


def install(metrics: CallMetrics | None) -> None:
    """Send HIS call metrics to ``metrics`` (None: stop counting)."""
    global _metrics
    _metrics = metrics
    _bound.clear()


def _recorder(hospital_id: str, method: str) -> CallRecorder | None:
    metrics = _metrics
    if metrics is None:
        return None
    key = (hospital_id, method)
    recorder = _bound.get(key)
    if recorder is None:
        recorder = _bound[key] = metrics.bind(hospital_id, method)
    return recorder


def classify(error: BaseException | None) -> tuple[str, str]:
    """(附四 code or our error code, failure kind) of a call that ended with ``error`` (None: success)."""
    if error is None:
        return SUCCESS_CODE, "ok"
    if isinstance(error, HisRejected):
        return error.code, "rejected"
    if isinstance(error, HisCallBudgetExceeded):
        return error.code, "budget"
    if isinstance(error, HisCircuitOpen):
        return error.code, "circuit_open"
    if isinstance(error, GatewaySaturated):
        return error.code, "saturated"  # our own queue, not the hospital (issue 13 item 3)
    if isinstance(error, HisTimeout):
        return error.code, "timeout"
    if isinstance(error, HisConnectError):
        return error.code, "connect"
    if isinstance(error, HisHttpError):
        return f"HTTP_{error.status}", "http"
    if isinstance(error, HisProtocolError):
        return error.code, "protocol"
    if isinstance(error, HisError):
        return error.code, "error"
    if isinstance(error, asyncio.CancelledError):
        return "CANCELLED", "cancelled"
    return type(error).__name__, "error"


def cache_lookup(method: str, *, hit: bool, hospital_id: str = "") -> None:
    """A reference-data cache lookup for ``method`` at ``hospital_id`` (his_clients/caching.py)."""
    metrics = _metrics
    if metrics is not None:
        metrics.cache_lookup(method, hit, hospital_id)


_CONTEXT_ONLY: Final = (TraceContextTextMapPropagator, W3CBaggagePropagator)
"""Propagators whose headers the context alone decides (its span's ids and flags, its trace state and baggage)."""

_injected: tuple[object, object, tuple[tuple[str, str], ...]] | None = None
"""The last (context, propagator, headers) of a propagator that writes from the context alone."""


def _from_context_alone(propagator: object) -> bool:
    if type(propagator) in _CONTEXT_ONLY:
        return True
    if type(propagator) is CompositePropagator:
        return all(type(inner) in _CONTEXT_ONLY for inner in propagator._propagators)
    return False


def inject_trace_headers(headers: MutableMapping[str, str]) -> None:
    """Add the current trace's ``traceparent`` (W3C) to an outgoing request's headers; nothing without a trace.

    A fan-out's calls share their request's context (an unrecorded trace makes no span per call), so with the
    standard W3C propagators their headers are the same: written once per context, then copied. OpenTelemetry's
    contexts are immutable, so the same context object always gives the same headers; any other propagator
    (``OTEL_PROPAGATORS``: b3, jaeger...) is asked every time."""
    global _injected
    current = otel_context.get_current()
    propagator = propagate.get_global_textmap()
    known = _injected
    if known is not None and known[0] is current and known[1] is propagator:
        for name, value in known[2]:
            headers[name] = value
        return
    carrier: dict[str, str] = {}
    propagator.inject(carrier, context=current)
    if _from_context_alone(propagator):
        _injected = (current, propagator, tuple(carrier.items()))
    for name, value in carrier.items():
        headers[name] = value


class _Client(Protocol):
    def circuit_state(self, hospital_id: str) -> Any: ...


_C = TypeVar("_C", bound=_Client)
_T = TypeVar("_T")


def unsampled_trace() -> bool:
    """Whether the current span belongs to a trace that is not being recorded. Every standard sampler decides a
    child of such a span the same way (parent-based ones follow the parent; trace-id ratio gives the same trace
    id the same answer; always-on would have sampled the parent), so no child span of it would be recorded:
    none is made. Without an exporter every trace is such (api/tracing.py), and a fan-out's fifty HIS spans
    cost nothing. The parent's ids still go to the hospital (``traceparent``) and into every log line."""
    global _unsampled
    current = otel_context.get_current()
    known = _unsampled
    if known is not None and known[0] is current:  # contexts are immutable: the same one, the same answer
        return known[1]
    span_context = trace.get_current_span(current).get_span_context()
    unsampled = span_context.is_valid and not span_context.trace_flags.sampled
    _unsampled = (current, unsampled)
    return unsampled


_unsampled: tuple[object, bool] | None = None
"""The last (context, whether its trace is unrecorded): a fan-out's calls share their request's context."""

_NO_SPAN: Final = contextlib.nullcontext(trace.INVALID_SPAN)


def recorded_span(tracer: trace.Tracer, name: str, **options: Any) -> contextlib.AbstractContextManager[trace.Span]:
    """``tracer.start_as_current_span(name, **options)``, or no span (``INVALID_SPAN``) in an unrecorded trace."""
    if unsampled_trace():
        return _NO_SPAN
    return tracer.start_as_current_span(name, **options)


def _span(hospital_id: str, method: str, transport: str) -> contextlib.AbstractContextManager[trace.Span]:
    if unsampled_trace():  # before making the span's name and attributes
        return _NO_SPAN
    return recorded_span(
        _tracer,
        f"HIS {method}",
        kind=SpanKind.CLIENT,
        attributes={"his.hospital": hospital_id, "his.method": method, "his.transport": transport},
        record_exception=False,  # exception messages may carry what a hospital said: not exported
        set_status_on_exception=False,
    )


def his_call(
    exchange: Callable[Concatenate[_C, HisMethod[Any, Any], Hospital, ...], Awaitable[_T]],
) -> Callable[Concatenate[_C, HisMethod[Any, Any], Hospital, ...], Awaitable[_T]]:
    """Wrap ``HisClient._exchange(method, hospital, payload, *, deadline, label=None)``: span + metrics."""

    @functools.wraps(exchange)
    async def observed(self: _C, method: HisMethod[Any, Any], hospital: Hospital, *args: Any, **kwargs: Any) -> _T:
        hospital_id: str = kwargs.get("label") or hospital.id
        # A regional call for several hospitals ("256,257", as a patient listed them) counts under its endpoint's
        # id, and each hospital's health ring notes it: no list a client chooses becomes a series or a ring.
        group = hospital_id.split(",") if "," in hospital_id else None
        recorder = _recorder((hospital.endpoint or hospital.id) if group else hospital_id, method.name)
        error: BaseException | None = None
        with _span(hospital_id, method.name, hospital.transport) as span:
            if recorder is not None:
                recorder.started()
            started = time.perf_counter()
            try:
                return await exchange(self, method, hospital, *args, **kwargs)
            except BaseException as exc:
                error = exc
                raise
            finally:
                code, kind = classify(error)
                # hospitalHealth's ring (his_clients/health.py): outcome, latency and the breaker's state after it
                circuit = str(self.circuit_state(hospital.id))
                ring = health.ring_of(self)
                for one in group or (hospital_id,):
                    ring.note(one, method.name, time.perf_counter() - started, kind, code, circuit)
                if span.is_recording():
                    span.set_attribute("his.code", code)
                    span.set_attribute("his.outcome", kind)
                    if kind not in ("ok", "rejected"):
                        span.set_status(Status(StatusCode.ERROR, kind))
                if recorder is not None:
                    recorder.finished(time.perf_counter() - started, code, kind, circuit)

    return observed


__all__ = [
    "KINDS",
    "CallMetrics",
    "CallRecorder",
    "cache_lookup",
    "classify",
    "his_call",
    "inject_trace_headers",
    "install",
]
