"""CPU per HIS call for each way of sending it, 50 calls at a time to a loopback server.

    .venv/bin/python bench/transport_cost.py [--rounds 200] [--uvloop]

The server is a bare asyncio protocol answering a fixed 3.1.1-sized JSON reply, so what is measured
is the client side. Each row: CPU microseconds per call (process time / calls) and wall time per
round of 50 concurrent calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport as HttpxAiohttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from his_clients.aiohttp_transport import AiohttpTransport
from his_clients.lean_http import LeanPool

WIDTH = 50
BODY = json.dumps(
    {
        "success": True,
        "msg": "成功",
        "code": "10001",
        "data": {
            "amount": "23.50",
            "detail": [{"id": str(i), "item": "阿莫西林", "itemAmount": "2.50"} for i in range(9)],
        },
    },
    ensure_ascii=False,
).encode()
REPLY = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(BODY), BODY)
REQUEST = json.dumps({"hospitalId": "253", "medicalCardNumber": "001000056254587"}).encode()
HEADERS = {"Content-Type": "application/json; charset=utf-8"}


class FixedReply(asyncio.Protocol):
    """Answers every HTTP/1.1 request on the connection with REPLY (keep-alive)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not asyncio's classes
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, rest = self.buffer.split(b"\r\n\r\n", 1)
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if len(rest) < length:
                return
            self.buffer = rest[length:]
            self.transport.write(REPLY)


async def measure(name: str, send: Callable[[int], Awaitable[bytes]], rounds: int) -> None:
    for _ in range(5):
        await asyncio.gather(*(send(i) for i in range(WIDTH)))
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        replies = await asyncio.gather(*(send(i) for i in range(WIDTH)))
        assert all(reply == BODY for reply in replies)
    cpu_us = (time.process_time() - cpu) / rounds / WIDTH * 1e6
    wall_ms = (time.perf_counter() - wall) / rounds * 1e3
    print(f"| {name} | {cpu_us:.0f} us | {wall_ms:.2f} ms |", flush=True)


async def main(rounds: int) -> None:
    server = await asyncio.get_running_loop().create_server(FixedReply, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/his"
    urls = [f"{base}/{i}/hospital.interface.queryWaitPay" for i in range(WIDTH)]
    print("| client | CPU per call | wall per round of 50 |\n|---|---:|---:|")

    async with aiohttp.ClientSession() as session:

        async def raw(i: int) -> bytes:
            async with session.post(urls[i], data=REQUEST, headers=HEADERS) as reply:
                return await reply.read()

        await measure("aiohttp, plain", raw, rounds)

    pools = [LeanPool() for _ in range(WIDTH)]
    header_items = list(HEADERS.items())

    async def lean(i: int) -> bytes:
        return (await pools[i].post(urls[i], REQUEST, header_items, 1 << 24))[2]

    await measure("his_clients.lean_http (the lean backend, what HttpJsonTransport posts with)", lean, rounds)
    for pool in pools:
        await pool.aclose()

    ours = [AiohttpTransport() for _ in range(WIDTH)]
    parsed = [httpx.URL(u) for u in urls]

    async def direct(i: int) -> bytes:
        response = await ours[i].handle_async_request(
            httpx.Request("POST", parsed[i], content=REQUEST, headers=HEADERS)
        )
        return await response.aread()

    await measure("httpx.Request to our aiohttp transport (what HisClient does)", direct, rounds)

    variants: list[tuple[str, list[httpx.AsyncClient]]] = [
        ("httpx.AsyncClient over our aiohttp transport", [httpx.AsyncClient(transport=t) for t in ours]),
        ("httpx.AsyncClient over httpx-aiohttp", [httpx.AsyncClient(transport=HttpxAiohttpTransport()) for _ in urls]),
        ("httpx.AsyncClient (httpcore), one per upstream", [httpx.AsyncClient() for _ in urls]),
    ]
    shared = httpx.AsyncClient(limits=httpx.Limits(max_connections=200))
    variants.append(("httpx.AsyncClient (httpcore), one shared", [shared] * WIDTH))
    for name, clients in variants:

        async def via_client(i: int, clients: list[httpx.AsyncClient] = clients) -> bytes:
            return (await clients[i].post(urls[i], content=REQUEST, headers=HEADERS)).content

        await measure(name, via_client, rounds)
        for client in {id(c): c for c in clients}.values():
            await client.aclose()
    server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--uvloop", action="store_true")
    args = parser.parse_args()
    if args.uvloop:
        import uvloop

        uvloop.install()
    asyncio.run(main(args.rounds))
