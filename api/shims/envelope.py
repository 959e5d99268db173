"""The spec's reply envelope for our shims, and reading hospitals' requests leniently.

Hospitals get HTTP 200 with ``{success, msg, code, data}`` and a 附四 code, whatever happened:
never a 500, never a stack trace. Every shim first authenticates its caller (api/shims/auth.py):
a caller that fails gets 50001 and the handler never runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from his_clients.codes import ReturnCode
from his_clients.models.base import render_money

from .. import metrics

log = logging.getLogger("hisgraph.shims")


class ShimError(Exception):
    """A refusal to answer with a 附四 code."""

    def __init__(self, code: ReturnCode, msg: str | None = None) -> None:
        super().__init__(msg or code.meaning)
        self.code = code
        self.msg = msg or code.meaning


def _dumps(value: Any) -> str:
    """JSON text as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` writes it, except that a Decimal
    is written as a JSON number with at least two decimal places (``23.50``, not ``23.5`` or ``"23.50"``):
    the spec's amounts (14.1.x ``amount``) are two-decimal numbers on the wire, and a float cannot say so."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite amount has no JSON form")
        return render_money(value)
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_dumps(str(key))}:{_dumps(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_dumps(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


class JsonEnvelope(JSONResponse):
    def render(self, content: Any) -> bytes:
        self.spec_code = str(content.get("code") or "") if isinstance(content, dict) else ""  # for metrics
        return _dumps(content).encode("utf-8")


def ok(data: Any = None) -> Response:
    return JsonEnvelope({"success": True, "msg": "成功", "code": ReturnCode.SUCCESS.value, "data": data})


def fail(code: ReturnCode, msg: str | None = None) -> Response:
    return JsonEnvelope({"success": False, "msg": msg or code.meaning, "code": code.value, "data": None})


MAX_JSON_DEPTH = 32
"""Nesting deeper than any spec body (they nest two or three levels) is refused, not walked."""
MAX_NUMBER_CHARS = 40
"""A JSON number longer than this (a 5,000-digit "amount") is refused before Python converts it."""


def _number(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: 数字超过{MAX_NUMBER_CHARS}位")
    return int(text)


def _float(text: str) -> Any:
    if len(text) > MAX_NUMBER_CHARS:
        raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: 数字超过{MAX_NUMBER_CHARS}位")
    return float(text)


def _depth_ok(raw: bytes) -> bool:
    """Whether brackets outside strings nest at most MAX_JSON_DEPTH deep (one linear pass, before parsing)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True


def parse_json(raw: bytes) -> Any:
    """A hospital's JSON body, or 20003: invalid JSON or UTF-8, nesting deeper than MAX_JSON_DEPTH, or a number
    longer than MAX_NUMBER_CHARS characters. Never a RecursionError or ValueError out of the parser."""
    if not _depth_ok(raw):
        raise ShimError(ReturnCode.PARAMETER_FORMAT, f"请求体嵌套超过{MAX_JSON_DEPTH}层")
    try:
        return json.loads(raw, parse_int=_number, parse_float=_float)
    except ShimError:
        raise
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise ShimError(ReturnCode.PARAMETER_FORMAT, "请求体不是有效的JSON") from exc


async def read_body(request: Request) -> dict[str, Any]:
    """The JSON object a hospital sent (the request guard took only application/json, or no type)."""
    raw = await request.body()
    if not raw.strip():
        return {}
    body = parse_json(raw)
    if not isinstance(body, dict):
        raise ShimError(ReturnCode.PARAMETER_FORMAT, "请求体必须是JSON对象")
    return body


def text_field(body: Mapping[str, Any], *names: str, required: bool = True) -> str | None:
    """A text parameter under any of ``names`` (matched ignoring case and stray spaces).

    Missing or empty -> 20001; not a string -> 20002 (a number would lose a card's leading zeros).
    """
    wanted = {name.lower() for name in names}
    for key, value in body.items():
        if isinstance(key, str) and key.strip().lower() in wanted:
            if value is None or (isinstance(value, str) and not value.strip()):
                break
            if not isinstance(value, str):
                raise ShimError(ReturnCode.PARAMETER_TYPE, f"参数类型错误: {names[0]} 应为字符串")
            return value.strip()
    if required:
        raise ShimError(ReturnCode.MISSING_PARAMETER, f"缺少参数: {names[0]}")
    return None


Handler = Callable[[Request], Awaitable[Response]]


def shim(handler: Callable[[Request], Awaitable[Response]]) -> Handler:
    """Wrap a shim handler so that its caller is authenticated first and every outcome is the spec's envelope.

    The handler finds the caller in ``request.state.caller`` (``auth.caller_of``).
    """
    # Imported here: auth builds on this module's ShimError and text_field.
    from .auth import ShimUnauthorized, log_refusal, shim_authenticator

    async def answer(request: Request) -> Response:
        try:
            request.state.caller = await shim_authenticator(request.app).authenticate(request)
            return await handler(request)
        except ShimError as refusal:
            if isinstance(refusal, ShimUnauthorized):
                log_refusal(request, refusal)
            return fail(refusal.code, refusal.msg)
        except Exception:
            # The cause goes to our log; the hospital sees the spec's code, no internals.
            log.exception("shim failed", extra={"path": request.url.path})
            return fail(ReturnCode.SYSTEM_ERROR)

    async def endpoint(request: Request) -> Response:
        response = await answer(request)
        route = request.scope.get("route")
        metrics.record_shim(getattr(route, "path", None) or "other", getattr(response, "spec_code", "") or "none")
        return response

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint
