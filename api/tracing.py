"""OpenTelemetry traces: a span per HTTP request (its ``traceparent`` honoured), per GraphQL operation, per
HIS call (his_clients/observe.py, which passes ``traceparent`` on to hospitals) and per database statement.

The exporter is configured by the standard variables and is off by default: spans leave the process only when
``OTEL_TRACES_EXPORTER`` (``otlp`` or ``console``) or ``OTEL_EXPORTER_OTLP_ENDPOINT`` /
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` says so (then ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_SAMPLER``... apply as usual). Without an exporter nothing is recorded unless a caller's
``traceparent`` asks for it, yet every request still has a trace id: log lines carry it (api/logs.py) and
hospitals receive it. A process that set its own tracer provider first (tests: the in-memory exporter) keeps it.

What a span holds: names of routes, operations, HIS methods, hospitals, codes and SQL statement text with
bound parameters left out; never request bodies, variables or exception messages (they may be personal data).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ParentBased
from opentelemetry.trace import SpanKind, Status, StatusCode
from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from his_clients.observe import recorded_span, unsampled_trace

from . import metrics

_tracer = trace.get_tracer("hisgraph.api")
_configured = False
UNTRACED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def _exporter_from_env() -> SpanExporter | None:
    names = {n.strip().lower() for n in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",") if n.strip()}
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if "none" in names:
        return None
    if "otlp" in names or (not names and endpoint):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()  # endpoint, headers, timeout: the OTEL_EXPORTER_OTLP_* variables
    if "console" in names:
        return ConsoleSpanExporter()
    return None


def configure() -> None:
    """Set this process's tracer provider once, from the ``OTEL_*`` variables (see the module)."""
    global _configured
    if _configured:
        return
    _configured = True
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # someone (a test, an agent) set one already
    exporter = _exporter_from_env()
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or "hisgraph"})
    if exporter is None:
        provider = TracerProvider(resource=resource, sampler=ParentBased(root=ALWAYS_OFF))
    else:
        provider = TracerProvider(resource=resource)  # OTEL_TRACES_SAMPLER applies; parent-based by default
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)


class TraceRequests:
    """ASGI middleware: one server span per HTTP request, child of the caller's ``traceparent`` when it sent one."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNTRACED_PATHS:
            await self.app(scope, receive, send)
            return
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in (b"traceparent", b"tracestate")
        }
        parent = propagate.extract(carrier) if carrier else None
        method = scope.get("method", "")
        status: dict[str, int] = {}

        async def send_status(message: Any) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        with _tracer.start_as_current_span(
            f"HTTP {method}",
            context=parent,
            kind=SpanKind.SERVER,
            record_exception=False,  # an exception's message may hold personal data: never exported
            set_status_on_exception=False,
        ) as span:
            try:
                await self.app(scope, receive, send_status)
            except BaseException as exc:
                span.set_status(Status(StatusCode.ERROR, type(exc).__name__))  # the type, never the message
                raise
            finally:
                if span.is_recording():
                    route = scope.get("route")
                    template = getattr(route, "path", None)
                    if template:
                        span.update_name(f"HTTP {method} {template}")
                        span.set_attribute("http.route", template)
                    span.set_attribute("http.request.method", method)
                    if "code" in status:
                        span.set_attribute("http.response.status_code", status["code"])
                        if status["code"] >= 500:
                            span.set_status(Status(StatusCode.ERROR))


class ObserveOperations(SchemaExtension):
    """A span and the duration/error metrics of each GraphQL operation (labelled by operation name)."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        started = time.perf_counter()
        # The name is known once the document is parsed (a client need not send operationName): set at the end.
        with recorded_span(_tracer, "graphql operation", record_exception=False, set_status_on_exception=False) as span:
            failed = True
            try:
                yield
                result = context.result
                failed = bool(context.pre_execution_errors) or bool(result is not None and result.errors)
            finally:
                name = _operation_name(context)
                metrics.record_operation(name, time.perf_counter() - started, failed=failed)
                if span.is_recording():
                    span.update_name(f"graphql {name or 'anonymous'}")
                    span.set_attribute("graphql.operation.name", name or "")
                    with contextlib.suppress(Exception):  # no operation in an unparsable document
                        span.set_attribute("graphql.operation.type", context.operation_type.value)
                    if failed:
                        span.set_status(Status(StatusCode.ERROR, "errors"))


def _operation_name(context: Any) -> str | None:
    try:
        name: str | None = context.operation_name
    except Exception:  # a document that did not parse, or several operations without a name chosen
        return context._provided_operation_name if hasattr(context, "_provided_operation_name") else None
    return name


_STATEMENT_SPAN = "hisgraph_otel_span"


def instrument_engine(engine: Engine) -> None:
    """A client span per SQL statement (its text, never its parameters) under the current span."""
    if getattr(engine, "_hisgraph_traced", False):
        return
    engine._hisgraph_traced = True  # type: ignore[attr-defined]
    db_system = engine.dialect.name

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if context is None or not trace.get_current_span().get_span_context().is_valid:
            return  # a statement outside any request or job (start-up, migrations): not traced
        if unsampled_trace():
            return  # no child of an unrecorded trace would be recorded (his_clients/observe.py)
        verb = statement.lstrip().split(None, 1)[0].upper() if statement.strip() else "SQL"
        span = _tracer.start_span(f"db {verb}", kind=SpanKind.CLIENT, record_exception=False)
        if span.is_recording():
            span.set_attribute("db.system", db_system)
            span.set_attribute("db.statement", statement[:2000])
        setattr(context, _STATEMENT_SPAN, span)

    def _end(context: Any, failed: bool) -> None:
        span = getattr(context, _STATEMENT_SPAN, None)
        if span is not None:
            setattr(context, _STATEMENT_SPAN, None)
            if failed:
                span.set_status(Status(StatusCode.ERROR))
            span.end()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        _end(context, failed=False)

    @event.listens_for(engine, "handle_error")
    def _error(exception_context: Any) -> None:
        _end(exception_context.execution_context, failed=True)


__all__ = [
    "ObserveOperations",
    "TraceRequests",
    "configure",
    "instrument_engine",
]
