"""What the patient's record and inpatient types share: the hospital an entry came from, detail edges,
the spec's time formats and argument descriptions."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError

from his_clients.errors import HisNoData
from his_clients.method import HisMethod, ReplyT, RequestT

from ..context import Info
from ..hospitals.types import Hospital
from ..scalars import Money

ModelT = TypeVar("ModelT", bound=BaseModel)

HospitalIds = Annotated[
    str,
    strawberry.argument(
        description='One hospital id or several, comma-separated (e.g. "253,254"); every hospital is asked at once.'
    ),
]
PatientName = Annotated[
    str, strawberry.argument(description="The patient's name (就诊人姓名), as the hospital knows it.")
]
IdCardNumber = Annotated[
    str | None, strawberry.argument(description="The patient's ID-card number (身份证号); optional, helps matching.")
]
StartTime = Annotated[
    str,
    strawberry.argument(
        description="Start of the window: yyyy-MM-dd HH:mm:ss, or yyyy-MM-dd for the start of the day."
    ),
]
EndTime = Annotated[
    str,
    strawberry.argument(description="End of the window: yyyy-MM-dd HH:mm:ss, or yyyy-MM-dd for the end of the day."),
]
Day = Annotated[str, strawberry.argument(description="A day, yyyy-MM-dd.")]

PER_HOSPITAL = (
    " One entry per hospital asked; a hospital that fails gives a null entry and its own error with "
    "extensions {hospitalId, code, method}."
)
"""Said by every field that spans hospitals, at the end of its description."""

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@strawberry.type(description="Something one hospital answered; says which hospital it came from.")
class FromHospital:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital this entry came from.")

    @strawberry.field(description="The hospital, as the registry names it.")
    def hospital(self, info: Info) -> Hospital | None:
        found = info.context.registry.hospital(self.hospital_id)
        return Hospital.from_registry(found) if found else None


def request(model: type[ModelT], **fields: Any) -> ModelT:
    """A HIS request from GraphQL arguments; a malformed argument is the caller's error, told briefly."""
    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid argument: {problems}") from None


def spec_time(text: str, *, end_of_day: bool = False) -> str:
    """The spec's yyyy-MM-dd HH:mm:ss; a bare day means its first (or, for an end, its last) second."""
    text = text.strip()
    if _DAY.match(text):
        return f"{text} {'23:59:59' if end_of_day else '00:00:00'}"
    return text


def spec_day(text: str) -> str:
    """The spec's yyyy-MM-dd, checked where the request model leaves the field free."""
    if not _DAY.match(text.strip()):
        raise ValueError(f"invalid argument: {text!r} is not a day written yyyy-MM-dd")
    return text.strip()


async def detail(info: Info, method: HisMethod[RequestT, ReplyT], hospital_id: str, req: RequestT) -> ReplyT | None:
    """A detail edge: one call through the request's loader; 10002 (no data) is no detail, not an error."""
    try:
        return await info.context.loaders.his(method, hospital_id, req)
    except HisNoData:
        return None


def money(amount: Decimal | None) -> Money | None:
    return None if amount is None else Money(amount)


def or_none(text: str | None) -> str | None:
    """Hospitals send "" for absent values; GraphQL says null."""
    return text or None
