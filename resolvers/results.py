"""What a write answers besides its own success: expected failures are data, never exceptions.

    <Noun><Verb>Result = <Noun><Verb>Success | HisRefusal | HospitalUnavailable | InvalidInput

    InvalidInput          refused here, before any hospital was called (20001 missing, 20003 format, 20004 range)
    HisRefusal            the hospital answered ``success: false`` with its 附四 code (60701 already triaged, ...)
    HospitalUnavailable   no usable answer (timeout, connection, HTTP status, open circuit, malformed reply):
                          the write may or may not have been applied, and it is never retried here

Mutations build their HIS request inside ``his_write``: the input checks below raise ``InputRefused``,
which becomes ``InvalidInput`` without a call. The same checks serve queries' arguments, where the
exception simply becomes a GraphQL error with ``extensions {code, field}``.
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
from his_clients.errors import HisCircuitOpen, HisError, HisRejected, HisTimeout
from his_clients.method import HisMethod, ReplyT, RequestT
from services.identity.principal import PatientPrincipal
from services.payments.clock import CHINA_TIME

from .access import NotFound, Unauthenticated
from .context import Info
from .errors import patient_message, record_hospital_text
from .values import Sex as Sex  # re-exported: mutations name it from here

S = TypeVar("S")

TargetHospital = Annotated[
    strawberry.ID,
    strawberry.argument(description="The one hospital to write to (hospitalId); a write never spans hospitals."),
]


@strawberry.type(
    description=(
        "The hospital refused the write: it answered success false with a code of the spec's 附四 "
        "(接口返回代码对照关系), e.g. 60701 already triaged, 40003 interface not opened, 60001 unknown hospital."
    )
)
class HisRefusal:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that refused.")
    code: str = strawberry.field(description="The 附四 return code, e.g. 60701.")
    message: str = strawberry.field(
        description=(
            "What the patient is told: a fixed Chinese message for the code (附四's wording), never the hospital's "
            "own text, which goes to the operators' log."
        )
    )
    method: str = strawberry.field(description="The HIS method that was called, e.g. hospital.interface.triage.")


@strawberry.type(
    description=(
        "The hospital gave no usable answer (timeout, connection, HTTP status, circuit open, malformed reply). "
        "A write is never retried automatically: check its state (e.g. the patient's exam appointments) before "
        "trying again, because it may have been applied."
    )
)
class HospitalUnavailable:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that did not answer usably.")
    code: str = strawberry.field(
        description=(
            "What went wrong: HIS_TIMEOUT, HIS_CONNECT_ERROR, HIS_HTTP_ERROR, HIS_CIRCUIT_OPEN, HIS_PROTOCOL_ERROR."
        )
    )
    message: str = strawberry.field(
        description="A fixed Chinese message for the code; the details (masked) are in the operators' log."
    )
    method: str = strawberry.field(description="The HIS method that was called.")
    may_have_been_applied: bool = strawberry.field(
        description=(
            "False only when the hospital was certainly not called (circuit open); otherwise the outcome is unknown."
        )
    )


@strawberry.type(
    description=(
        "The input was refused before any hospital was called, with the spec's code: 20001 missing, "
        "20003 invalid format (a date, an ID number, a phone number), 20004 out of range."
    )
)
class InvalidInput:
    field: str = strawberry.field(
        description="The input field at fault, as named in the GraphQL input, e.g. slot.date or caregiver.phone."
    )
    code: str = strawberry.field(description="20001 (缺少参数), 20003 (参数无效或格式错误) or 20004 (参数超出范围).")
    message: str = strawberry.field(description="What is wrong, in English.")


class InputRefused(ValueError):
    """An argument fails the spec's rules; queries surface it as an error, mutations as InvalidInput."""

    def __init__(self, field: str, code: ReturnCode, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.code = code
        self.extensions = {"code": str(code), "field": field}

    def as_result(self) -> InvalidInput:
        return InvalidInput(field=self.field, code=str(self.code), message=str(self))


async def his_write(
    info: Info,
    *,
    method: HisMethod[RequestT, ReplyT],
    hospital_id: str,
    request: Callable[[], RequestT],
    success: Callable[[str, ReplyT], S],
) -> S | HisRefusal | HospitalUnavailable | InvalidInput:
    """Build the request (checking the input), call one hospital once before the deadline, type the outcome.

    Never through the per-request loader: a write is neither shared nor cached. Never retried: the
    client retries only reads, and a second attempt after an unknown outcome is the caller's decision.
    """
    try:
        hospital = single_hospital_id(hospital_id)
        built = request()
    except InputRefused as refused:
        return refused.as_result()
    except ValidationError as invalid:
        # A rule of the spec's model that no check above covers: still refused before calling.
        first = invalid.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "input"
        return InvalidInput(field=where, code=str(ReturnCode.PARAMETER_FORMAT), message=f"{where}: {first['msg']}")
    context = info.context
    if not isinstance(context.principal, PatientPrincipal):
        # Every write acts for a patient: a request without a patient's session never reaches a hospital.
        raise Unauthenticated("sign in as a patient to do this")
    try:
        await context.authorize(method.name, built)
    except NotFound:
        # Exactly what a hospital says of a card it does not know.
        return HisRefusal(
            hospital_id=strawberry.ID(hospital), code="20215", message=patient_message("20215"), method=method.name
        )
    try:
        async with asyncio.timeout_at(context.deadline):
            reply = await context.his.call(method, hospital, built, deadline=context.deadline)
    except TimeoutError:
        return _unavailable(
            HisTimeout("no answer before the request's deadline", hospital_id=hospital, method=method.name)
        )
    except HisRejected as refusal:
        record_hospital_text(refusal)
        return HisRefusal(
            hospital_id=strawberry.ID(hospital),
            code=refusal.code,
            message=patient_message(refusal.code),
            method=method.name,
        )
    except HisError as failure:
        return _unavailable(failure)
    return success(hospital, reply)


def _unavailable(failure: HisError) -> HospitalUnavailable:
    record_hospital_text(failure)
    return HospitalUnavailable(
        hospital_id=strawberry.ID(failure.hospital_id),
        code=failure.code,
        message=patient_message(failure.code),
        method=failure.method,
        may_have_been_applied=not isinstance(failure, HisCircuitOpen),
    )


# -- input checks: each returns the value as the spec writes it, or raises InputRefused ------------

_ID_NUMBER = re.compile(r"\d{17}[\dX]|\d{15}")
_PHONE = re.compile(r"1\d{10}")
_IMAGE_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=\s]+")


def single_hospital_id(raw: str) -> str:
    """A write goes to exactly one hospital."""
    hospital_id = required("hospitalId", raw)
    if "," in hospital_id:
        raise InputRefused("hospitalId", ReturnCode.PARAMETER_FORMAT, "a write goes to one hospital: give one id")
    return hospital_id


def required(field: str, value: str | None) -> str:
    text = (value or "").strip()
    if not text:
        raise InputRefused(field, ReturnCode.MISSING_PARAMETER, "is required")
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
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "not an ID number (18 characters, or 15 digits)")
    born = text[6:14] if len(text) == 18 else "19" + text[6:12]
    try:
        birth = datetime.strptime(born, "%Y%m%d").date()
    except ValueError:
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "the ID number's birth date is not a date") from None
    if not date(1880, 1, 1) <= birth <= datetime.now(CHINA_TIME).date():  # born by today in Beijing
        raise InputRefused(field, ReturnCode.PARAMETER_RANGE, "the ID number's birth date is out of range")
    return text


def optional_id_number(field: str, value: str | None) -> str | None:
    return None if optional(value) is None else id_number(field, value)


def calendar_date(field: str, value: str | None) -> str:
    """``yyyy-MM-dd``, a real date."""
    return _parsed(field, value, "%Y-%m-%d", "yyyy-MM-dd").strftime("%Y-%m-%d")


def date_time(field: str, value: str | None) -> str:
    """``yyyy-MM-dd HH:mm:ss``, a real time."""
    return _parsed(field, value, "%Y-%m-%d %H:%M:%S", "yyyy-MM-dd HH:mm:ss").strftime("%Y-%m-%d %H:%M:%S")


def time_window(start_field: str, start: str | None, end_field: str, end: str | None) -> tuple[str, str]:
    """Two ``yyyy-MM-dd HH:mm:ss`` times, the first not after the second."""
    start_text, end_text = date_time(start_field, start), date_time(end_field, end)
    if start_text > end_text:
        raise InputRefused(end_field, ReturnCode.PARAMETER_RANGE, f"must not be before {start_field}")
    return start_text, end_text


def clock_time(field: str, value: str | None) -> str:
    """``H:mm`` or ``HH:mm``, as 24.1.3 writes slot bounds ("7:30", "11:30")."""
    text = required(field, value)
    try:
        datetime.strptime(text, "%H:%M")
    except ValueError:
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "not a time of day (H:mm)") from None
    return text


def phone_number(field: str, value: str | None) -> str:
    text = required(field, value)
    if not _PHONE.fullmatch(text):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "not a mobile number (11 digits starting with 1)")
    return text


def image_data_url(field: str, value: str | None) -> str:
    """A base64 image with its header, as 23.1.3 requires: ``data:image/png;base64,...``."""
    text = required(field, value)
    if not _IMAGE_DATA_URL.fullmatch(text):
        raise InputRefused(
            field, ReturnCode.PARAMETER_FORMAT, 'not a base64 image with its "data:image/*;base64," header'
        )
    return text


def amount(field: str, value: Decimal) -> Decimal:
    """Yuan with at most two decimal places, not negative."""
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "at most two decimal places")
    if value < 0:
        raise InputRefused(field, ReturnCode.PARAMETER_RANGE, "must not be negative")
    return value.quantize(Decimal("0.01"))


def digits(field: str, value: str | None) -> int:
    text = required(field, value)
    if not text.isdigit():
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, "digits only")
    return int(text)


def _parsed(field: str, value: str | None, fmt: str, shown: str) -> datetime:
    text = required(field, value)
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        raise InputRefused(field, ReturnCode.PARAMETER_FORMAT, f"not a valid time in the format {shown}") from None
