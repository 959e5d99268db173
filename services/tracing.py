"""Client spans for the gateway's own outbound calls (WeChat login, official-account messages, WeChat Pay,
Tencent SMS): ``aiohttp.ClientSession(..., trace_configs=[outbound("wechat.login")])``.

The span is named by the system and holds the method, host and path: never the query string (appid and
secret, access tokens) or a body. No ``traceparent`` goes out: these are third parties, not our hospitals.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import aiohttp
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode

_tracer = trace.get_tracer("hisgraph.outbound")


def outbound(system: str) -> aiohttp.TraceConfig:
    """An aiohttp trace config that records one client span per request, under the current span."""

    async def start(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        url = params.url
        span = _tracer.start_span(f"{system} {params.method}", kind=SpanKind.CLIENT, record_exception=False)
        if span.is_recording():
            span.set_attribute("outbound.system", system)
            span.set_attribute("http.request.method", params.method)
            span.set_attribute("server.address", url.host or "")
            span.set_attribute("url.path", url.path)
        context.span = span

    async def end(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        span = getattr(context, "span", None)
        if span is not None:
            if span.is_recording():
                span.set_attribute("http.response.status_code", params.response.status)
                if params.response.status >= 500:
                    span.set_status(Status(StatusCode.ERROR))
            span.end()

    async def failed(session: aiohttp.ClientSession, context: SimpleNamespace, params: Any) -> None:
        span = getattr(context, "span", None)
        if span is not None:
            span.set_status(Status(StatusCode.ERROR, type(params.exception).__name__))
            span.end()

    config = aiohttp.TraceConfig()
    config.on_request_start.append(start)
    config.on_request_end.append(end)
    config.on_request_exception.append(failed)
    return config
