"""The operators' dashboard (issue 15, "the page"): ``/dashboard`` and its assets, served by the gateway.

The page is a client of the GraphQL API (``logInOperator``, ``operator { ... }``, ``resolveParkedOrder``,
``replayInboundCall``, ``disableOperator``, ``operatorLogout``): plain HTML, CSS and vanilla JavaScript modules
from ``api/static/dashboard/``, no build step and nothing from a CDN, so it works on a hospital intranet.

- The page carries a strict Content-Security-Policy: scripts, styles and requests from this origin only,
  no inline script or style, no frames (``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``), no forms
  posted anywhere, no referrer.
- Only the files listed in ``ASSETS`` are served, read once from the package (never a path from the request),
  with ``X-Content-Type-Options: nosniff``. They are small: each is revalidated by its ETag (``no-cache``), so
  a new version is picked up at once, the modules the entry module imports included.
- The session token lives in the tab's ``sessionStorage`` (never ``localStorage`` or a cookie): it goes with
  the tab, and no other site can make the browser send it.

The page is served in every mode: it holds no data, and every figure it shows comes through the operator API,
which checks the operator's role and scope on each request.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

STATIC_DIR: Final = Path(__file__).resolve().parent / "static" / "dashboard"
PAGE_PATH: Final = "/dashboard"
STATIC_PREFIX: Final = "/dashboard/static"

ASSETS: Final[dict[str, str]] = {
    "dashboard.css": "text/css; charset=utf-8",
    "main.js": "text/javascript; charset=utf-8",
    "api.js": "text/javascript; charset=utf-8",
    "ui.js": "text/javascript; charset=utf-8",
    "views.js": "text/javascript; charset=utf-8",
}
"""Every file served under ``STATIC_PREFIX``, with its media type."""

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""Everything from the gateway itself, nothing inline, nothing from a CDN, never inside a frame."""

SECURITY_HEADERS: Final = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    etag: str


@cache
def asset(name: str) -> Asset:
    """One of ``ASSETS`` (KeyError for any other name), read once."""
    media_type = ASSETS[name]
    body = (STATIC_DIR / name).read_bytes()
    return Asset(body=body, media_type=media_type, etag=f'"{hashlib.sha256(body).hexdigest()[:16]}"')


@cache
def page_html() -> str:
    """The page's shell: the stylesheet and the entry module; the rest is drawn by main.js."""
    css = f"{STATIC_PREFIX}/dashboard.css?v={asset('dashboard.css').etag.strip(chr(34))}"
    js = f"{STATIC_PREFIX}/main.js?v={asset('main.js').etag.strip(chr(34))}"
    return f"""<!doctype html>
<html lang="zh-CN">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>区域平台运营看板 · hisgraph</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{css}">
    <script type="module" src="{js}"></script>
  </head>
  <body>
    <div id="app"><p class="loading">正在加载运营看板…</p></div>
    <noscript>运营看板需要启用 JavaScript。</noscript>
  </body>
</html>
"""


async def page(request: Request) -> Response:
    """GET /dashboard: the page, with its Content-Security-Policy."""
    return HTMLResponse(page_html(), headers=SECURITY_HEADERS)


async def static_asset(request: Request) -> Response:
    """GET /dashboard/static/{name}: one of ``ASSETS``; anything else is 404."""
    name = request.path_params["name"]
    if name not in ASSETS:
        return PlainTextResponse("not found", status_code=404, headers={"X-Content-Type-Options": "nosniff"})
    found = asset(name)
    headers = {**SECURITY_HEADERS, "ETag": found.etag}
    if request.headers.get("if-none-match") == found.etag:
        return Response(status_code=304, headers=headers)
    return Response(found.body, media_type=found.media_type, headers=headers)


routes: Final = [
    Route(PAGE_PATH, page, methods=["GET"]),
    Route(STATIC_PREFIX + "/{name}", static_asset, methods=["GET"]),
]
