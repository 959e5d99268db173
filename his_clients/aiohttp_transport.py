"""An httpx transport over aiohttp, lean enough for fan-outs fifty hospitals wide.

Measured on this machine (bench/transport_cost.py, 50 concurrent POSTs to a loopback server, CPU per
call): plain aiohttp 99 us; this transport called directly with an ``httpx.Request`` 123 us; the same
through ``httpx.AsyncClient.send`` 205 us; httpx-aiohttp's transport through the client 218 us;
httpx's own httpcore transport, one client per upstream, 536 us, and one shared client 1,703 us
(it rescans its pool on every request: httpx issue 3215). HIS calls need none of what the client
layer adds (cookies, auth flows, redirects: a hospital that redirects is misconfigured), so
``HttpJsonTransport`` builds ``httpx.Request`` objects and hands them to this transport itself.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from yarl import URL

from .lean_http import ReplyTooLarge  # one refusal for every backend

MAX_BODY_EXTENSION = "max_body_bytes"
"""``request.extensions[MAX_BODY_EXTENSION]``: the most bytes this reply may have; more is ``ReplyTooLarge``."""
_CHUNK = 64 * 1024
_URL_CACHE_SIZE = 1024
_TIMEOUT = aiohttp.ClientTimeout(total=None, sock_connect=30.0)
"""No per-request timer of aiohttp's own: every call through ``HisClient`` runs under the hospital's clock
(resilience.HospitalClock), which cancels it; a timer here would only cost a handle per request."""


class AiohttpTransport(httpx.AsyncBaseTransport):
    """One aiohttp session (one keep-alive pool) per upstream; bodies are read whole, up to a bound."""

    def __init__(self, *, max_connections: int = 20, keepalive_s: float = 30.0) -> None:
        self._max_connections = max_connections
        self._keepalive_s = keepalive_s
        self._session: aiohttp.ClientSession | None = None
        self._urls: dict[str, URL] = {}

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections, keepalive_timeout=self._keepalive_s, ttl_dns_cache=300
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                auto_decompress=True,
                trust_env=False,
                skip_auto_headers=("User-Agent",),
                timeout=_TIMEOUT,
            )
        return self._session

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            status, content_type, body = await self.send(
                request.method,
                str(request.url),
                request.content or None,
                request.headers.multi_items(),
                request.extensions.get(MAX_BODY_EXTENSION),
                cache_url=not request.url.query,
            )
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except aiohttp.ClientConnectorError as exc:
            raise httpx.ConnectError(str(exc), request=request) from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from exc
        return httpx.Response(status, headers=[("content-type", content_type)], content=body, request=request)

    async def send(
        self,
        method: str,
        raw_url: str,
        body: bytes | None,
        headers: list[tuple[str, str]],
        max_bytes: int | None,
        *,
        cache_url: bool = True,
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) of one request, aiohttp's own errors raised as they are.

        ``HttpJsonTransport`` posts a HIS call's JSON through here, without building an ``httpx.Request`` and
        ``httpx.Response`` around it (they cost more than the call itself: bench/cpu_per_hospital.py).
        """
        session = self._open()
        url = self._urls.get(raw_url)
        if url is None:
            url = URL(raw_url, encoded=True)
            if cache_url and len(self._urls) < _URL_CACHE_SIZE:
                self._urls[raw_url] = url  # a method's URL parsed once, not once per call (queries vary: not kept)
        async with session.request(method, url, data=body, headers=headers, allow_redirects=False) as reply:
            read = await _read_bounded(reply, max_bytes)
            return reply.status, reply.headers.get("Content-Type", ""), read

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()
            # aiohttp closes SSL transports a moment later; give them that moment so nothing warns.
            await asyncio.sleep(0)


async def _read_bounded(reply: aiohttp.ClientResponse, limit: int | None) -> bytes:
    """The whole body, refusing (before reading it) one that says or turns out to be longer than ``limit``."""
    if limit is None:
        return await reply.read()
    if reply.content_length is not None:
        if reply.content_length > limit:
            raise ReplyTooLarge(limit)
        return await reply.read()  # aiohttp reads exactly the length said, never more
    chunks: list[bytes] = []
    size = 0
    async for chunk in reply.content.iter_chunked(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
