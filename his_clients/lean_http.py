"""A lean HTTP/1.1 client for the hospitals' POSTs: keep-alive connections per upstream, llhttp (httptools)
reading the replies, nothing else.

Why: at the morning rush most of the gateway's CPU per hospital was aiohttp's request path (its
``ClientSession._request``, connector, ``ClientRequest``/``ClientResponse`` and stream objects: ~100 us a
call on this machine, bench/transport_cost.py), for what is one short POST on an open connection and one
reply read whole. This client writes the request in one ``transport.write`` and reads the reply with
llhttp's callbacks straight into a list of chunks: the same exchange at a fraction of the cost.

What it does, and what it refuses:
- HTTP/1.1 (and 1.0 replies); ``Content-Length``, ``chunked`` and close-delimited bodies; ``1xx`` interim
  replies are skipped. ``gzip`` and ``deflate`` bodies (never asked for: no ``Accept-Encoding`` is sent) are
  inflated within the same bound as any body.
- A reply longer than the caller's bound is refused while it streams in (``ReplyTooLarge``), as are header
  blocks past 64 KiB. Malformed replies are ``LeanProtocolError``; a connection that breaks before its reply
  is complete is ``ConnectionError``. Nothing is ever retried: a POST to a hospital may have been applied.
- No timer of its own: the caller's clock (resilience.HospitalClock) cancels a call, and a connection whose
  call was cancelled mid-way is closed, never reused (its reply might still arrive).
- No redirects (a hospital that redirects is misconfigured: the 3xx is returned as it is), no cookies, no
  proxies from the environment (the aiohttp backend had ``trust_env=False`` too).
- TLS with the default context (certificates and host names verified), as aiohttp did.
"""

from __future__ import annotations

import asyncio
import contextvars
import select
import ssl
import time
import zlib
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools

MAX_HEADER_BYTES = 64 * 1024
"""A reply's status line and headers together may have at most this many bytes."""


class ReplyTooLarge(Exception):
    """The reply is longer than the request allowed: it is never read whole."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the reply exceeds {limit} bytes")
        self.limit = limit


class LeanProtocolError(Exception):
    """The upstream answered something that is not an HTTP/1.x reply."""


class _Trailing(Exception):
    """Raised inside llhttp when a second message begins after the reply: it stops the parse there."""


class _Target:
    """A URL split once: where to connect and what to write on the request line."""

    __slots__ = ("host", "host_header", "port", "request_target", "tls")

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self.tls = parts.scheme == "https"
        self.host = parts.hostname
        default = 443 if self.tls else 80
        self.port = parts.port or default
        name = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = name if self.port == default else f"{name}:{self.port}"
        self.request_target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


class _Reply:
    """One reply being read; llhttp calls these methods (the parser's ``protocol``)."""

    __slots__ = (
        "chunks",
        "complete",
        "content_type",
        "encoding",
        "framed",
        "header_bytes",
        "headers_done",
        "keep_alive",
        "limit",
        "parser",
        "size",
        "status",
        "trailing",
    )

    def __init__(self, limit: int) -> None:
        self.status = 0
        self.content_type = ""
        self.encoding = ""
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.header_bytes = 0
        self.framed = False
        """Its length was said (Content-Length) or it is chunked: it does not run to the connection's close."""
        self.headers_done = False
        self.complete = False
        self.trailing = False
        """Bytes came after the reply ended: the connection is not reused."""
        self.keep_alive = False
        self.parser: httptools.HttpResponseParser | None = None

    def on_message_begin(self) -> None:
        if self.complete:
            self.trailing = True
            raise _Trailing

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value) + 4
        if self.header_bytes > MAX_HEADER_BYTES:
            raise LeanProtocolError(f"the reply's headers exceed {MAX_HEADER_BYTES} bytes")
        lowered = name.lower()
        if lowered == b"content-type":
            self.content_type = value.decode("latin-1")
        elif lowered == b"content-length":
            try:
                said = int(value)
            except ValueError:
                return  # llhttp refuses a malformed length itself
            self.framed = True
            if said > self.limit:
                raise ReplyTooLarge(self.limit)
        elif lowered == b"transfer-encoding":
            self.framed = True
        elif lowered == b"content-encoding":
            self.encoding = value.decode("latin-1").strip().lower()

    def on_headers_complete(self) -> None:
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.limit and not self.encoding:
            raise ReplyTooLarge(self.limit)
        if self.size > self.limit * 4 + 65536:  # compressed bytes beyond any sane ratio: stop reading early
            raise ReplyTooLarge(self.limit)
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        if parser is not None and 100 <= parser.get_status_code() < 200:  # an interim reply: the real one follows
            self.content_type = self.encoding = ""
            self.chunks = []
            self.size = self.header_bytes = 0
            self.framed = self.headers_done = False
            return
        self.complete = True
        self.keep_alive = self.parser is not None and self.parser.should_keep_alive()  # llhttp resets it after

    def body(self) -> bytes:
        raw = self.chunks[0] if len(self.chunks) == 1 else b"".join(self.chunks)
        if not self.encoding or self.encoding == "identity":
            return raw
        if self.encoding in ("gzip", "x-gzip"):
            return _inflate(raw, zlib.MAX_WBITS | 16, self.limit)
        if self.encoding == "deflate":
            try:
                return _inflate(raw, zlib.MAX_WBITS, self.limit)
            except LeanProtocolError:
                return _inflate(raw, -zlib.MAX_WBITS, self.limit)  # raw deflate, as some servers send it
        raise LeanProtocolError(f"a reply in an encoding never asked for: {self.encoding!r}")


def _inflate(raw: bytes, wbits: int, limit: int) -> bytes:
    """``raw`` inflated, refused past ``limit`` bytes without ever holding more than that (no zip bombs)."""
    inflater = zlib.decompressobj(wbits)
    try:
        out = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise LeanProtocolError(f"a compressed reply that does not inflate: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise ReplyTooLarge(limit)
    return out


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request at a time."""

    __slots__ = ("closed", "idle_since", "keep_alive", "parser", "reply", "transport", "waiter")

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.reply: _Reply | None = None
        self.waiter: asyncio.Future[None] | None = None
        self.closed = False
        self.idle_since = 0.0
        self.keep_alive = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes

    def data_received(self, data: bytes) -> None:
        reply, parser = self.reply, self.parser
        if reply is None or parser is None:  # bytes nobody asked for: this connection cannot be trusted
            self._abort()
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(LeanProtocolError("the upstream switched protocols"))
            return
        except (ReplyTooLarge, LeanProtocolError) as exc:
            self._fail(exc)
            return
        except httptools.HttpParserError as exc:
            cause = exc.__context__
            if not (isinstance(cause, _Trailing) and reply.complete):
                self._fail(
                    cause if isinstance(cause, ReplyTooLarge | LeanProtocolError) else LeanProtocolError(str(exc))
                )
                return
        if reply.complete:
            reply.status = parser.get_status_code()
            self.keep_alive = reply.keep_alive and not reply.trailing
            self._wake(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reply, parser = self.reply, self.parser
        if reply is not None and not reply.complete:
            if parser is not None and reply.headers_done and not reply.framed:
                status = parser.get_status_code()
                if status >= 200:  # a body that runs to the close (no length, not chunked) ends here
                    reply.complete = True
                    reply.status = status
                    self.keep_alive = False
                    self._wake(None)
                    return
            self._wake(ConnectionError(f"the connection closed before the reply was complete ({exc or 'EOF'})"))

    def usable(self) -> bool:
        """Open at both ends, as far as can be known without sending: not closed or closing here, and nothing
        waiting to be read. An idle connection has nothing to read unless the server closed it (its FIN, not yet
        seen by a busy loop) or sent what nobody asked for: either way it is not used. Servers close idle
        connections on their own clocks (uvicorn after 5 s, Tomcat after 20, nginx after 75); a request written
        onto one already closed fails, and a POST is never sent again. One ``poll`` with no wait (about a
        microsecond), as httpcore does before reusing a connection."""
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            return False
        sock = transport.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)

    def _expect(self, limit: int) -> None:
        self.reply = reply = _Reply(limit)
        self.parser = reply.parser = httptools.HttpResponseParser(reply)

    def _wake(self, exc: BaseException | None) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            if exc is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(exc)

    def _fail(self, exc: BaseException) -> None:
        self._abort()
        self._wake(exc)

    def _abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    async def exchange(self, head: bytes, body: bytes, limit: int) -> _Reply:
        """Write one request and wait for its whole reply."""
        assert self.transport is not None
        self._expect(limit)
        reply = self.reply
        assert reply is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(head + body if len(body) < 16384 else head)
        if len(body) >= 16384:
            self.transport.write(body)
        try:
            await self.waiter
        except BaseException:
            self._abort()  # cancelled or failed mid-way: its reply may still come, so it is never reused
            raise
        finally:
            self.reply = None
            self.parser = None
            reply.parser = None  # no cycle between the reply and its parser
        return reply


class LeanPool:
    """Keep-alive connections to one upstream (host, port, scheme), at most ``max_connections`` at once."""

    def __init__(
        self, *, max_connections: int = 20, keepalive_s: float = 30.0, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self._max = max_connections
        self._keepalive_s = keepalive_s
        self._idle: deque[_Connection] = deque()
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._targets: dict[str, _Target] = {}
        self._ssl = ssl_context
        """Verifies hospitals' certificates: the system's CAs (the default context) unless given."""
        self._closed = False

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            target = _Target(url)
            if len(self._targets) < 1024:
                self._targets[url] = target
        return target

    async def post(
        self, url: str, body: bytes, headers: list[tuple[str, str]], max_bytes: int
    ) -> tuple[int, str, bytes]:
        """(status, content type, body) of one POST."""
        target = self._target(url)
        lines = [f"POST {target.request_target} HTTP/1.1\r\nHost: {target.host_header}\r\n"]
        for name, value in headers:
            if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
                raise ValueError("a header with a line break")
            lines.append(f"{name}: {value}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        head = "".join(lines).encode("latin-1")
        connection = await self._acquire(target)
        try:
            reply = await connection.exchange(head, body, max_bytes)
        finally:
            self._release(connection)
        return reply.status, reply.content_type, reply.body()

    async def _acquire(self, target: _Target) -> _Connection:
        if self._closed:
            raise ConnectionError("the pool is closed")
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()  # the most recently used: the likeliest still open
            if connection.usable() and now - connection.idle_since < self._keepalive_s:
                return connection
            self._drop(connection)
        while self._open >= self._max:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif waiter.done() and not waiter.cancelled():
                    self._wake_one()  # it was woken for a slot it will not take: pass it on
                raise
            if self._idle:
                connection = self._idle.pop()
                if connection.usable():
                    return connection
                self._drop(connection)
        self._open += 1
        try:
            return await self._connect(target)
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise

    async def _connect(self, target: _Target) -> _Connection:
        loop = asyncio.get_running_loop()
        tls: ssl.SSLContext | None = None
        if target.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            tls = self._ssl
        opening = loop.create_connection(
            _Connection, target.host, target.port, ssl=tls, server_hostname=target.host if tls else None
        )
        # Opened in a context of its own: a transport runs its callbacks in the context it was made in, for as long
        # as the connection lives, and the request that happened to open it (its guard, and through it the whole
        # request: replies, loaders, execution) would live as long. A cancel of the caller still cancels the task.
        task = contextvars.Context().run(loop.create_task, opening)
        try:
            _transport, connection = await task
        except BaseException:
            # Opened just as the caller gave up (the task had finished, the caller had not yet resumed): closed here,
            # as create_connection closes what it opened when it is cancelled itself.
            if task.done() and not task.cancelled() and task.exception() is None:
                task.result()[0].close()
            raise
        return connection

    def _release(self, connection: _Connection) -> None:
        if connection.closed or not connection.keep_alive or self._closed:
            if not connection.closed:
                connection._abort()
            self._open -= 1
        else:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        self._wake_one()

    def _drop(self, connection: _Connection) -> None:
        connection._abort()
        self._open -= 1

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._drop(self._idle.pop())
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionError("the pool is closed"))
        self._waiters.clear()
