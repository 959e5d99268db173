"""Sending bytes to a hospital. Only this module (and its WebService sibling) knows httpx.

One ``httpx.AsyncClient`` per upstream (hospital or regional endpoint): one shared client rescans
every pooled connection on each request (httpx issue 3215), which costs tens of milliseconds at
fan-out width 50. The transport under httpx's API is chosen by measurement (bench/fanout_overhead.py,
README): ``aiohttp`` (httpx-aiohttp) or ``httpcore`` (httpx's own).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import httpx

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


def _make_httpx_client(backend: HttpBackend, max_connections: int) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    transport: httpx.AsyncBaseTransport
    if backend == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        transport = AiohttpTransport(limits=limits, trust_env=False)
    else:
        transport = httpx.AsyncHTTPTransport(limits=limits, trust_env=False)
    return httpx.AsyncClient(transport=transport, trust_env=False, follow_redirects=False)


class HttpJsonTransport:
    """HTTP JSON over one keep-alive client (spec: 接口类型 http（推荐）)."""

    def __init__(self, *, backend: HttpBackend = "aiohttp", max_connections: int = 20) -> None:
        self._client = _make_httpx_client(backend, max_connections)

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        return await self._send(
            self._client.build_request(
                "POST",
                url,
                content=body,
                headers={"Content-Type": "application/json; charset=utf-8"},
                timeout=timeout_s,
            )
        )

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply:
        return await self._send(self._client.build_request("GET", url, params=params, timeout=timeout_s))

    async def _send(self, request: httpx.Request) -> RawReply:
        try:
            response = await self._client.send(request)
        except httpx.TimeoutException as exc:
            raise TransportTimeout(str(exc) or type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise TransportConnectError(str(exc) or type(exc).__name__) from exc
        return RawReply(
            status=response.status_code,
            body=response.content,
            content_type=response.headers.get("content-type", ""),
        )

    async def aclose(self) -> None:
        await self._client.aclose()
