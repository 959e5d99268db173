"""GraphiQL without internet (issue 12 item 2): the page and its pinned assets, served by the gateway.

Strawberry's own GraphiQL page loads React, GraphiQL's JS and its CSS from a CDN, so on a hospital
intranet it stays blank. This page loads the same versions (api/static/graphiql/README.md names them)
from ``/graphql/static/<file>``, and nothing from anywhere else:

- The page carries a strict Content-Security-Policy: scripts, styles, fonts and requests from this
  origin only (GraphiQL's fonts are inlined ``data:`` URLs), no inline script, no frames, no forms.
- Each asset is named in the page with its content hash (``?v=<sha256 prefix>``), so it is served with
  ``Cache-Control: public, max-age=31536000, immutable``; a new version of a file gets a new URL.
- Each asset is sent gzip-compressed to a browser that accepts it (compressed once, when first asked for).
- Only the files listed in ``ASSETS`` are served, read once from the package (never a path from the
  request), with ``X-Content-Type-Options: nosniff``.

GraphiQL is a dev-mode tool: the gateway routes these only when GraphiQL is on (``Settings.dev``).
"""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

STATIC_DIR: Final = Path(__file__).resolve().parent / "static" / "graphiql"
STATIC_PREFIX: Final = "/graphql/static"

ASSETS: Final[dict[str, str]] = {
    "react.production.min.js": "text/javascript; charset=utf-8",
    "react-dom.production.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.js": "text/javascript; charset=utf-8",
    "graphiql.min.css": "text/css; charset=utf-8",
    "init.js": "text/javascript; charset=utf-8",
}
"""Every file served under ``STATIC_PREFIX``, with its media type."""

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "font-src 'self' data:",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ]
)
"""The page's policy: everything from the gateway itself, nothing inline, nothing from a CDN."""

IMMUTABLE: Final = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    body: bytes
    media_type: str
    version: str
    """The first 16 hex digits of the body's SHA-256: part of the URL the page names."""
    gzipped: bytes
    """The body gzip-compressed, for a browser that accepts it (graphiql.min.js: 3.5 MB, about 0.8 MB)."""


@cache
def asset(name: str) -> Asset:
    """One vendored file (KeyError for a name not in ``ASSETS``), read once."""
    media_type = ASSETS[name]
    body = (STATIC_DIR / name).read_bytes()
    return Asset(
        body=body,
        media_type=media_type,
        version=hashlib.sha256(body).hexdigest()[:16],
        gzipped=gzip.compress(body, compresslevel=9, mtime=0),
    )


def asset_url(name: str) -> str:
    return f"{STATIC_PREFIX}/{name}?v={asset(name).version}"


@cache
def page_html() -> str:
    """The GraphiQL page: the vendored assets by versioned URL, and no inline script or style."""
    scripts = "\n".join(
        f'    <script src="{asset_url(name)}"></script>'
        for name in ("react.production.min.js", "react-dom.production.min.js", "graphiql.min.js")
    )
    return f"""<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>hisgraph GraphiQL</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="{asset_url("graphiql.min.css")}">
{scripts}
  </head>
  <body>
    <div id="graphiql" class="graphiql-container">Loading GraphiQL…</div>
    <script src="{asset_url("init.js")}"></script>
  </body>
</html>
"""


def page_response() -> Response:
    """The GraphiQL page, with its Content-Security-Policy (the page itself is not cached: it is tiny)."""
    return HTMLResponse(
        page_html(),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
        },
    )


async def static_asset(request: Request) -> Response:
    """GET /graphql/static/{name}: one of ``ASSETS``, cached for a year; anything else is 404."""
    name = request.path_params["name"]
    if name not in ASSETS:
        return PlainTextResponse("not found", status_code=404)
    found = asset(name)
    etag = f'"{found.version}"'
    headers = {"Cache-Control": IMMUTABLE, "ETag": etag, "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(found.gzipped, media_type=found.media_type, headers={**headers, "Content-Encoding": "gzip"})
    return Response(found.body, media_type=found.media_type, headers=headers)


routes: Final = [Route(STATIC_PREFIX + "/{name}", static_asset, methods=["GET"])]
