"""What every part of the hospital graph shares: one hospital's call, the patient's arguments, half-days,
lenient counts."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

import strawberry

from his_clients.errors import HisNoData
from his_clients.method import HisMethod, ReplyT, RequestT

from ..context import Info
from ..values import HalfDay as HalfDay  # re-exported: schedules name it from here

MedicalCardNumber = Annotated[str, strawberry.argument(description="The patient's medical card number (就诊卡号).")]
IdCardNumber = Annotated[
    str | None,
    strawberry.argument(description="The patient's ID-card number (身份证号); optional, helps the hospital match."),
]
RequiredIdCardNumber = Annotated[
    str, strawberry.argument(description="The patient's ID-card number (身份证号); this interface requires it.")
]


async def ask_hospital(
    info: Info, hospital_id: str, method: HisMethod[RequestT, ReplyT], request: RequestT
) -> ReplyT | None:
    """``method`` at one hospital through the request's loader (so the reference cache and coalescing
    apply); None when the hospital answers 10002 (未查询到数据). Any other failure raises: the field
    becomes null with its own error (extensions {hospitalId, code, method}), the rest of the answer stands."""
    try:
        return await info.context.loaders.his(method, hospital_id, request)
    except HisNoData:
        return None


def count(text: str | None) -> int | None:
    """A count the hospital sent as text ("20", " 3 ", ""); None when it is not a whole number."""
    if text is None:
        return None
    try:
        return int(text.strip())
    except ValueError:
        return None


def flag(text: str | None) -> bool | None:
    """The spec's 0/1 flags; None when absent or anything else."""
    value = (text or "").strip()
    return True if value == "1" else False if value == "0" else None


def compact_date(text: str) -> str:
    """yyyy-MM-dd or yyyyMMdd -> the yyyyMMdd chapter 21 sends."""
    return text.strip().replace("-", "")


E = TypeVar("E", bound=Enum)


def enum_of(cls: type[E], code: str | None) -> E | None:
    """The enum member whose value is the hospital's code; None for a code the spec does not define."""
    try:
        return cls((code or "").strip())
    except ValueError:
        return None
