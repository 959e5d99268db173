"""Reading the spec's reply envelope ``{success, msg, code, data}`` leniently."""

from __future__ import annotations

import json
from typing import Any, get_origin

from . import jsonio
from .codes import ReturnCode
from .errors import HisNoData, HisProtocolError, HisRejected
from .method import Envelope, HisMethod
from .models.base import HisReply

_ENVELOPE_KEYS = frozenset({"success", "msg", "code", "message"})
_TRUE = frozenset({"true", "1", "yes"})


def _is_success(value: Any, code: str) -> bool:
    if isinstance(value, bool):
        return value
    if value is None:
        # Some HIS leave out ``success``; the code still says what happened.
        return code == ReturnCode.SUCCESS
    return str(value).strip().lower() in _TRUE


def read_envelope(body: bytes, *, method: HisMethod[Any, Any], hospital_id: str) -> Any:
    """The reply's payload (``data``, or the top-level fields for irregular methods), or a HisError."""
    try:
        decoded = jsonio.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HisProtocolError(
            f"reply is not JSON ({exc.__class__.__name__} at byte {getattr(exc, 'pos', '?')})",
            hospital_id=hospital_id,
            method=method.name,
        ) from None
    if not isinstance(decoded, dict):
        raise HisProtocolError(
            f"reply is a JSON {type(decoded).__name__}, not the envelope object",
            hospital_id=hospital_id,
            method=method.name,
        )
    reply = {key.strip() if isinstance(key, str) else key: value for key, value in decoded.items()}
    code = str(reply.get("code", "")).strip()
    if not _is_success(reply.get("success"), code):
        message = str(reply.get("msg") or reply.get("message") or "").strip()
        if code == ReturnCode.NO_DATA:
            raise HisNoData(message or ReturnCode.NO_DATA.meaning, hospital_id=hospital_id, method=method.name)
        if not code:
            code = ReturnCode.UNKNOWN_ERROR
        known = ReturnCode.parse(code)
        raise HisRejected(
            message or (known.meaning if known else "hospital refused without a message"),
            hospital_id=hospital_id,
            method=method.name,
            code=code,
        )
    if method.envelope is Envelope.TOP_LEVEL:
        return {key: value for key, value in reply.items() if key not in _ENVELOPE_KEYS}
    if method.envelope is Envelope.BARE:
        return None
    data = reply.get("data")
    if data is None or data == "" or data == {}:
        return _no_data(method, hospital_id=hospital_id, data=data)
    return data


def _no_data(method: HisMethod[Any, Any], *, hospital_id: str, data: Any) -> Any:
    """A success whose ``data`` is null, missing or empty where the spec promises a structure.

    The spec asks hospitals to keep the structure even when empty ("即使返回数据为空，也应该保持返回的
    数据结构完整性"); many send ``null`` instead. That is no data from this hospital, not a broken reply:
    an empty list for list methods, 10002 (HisNoData) for methods that return one object.
    """
    if get_origin(method.reply) is list:
        return []
    if isinstance(method.reply, type) and issubclass(method.reply, HisReply):
        raise HisNoData("success without data", hospital_id=hospital_id, method=method.name)
    return data
