"""What every request must be before any route runs: bounded, of the right kind, not from a foreign site.

``RequestGuard`` is a pure ASGI middleware in front of every route (after path normalisation). In order:

1. **Unknown shim paths.** ``/prefront/...`` that no route serves answers the spec's envelope (HTTP 404,
   code 40002), a method the path does not take HTTP 405 with the envelope (the WebService endpoint a SOAP
   Fault), never Starlette's plain text.
2. **Cross-site marks.** A state-changing request (anything but GET, HEAD, OPTIONS) with
   ``Sec-Fetch-Site: cross-site``, or with an ``Origin`` that is neither our own (the ``Host`` it was sent
   to, or ``public_base_url``) nor listed in ``Settings.allowed_origins``, is refused (HTTP 403) before
   anything runs. Servers (hospitals, WeChat Pay) send neither header.
3. **Body type.** Shims, /graphql and /payments/notify take ``application/json`` (any capitalisation, any
   parameters such as charset); the WebService endpoint ``text/xml`` or ``application/soap+xml``. Any other
   declared type is refused (HTTP 415): a browser's form (``text/plain``, urlencoded, multipart) never
   reaches a handler. A request declaring no type at all is taken only without ``Origin`` (a browser
   always sends Origin on a POST, so such a request is a server's).
4. **Body size**, before it is read: ``Content-Length`` over the route's limit is refused at once; a body
   without one (chunked) is read here, counting, up to the limit and refused as soon as it passes it, so a
   handler never holds more than the limit. Limits: WebService 2 MB, 21.1.x uploads 4 MB, other shims
   1 MB, /graphql 256 KB, /payments/notify 64 KB, anything else 64 KB. A refused shim call is recorded in
   the inbound ledger with its size and at most its first 512 bytes (masked), never whole.

Each refusal is in the route's own envelope: shims the spec's ``{success, msg, code, data}`` with a 附四
code (the shims' OpenAPI document lists them, from ``refusals_of_a_served_path``), /graphql a GraphQL error,
the WebService a SOAP Fault, /payments/notify WeChat's ``{code, message}``. The survey page (/survey/...)
takes its own form posts and checks their Origin itself (api/survey.py); here it is only bounded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Literal
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from his_clients.codes import ReturnCode

from .addresses import address_of
from .settings import Settings
from .shims.envelope import JsonEnvelope

log = logging.getLogger("hisgraph.guards")

Kind = Literal["shim", "upload", "soap", "graphql", "notify", "survey", "other"]

KB: Final = 1024
MB: Final = 1024 * KB
LIMITS: Final[dict[Kind, int]] = {
    "soap": 2 * MB,
    "upload": 4 * MB,
    "shim": 1 * MB,
    "graphql": 256 * KB,
    "notify": 64 * KB,
    "survey": 64 * KB,
    "other": 64 * KB,
}
JSON_TYPES: Final = frozenset({"application/json"})
XML_TYPES: Final = frozenset({"text/xml", "application/soap+xml"})
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
LEDGER_HEAD_BYTES: Final = 512
WEBSERVICE_PATH: Final = "/prefront/services/prefrontWebService"


def upload_paths() -> frozenset[str]:
    """The 21.1.x upload shims' paths (their lists of records may be larger than other shims' bodies)."""
    from .shims.registration_uploads import routes

    return frozenset(route.path for route in routes if isinstance(route, Route))


def kind_of(path: str, uploads: frozenset[str]) -> Kind:
    if path == WEBSERVICE_PATH:
        return "soap"
    if path in uploads:
        return "upload"
    if path == "/prefront" or path.startswith("/prefront/"):
        return "shim"
    if path == "/graphql":
        return "graphql"
    if path == "/payments/notify":
        return "notify"
    if path.startswith("/survey/"):
        return "survey"
    return "other"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: ReturnCode
    message: str
    graphql_code: str


BAD_LENGTH: Final = Refusal(400, ReturnCode.PARAMETER_FORMAT, "Content-Length 无效", "BAD_REQUEST")
CROSS_SITE: Final = Refusal(403, ReturnCode.UNAUTHORIZED, "跨站请求不能修改数据", "CROSS_SITE_REFUSED")
NO_SUCH_SHIM: Final = Refusal(404, ReturnCode.NOT_ALLOWED, "没有此接口", "NOT_FOUND")
WRONG_METHOD: Final = Refusal(405, ReturnCode.NOT_ALLOWED, "此接口只接受 POST 请求", "METHOD_NOT_ALLOWED")


def wrong_type(kind: Kind) -> Refusal:
    names = " 或 ".join(sorted(XML_TYPES if kind == "soap" else JSON_TYPES))
    return Refusal(415, ReturnCode.PARAMETER_FORMAT, f"Content-Type 应为 {names}", "UNSUPPORTED_MEDIA_TYPE")


def too_large(limit: int) -> Refusal:
    return Refusal(413, ReturnCode.PARAMETER_RANGE, f"请求体超过 {limit} 字节", "PAYLOAD_TOO_LARGE")


def refusals_of_a_served_path(kind: Kind, limits: dict[Kind, int] | None = None) -> tuple[Refusal, ...]:
    """What the guard may answer instead of a served shim (its wrong method, a cross-site mark, a wrong
    Content-Type, an invalid Content-Length, a body over the limit): api/openapi.py documents them."""
    limit = {**LIMITS, **(limits or {})}[kind]
    return (BAD_LENGTH, CROSS_SITE, WRONG_METHOD, too_large(limit), wrong_type(kind))


def refusal_response(kind: Kind, refusal: Refusal) -> Response:
    """The refusal in the envelope of the route it was meant for."""
    if kind in ("shim", "upload"):
        msg = f"{refusal.code.meaning}: {refusal.message}"
        body: dict[str, Any] = {"success": False, "msg": msg, "code": refusal.code.value, "data": None}
        if kind == "upload":  # 21.1.x answer {success, message, status} (api/shims/registration_uploads.py)
            body = {"success": False, "message": msg, "status": -1, "code": refusal.code.value}
        return JsonEnvelope(body, status_code=refusal.status)
    if kind == "soap":
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><soap:Fault>'
            f"<faultcode>soap:Client</faultcode><faultstring>{escape(refusal.message)}</faultstring>"
            "</soap:Fault></soap:Body></soap:Envelope>"
        )
        return Response(envelope, status_code=refusal.status, media_type="text/xml; charset=utf-8")
    if kind == "notify":
        return JSONResponse({"code": "FAIL", "message": refusal.message}, status_code=refusal.status)
    error = {"message": refusal.message, "extensions": {"code": refusal.graphql_code}}
    return JSONResponse({"errors": [error]}, status_code=refusal.status)


def media_type(scope: Scope) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == b"content-type":
            return str(value.decode("latin-1").split(";", 1)[0].strip().lower())
    return None


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return str(value.decode("latin-1").strip())
    return None


def _origin_of(url: str) -> str:
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    default = {"http": ":80", "https": ":443"}.get(parts.scheme.lower(), "")
    netloc = parts.netloc.lower()
    if default and netloc.endswith(default):
        netloc = netloc[: -len(default)]
    return f"{parts.scheme.lower()}://{netloc}"


class RequestGuard:
    """The ASGI middleware described in the module docstring."""

    def __init__(self, app: ASGIApp, *, settings: Settings, limits: dict[Kind, int] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.limits = {**LIMITS, **(limits or {})}
        self.allowed_origins = frozenset(_origin_of(o) for o in settings.allowed_origins) | {
            _origin_of(settings.public_base_url)
        }
        self._uploads: frozenset[str] | None = None

    @property
    def uploads(self) -> frozenset[str]:
        if self._uploads is None:
            self._uploads = upload_paths()
        return self._uploads

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = kind_of(scope["path"], self.uploads)
        refusal = self._unrouted(scope, kind) or self._cross_site(scope, kind) or self._wrong_type(scope, kind)
        if refusal is None:
            refusal, receive = await self._bounded(scope, receive, kind)
        if refusal is not None:
            await self._refuse(scope, kind, refusal, send, receive)
            return
        await self.app(scope, receive, send)

    def _unrouted(self, scope: Scope, kind: Kind) -> Refusal | None:
        if kind not in ("shim", "upload", "soap"):
            return None
        app = scope.get("app")
        router = getattr(app, "router", None)
        if router is None:
            return None
        partial = False
        for route in router.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return None
            partial = partial or match is Match.PARTIAL
        if partial:
            return WRONG_METHOD
        return NO_SUCH_SHIM

    def _cross_site(self, scope: Scope, kind: Kind) -> Refusal | None:
        if scope["method"] in SAFE_METHODS or kind == "survey":
            return None
        refusal = CROSS_SITE
        if (header(scope, b"sec-fetch-site") or "").lower() == "cross-site":
            return refusal
        origin = header(scope, b"origin")
        if origin is None:
            return None
        own = {_origin_of(f"{scope.get('scheme', 'http')}://{header(scope, b'host') or ''}")}
        if _origin_of(origin) in (self.allowed_origins | own) - {""}:
            return None
        return refusal

    def _wrong_type(self, scope: Scope, kind: Kind) -> Refusal | None:
        if scope["method"] in SAFE_METHODS or kind in ("survey", "other"):
            return None
        wanted = XML_TYPES if kind == "soap" else JSON_TYPES
        declared = media_type(scope)
        if declared is None and header(scope, b"origin") is None:
            return None
        if declared in wanted:
            return None
        return wrong_type(kind)

    def _too_large(self, kind: Kind) -> Refusal:
        return too_large(self.limits[kind])

    async def _bounded(self, scope: Scope, receive: Receive, kind: Kind) -> tuple[Refusal | None, Receive]:
        """Refuse by Content-Length, else read the body here, counting; a receive that hands it on."""
        limit = self.limits[kind]
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                return BAD_LENGTH, receive
            if int(declared) > limit:
                scope.setdefault("state", {})["hisgraph.body_size"] = int(declared)
                return self._too_large(kind), receive
        if scope["method"] in SAFE_METHODS and declared is None and header(scope, b"transfer-encoding") is None:
            return None, receive
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return None, _replaying([message], receive)  # the client left: let the app see it
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                scope.setdefault("state", {})["hisgraph.body_size"] = size
                scope["state"]["hisgraph.body_head"] = b"".join(chunks)[:LEDGER_HEAD_BYTES] or chunk[:LEDGER_HEAD_BYTES]
                return self._too_large(kind), receive
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        return None, _replaying([{"type": "http.request", "body": body, "more_body": False}], receive)

    async def _refuse(self, scope: Scope, kind: Kind, refusal: Refusal, send: Send, receive: Receive) -> None:
        log.warning(
            "request refused before routing",
            extra={
                "path": scope["path"][:200],
                "status": refusal.status,
                "reason": refusal.graphql_code,
                "client": address_of(scope, self.settings.trusted_proxies) or "",
            },
        )
        if kind in ("shim", "upload") and refusal.status == 413:
            await _record_oversize(scope, refusal)
        response = refusal_response(kind, refusal)
        response.headers["Connection"] = "close"
        await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """A receive that hands out ``messages`` first, then whatever the connection sends (a disconnect)."""
    queue = list(messages)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay


async def _record_oversize(scope: Scope, refusal: Refusal) -> None:
    """A refused oversized shim call in the inbound ledger: path, size and a bounded head, never the body."""
    from services.shims.ledger import ShimCall, record_call

    from .shims.validation import catalog

    app: Any = scope.get("app")
    services = getattr(getattr(app, "state", None), "services", None)
    if services is None:
        return
    state = scope.get("state") or {}
    head: bytes = state.get("hisgraph.body_head", b"")
    path = scope["path"][:200]
    section = _section_of(path, catalog)
    body = {"truncated": True, "bytes": state.get("hisgraph.body_size"), "head": head.decode("utf-8", "replace")}
    reply = {"success": False, "msg": refusal.message, "code": refusal.code.value, "data": None}
    call = ShimCall(section=section, path=path, hospital_id=None, body=body)
    await record_call(services.db, call, reply_code=refusal.code.value, reply=reply)


def _section_of(path: str, catalog: Callable[[], Any]) -> str:
    for entry in catalog():
        if entry["direction"] == "platform" and "/" + str(entry["http_path"]).strip("/") == path:
            return str(entry["section"])
    return "?"
