"""A local fake of the WeChat official account's token, template and customer-service APIs.

Tokens come from ``POST /cgi-bin/stable_token`` as WeChat documents it: JSON body only, and in normal
mode (``force_refresh`` false) the token in force is returned with its remaining life, a new ``tok-<n>``
only in its last five minutes (by the test's clock), the old one still accepted until it expires;
``force_refresh`` true issues a new one and invalidates the old at once. ``cgi-bin/token`` (the legacy
call another system of the account may use) issues tokens of its own that never touch the stable one.
`expire_tokens` invalidates everything: a send with a stale token answers 40001. `fail_next` queues
errcodes the next sends answer instead of delivering. `raw_bodies` keeps the bytes of every send.

Like WeChat, a template send carrying ``client_msg_id`` is delivered once per openid and client_msg_id
within `dedupe_window_s` (10 minutes): a repeat is answered ``errcode 0`` with the first msgid (or
`duplicate_errcode`, e.g. 45065) and delivers nothing. Deliveries are kept in `received` (the JSON
bodies), repeats in `duplicates`; `delivered_per_key` counts deliveries per client_msg_id, so tests
assert "exactly once per dedupe key" on what the fake actually delivered.

Being down: `down` answers HTTP 503 to everything; `FakeServer.stop()` closes the port (connection
refused) and `start()` opens it again on the same port. Losing answers: `drop_answers` (deliver, then
cut the connection mid-answer) and `hold_s` (deliver, then answer only after that many seconds) make
the caller unsure whether its message went out.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from services.payments.clock import Clock, SystemClock

APPID = "wx-official-test"
SECRET = "official-secret"


class DroppedAnswer(Response):
    """Starts a 200 answer, sends part of it, and gives up: the client sees the connection cut."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b'{"errcode": 0', "more_body": True})
        raise ConnectionAbortedError("the fake cuts the connection after delivering")


class FakeOfficialAccount:
    def __init__(self, *, dedupe_window_s: float = 600.0, clock: Clock | None = None) -> None:
        self._lock = threading.Lock()
        self._clock = clock or SystemClock()
        self.token_fetches = 0
        """Tokens issued by stable_token (normal calls answered with the token in force do not count)."""
        self.stable_token_calls: list[dict[str, Any]] = []
        self.raw_bodies: list[tuple[str, bytes]] = []
        """(Content-Type, body bytes) of every send, as they came over the wire."""
        self._valid: dict[str, datetime] = {}
        """Every token a send may use, with when it expires."""
        self._current: str | None = None
        self._legacy_tokens = 0
        self.received: list[dict[str, Any]] = []
        self.duplicates: list[dict[str, Any]] = []
        self.rejected: list[int] = []
        self._failures: list[int] = []
        self._first_delivery: dict[tuple[str, str], tuple[float, int]] = {}
        self.dedupe_window_s = dedupe_window_s
        self.duplicate_errcode = 0
        self.down = False
        self.drop_answers = 0
        self.hold_s = 0.0
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/stable_token", self._stable_token, methods=["POST"]),
                Route("/cgi-bin/token", self._legacy_token, methods=["GET"]),
                Route("/cgi-bin/message/template/send", self._send, methods=["POST"]),
                Route("/cgi-bin/message/custom/send", self._send, methods=["POST"]),
            ]
        )

    def fail_next(self, *errcodes: int) -> None:
        with self._lock:
            self._failures.extend(errcodes)

    def expire_tokens(self) -> None:
        with self._lock:
            self._current = None
            self._valid.clear()

    def templates(self) -> list[dict[str, Any]]:
        return [body for body in self.received if "template_id" in body]

    def delivered_per_key(self) -> Counter[str]:
        """Deliveries per client_msg_id (messages sent without one are not counted here)."""
        return Counter(str(body["client_msg_id"]) for body in self.received if body.get("client_msg_id"))

    async def _stable_token(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status_code=503)
        if request.query_params:
            return JSONResponse({"errcode": 40097, "errmsg": "invalid args: stable_token takes a JSON body only"})
        body = await request.json()
        self.stable_token_calls.append({k: v for k, v in body.items() if k != "secret"})
        if body.get("grant_type") != "client_credential" or body.get("appid") != APPID:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if body.get("secret") != SECRET:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        now = self._clock.now()
        with self._lock:
            expires_at = self._valid.get(self._current) if self._current else None
            if body.get("force_refresh") is True:
                self._valid.pop(self._current or "", None)  # force mode: the old token stops at once
            elif expires_at is not None and expires_at - now > timedelta(minutes=5):
                remaining = int((expires_at - now).total_seconds())
                return JSONResponse({"access_token": self._current, "expires_in": remaining})
            self.token_fetches += 1
            self._current = f"tok-{self.token_fetches}"
            self._valid[self._current] = now + timedelta(seconds=7200)
            return JSONResponse({"access_token": self._current, "expires_in": 7200}, media_type="text/plain")

    async def _legacy_token(self, request: Request) -> Response:
        """cgi-bin/token, as another system of the same account calls it: tokens apart from the stable one."""
        with self._lock:
            self._legacy_tokens += 1
            return JSONResponse({"access_token": f"legacy-{self._legacy_tokens}", "expires_in": 7200})

    async def _send(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status_code=503)
        raw = await request.body()
        body = await request.json()
        token = request.query_params.get("access_token") or ""
        with self._lock:
            self.raw_bodies.append((request.headers.get("content-type", ""), raw))
            expires_at = self._valid.get(token)
            if expires_at is None or expires_at <= self._clock.now():
                self.rejected.append(40001)
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            if self._failures:
                code = self._failures.pop(0)
                self.rejected.append(code)
                return JSONResponse({"errcode": code, "errmsg": f"fake failure {code}"})
            key = (str(body.get("touser")), str(body["client_msg_id"])) if body.get("client_msg_id") else None
            first = self._first_delivery.get(key) if key is not None else None
            if first is not None and time.monotonic() - first[0] < self.dedupe_window_s:
                self.duplicates.append(body)
                if self.duplicate_errcode:
                    return JSONResponse({"errcode": self.duplicate_errcode, "errmsg": "clientmsgid exist"})
                return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": first[1]})
            self.received.append(body)
            msgid = len(self.received)
            if key is not None:
                self._first_delivery[key] = (time.monotonic(), msgid)
            drop = self.drop_answers > 0
            if drop:
                self.drop_answers -= 1
            hold_s = self.hold_s
        if drop:
            return DroppedAnswer()
        if hold_s:
            await asyncio.sleep(hold_s)
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": msgid})


class FakeServer:
    """Serves the fake on a loopback port that survives `stop()` / `start()` (connection refused between)."""

    def __init__(self, official: FakeOfficialAccount) -> None:
        self.official = official
        self._app = official.app
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        config = uvicorn.Config(self._app, host="127.0.0.1", port=self.port, log_level="critical", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fake-official-account", daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("fake official account did not start")
            time.sleep(0.01)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = self._thread = None
