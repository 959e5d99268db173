"""A hospital's reply is bounded: one that says it is too long is refused before it is read, and one that does
not say (chunked) is refused once it turns out too long; both with the same error (his_clients/transport.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from his_clients.transport import HttpJsonTransport, TransportProtocolError

LIMIT = 1000


def _reply(body: bytes, *, chunked: bool) -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    if chunked:
        pieces = [body[i : i + 300] for i in range(0, len(body), 300)]
        framed = b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in pieces) + b"0\r\n\r\n"
        return head + b"Transfer-Encoding: chunked\r\n\r\n" + framed
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


@pytest.fixture
async def hospital() -> AsyncIterator[str]:
    """A raw HTTP server: POST /<size>/<chunked|length> answers a JSON body of that many bytes."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                _, path, _ = lines[0].split(" ")
                length = next(int(line.split(":")[1]) for line in lines if line.lower().startswith("content-length"))
                await reader.readexactly(length)
                size, framing = path.strip("/").split("/")
                body = b'{"code":"10001","data":"' + b"x" * (int(size) - 26) + b'"}'
                writer.write(_reply(body, chunked=framing == "chunked"))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.close()


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_reply_within_the_bound_is_read_whole(hospital: str, framing: str) -> None:
    transport = HttpJsonTransport(max_reply_bytes=LIMIT)
    try:
        reply = await transport.post_json(f"{hospital}/{LIMIT}/{framing}", b"{}", timeout_s=5)
    finally:
        await transport.aclose()
    assert reply.status == 200
    assert len(reply.body) == LIMIT
    assert reply.body.startswith(b'{"code":"10001"')
    assert reply.body.endswith(b'"}')


@pytest.mark.parametrize("framing", ["length", "chunked"])
async def test_a_reply_over_the_bound_is_refused(hospital: str, framing: str) -> None:
    transport = HttpJsonTransport(max_reply_bytes=LIMIT)
    try:
        with pytest.raises(TransportProtocolError):
            await transport.post_json(f"{hospital}/{LIMIT + 1}/{framing}", b"{}", timeout_s=5)
        # The connection is not left half-read for the next call.
        reply = await transport.post_json(f"{hospital}/100/{framing}", b"{}", timeout_s=5)
    finally:
        await transport.aclose()
    assert len(reply.body) == 100
