"""What the patient's record, report and inpatient types share: detail edges, the readers of what hospitals
write (times, days, sex) and argument descriptions. Shared argument aliases live in ``resolvers.arguments``."""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, TypeVar

import strawberry
from pydantic import BaseModel, ValidationError

from his_clients.errors import HisNoData
from his_clients.method import HisMethod, ReplyT, RequestT
from services.refusals import RefusalCode, Refused

from ..arguments import beijing
from ..context import Info
from ..scalars import Money
from ..values import Sex

ModelT = TypeVar("ModelT", bound=BaseModel)
E = TypeVar("E", bound=Enum)

PatientName = Annotated[
    str, strawberry.argument(description="The patient's name (就诊人姓名), as the hospital knows it.")
]
IdCardNumber = Annotated[
    str | None, strawberry.argument(description="The patient's ID-card number (身份证号); optional, helps matching.")
]

PER_HOSPITAL = (
    " One entry per hospital asked; a hospital that fails gives a null entry and its own error with "
    "extensions {hospitalId, code, method}."
)
"""Said by every field that spans hospitals, at the end of its description."""

_DAY = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_INSTANT = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?")


@functools.lru_cache(maxsize=4096)  # a reply's items mostly share a few times (one visit's): each read once
def instant(text: str | None) -> datetime | None:
    """An instant as hospitals write it (yyyy-MM-dd HH:mm:ss, Beijing time), timezone-aware; a hospital that writes
    only the day gives that day's start. Null when absent or written otherwise. (Datetimes are immutable: one
    shared by two answers cannot be changed through either.)"""
    text = (text or "").strip()
    if len(text) == 19 and text[4] == "-" and text[10] == " ":  # the spec's own shape: the common case
        try:
            return beijing(datetime.fromisoformat(text))
        except ValueError:
            pass  # read by the pattern below
    found = _INSTANT.match(text)
    if not found:
        only_day = _DAY.fullmatch(text)
        if not only_day:
            return None
        year, month, day_ = (int(part) for part in only_day.groups())
        hour = minute = second = 0
    else:
        year, month, day_, hour, minute, second = (int(part or 0) for part in found.groups())
    try:
        return beijing(datetime(year, month, day_, hour, minute, second))
    except ValueError:
        return None


def day(text: str | None) -> date | None:
    """A day as hospitals write it (yyyy-MM-dd, also the day of a yyyy-MM-dd HH:mm:ss); null when absent or
    written otherwise."""
    found = _DAY.match((text or "").strip())
    if not found:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def coded(enum: type[E], text: str | None) -> E | None:
    """The member of an enum whose value is the code a hospital wrote (spaces aside); null for an unknown code."""
    try:
        return enum((text or "").strip())
    except ValueError:
        return None


def sex(text: str | None) -> Sex | None:
    """Sex as hospitals write it (男/女, 1/2); null for 未知, 其他 or anything else."""
    return Sex.read(text)


def same_name(registered: str, asked: str) -> bool:
    """Whether a hospital's record is under the name asked (spaces aside)."""
    return "".join(registered.split()) == "".join(asked.split())


def named(registered: str | None, asked: str | None) -> bool:
    """Whether a record a hospital listed may be shown for the name asked (issue 12 item 11): a HIS that ignores
    ``patientName`` lists someone else's records under the card; a record naming nobody is the card's."""
    return not asked or not (registered or "").strip() or same_name(registered or "", asked)


def request(model: type[ModelT], **fields: Any) -> ModelT:
    """A HIS request from GraphQL arguments; a malformed argument is refused (PARAMETER_FORMAT, naming it)."""
    try:
        return model(**fields)
    except ValidationError as exc:
        where = next((".".join(map(str, e["loc"])) for e in exc.errors() if e["loc"]), None)
        raise Refused(RefusalCode.PARAMETER_FORMAT, field=where) from None


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
