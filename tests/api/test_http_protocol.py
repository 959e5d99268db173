"""api/http_protocol.py: ``hisgraph serve`` writes each response's head and body to the socket in one write.

A real uvicorn server on a loopback port of its own, its protocol as ``hisgraph serve`` configures it
(api.cli.uvicorn_config), each connection's transport recording what is written to it; raw HTTP/1.1 from a socket.
uvicorn's own httptools protocol, recorded the same way, writes two (the comparison shows the recording sees it).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.cli import uvicorn_config
from api.http_protocol import OneWriteHttpToolsProtocol
from api.settings import Settings

WRITES: list[bytes] = []
"""Every write to a recorded connection's transport, in order."""
NO_PROXIES = Settings(mode="dev")


class _Recorder:
    def __init__(self, transport: asyncio.Transport) -> None:
        self._transport = transport

    def write(self, data: bytes) -> None:
        WRITES.append(bytes(data))
        self._transport.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class RecordedOneWrite(OneWriteHttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorder(transport))  # type: ignore[arg-type]


class RecordedUvicorn(HttpToolsProtocol):
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_Recorder(transport))  # type: ignore[arg-type]


async def _json(request: Request) -> Response:
    return JSONResponse({"hospitalId": "300", "amount": "271.80"})


async def _upload(request: Request) -> Response:
    return JSONResponse({"received": len(await request.body())})


async def _stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b"one,", b"two,", b"three"):
            yield part

    return StreamingResponse(chunks(), media_type="text/plain")


async def _no_content(request: Request) -> Response:
    return Response(status_code=204)


class _FailsAfterHead:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"10")]})
        raise RuntimeError("the body never comes")


class _RefusedHeader:
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-bad", b"a\r\nb")]})


APP = Starlette(
    routes=[
        Route("/json", _json, methods=["GET", "HEAD"]),
        Route("/upload", _upload, methods=["POST"]),
        Route("/stream", _stream),
        Route("/empty", _no_content),
        Route("/fails", _FailsAfterHead()),
        Route("/bad-header", _RefusedHeader()),
    ]
)


@contextlib.asynccontextmanager
async def served(protocol: type[asyncio.Protocol]) -> AsyncIterator[int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(APP, settings=NO_PROXIES, log_config=None, http=protocol))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
            await asyncio.sleep(0.02)
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def exchange(port: int, request: bytes, *, interim: bool = False) -> bytes:
    """Send raw ``request`` bytes; what comes back until the connection closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        if interim:  # Expect: 100-continue: the head, wait for the interim answer, then the body
            head, _, body = request.partition(b"\r\n\r\n")
            writer.write(head + b"\r\n\r\n")
            await writer.drain()
            got = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert got.startswith(b"HTTP/1.1 100 Continue")
            writer.write(body)
        else:
            writer.write(request)
        await writer.drain()
        received = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 10)
            if not chunk:
                break
            received += chunk
        return received
    finally:
        writer.close()


def request(method: str, path: str, *, body: bytes = b"", extra: str = "", close: bool = True) -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: gateway\r\nContent-Length: {len(body)}\r\n{extra}"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


def test_serve_uses_the_one_write_protocol() -> None:
    config = uvicorn_config(APP, settings=NO_PROXIES, log_config=None)
    config.load()
    assert config.http_protocol_class is OneWriteHttpToolsProtocol


async def test_a_response_goes_out_in_one_write() -> None:
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        answer = await exchange(port, request("GET", "/json"))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert answer.endswith(b'{"hospitalId":"300","amount":"271.80"}')
    assert [answer] == WRITES


async def test_uvicorn_alone_writes_head_and_body_apart() -> None:
    """What the recording sees without the fix: two writes for the same response."""
    WRITES.clear()
    async with served(RecordedUvicorn) as port:
        answer = await exchange(port, request("GET", "/json"))
    assert len(WRITES) == 2
    assert b"".join(WRITES) == answer


async def test_keep_alive_requests_each_one_write() -> None:
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        two = request("GET", "/json", close=False) + request("GET", "/json")
        answer = await exchange(port, two)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert len(WRITES) == 2
    assert all(write.startswith(b"HTTP/1.1 200 OK") and write.endswith(b"}") for write in WRITES)


async def test_head_and_no_content_answers_keep_their_heads() -> None:
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        head = await exchange(port, request("HEAD", "/json"))
        empty = await exchange(port, request("GET", "/empty"))
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.endswith(b"\r\n\r\n")
    assert b"content-length: 38" in head.lower()
    assert empty.startswith(b"HTTP/1.1 204 No Content\r\n")
    assert empty.endswith(b"\r\n\r\n")
    assert [head, empty] == WRITES


async def test_a_stream_sends_its_head_with_the_first_chunk() -> None:
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        answer = await exchange(port, request("GET", "/stream"))
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"transfer-encoding: chunked" in answer.lower()
    assert answer.endswith(b"4\r\none,\r\n4\r\ntwo,\r\n5\r\nthree\r\n0\r\n\r\n")
    assert WRITES[0].startswith(b"HTTP/1.1 200 OK")
    assert WRITES[0].endswith(b"4\r\none,\r\n")
    assert b"".join(WRITES) == answer


async def test_expect_continue_is_answered_at_once() -> None:
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        answer = await exchange(
            port, request("POST", "/upload", body=b"0123456789", extra="Expect: 100-continue\r\n"), interim=True
        )
    assert WRITES[0] == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert answer.endswith(b'{"received":10}')
    assert WRITES[1:] == [answer]


@pytest.mark.parametrize(
    "path",
    [
        "/fails",  # after its head, the app fails: nothing half-said is left behind
        "/bad-header",  # a header value uvicorn refuses to write (it holds a newline): nothing is written
    ],
)
async def test_a_response_cut_off_closes_the_connection(path: str) -> None:
    """The connection is closed with nothing written; the next connection is answered whole."""
    WRITES.clear()
    async with served(RecordedOneWrite) as port:
        answer = await exchange(port, request("GET", path, close=False))
        after = await exchange(port, request("GET", "/json"))
    assert answer == b""
    assert [after] == WRITES
    assert after.endswith(b'{"hospitalId":"300","amount":"271.80"}')
