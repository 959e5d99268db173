"""The floor of bench/load.py: a bare Python fan-out with no GraphQL at all.

aiohttp on uvloop, ``--processes`` processes on one port (SO_REUSEPORT). ``POST /fanout`` with
``{"hospitals": ["300", ...], "medicalCardNumber": "..."}`` reads the body, calls each hospital's
queryWaitPay at once over one keep-alive pool per process, and writes their replies as a JSON list.
It is what every Python gateway pays on this harness before doing anything of its own.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import multiprocessing
import signal
import sys

WAIT_PAY = "hospital.interface.queryWaitPay"


def _die_with_parent() -> None:
    """Ended with the process that started it (bench/load.py stops that one): no orphan keeps the port and its
    CPU into the next server's rows (Linux; as api/cli.py's workers)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def serve(port: int, his_base: str) -> None:
    _die_with_parent()
    import aiohttp
    import uvloop
    from aiohttp import web

    async def start(app: web.Application) -> None:
        app["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))

    async def stop(app: web.Application) -> None:
        await app["session"].close()

    async def fanout(request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        session: aiohttp.ClientSession = request.app["session"]
        card = body["medicalCardNumber"]

        async def one(hospital_id: str) -> object:
            payload = json.dumps({"hospitalId": hospital_id, "medicalCardNumber": card}).encode()
            async with session.post(
                f"{his_base}/{hospital_id}/{WAIT_PAY}", data=payload, headers={"Content-Type": "application/json"}
            ) as reply:
                return json.loads(await reply.read())

        replies = await asyncio.gather(*(one(h) for h in body["hospitals"]))
        return web.Response(body=json.dumps(replies, ensure_ascii=False).encode(), content_type="application/json")

    app = web.Application()
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_post("/fanout", fanout)

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/healthz", healthz)
    uvloop.install()
    web.run_app(app, host="127.0.0.1", port=port, reuse_port=True, access_log=None, print=None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--his-base", required=True, help="e.g. http://127.0.0.1:9100/his")
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=serve, args=(args.port, args.his_base)) for _ in range(args.processes)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
