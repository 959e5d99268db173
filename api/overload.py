"""Refusing fast when the event loop lags: 503 with ``Retry-After`` rather than queueing (issue 13 item 3).

When the loop runs its callbacks later than ``Settings.overload_max_lag_ms`` (resilience.LoopLag: a timer
noting how late it fires, a stall still going on counting at once), a new request is answered at once with
503, ``Retry-After`` and the GraphQL-shaped error ``GATEWAY_BUSY``, before any body is read, any session
checked or any hospital called: the requests already accepted keep the loop and finish, so their slow-down
is bounded instead of every request waiting behind every other. The health endpoints always answer, so an
orchestrator does not restart a worker for being busy.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from his_clients.resilience import loop_lag

EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
"""Always served, however busy: liveness, readiness and the metrics operators watch the overload with."""

BUSY_MESSAGE = "服务繁忙，请稍后再试。"
BUSY_BODY = json.dumps(
    {"errors": [{"message": BUSY_MESSAGE, "extensions": {"code": "GATEWAY_BUSY"}}]}, ensure_ascii=False
).encode()


PRODUCTION_MAX_LAG_MS = 1000.0
"""The bound in production when the setting leaves it open: a second of lag is a loop far behind its work."""


def overload_max_lag_s(setting_ms: float | None, *, production: bool) -> float:
    """The bound in seconds from ``Settings.overload_max_lag_ms`` (None: production's default, off in dev)."""
    if setting_ms is None:
        return PRODUCTION_MAX_LAG_MS / 1000 if production else 0.0
    return setting_ms / 1000


class LoopLagGuard:
    """ASGI middleware: 503 + ``Retry-After`` for a new HTTP request while the loop lags beyond ``max_lag_s``."""

    def __init__(self, app: ASGIApp, *, max_lag_s: float, retry_after_s: int = 1) -> None:
        self.app = app
        self.max_lag_s = max_lag_s
        self._headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(BUSY_BODY)).encode()),
            (b"retry-after", str(retry_after_s).encode()),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and self.max_lag_s > 0
            and scope["path"] not in EXEMPT_PATHS
            and loop_lag().lag_s() > self.max_lag_s
        ):
            await send({"type": "http.response.start", "status": 503, "headers": self._headers})
            await send({"type": "http.response.body", "body": BUSY_BODY})
            return
        await self.app(scope, receive, send)
