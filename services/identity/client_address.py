"""The client address of the request being served, for counters kept per address (operators' logins).

A pure ASGI middleware sets it from the one answer the app trusts for addresses (api/addresses.py, given as
``resolve`` so this layer imports nothing from api/); resolvers read it with ``current_client_address()``.
Tasks started while serving the request (batched operations, concurrent fields) inherit it.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

_client_address: ContextVar[str | None] = ContextVar("hisgraph_client_address", default=None)

Scope = dict[str, Any]


def current_client_address() -> str | None:
    return _client_address.get()


class RememberClientAddress:
    """Sets the client address for the rest of the request (HTTP and WebSocket scopes)."""

    def __init__(self, app: Any, *, resolve: Callable[[Scope], str | None]) -> None:
        self.app = app
        self._resolve = resolve

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope.get("type") not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        token = _client_address.set(self._resolve(scope))
        try:
            await self.app(scope, receive, send)
        finally:
            _client_address.reset(token)
