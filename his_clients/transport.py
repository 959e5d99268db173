"""Sending bytes to a hospital. Only this module, its transports and file_streams.py know httpx.

The transport is chosen by measurement (bench/transport_cost.py and bench/load.py, figures in the README):
``lean`` (the default) posts every HIS call (JSON and SOAP) through ``lean_http``, a keep-alive HTTP/1.1
client on llhttp, at about a quarter of aiohttp's CPU per call, and reads files (``get``) through aiohttp;
``aiohttp`` does both through aiohttp; ``httpcore`` through httpx's own transport. Each upstream (hospital or
regional endpoint) gets a transport of its own, so one slow hospital's pool never stands in front of
another's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

import aiohttp
import httpx

from .aiohttp_transport import MAX_BODY_EXTENSION, AiohttpTransport
from .lean_http import LeanPool, LeanProtocolError, ReplyTooLarge
from .observe import inject_trace_headers

HttpBackend = Literal["lean", "aiohttp", "httpcore"]

MAX_REPLY_BYTES = 16 * 1024 * 1024
"""A method's reply (JSON, or a SOAP envelope) is refused past this many bytes, before it is parsed."""
MAX_FILE_BYTES = 64 * 1024 * 1024
"""A file read whole through the call path (16.1.4's DICOM over ``get``) is refused past this many bytes."""


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


class TransportProtocolError(Exception):
    """An answer came that no reading can use: too large, unsafe XML, a SOAP Fault, no SOAP envelope."""


class Transport(Protocol):
    """Sends one request to one upstream."""

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply: ...

    async def get(self, url: str, params: dict[str, str], *, timeout_s: float) -> RawReply: ...

    async def aclose(self) -> None: ...


def _make_transport(backend: HttpBackend, max_connections: int) -> httpx.AsyncBaseTransport:
    if backend in ("lean", "aiohttp"):
        return AiohttpTransport(max_connections=max_connections)
    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    return httpx.AsyncHTTPTransport(limits=limits, trust_env=False)


_JSON_HEADERS = httpx.Headers({"Content-Type": "application/json; charset=utf-8", "Accept": "application/json"})
_JSON_ITEMS = _JSON_HEADERS.multi_items()
_OURS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
"""Headers the client writes itself (a caller's own would be a second, conflicting copy)."""


def _outgoing(headers: httpx.Headers) -> list[tuple[str, str]]:
    """A direct POST's header lines: the caller's (less those the client writes) and the HIS call's
    ``traceparent``."""
    if headers is _JSON_HEADERS:
        items = _JSON_ITEMS
    else:
        items = [(name, value) for name, value in headers.multi_items() if name.lower() not in _OURS]
    carrier: dict[str, str] = {}
    inject_trace_headers(carrier)  # traceparent: the HIS call's span
    return [*items, *carrier.items()] if carrier else items


class HttpJsonTransport:
    """HTTP JSON to one upstream (spec: 接口类型 http（推荐）)."""

    def __init__(
        self,
        *,
        backend: HttpBackend = "lean",
        max_connections: int = 20,
        max_reply_bytes: int = MAX_REPLY_BYTES,
        max_file_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        self._transport = _make_transport(backend, max_connections)
        self._aiohttp = self._transport if isinstance(self._transport, AiohttpTransport) else None
        self._lean = LeanPool(max_connections=max_connections) if backend == "lean" else None
        self._urls: dict[str, httpx.URL] = {}
        self._url_texts: dict[str, str] = {}
        self._max_reply_bytes = max_reply_bytes
        self._max_file_bytes = max_file_bytes

    def _url_text(self, url: str) -> str:
        """``url`` as httpx writes it (normalised, percent-encoded), worked out once per URL."""
        text = self._url_texts.get(url)
        if text is None:
            text = self._url_texts[url] = str(self._url(url))
        return text

    def _url(self, url: str) -> httpx.URL:
        parsed = self._urls.get(url)
        if parsed is None:
            parsed = self._urls[url] = httpx.URL(url)
        return parsed

    async def post_json(self, url: str, body: bytes, *, timeout_s: float) -> RawReply:
        return await self.post(url, body, headers=_JSON_HEADERS, timeout_s=timeout_s)

    async def post(self, url: str, body: bytes, *, headers: httpx.Headers, timeout_s: float) -> RawReply:
        """POST ``body`` with ``headers`` (the SOAP transport's envelopes go out this way)."""
        if self._lean is not None:
            return await self._post_lean(url, body, headers)
        if self._aiohttp is not None:
            return await self._post_aiohttp(url, body, headers)
        request = httpx.Request("POST", self._url(url), content=body, headers=headers)
        return await self._send(request, timeout_s, self._max_reply_bytes)

    async def _post_lean(self, url: str, body: bytes, headers: httpx.Headers) -> RawReply:
        """The lean backend's POST: the same headers, bound on the reply and errors as the aiohttp backend's
        (``Host`` and ``Content-Length`` are the client's to write). No timer here either: the caller's clock
        (resilience.HospitalClock) bounds the call, and a cancelled call's connection is closed."""
        items = _outgoing(headers)
        assert self._lean is not None
        try:
            status, content_type, read = await self._lean.post(self._url_text(url), body, items, self._max_reply_bytes)
        except ReplyTooLarge as exc:
            raise TransportProtocolError(str(exc)) from None
        except LeanProtocolError as exc:
            raise TransportProtocolError(f"not an HTTP reply: {exc}") from None
        except TimeoutError as exc:
            raise TransportTimeout(str(exc) or "timed out") from exc
        except (OSError, ValueError) as exc:  # refused, reset, unreachable, TLS, DNS; a URL that is not http(s)
            raise TransportConnectError(str(exc) or type(exc).__name__) from exc
        return RawReply(status=status, body=read, content_type=content_type)

    async def _post_aiohttp(self, url: str, body: bytes, headers: httpx.Headers) -> RawReply:
        """The aiohttp backend's POST, straight to its session: the same headers (``Host`` and ``Content-Length``
        are aiohttp's to write, as they were), the same bound on the reply and the same errors as through
        ``httpx.Request``, without building the request and response objects around it. No timer here, as
        there: the caller's clock (resilience.HospitalClock) bounds the call."""
        items = _outgoing(headers)
        assert self._aiohttp is not None
        try:
            status, content_type, read = await self._aiohttp.send(
                "POST", self._url_text(url), body, items, self._max_reply_bytes
            )
        except ReplyTooLarge as exc:
            raise TransportProtocolError(str(exc)) from None
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TransportTimeout(str(exc) or "timed out") from exc
        except (aiohttp.ClientError, ConnectionError) as exc:
            raise TransportConnectError(str(exc) or type(exc).__name__) from exc
        return RawReply(status=status, body=read, content_type=content_type)

    async def get(
        self, url: str, params: dict[str, str], *, timeout_s: float, max_bytes: int | None = None
    ) -> RawReply:
        # No parameters keeps the URL's own query (a WSDL's ``?wsdl``); an empty dict would drop it.
        request = httpx.Request("GET", self._url(url), params=params or None)
        return await self._send(request, timeout_s, self._max_file_bytes if max_bytes is None else max_bytes)

    async def _send(self, request: httpx.Request, timeout_s: float, max_bytes: int) -> RawReply:
        inject_trace_headers(request.headers)  # traceparent: the HIS call's span (JSON, SOAP, GET alike)
        request.extensions["timeout"] = httpx.Timeout(timeout_s).as_dict()
        request.extensions[MAX_BODY_EXTENSION] = max_bytes
        try:
            response = await self._transport.handle_async_request(request)
            try:
                body = await _read_bounded(response, max_bytes)
            finally:
                await response.aclose()
        except ReplyTooLarge as exc:
            raise TransportProtocolError(str(exc)) from None
        except httpx.TimeoutException as exc:
            raise TransportTimeout(str(exc) or type(exc).__name__) from exc
        except httpx.TransportError as exc:
            raise TransportConnectError(str(exc) or type(exc).__name__) from exc
        return RawReply(status=response.status_code, body=body, content_type=response.headers.get("content-type", ""))

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        await self._transport.aclose()


async def _read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body, refused past ``limit`` bytes while it streams in (whatever the backend)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise ReplyTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
