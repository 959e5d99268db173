"""The trace headers a HIS call carries (his_clients/observe.py ``inject_trace_headers``): written once per context
for the standard W3C propagators and copied for the fan-out's other calls, always those of the current context."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry import baggage, propagate, trace
from opentelemetry import context as otel_context
from opentelemetry.propagators.textmap import DefaultGetter, DefaultSetter, TextMapPropagator
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

from his_clients.observe import inject_trace_headers, unsampled_trace


def span_context(sampled: bool) -> SpanContext:
    return SpanContext(
        trace_id=random.getrandbits(128) | 1,
        span_id=random.getrandbits(64) | 1,
        is_remote=False,
        trace_flags=TraceFlags(TraceFlags.SAMPLED if sampled else TraceFlags.DEFAULT),
    )


def headers() -> dict[str, str]:
    carrier: dict[str, str] = {}
    inject_trace_headers(carrier)
    return carrier


def traceparent_of(context: SpanContext) -> str:
    flags = f"{int(context.trace_flags):02x}"
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags}"


def test_each_context_sends_its_own_span_and_the_same_context_the_same() -> None:
    first, second = span_context(sampled=False), span_context(sampled=True)
    with trace.use_span(NonRecordingSpan(first)):
        assert headers()["traceparent"] == traceparent_of(first)
        assert headers()["traceparent"] == traceparent_of(first)  # the copy
        assert unsampled_trace()
        with trace.use_span(NonRecordingSpan(second)):
            assert headers()["traceparent"] == traceparent_of(second)
            assert not unsampled_trace()
        assert headers()["traceparent"] == traceparent_of(first)
        assert unsampled_trace()
    assert "traceparent" not in headers()  # no trace, no header
    assert not unsampled_trace()


def test_baggage_changes_with_the_context() -> None:
    with trace.use_span(NonRecordingSpan(span_context(sampled=False))):
        token = otel_context.attach(baggage.set_baggage("tenant", "region-a"))
        try:
            assert headers()["baggage"] == "tenant=region-a"
            inner = otel_context.attach(baggage.set_baggage("tenant", "region-b"))
            assert headers()["baggage"] == "tenant=region-b"
            otel_context.detach(inner)
            assert headers()["baggage"] == "tenant=region-a"
        finally:
            otel_context.detach(token)


class Counting(TextMapPropagator):
    """A propagator of another kind (OTEL_PROPAGATORS=b3 and the like): what it writes is its own business."""

    def __init__(self) -> None:
        self.calls = 0

    def inject(self, carrier: Any, context: Any = None, setter: Any = DefaultSetter()) -> None:  # noqa: B008
        self.calls += 1
        setter.set(carrier, "x-call", str(self.calls))

    def extract(self, carrier: Any, context: Any = None, getter: Any = DefaultGetter()) -> Any:  # noqa: B008
        return context

    @property
    def fields(self) -> set[str]:
        return {"x-call"}


@pytest.fixture
def counting() -> Iterator[Counting]:
    previous = propagate.get_global_textmap()
    propagator = Counting()
    propagate.set_global_textmap(propagator)
    try:
        yield propagator
    finally:
        propagate.set_global_textmap(previous)


def test_another_propagator_is_asked_on_every_call(counting: Counting) -> None:
    with trace.use_span(NonRecordingSpan(span_context(sampled=False))):
        assert [headers(), headers()] == [{"x-call": "1"}, {"x-call": "2"}]
    assert counting.calls == 2
