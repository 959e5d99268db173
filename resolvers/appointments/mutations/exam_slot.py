"""The exam slot a patient picks, by the ``slotId`` the slot itself answered (24.1.3 ``ExamTimeSlot.slotId``),
shared by booking (24.1.4) and rebooking (24.1.7): the client never copies the slot's fields back."""

from __future__ import annotations

from typing import Any, Final

from services.refusals import RefusalCode, Refused

from ...context import Info
from ...schedules.slot_ids import SlotKind, decode_slot_id

SLOT_ID: Final = (
    "The period chosen: the slotId an examination room's time slot answered (Hospital.bookableExams -> days -> "
    "rooms -> timeSlots, 24.1.1-24.1.3); it carries the exam, room, day and period."
)
"""The description of a booking input's ``slotId``."""


def slot_parameters(info: Info, slot_id: str, hospital_id: str) -> dict[str, Any]:
    """The request fields 24.1.4 and 24.1.7 share, read from the slot id; refuses (PARAMETER_FORMAT, slotId) an id
    this deployment did not make, a slot of another kind of booking, or one of another hospital."""
    slot = decode_slot_id(info, slot_id, kind=SlotKind.EXAM)
    if slot.hospital_id != hospital_id:
        raise Refused(RefusalCode.PARAMETER_FORMAT, "该号源不属于所选医院，请重新查询号源后再预约。", field="slotId")
    return {
        "order_id": slot.text("exam_id"),
        "order_name": slot.text("exam_name"),
        "room_id": slot.text("room_id"),
        "selected_date": slot.text("date"),
        "plan_time_id": slot.text("time_slot_id"),
        "plan_time_name": slot.text("time_slot_name"),
        "start_time": slot.text("start_time"),
        "end_time": slot.text("end_time"),
        "extra_param": slot.text("extra_param"),
    }
