"""What a write answers besides its own success: expected failures are data, never exceptions.

    <Verb><Noun>Result = <Verb><Noun>Success | Refusal

A ``Refusal`` (resolvers/refusal.py) says why, with one ``RefusalCode``:

    refused here          before any hospital was called: MISSING_PARAMETER (20001), PARAMETER_FORMAT (20003),
                          PARAMETER_RANGE (20004), with ``field`` naming the argument at fault
    refused by hospital   it answered ``success: false`` with its 附四 code (ALREADY_TRIAGED 60701, ...)
    no usable answer      HIS_TIMEOUT, HIS_CONNECT_ERROR, HIS_HTTP_ERROR, HIS_PROTOCOL_ERROR: ``outcomeUnknown``
                          is true, the write may or may not have been applied, and it is never retried here;
                          HIS_CIRCUIT_OPEN: the hospital was not called, so nothing was applied

The message is always the code's fixed Chinese words, never the hospital's own text (that goes to the operators'
log). Mutations build their HIS request inside ``his_write``: the input checks below raise ``InputRefused`` (a
``services.refusals.Refused``), which becomes a ``Refusal`` without a call. The same checks serve queries'
arguments, where the exception becomes a GraphQL error with ``extensions {code, field}``.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, TypeVar

import strawberry
from pydantic import ValidationError

from his_clients.codes import ReturnCode
from his_clients.errors import HisError, HisTimeout
from his_clients.method import HisMethod, ReplyT, RequestT
from services.identity.principal import PatientPrincipal
from services.payments.clock import CHINA_TIME
from services.refusals import RefusalCode, Refused

from .access import NotFound, Unauthenticated
from .arguments import beijing as beijing  # re-exported with the checks: a DateTime in Beijing time
from .arguments import spec_day as spec_day  # a Date as the spec writes it (yyyy-MM-dd)
from .arguments import spec_instant as spec_instant  # a DateTime as the spec writes it, Beijing time
from .context import Info
from .errors import record_hospital_text
from .refusal import Refusal as Refusal  # re-exported: every write's result union names it from here
from .values import Sex as Sex  # re-exported: mutations name it from here

S = TypeVar("S")

TargetHospital = Annotated[
    strawberry.ID,
    strawberry.argument(description="The one hospital to write to (hospitalId); a write never spans hospitals."),
]


class InputRefused(Refused):
    """An argument fails the spec's rules (20001 missing, 20003 format, 20004 range), before any hospital is called.

    Queries surface it as a GraphQL error with ``extensions {code, field}``, mutations as a ``Refusal``.
    ``message`` is what the reader is told (the checks below write Chinese with the expected format).
    """

    def __init__(self, field: str, code: ReturnCode | RefusalCode, message: str | None = None) -> None:
        super().__init__(code if isinstance(code, RefusalCode) else RefusalCode.of(code), message, field=field)


def refusal_by_hospital(failure: HisError) -> Refusal:
    """A hospital's refusal or failure as a ``Refusal``: its code, the code's fixed words, never its own text."""
    record_hospital_text(failure)
    return Refusal.of(Refused(RefusalCode.of(failure.code), hospital_id=failure.hospital_id))


async def his_write(
    info: Info,
    *,
    method: HisMethod[RequestT, ReplyT],
    hospital_id: str,
    request: Callable[[], RequestT],
    success: Callable[[str, ReplyT], S],
) -> S | Refusal:
    """Build the request (checking the input), call one hospital once before the deadline, type the outcome.

    Never through the per-request loader: a write is neither shared nor cached. Never retried: the
    client retries only reads, and a second attempt after an unknown outcome is the caller's decision.
    """
    try:
        hospital = single_hospital_id(hospital_id)
        built = request()
    except Refused as refused:
        return Refusal.of(refused)
    except ValidationError as invalid:
        # A rule of the spec's model that no check above covers: still refused before calling.
        first = invalid.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        return Refusal.of(InputRefused(where, RefusalCode.PARAMETER_FORMAT, "参数无效或格式错误，请检查后再试。"))
    context = info.context
    if not isinstance(context.principal, PatientPrincipal):
        # Every write acts for a patient: a request without a patient's session never reaches a hospital.
        raise Unauthenticated("sign in as a patient to do this")
    try:
        await context.authorize(method.name, built)
    except NotFound:
        # Exactly what a hospital says of a card it does not know.
        return Refusal.of(Refused(RefusalCode.CARD_NOT_FOUND_20215, hospital_id=hospital))
    try:
        async with asyncio.timeout_at(context.deadline):
            reply = await context.his.call(method, hospital, built, deadline=context.deadline)
    except TimeoutError:
        return refusal_by_hospital(
            HisTimeout("no answer before the request's deadline", hospital_id=hospital, method=method.name)
        )
    except HisError as failure:
        return refusal_by_hospital(failure)
    return success(hospital, reply)


# -- input checks: each returns the value as the spec writes it, or raises InputRefused ------------
# Days, instants and sexes are typed (Date, DateTime, Sex): GraphQL refuses a malformed one before any of these.

_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")
_PHONE = re.compile(r"1\d{10}")
_IMAGE_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+")


def single_hospital_id(raw: str) -> str:
    """A write goes to exactly one hospital."""
    hospital_id = required("hospitalId", raw)
    if "," in hospital_id:
        raise InputRefused("hospitalId", ReturnCode.PARAMETER_FORMAT, "一次只能向一家医院办理，请只填写一个医院。")
    return hospital_id


def required(field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InputRefused(field, ReturnCode.MISSING_PARAMETER, "缺少必填项，请填写后再试。")
    return text


def optional(value: str | None) -> str | None:
    text = (value or "").strip()
    return text or None


def id_number(field: str, value: str | None) -> str:
    """A resident ID number (身份证号): 18 characters (or the old 15 digits) with a real birth date.

    The check digit is not enforced: the spec's own example numbers fail it, and hospitals hold them.
    """
    text = required(field, value).upper()
    if not _ID_NUMBER.fullmatch(text):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "身份证号格式不正确（应为18位，或15位数字）。")
    born = text[6:14] if len(text) == 18 else "19" + text[6:12]
    try:
        birth = datetime.strptime(born, "%Y%m%d").date()
    except ValueError:
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "身份证号中的出生日期不是有效日期。") from None
    if not date(1880, 1, 1) <= birth <= datetime.now(CHINA_TIME).date():  # born by today in Beijing
        raise InputRefused(field, ReturnCode.PARAMETER_RANGE, "身份证号中的出生日期超出范围。")
    return text


def optional_id_number(field: str, value: str | None) -> str | None:
    return None if optional(value) is None else id_number(field, value)


def phone_number(field: str, value: str | None) -> str:
    text = required(field, value)
    if not _PHONE.fullmatch(text):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "手机号格式不正确（应为以1开头的11位数字）。")
    return text


def image_data_url(field: str, value: str | None) -> str:
    """A base64 image with its header, as 23.1.3 requires: ``data:image/png;base64,...``."""
    text = required(field, value)
    if not _IMAGE_DATA_URL.fullmatch(text):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "图片应为带“data:image/*;base64,”前缀的 base64 图片。")
    return text


def amount(field: str, value: Decimal) -> Decimal:
    """Yuan with at most two decimal places, not negative."""
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "金额最多保留两位小数。")
    if value < 0:
        raise InputRefused(field, ReturnCode.PARAMETER_RANGE, "金额不能为负数。")
    return value.quantize(Decimal("0.01"))


def digits(field: str, value: str | None) -> int:
    text = required(field, value)
    if not text.isdigit():
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "只能填写数字。")
    return int(text)
