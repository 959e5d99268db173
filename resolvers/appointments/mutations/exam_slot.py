"""The exam slot a patient picks (24.1.1-24.1.3), shared by booking (24.1.4) and rebooking (24.1.7)."""

from __future__ import annotations

from typing import Any

import strawberry

from his_clients.codes import ReturnCode

from ...results import InputRefused, calendar_date, clock_time, optional, required


@strawberry.input(
    description=(
        "An exam slot as the hospital offered it: the project (24.1.1), the room and day (24.1.2) and the time "
        "slot (24.1.3). Give timeSlotId, or else both startTime and endTime."
    )
)
class ExamSlotInput:
    order_id: str = strawberry.field(description="The exam project to book (orderId, 申请单明细ID, from 24.1.1).")
    order_name: str = strawberry.field(description="The project's name as listed (orderName, 项目名称).")
    room_id: str = strawberry.field(description="The exam room chosen (roomId, 检查室, from 24.1.2).")
    date: str = strawberry.field(description="The day, yyyy-MM-dd (selectedDate).")
    time_slot_id: str | None = strawberry.field(
        default=None, description="The time slot chosen (planTimeId, from 24.1.3); preferred over start/end times."
    )
    time_slot_name: str = strawberry.field(description="The slot as shown, e.g. 11:30-12:00 (planTimeName).")
    start_time: str | None = strawberry.field(
        default=None, description="Slot start, H:mm (startTime); required when timeSlotId is not given."
    )
    end_time: str | None = strawberry.field(
        default=None, description="Slot end, H:mm (endTime); required when timeSlotId is not given."
    )
    extra_param: str | None = strawberry.field(
        default=None, description="The hospital's extraParam for this project (24.1.1), passed back unchanged."
    )


def slot_parameters(slot: ExamSlotInput) -> dict[str, Any]:
    """The request fields 24.1.4 and 24.1.7 share, checked; raises InputRefused."""
    plan_time_id = optional(slot.time_slot_id)
    start = optional(slot.start_time)
    end = optional(slot.end_time)
    if plan_time_id is None and (start is None or end is None):
        raise InputRefused(
            "slot.startTime" if start is None else "slot.endTime",
            ReturnCode.MISSING_PARAMETER,
            "give timeSlotId, or both startTime and endTime",
        )
    return {
        "order_id": required("slot.orderId", slot.order_id),
        "order_name": required("slot.orderName", slot.order_name),
        "room_id": required("slot.roomId", slot.room_id),
        "selected_date": calendar_date("slot.date", slot.date),
        "plan_time_id": plan_time_id,
        "plan_time_name": required("slot.timeSlotName", slot.time_slot_name),
        "start_time": None if start is None else clock_time("slot.startTime", start),
        "end_time": None if end is None else clock_time("slot.endTime", end),
        "extra_param": optional(slot.extra_param),
    }
