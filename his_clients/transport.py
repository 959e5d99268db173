"""Sending bytes to a hospital. Only this module, its transports and file_streams.py know httpx.

Requests and responses are httpx's; the transport under them is chosen by measurement
(bench/fanout_overhead.py and bench/transport_cost.py, figures in the README and in
``aiohttp_transport``): ``aiohttp`` (ours, the default) or ``httpcore`` (httpx's own). Each upstream
(hospital or regional endpoint) gets a transport of its own, so one slow hospital's pool never
stands in front of another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

from .aiohttp_transport import AiohttpTransport

HttpBackend = Literal["aiohttp", "httpcore"]


@dataclass(frozen=True, slots=True)
class RawReply:
    """What came back, before any interpretation."""

    status: int
    body: bytes
    content_type: str


class TransportTimeout(Exception):
    """The upstream did not answer in time."""


class TransportConnectError(Exception):
    """No connection, or it broke mid-way."""


class Transport(Protocol):
    """Sends one request to one upstream."""

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply: ...

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply: ...

    async def aclose(self) -> None: ...


def _make_transport(backend: HttpBackend, max_connections: int) -> httpx.AsyncBaseTransport:
    if backend == "aiohttp":
        return AiohttpTransport(max_connections=max_connections)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


_JSON_HEADERS = httpx.Headers({"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"})


class HttpJsonTransport:
    """HTTP JSON to one upstream (spec: 接口类型 http（推荐）)."""

    def __init__(self, *, backend: HttpBackend = "aiohttp", max_connections: int = 20) -> None:
        self._transport = _make_transport(backend, max_connections)
        self._urls: dict[str, httpx.URL] = {}

    def _url(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        request = httpx.Request("POST", self._url(url), content=body, headers=_JSON_HEADERS)
        return await self._send(request, timeout_s)

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply:
        return await self._send(httpx.Request("GET", self._url(url), params=params), timeout_s)

    async def _send(self, request: httpx.Request, timeout_s: float) -> RawReply:
        request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
        try:
            response = await self._transport.handle_async_request(request)
            try:
                body = await response.aread()
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise TransportTimeout(str(exc) or type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise TransportConnectError(str(exc) or type(exc).__name__) from exc
        return RawReply(status=response.status_code, body=body, content_type=response.headers.get("content-type", ""))

    async def aclose(self) -> None:
        await self._transport.aclose()
