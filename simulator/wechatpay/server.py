"""Running the fake WeChat Pay: in a test's thread, or as a provider process that outlives a gateway.

The process (``python -m simulator.wechatpay``) adds what a chaos run needs beside WeChat's API:
the payer paying (``POST /admin/pay``), notifications delivered and re-sent by a Notifier, refunds
that settle by themselves, injected API failures, and WeChat's own ledger for the final checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .api import api_routes
from .fake import FakeWeChatPay, NotPayable
from .keys import FakeKeys, generate_keys
from .notifier import Notifier


@dataclass
class RunningFakeWeChatPay:
    fake: FakeWeChatPay
    port: int
    _server: uvicorn.Server
    _thread: threading.Thread

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)


def start_fake_wechatpay(keys: FakeKeys) -> RunningFakeWeChatPay:
    """Serve a fake WeChat Pay on a free loopback port in a daemon thread."""
    fake = FakeWeChatPay(keys=keys)
    config = uvicorn.Config(
        fake.app(), host="127.0.0.1", port=0, log_level="warning", lifespan="off", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), name="fake-wechatpay", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fake WeChat Pay did not start")
        time.sleep(0.01)
    port = next(sock.getsockname()[1] for listener in server.servers for sock in listener.sockets)
    return RunningFakeWeChatPay(fake=fake, port=port, _server=server, _thread=thread)


def provider_app(fake: FakeWeChatPay, notifier: Notifier) -> Starlette:
    """WeChat's API plus the provider process's /admin routes; the notifier runs with the app."""

    async def pay(request: Request) -> Response:
        out_trade_no = str((await request.json()).get("outTradeNo", ""))
        try:
            order, paid_now = fake.pay_once(out_trade_no)
        except NotPayable:
            return JSONResponse({"error": f"no open order {out_trade_no}"}, status_code=404)
        if paid_now and order.notification is not None:
            notifier.send(order.notify_url, order.notification, out_trade_no=out_trade_no)
        return JSONResponse({"outTradeNo": out_trade_no, "state": order.trade_state, "paidNow": paid_now})

    async def ledger(request: Request) -> Response:
        return JSONResponse(fake.ledger() | {"notifications": notifier.snapshot()})

    async def faults(request: Request) -> Response:
        statuses = [int(status) for status in (await request.json()).get("statuses", [])]
        fake.faults.extend(statuses)
        return JSONResponse({"queued": len(fake.faults)})

    async def clear_faults(request: Request) -> Response:
        fake.faults.clear()
        return JSONResponse({"queued": 0})

    async def settle_refunds(stop: asyncio.Event) -> None:
        """Refunds succeed by themselves; a refund that named a notify_url is told of (REFUND.SUCCESS)."""
        while not stop.is_set():
            for url, out_trade_no, notification in fake.take_refund_notifications():
                notifier.send(url, notification, out_trade_no=out_trade_no)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.2)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        stop = asyncio.Event()
        tasks = [asyncio.create_task(notifier.run(stop)), asyncio.create_task(settle_refunds(stop))]
        try:
            yield
        finally:
            stop.set()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)

    routes = [
        *api_routes(fake),
        Route("/admin/pay", pay, methods=["POST"]),
        Route("/admin/ledger", ledger, methods=["GET"]),
        Route("/admin/faults", faults, methods=["POST"]),
        Route("/admin/faults", clear_faults, methods=["DELETE"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def serve_provider(
    *,
    host: str,
    port: int,
    config_out: Path | None,
    schedule_scale: float,
    duplicate_rate: float,
    spread_s: float,
    refund_settles_after_s: float,
    seed: int | None,
) -> None:
    """Serve a provider process with fresh keys; print its URL and write the merchant's config."""
    keys = generate_keys()
    fake = FakeWeChatPay(keys=keys, refund_settles_after=timedelta(seconds=refund_settles_after_s))
    notifier = Notifier(
        fake, schedule_scale=schedule_scale, duplicate_rate=duplicate_rate, spread_s=spread_s, seed=seed
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    base_url = f"http://{host}:{sock.getsockname()[1]}"
    if config_out is not None:
        partial = config_out.with_suffix(".partial")
        partial.write_text(json.dumps(keys.merchant_config(base_url)), encoding="utf-8")
        partial.replace(config_out)  # readers never see half a file
    print(f"fake WeChat Pay on {base_url}", flush=True)
    config = uvicorn.Config(provider_app(fake, notifier), log_level="warning", lifespan="on")
    asyncio.run(uvicorn.Server(config).serve(sockets=[sock]))
