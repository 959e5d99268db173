"""Appointment-registration uploads (21.1.1-21.1.6): hospitals publish their institution, departments and
doctors, schedules, stops and substitutions, and how registrations ended.

The hospital names itself by ``hosCode`` (the registry's ``hos_code``); the call must come from that
hospital (``auth.own_hospital_by_hos_code``: 50001 otherwise, an unknown hosCode looks the same). 21.1.6
names no hospital: its records are the caller's (a caller answering for several hospitals names one with
``X-Hospital-Id`` or a hosCode in each record). One call uploads for one hospital.

These entries answer ``{success, message, status}`` (status 1 done, -1 not done), not the prefront
``{success, msg, code, data}``. A refusal keeps that shape and adds the 附四 ``code`` (20001 missing,
20002 type, 20003 format, 20004 range, 50001 not yours, 10003 our failure), so a caller reading only
success/message/status still understands it. Bodies are checked against the catalog (``validation``)
and against the closed sets and formats the tables state (below). Every call is recorded in the inbound
ledger; an accepted one in the same transaction as what it stores (services/registration_uploads.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from his_clients.codes import ReturnCode
from services import registration_uploads as uploads
from services.shims.ledger import ShimCall, record_call
from store.models import utcnow

from .auth import ShimUnauthorized, caller_of, log_refusal, own_hospital_by_hos_code, shim_authenticator
from .envelope import ShimError, parse_json, text_field
from .platform import reply_response, route_path
from .validation import platform_entry, validate, validate_list

log = logging.getLogger("hisgraph.shims.registration_uploads")

MAX_RECORDS: Final = 2000
"""Records one call may carry (20004 beyond): a hospital's whole week of schedules fits many times over."""
MAX_CODE_LENGTH: Final = 64

# Closed sets the tables state (20004 outside them).
CLOSED: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("21.1.1", "level"): frozenset({"1", "2", "3", "9"}),
    ("21.1.1", "grade"): frozenset({"1", "2", "3", "4", "9"}),
    ("21.1.1", "hosType"): frozenset(f"{n:02d}" for n in range(1, 22)),
    ("21.1.1", "isOpenAppoint"): frozenset({"0", "1"}),
    ("21.1.2", "sex"): frozenset({"0", "1", "2", "9"}),
    ("21.1.2", "technicalTitle"): frozenset({"1", "2", "3", "4", "5"}),
    ("21.1.4", "amPm"): frozenset({"AM", "PM"}),
    ("21.1.4", "opType"): frozenset({"1", "2", "3"}),
    ("21.1.4", "scheduleType"): frozenset({"1", "2"}),
    ("21.1.5", "amPm"): frozenset({"AM", "PM"}),
    ("21.1.6", "state"): frozenset({"3", "4", "5"}),
}
# Whole numbers the tables state (必须为数字, counts, days): 20003 when not one, 20004 when negative.
WHOLE_NUMBERS: Final = frozenset(
    {
        ("21.1.1", "appCycle"),
        ("21.1.2", "typeSn"),
        ("21.1.2", "sn"),
        ("21.1.2", "docSn"),
        ("21.1.4", "upLimit"),
        ("21.1.4", "appNum"),
    }
)
# Coordinates: "小数点后最多6位" (the table swaps 经度 and 纬度; each is checked as a coordinate).
COORDINATES: Final = frozenset({("21.1.1", "lat"), ("21.1.1", "lng")})
# Codes that identify what is stored: at most 64 characters, and no "|" (the natural keys' separator).
CODES: Final = frozenset({"hosCode", "deptCode", "docCode", "altDeptCode", "altDocCode", "recordId"})
_WHOLE = re.compile(r"^-?[0-9]+$")
_COORDINATE = re.compile(r"^-?[0-9]{1,3}(\.[0-9]{1,6})?$")
_AREA_CODE = re.compile(r"^[0-9]{6}$")


@dataclass(frozen=True)
class Upload:
    """One upload interface: its section, path, body shape and what it stores."""

    section: str
    path: str
    """The spec's path, written out so a reader finds it; a test holds it to the catalog."""
    records: Callable[[list[dict[str, Any]]], list[uploads.UploadRecord]]
    is_list: bool
    """Whether the body is a JSON array of records (21.1.2, 21.1.4-21.1.6) or one object."""
    names_hospital: bool = True
    """False for 21.1.6, whose records carry no hosCode."""


UPLOADS: Final[tuple[Upload, ...]] = (
    Upload("21.1.1", "prefront/yyghService/hospital", lambda r: uploads.institution_records(r[0]), is_list=False),
    Upload("21.1.2", "prefront/yyghService/addAndUpdate", uploads.department_records, is_list=True),
    Upload("21.1.3", "prefront/yyghService/delete", lambda r: uploads.deletion_records(r[0]), is_list=False),
    Upload("21.1.4", "prefront/yyghService/insertSchedule", uploads.schedule_records, is_list=True),
    Upload("21.1.5", "prefront/yyghService/getStopDiagnosis", uploads.stop_records, is_list=True),
    Upload(
        "21.1.6",
        "prefront/yyghService/getAppointResult",
        uploads.visit_result_records,
        is_list=True,
        names_hospital=False,
    ),
)


def success_reply(section: str) -> dict[str, Any]:
    """The entry's own success reply: ``{success: true, message, status: 1}`` as its example writes it."""
    example: dict[str, Any] = platform_entry(section)["response_example"] or {}
    return {"success": True, "message": example.get("message", ""), "status": example.get("status", 1)}


def refusal_reply(refusal: ShimError) -> dict[str, Any]:
    """The entry's reply shape for a refusal, with the 附四 code beside status -1."""
    return {"success": False, "message": refusal.msg, "status": -1, "code": refusal.code.value}


async def _read_json(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        raise ShimError(ReturnCode.MISSING_PARAMETER, "缺少参数: 请求体为空")
    return parse_json(raw)


def _checked(upload: Upload, body: Any) -> list[dict[str, Any]]:
    """The body's records under the table's names, checked (a ShimError with the spec's code if not)."""
    if upload.is_list:
        items = [body] if isinstance(body, dict) else body  # one record sent bare is taken as a list of one
        if isinstance(items, list) and not items:
            raise ShimError(ReturnCode.MISSING_PARAMETER, "缺少参数: 请求体为空数组")
        if isinstance(items, list) and len(items) > MAX_RECORDS:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: 一次最多上传{MAX_RECORDS}条")
        records = validate_list(upload.section, items)
        wheres = [f"[{index}]." for index in range(len(records))]
    else:
        if isinstance(body, list) and len(body) == 1:
            body = body[0]
        if not isinstance(body, dict):
            raise ShimError(ReturnCode.PARAMETER_TYPE, "参数类型错误: 请求体应为JSON对象")
        records, wheres = [validate(upload.section, body)], [""]
    for record, where in zip(records, wheres, strict=True):
        _check_record(upload.section, record, where)
    return records


def _check_record(section: str, record: dict[str, Any], where: str) -> None:
    """The tables' closed sets, whole numbers, coordinates and codes, on a record and its doctors (in place)."""
    for name, value in record.items():
        label = f"{where}{name}"
        if isinstance(value, list):
            for index, member in enumerate(value):
                if isinstance(member, dict):
                    _check_record(section, member, f"{label}[{index}].")
            continue
        if value is None:
            continue
        record[name] = _check_value(section, name, str(value), label)


def _check_value(section: str, name: str, text: str, label: str) -> str:
    closed = CLOSED.get((section, name))
    if closed is not None:
        if name == "amPm":
            text = text.upper()
        elif name == "hosType" and text.isdigit() and len(text) == 1:
            text = f"0{text}"
        if text not in closed:
            allowed = "/".join(sorted(closed)) if len(closed) <= 6 else f"{min(closed)}-{max(closed)}"
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 应为 {allowed}")
    if (section, name) in WHOLE_NUMBERS:
        if not _WHOLE.match(text):
            raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} 应为整数")
        if int(text) < 0:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 不能为负数")
    if (section, name) in COORDINATES:
        if not _COORDINATE.match(text):
            raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} 应为小数点后最多6位的坐标")
        if abs(Decimal(text)) > 180:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 应在 -180 到 180 之间")
    if (section, name) == ("21.1.1", "cantCode") and not _AREA_CODE.match(text):
        raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} 应为6位行政区划代码")
    if name in CODES:
        if uploads.KEY_SEPARATOR in text:
            raise ShimError(ReturnCode.PARAMETER_FORMAT, f"参数格式错误: {label} 不能含有 {uploads.KEY_SEPARATOR}")
        if len(text) > MAX_CODE_LENGTH:
            raise ShimError(ReturnCode.PARAMETER_RANGE, f"参数超出范围: {label} 最长{MAX_CODE_LENGTH}个字符")
    return text


def _hospital_of(request: Request, upload: Upload, records: Sequence[Mapping[str, Any]], body: Any) -> str:
    """The one hospital the call uploads for, after checking it is the caller's (50001 if not)."""
    if upload.names_hospital:
        codes = {str(r["hosCode"]) for r in records}
    else:
        # 21.1.6 names no hospital; a hosCode in its records (not in the spec) is honoured all the same.
        raw = body if isinstance(body, list) else [body]
        codes = {
            code for item in raw if isinstance(item, dict) and (code := text_field(item, "hosCode", required=False))
        }
    if len(codes) > 1:
        raise ShimError(ReturnCode.PARAMETER_FORMAT, "参数格式错误: 一次调用只能上传一家医院的数据 (hosCode 不一致)")
    if codes:
        return own_hospital_by_hos_code(request, {"hosCode": codes.pop()})
    caller = caller_of(request)
    if caller.hospital_id is None:
        raise ShimError(
            ReturnCode.MISSING_PARAMETER, "缺少参数: hosCode (调用方对应多家医院, 请传 hosCode 或 X-Hospital-Id)"
        )
    return caller.hospital_id


def upload_route(upload: Upload) -> Route:
    """The route of one upload interface (see the module docstring)."""
    path = route_path(upload.section)

    async def endpoint(request: Request) -> Response:
        received = utcnow()
        services = request.app.state.services
        try:
            request.state.caller = await shim_authenticator(request.app).authenticate(request)
        except ShimUnauthorized as unauthorized:
            log_refusal(request, unauthorized)
            return reply_response(refusal_reply(unauthorized))
        except Exception:
            log.exception("shim authentication failed", extra={"path": request.url.path})
            return reply_response(refusal_reply(ShimError(ReturnCode.SYSTEM_ERROR)))
        hospital_id = caller_of(request).hospital_id
        body: Any = {}
        try:
            body = await _read_json(request)
            records = _checked(upload, body)
            hospital_id = _hospital_of(request, upload, records, body)
            reply = success_reply(upload.section)
            call = ShimCall(section=upload.section, path=path, hospital_id=hospital_id, body=body, received_at=received)
            await uploads.accept_upload(
                services.db, call, records=upload.records(records), reply=reply, cache=services.his.cache
            )
            return reply_response(reply)
        except Exception as error:
            if isinstance(error, ShimError):
                refusal = error
                if isinstance(error, ShimUnauthorized):
                    log_refusal(request, error)
            else:
                log.exception("upload failed", extra={"path": request.url.path})
                refusal = ShimError(ReturnCode.SYSTEM_ERROR)
            reply = refusal_reply(refusal)
            call = ShimCall(section=upload.section, path=path, hospital_id=hospital_id, body=body, received_at=received)
            await record_call(services.db, call, reply_code=refusal.code.value, reply=reply)
            return reply_response(reply)

    title = platform_entry(upload.section)["title"]
    endpoint.__name__ = "upload_" + upload.path.rsplit("/", 1)[-1]
    endpoint.__doc__ = f"{upload.section} {upload.path}: {title}."
    return Route(f"/{upload.path}", endpoint, methods=["POST"])


routes = [upload_route(upload) for upload in UPLOADS]
