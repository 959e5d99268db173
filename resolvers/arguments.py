"""Argument types every domain shares, defined once (issue 12 items 4, 8 and 16).

- ``HospitalIds``: the spec's comma-separated ``hospitalId: String!`` of a field that spans hospitals.
- ``OneHospital``: ``hospitalId: ID!`` of a field that asks one hospital (``OneHospital | None`` where optional).
- ``From``/``To``: a window of days, ``from: Date!``/``to: Date!``, both inclusive.
- ``FromTime``/``ToTime``: a window of instants, ``from: DateTime!``/``to: DateTime!``, both inclusive; an instant
  written without an offset is Beijing time. ``MaybeFrom``/``MaybeTo``/``MaybeFromTime``/``MaybeToTime`` are the
  optional forms (their fields say what a missing bound means).
- ``Day``: one day, ``Date!``.

The Python parameter of a window is named ``from_``/``to`` (``from`` is a keyword); the alias names it ``from`` in
the graph. ``spec_day`` and ``spec_instant`` write a value as the spec wants it on the wire, ``window`` checks that a
window's ends are in order.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from services.payments.clock import CHINA_TIME
from services.refusals import RefusalCode, Refused

HospitalIds = Annotated[
    str,
    strawberry.argument(
        description=(
            'One hospital id or several, comma-separated as the spec writes it (e.g. "253,254"); every hospital is '
            "asked at once, and hospitals behind one regional HIS in one call."
        )
    ),
]
OneHospital = Annotated[strawberry.ID, strawberry.argument(description="The hospital asked (its hospitalId).")]

_FROM_DAY = "First day of the window (inclusive), yyyy-MM-dd."
_TO_DAY = "Last day of the window (inclusive), yyyy-MM-dd."
_FROM_TIME = "Start of the window (inclusive); an instant without an offset is Beijing time (+08:00)."
_TO_TIME = "End of the window (inclusive); an instant without an offset is Beijing time (+08:00)."

From = Annotated[date, strawberry.argument(name="from", description=_FROM_DAY)]
To = Annotated[date, strawberry.argument(name="to", description=_TO_DAY)]
FromTime = Annotated[datetime, strawberry.argument(name="from", description=_FROM_TIME)]
ToTime = Annotated[datetime, strawberry.argument(name="to", description=_TO_TIME)]
MaybeFrom = Annotated[date | None, strawberry.argument(name="from", description=_FROM_DAY)]
MaybeTo = Annotated[date | None, strawberry.argument(name="to", description=_TO_DAY)]
MaybeFromTime = Annotated[datetime | None, strawberry.argument(name="from", description=_FROM_TIME)]
MaybeToTime = Annotated[datetime | None, strawberry.argument(name="to", description=_TO_TIME)]
Day = Annotated[date, strawberry.argument(description="A day, yyyy-MM-dd.")]


def beijing(moment: datetime) -> datetime:
    """The instant in Beijing time; one written without an offset already is. One that has no Beijing time (past
    the year 9999 there) is refused (PARAMETER_RANGE), not an OverflowError of ours."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_TIME)
    try:
        return moment.astimezone(CHINA_TIME)
    except OverflowError:
        raise Refused(RefusalCode.PARAMETER_RANGE, "时间超出范围。") from None


def spec_day(day: date) -> str:
    """The spec's ``yyyy-MM-dd``."""
    return day.isoformat()


def spec_instant(moment: datetime) -> str:
    """The spec's ``yyyy-MM-dd HH:mm:ss``, Beijing time; the year in four digits always (strftime's ``%Y`` writes
    the year 187 as "187")."""
    return beijing(moment).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def day_bounds(start: date, end: date) -> tuple[str, str]:
    """A window of days as the spec's times: the first second of ``start`` to the last second of ``end``."""
    in_order(start, end)
    return f"{spec_day(start)} 00:00:00", f"{spec_day(end)} 23:59:59"


def time_bounds(start: datetime, end: datetime) -> tuple[str, str]:
    """A window of instants as the spec's times (Beijing), its ends checked to be in order."""
    in_order(start, end)
    return spec_instant(start), spec_instant(end)


def in_order(start: date | datetime, end: date | datetime) -> None:
    """A window whose ``from`` is after its ``to`` is refused (PARAMETER_RANGE, field ``from``).

    Both ends are days, or both instants (one without an offset is Beijing time)."""
    if isinstance(start, datetime) or isinstance(end, datetime):
        if not (isinstance(start, datetime) and isinstance(end, datetime)):
            raise TypeError("a window's ends are both days or both instants")
        start, end = beijing(start), beijing(end)
    if start > end:
        raise Refused(RefusalCode.PARAMETER_RANGE, "开始时间不能晚于结束时间。", field="from")
