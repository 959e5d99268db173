"""The frame every catalog-driven shim shares: authenticate, validate against the spec, record, answer.

``platform_shim(section)`` wraps an action ``(request, call, fields) -> Response``: the caller is
authenticated (``envelope.shim``), the body checked against the section's parameter table
(``validation.validate``: 20001-20004), the body's hospitalId checked to be the caller's (50001), and
every refusal recorded in the inbound ledger. The action records its own success (in the transaction
that does the work). ``success_reply`` is the entry's own reply shape.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from his_clients.codes import ReturnCode
from services.shims.ledger import ShimCall, record_call
from store.models import utcnow

from .auth import caller_of
from .envelope import JsonEnvelope, ShimError, read_body, shim
from .validation import platform_entry, validate

Action = Callable[[Request, ShimCall, dict[str, Any]], Awaitable[Response]]
_NO_DATA = object()


def route_path(section: str) -> str:
    """The shim's path as routed: the catalog's http_path with a leading slash."""
    return "/" + str(platform_entry(section)["http_path"]).strip("/")


def success_reply(section: str, data: Any = _NO_DATA) -> dict[str, Any]:
    """The entry's success reply: its example's msg and code (as the example types it), and data when
    the example or the response table has one."""
    entry = platform_entry(section)
    example: dict[str, Any] = entry["response_example"] or {}
    reply: dict[str, Any] = {
        "success": True,
        "msg": example.get("msg", "成功"),
        "code": example.get("code", ReturnCode.SUCCESS.value),
    }
    has_data = "data" in example or any(f["name"] == "data" for f in entry["response_fields"])
    if has_data or data is not _NO_DATA:
        reply["data"] = None if data is _NO_DATA else data
    return reply


def reply_response(reply: dict[str, Any]) -> Response:
    return JsonEnvelope(reply)


def platform_shim(section: str) -> Callable[[Action], Callable[[Request], Awaitable[Response]]]:
    """Wrap an action as the shim of this platform section (see the module docstring)."""
    path = route_path(section)

    def wrap(action: Action) -> Callable[[Request], Awaitable[Response]]:
        async def handler(request: Request) -> Response:
            received = utcnow()
            body: Any = {}
            hospital_id = caller_of(request).hospital_id
            try:
                body = await read_body(request)
                fields = validate(section, body)
                hospital_id = caller_of(request).ensure_own_hospital(fields.get("hospitalId"))
                call = ShimCall(section=section, path=path, hospital_id=hospital_id, body=body, received_at=received)
                return await action(request, call, fields)
            except Exception as error:
                refusal = error if isinstance(error, ShimError) else ShimError(ReturnCode.SYSTEM_ERROR)
                reply = {"success": False, "msg": refusal.msg, "code": refusal.code.value, "data": None}
                call = ShimCall(section=section, path=path, hospital_id=hospital_id, body=body, received_at=received)
                await record_call(request.app.state.services.db, call, reply_code=refusal.code.value, reply=reply)
                raise

        handler.__name__ = action.__name__
        handler.__doc__ = action.__doc__
        return shim(handler)

    return wrap
