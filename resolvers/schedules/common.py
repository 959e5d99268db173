"""What every part of the hospital graph shares: one hospital's call, the patient's arguments, half-days,
lenient counts, days and instants read from what hospitals write."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Annotated

import strawberry

from his_clients.errors import HisNoData
from his_clients.method import HisMethod, ReplyT, RequestT
from services.payments.clock import CHINA_TIME

from ..context import Info
from ..values import HalfDay as HalfDay  # re-exported: schedules name it from here

MedicalCardNumber = Annotated[str, strawberry.argument(description="The patient's medical card number (就诊卡号).")]
IdCardNumber = Annotated[
    str | None,
    strawberry.argument(description="The patient's ID number (身份证号); optional, helps the hospital match."),
]
RequiredIdCardNumber = Annotated[
    str,
    strawberry.argument(description="The patient's ID number (身份证号); this interface requires it."),
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


_DAY = re.compile(r"^(\d{4})[-/]?(\d{1,2})[-/]?(\d{1,2})")
_CLOCK = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def read_day(text: str | None) -> date | None:
    """A day as a hospital writes it (yyyy-MM-dd, yyyyMMdd, yyyy/M/d, or the day of a time); None otherwise."""
    found = _DAY.match((text or "").strip())
    if found is None:
        return None
    try:
        return date(*(int(part) for part in found.groups()))
    except ValueError:
        return None


def read_clock(text: str | None) -> time | None:
    """A time of day as a hospital writes it (H:mm, HH:mm, HH:mm:ss); None otherwise (24:00 too)."""
    found = _CLOCK.match((text or "").strip())
    if found is None:
        return None
    hour, minute, second = (int(part or 0) for part in found.groups())
    try:
        return time(hour, minute, second)
    except ValueError:
        return None


def at(day: date | None, clock: str | None) -> datetime | None:
    """The instant, Beijing time, of a time of day a hospital wrote on a known day; None when either is unknown."""
    moment = read_clock(clock)
    if day is None or moment is None:
        return None
    return datetime.combine(day, moment, tzinfo=CHINA_TIME)


def read_instant(text: str | None) -> datetime | None:
    """An instant as a hospital writes it (yyyy-MM-dd HH:mm[:ss], Beijing time); None otherwise."""
    value = (text or "").strip().replace("T", " ")
    day_text, _, clock = value.partition(" ")
    return at(read_day(day_text) if len(day_text) >= 8 else None, clock)


def beijing_today() -> date:
    """Today in Beijing, the day a same-day registration is for."""
    return datetime.now(CHINA_TIME).date()
