"""The exam slot a patient picks (24.1.1-24.1.3), shared by booking (24.1.4) and rebooking (24.1.7)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import strawberry

from his_clients.codes import ReturnCode

from ...results import InputRefused, optional, required, spec_clock, spec_day


@strawberry.input(
    description=(
        "An exam slot as the hospital offered it: the project (24.1.1), the room and day (24.1.2) and the time "
        "slot (24.1.3). Give timeSlotId, or else both from and to."
    )
)
class ExamSlotInput:
    order_id: str = strawberry.field(description="The exam project to book (orderId, 申请单明细ID, from 24.1.1).")
    order_name: str = strawberry.field(description="The project's name as listed (orderName, 项目名称).")
    room_id: str = strawberry.field(description="The exam room chosen (roomId, 检查室, from 24.1.2).")
    date: dt.date = strawberry.field(description="The day of the slot (selectedDate).")
    time_slot_id: str | None = strawberry.field(
        default=None, description="The time slot chosen (planTimeId, from 24.1.3); preferred over from and to."
    )
    time_slot_name: str = strawberry.field(description="The slot as shown, e.g. 11:30-12:00 (planTimeName).")
    from_: dt.time | None = strawberry.field(
        name="from",
        default=None,
        description="When the slot begins, Beijing time of day (startTime); required when timeSlotId is not given.",
    )
    to: dt.time | None = strawberry.field(
        default=None,
        description="When the slot ends, Beijing time of day (endTime); required when timeSlotId is not given.",
    )
    extra_param: str | None = strawberry.field(
        default=None, description="The hospital's extraParam for this project (24.1.1), passed back unchanged."
    )


def slot_parameters(slot: ExamSlotInput) -> dict[str, Any]:
    """The request fields 24.1.4 and 24.1.7 share, checked; raises InputRefused."""
    plan_time_id = optional(slot.time_slot_id)
    if plan_time_id is None and (slot.from_ is None or slot.to is None):
        raise InputRefused(
            "slot.from" if slot.from_ is None else "slot.to",
            ReturnCode.MISSING_PARAMETER,
            "请选择时间段（timeSlotId），或同时填写开始和结束时间。",
        )
    if slot.from_ is not None and slot.to is not None and slot.to < slot.from_:
        raise InputRefused("slot.to", ReturnCode.PARAMETER_RANGE, "结束时间不能早于开始时间。")
    return {
        "order_id": required("slot.orderId", slot.order_id),
        "order_name": required("slot.orderName", slot.order_name),
        "room_id": required("slot.roomId", slot.room_id),
        "selected_date": spec_day(slot.date),
        "plan_time_id": plan_time_id,
        "plan_time_name": required("slot.timeSlotName", slot.time_slot_name),
        "start_time": None if slot.from_ is None else spec_clock(slot.from_),
        "end_time": None if slot.to is None else spec_clock(slot.to),
        "extra_param": optional(slot.extra_param),
    }
