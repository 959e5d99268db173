"""Real callers are sloppy with paths: ``//prefront/...`` (附二) and trailing slashes answer the same."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

_SLASHES = re.compile(r"/{2,}")


class NormalisePath:
    """Collapse repeated slashes and drop a trailing one before routing; never redirect."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            clean = _SLASHES.sub("/", path)
            if len(clean) > 1:
                clean = clean.rstrip("/")
            if clean != path:
                scope = dict(scope, path=clean, raw_path=clean.encode())
        await self.app(scope, receive, send)
