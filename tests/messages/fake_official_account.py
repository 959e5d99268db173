"""A local fake of the WeChat official account's token, template and customer-service APIs.

Tokens are ``tok-<n>``, valid 7200 s, and every earlier token stops working when a new one is fetched
(or when `expire_tokens` is called): a send with a stale one answers 40001. `fail_next` queues errcodes
the next sends answer instead of delivering; `down` answers HTTP 503 to everything. Deliveries are kept
in `received` (the JSON bodies as sent), so tests count what reached "WeChat".
"""

from __future__ import annotations

import threading
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

APPID = "wx-official-test"
SECRET = "official-secret"


class FakeOfficialAccount:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.token_fetches = 0
        self._current: str | None = None
        self.received: list[dict[str, Any]] = []
        self.rejected: list[int] = []
        self._failures: list[int] = []
        self.down = False
        self.app = Starlette(
            routes=[
                Route("/cgi-bin/token", self._token, methods=["GET"]),
                Route("/cgi-bin/message/template/send", self._template, methods=["POST"]),
                Route("/cgi-bin/message/custom/send", self._custom, methods=["POST"]),
            ]
        )

    def fail_next(self, *errcodes: int) -> None:
        with self._lock:
            self._failures.extend(errcodes)

    def expire_tokens(self) -> None:
        with self._lock:
            self._current = None

    def templates(self) -> list[dict[str, Any]]:
        return [body for body in self.received if "template_id" in body]

    async def _token(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status_code=503)
        query = request.query_params
        if query.get("grant_type") != "client_credential" or query.get("appid") != APPID:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        if query.get("secret") != SECRET:
            return JSONResponse({"errcode": 40125, "errmsg": "invalid appsecret"})
        with self._lock:
            self.token_fetches += 1
            self._current = f"tok-{self.token_fetches}"
            return JSONResponse({"access_token": self._current, "expires_in": 7200}, media_type="text/plain")

    async def _template(self, request: Request) -> Response:
        return await self._send(request)

    async def _custom(self, request: Request) -> Response:
        return await self._send(request)

    async def _send(self, request: Request) -> Response:
        if self.down:
            return Response("unavailable", status_code=503)
        body = await request.json()
        with self._lock:
            if request.query_params.get("access_token") != self._current or self._current is None:
                self.rejected.append(40001)
                return JSONResponse({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
            if self._failures:
                code = self._failures.pop(0)
                self.rejected.append(code)
                return JSONResponse({"errcode": code, "errmsg": f"fake failure {code}"})
            self.received.append(body)
            return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": len(self.received)})
