"""The lean HTTP/1.1 client (his_clients/lean_http.py) against real sockets: servers on loopback that answer
the way hospitals' servers do, well and badly. What reaches the wire, how a reply is framed and bounded, when a
connection is reused and when it never is."""

from __future__ import annotations

import asyncio
import contextvars
import datetime
import gc
import gzip
import ipaddress
import pathlib
import socket
import ssl
import threading
import time
import weakref
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from his_clients.lean_http import LeanPool, LeanProtocolError, ReplyTooLarge
from his_clients.transport import HttpJsonTransport, TransportConnectError, TransportProtocolError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, "Upstream"], Awaitable[None]]
LIMIT = 1 << 20
JSON = [("Content-Type", "application/json; charset=utf-8")]


@dataclass
class Upstream:
    url: str
    connections: int = 0
    requests: list[bytes] = field(default_factory=list)


async def read_request(reader: asyncio.StreamReader, upstream: Upstream) -> bytes | None:
    """One request (head and Content-Length body) as it came, or None at EOF."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    raw = head + await reader.readexactly(length)
    upstream.requests.append(raw)
    return raw


@asynccontextmanager
async def upstream(handler: Handler) -> AsyncIterator[Upstream]:
    state = Upstream(url="")
    tasks: set[asyncio.Task[None]] = set()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.connections += 1
        tasks.add(asyncio.current_task())  # type: ignore[arg-type]
        try:
            await handler(reader, writer, state)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # a client that hung up, or the test's end
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    state.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/his/253/hospital.interface.queryWaitPay"
    try:
        yield state
    finally:
        server.close()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def reply(body: bytes, *extra: str, status: str = "200 OK") -> bytes:
    head = [f"HTTP/1.1 {status}", "Content-Type: application/json", f"Content-Length: {len(body)}", *extra]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def keep_answering(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
    """A well-behaved keep-alive server: each request answered with its own number."""
    while await read_request(reader, state) is not None:
        writer.write(reply(b'{"n": %d}' % len(state.requests)))
        await writer.drain()


async def test_what_reaches_the_wire_and_one_connection_serves_each_call_in_turn() -> None:
    async with upstream(keep_answering) as up:
        pool = LeanPool()
        bodies = [await pool.post(up.url, b'{"a": 1}', JSON, LIMIT) for _ in range(3)]
        await pool.aclose()
    assert bodies == [(200, "application/json", b'{"n": %d}' % n) for n in (1, 2, 3)]
    assert up.connections == 1  # kept alive
    port = up.url.split(":")[2].split("/")[0]
    head, _, body = up.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /his/253/hospital.interface.queryWaitPay HTTP/1.1"
    assert f"Host: 127.0.0.1:{port}" in lines
    assert "Content-Length: 8" in lines
    assert "Content-Type: application/json; charset=utf-8" in lines
    assert not any(line.lower().startswith("accept-encoding") for line in lines)  # replies come uncompressed
    assert body == b'{"a": 1}'


async def test_a_chunked_reply_written_a_byte_at_a_time_is_read_whole() -> None:
    payload = '{"msg": "成功", "data": [' + ", ".join(str(i) for i in range(200)) + "]}"

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        data = payload.encode()
        wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        for start in range(0, len(data), 100):
            piece = data[start : start + 100]
            wire += b"%x\r\n%s\r\n" % (len(piece), piece)
        wire += b"0\r\n\r\n"
        for i in range(len(wire)):
            writer.write(wire[i : i + 1])
            if i % 64 == 0:
                await writer.drain()
                await asyncio.sleep(0)
        await writer.drain()
        await read_request(reader, state)

    async with upstream(chunked) as up:
        pool = LeanPool()
        status, _, body = await pool.post(up.url, b"{}", JSON, LIMIT)
        await pool.aclose()
    assert status == 200
    assert body.decode() == payload


async def test_a_reply_that_runs_to_the_close_ends_there_and_its_connection_is_not_reused() -> None:
    async def http10(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"code": "10001"}')
        await writer.drain()

    async with upstream(http10) as up:
        pool = LeanPool()
        first = await pool.post(up.url, b"{}", JSON, LIMIT)
        second = await pool.post(up.url, b"{}", JSON, LIMIT)
        await pool.aclose()
    assert first == second == (200, "application/json", b'{"code": "10001"}')
    assert up.connections == 2


async def test_connection_close_is_honoured_and_an_idle_connection_the_server_closed_is_not_used() -> None:
    async def close_after_one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(reply(b"{}", "Connection: close"))
        await writer.drain()

    async with upstream(close_after_one) as up:
        pool = LeanPool()
        for _ in range(3):
            assert (await pool.post(up.url, b"{}", JSON, LIMIT))[0] == 200
        await pool.aclose()
    assert up.connections == 3

    async def one_then_hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(reply(b"{}"))  # keep-alive said, then closed while idle (a server's idle timeout)
        await writer.drain()

    async with upstream(one_then_hang_up) as up:
        pool = LeanPool()
        await pool.post(up.url, b"{}", JSON, LIMIT)
        await asyncio.sleep(0.05)  # the close reaches the client
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[0] == 200
        await pool.aclose()
    assert up.connections == 2


async def test_an_interim_reply_is_skipped_and_a_redirect_is_returned_as_it_is() -> None:
    async def interim(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + reply(b'{"ok": 1}'))
        await read_request(reader, state)
        writer.write(reply(b"", "Location: http://elsewhere.example/", status="302 Found"))
        await writer.drain()
        await read_request(reader, state)

    async with upstream(interim) as up:
        pool = LeanPool()
        assert await pool.post(up.url, b"{}", JSON, LIMIT) == (200, "application/json", b'{"ok": 1}')
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[0] == 302
        await pool.aclose()


async def test_compressed_replies_are_inflated_within_the_same_bound() -> None:
    data = b'{"data": "' + b"x" * 5000 + b'"}'
    bomb = gzip.compress(b"0" * (LIMIT * 8))  # ~8 KB that inflates to 8 MiB

    async def compressed(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(reply(gzip.compress(data), "Content-Encoding: gzip"))
        await read_request(reader, state)
        writer.write(reply(zlib.compress(data), "Content-Encoding: deflate"))
        await read_request(reader, state)
        writer.write(reply(bomb, "Content-Encoding: gzip"))
        await writer.drain()
        await read_request(reader, state)

    async with upstream(compressed) as up:
        pool = LeanPool()
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == data
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == data
        with pytest.raises(ReplyTooLarge):
            await pool.post(up.url, b"{}", JSON, LIMIT)
        await pool.aclose()


async def test_a_reply_past_the_bound_is_refused_before_it_is_read_whole() -> None:
    said_too_much = asyncio.Event()

    async def huge(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n")  # then never sends it
        await writer.drain()
        said_too_much.set()
        await read_request(reader, state)

    async def endless_chunks(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        piece = b"y" * 65536
        while True:  # until the client hangs up
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            await writer.drain()

    for handler in (huge, endless_chunks):
        async with upstream(handler) as up:
            pool = LeanPool()
            async with asyncio.timeout(20):  # refused as the bytes come, not after a timeout
                with pytest.raises(ReplyTooLarge):
                    await pool.post(up.url, b"{}", JSON, LIMIT)
            await pool.aclose()


@pytest.mark.parametrize(
    "answer",
    [
        b"hello, this is not HTTP\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789",  # then closes: cut short
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 70000 + b"\r\nContent-Length: 2\r\n\r\n{}",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"",  # closed without a word
    ],
    ids=["not-http", "cut-short", "headers-too-large", "upgrade", "silent-close"],
)
async def test_a_reply_no_reading_can_use_fails_the_call_and_never_its_successor(answer: bytes) -> None:
    async def bad_then_good(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        if len(state.requests) == 1:
            writer.write(answer)
            await writer.drain()
            return  # and close
        writer.write(reply(b'{"n": 2}'))
        await writer.drain()

    async with upstream(bad_then_good) as up:
        pool = LeanPool()
        with pytest.raises((LeanProtocolError, ConnectionError)):
            await pool.post(up.url, b"{}", JSON, LIMIT)
        assert await pool.post(up.url, b"{}", JSON, LIMIT) == (200, "application/json", b'{"n": 2}')
        await pool.aclose()
    assert up.connections == 2


async def test_a_cancelled_call_never_leaves_its_late_reply_to_the_next_call() -> None:
    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        while await read_request(reader, state) is not None:
            n = len(state.requests)
            if n == 1:
                await asyncio.sleep(0.3)
            writer.write(reply(b'{"n": %d}' % n))
            await writer.drain()

    async with upstream(slow_first) as up:
        pool = LeanPool()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.05):  # the hospital's clock cancels the call
                await pool.post(up.url, b"{}", JSON, LIMIT)
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == b'{"n": 2}'
        await asyncio.sleep(0.4)  # the first call's late reply arrives (on the closed connection, if anywhere)
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == b'{"n": 3}'
        await pool.aclose()
    assert up.connections == 2


async def test_no_more_connections_than_the_pool_allows_and_every_waiting_call_is_served() -> None:
    open_now = 0
    most = 0

    async def counted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        nonlocal open_now, most
        open_now += 1
        most = max(most, open_now)
        try:
            while await read_request(reader, state) is not None:
                n = len(state.requests)
                await asyncio.sleep(0.01)
                writer.write(reply(b'{"n": %d}' % n))
                await writer.drain()
        finally:
            open_now -= 1

    async with upstream(counted) as up:
        pool = LeanPool(max_connections=2)
        replies = await asyncio.gather(*(pool.post(up.url, b"{}", JSON, LIMIT) for _ in range(12)))
        # A call cancelled while it waits for a connection gives its turn to the next one.
        waiting = [asyncio.ensure_future(pool.post(up.url, b"{}", JSON, LIMIT)) for _ in range(4)]
        await asyncio.sleep(0)
        waiting[2].cancel()
        done = await asyncio.gather(*waiting, return_exceptions=True)
        await pool.aclose()
    assert sorted(int(body[6:-1]) for _status, _type, body in replies) == list(range(1, 13))
    assert isinstance(done[2], asyncio.CancelledError)
    assert all(isinstance(result, tuple) and result[0] == 200 for i, result in enumerate(done) if i != 2)
    assert most <= 2
    assert up.connections <= 2


async def test_bytes_after_the_reply_keep_its_connection_from_being_reused() -> None:
    async def chatty(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        while await read_request(reader, state) is not None:
            writer.write(reply(b"{}") + b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle")
            await writer.drain()

    async with upstream(chatty) as up:
        pool = LeanPool()
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == b"{}"
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[2] == b"{}"  # not "smuggle"
        await pool.aclose()
    assert up.connections == 2


async def test_a_header_cannot_carry_a_line_break_onto_the_wire() -> None:
    async with upstream(keep_answering) as up:
        pool = LeanPool()
        with pytest.raises(ValueError, match="line break"):
            await pool.post(up.url, b"{}", [("X-Trace", "a\r\nInjected: 1")], LIMIT)
        await pool.aclose()
    assert up.requests == []


async def test_the_transport_turns_the_clients_failures_into_its_own() -> None:
    """Through HttpJsonTransport (what HisClient and the SOAP transport post with): a refused connection is
    a connect error, an unusable or oversized reply a protocol error, as with the aiohttp backend."""

    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(b"SSH-2.0-OpenSSH_9.2\r\n\r\n")
        await writer.drain()

    transport = HttpJsonTransport(backend="lean", max_reply_bytes=100)
    async with upstream(garbage) as up:
        with pytest.raises(TransportProtocolError):
            await transport.post_json(up.url, b"{}", timeout_s=5)
    async with upstream(keep_answering) as up:
        assert (await transport.post_json(up.url, b"{}", timeout_s=5)).body == b'{"n": 1}'
        closed_port = up.url
    with pytest.raises(TransportConnectError):
        await transport.post_json(closed_port, b"{}", timeout_s=5)  # the server is gone: refused

    async def oversized(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, state: Upstream) -> None:
        await read_request(reader, state)
        writer.write(reply(b"z" * 101))
        await writer.drain()

    async with upstream(oversized) as up:
        with pytest.raises(TransportProtocolError, match="exceeds 100 bytes"):
            await transport.post_json(up.url, b"{}", timeout_s=5)
    await transport.aclose()


def certificate_authority(tmp: pathlib.Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A CA and a certificate it signs for 127.0.0.1: (the server's context, a client context trusting the CA)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hisgraph test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (tmp / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (tmp / "leaf.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(tmp / "leaf.pem", tmp / "leaf.key")
    client = ssl.create_default_context(cadata=ca.public_bytes(serialization.Encoding.PEM).decode())
    return server, client


async def test_https_is_verified_and_spoken(tmp_path: pathlib.Path) -> None:
    """Over TLS the hospital's certificate is checked: one its CA signed is spoken to; by default (the
    system's CAs) the same self-made certificate is refused before anything is sent."""
    server_context, trusting = certificate_authority(tmp_path)
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state = Upstream(url="")
        try:
            while (raw := await read_request(reader, state)) is not None:
                received.append(raw)
                writer.write(reply(b'{"tls": true}'))
                await writer.drain()
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0, ssl=server_context)
    url = f"https://127.0.0.1:{server.sockets[0].getsockname()[1]}/his/253/m"
    try:
        pool = LeanPool(ssl_context=trusting)
        assert await pool.post(url, b"{}", JSON, LIMIT) == (200, "application/json", b'{"tls": true}')
        assert await pool.post(url, b"{}", JSON, LIMIT) == (200, "application/json", b'{"tls": true}')
        await pool.aclose()
        transport = HttpJsonTransport(backend="lean")
        with pytest.raises(TransportConnectError, match=r"(?i)certificate"):
            await transport.post_json(url, b"{}", timeout_s=5)
        await transport.aclose()
    finally:
        server.close()
    assert len(received) == 2
    assert received[0].startswith(b"POST /his/253/m HTTP/1.1\r\n")


async def test_an_idle_connection_the_server_closed_while_the_loop_was_busy_is_not_written_to() -> None:
    """A server closing an idle keep-alive connection on its own clock (uvicorn's 5 s, Tomcat's 20 s), while this
    loop is too busy to have seen the close: the next call must not be written onto it (it would fail, and a
    POST is never sent again), but onto a new connection. The server is a thread, so it closes while the loop
    is blocked."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    accepted: list[socket.socket] = []

    def serve() -> None:
        for _ in range(2):
            conn, _ = listener.accept()
            accepted.append(conn)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            conn.sendall(reply(b'{"n": %d}' % len(accepted)))  # keep-alive said...
            if len(accepted) == 1:
                conn.close()  # ...then closed at once, as an idle timeout would

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    url = f"http://127.0.0.1:{port}/his/253/m"
    pool = LeanPool()
    try:
        assert (await pool.post(url, b"{}", JSON, LIMIT))[2] == b'{"n": 1}'
        time.sleep(0.2)  # the loop is busy (blocked): the server's close arrives unseen
        assert (await pool.post(url, b"{}", JSON, LIMIT))[2] == b'{"n": 2}'
    finally:
        await pool.aclose()
        listener.close()
        for conn in accepted:
            conn.close()
        server.join(timeout=5)
    assert len(accepted) == 2


REQUEST_STATE: contextvars.ContextVar[object] = contextvars.ContextVar("request_state")


async def test_a_pooled_connection_holds_nothing_of_the_request_that_opened_it() -> None:
    """A transport runs its callbacks in the context it was made in, for as long as it lives: a connection opened in
    a request's context kept that request (everything its context variables reached) alive while it stayed pooled.
    Connections are opened in a context of their own."""

    class RequestState:
        pass

    async with upstream(keep_answering) as up:
        pool = LeanPool()

        async def one_request() -> weakref.ref[RequestState]:
            state = RequestState()
            REQUEST_STATE.set(state)
            assert (await pool.post(up.url, b"{}", JSON, LIMIT))[0] == 200
            return weakref.ref(state)

        opened_by = await asyncio.create_task(one_request(), context=contextvars.Context())
        await asyncio.sleep(0)  # the loop lets go of the handle that woke this task (it holds the finished one)
        gc.collect()
        assert opened_by() is None  # the request is over: nothing holds what it held
        assert (await pool.post(up.url, b"{}", JSON, LIMIT))[0] == 200
        await pool.aclose()
    assert up.connections == 1  # the same connection, pooled all along
