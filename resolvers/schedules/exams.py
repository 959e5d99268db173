"""Bookable examinations (预约检查, 24.1.1-24.1.3): project -> days and rooms -> a room's time slots."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import strawberry

from his_clients.models.exam_appointments import (
    APPOINTMENT_GET_BOOKABLE_PROJECT,
    APPOINTMENT_GET_PLAN_DATA_OF_DAY,
    APPOINTMENT_GET_PLAN_DATA_OF_WEEK,
    AppointmentGetBookableProjectRequest,
    AppointmentGetPlanDataOfDayRequest,
    AppointmentGetPlanDataOfWeekRequest,
)
from services.refusals import RefusalCode, Refused

from ..arguments import From, To, in_order, spec_day
from ..context import Info
from .common import IdCardNumber, MedicalCardNumber, ask_hospital, at, count, read_day
from .slot_ids import SlotKind, slot_id

MAX_DAYS = 31
"""The longest window of days one ``days`` field asks 24.1.2 for."""


@strawberry.type(description="A period of a day an examination room can be booked for (24.1.3).")
class ExamTimeSlot:
    slot_id: strawberry.ID = strawberry.field(
        description="The period's opaque id: booking (bookExamAppointment) and rebooking take it as slotId."
    )
    name: str = strawberry.field(description="The period as shown, e.g. 8:00-8:30 (planTimeName).")
    from_: datetime | None = strawberry.field(
        name="from", description="When it starts (startTime on the room's day); null when not written."
    )
    to: datetime | None = strawberry.field(description="When it ends (endTime); null when not written.")


@strawberry.type(description="An examination room's availability on one day (检查室, 24.1.2).")
class ExamRoom:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this room.")
    id: str = strawberry.field(description="The room's id (roomId).")
    name: str = strawberry.field(description="The room, e.g. CT一室 (roomName).")
    date: date = strawberry.field(description="The day.")
    booked: int | None = strawberry.field(description="How many have booked it that day (已预约数量, count).")
    capacity: int | None = strawberry.field(description="How many it takes that day (总共可预约数量, total).")
    exam_id: strawberry.Private[str]
    exam_name: strawberry.Private[str]
    exam_extra_param: strawberry.Private[str | None]

    @strawberry.field(description="The periods of the day this room can be booked for (24.1.3).")
    async def time_slots(self, info: Info) -> list[ExamTimeSlot] | None:
        request = AppointmentGetPlanDataOfDayRequest(
            order_id=self.exam_id,
            order_name=self.exam_name,
            room_id=self.id,
            selected_date=spec_day(self.date),
            extra_param=self.exam_extra_param,
        )
        reply = await ask_hospital(info, self.hospital_id, APPOINTMENT_GET_PLAN_DATA_OF_DAY, request)
        if reply is None:
            return []
        return [
            ExamTimeSlot(
                slot_id=slot_id(
                    info,
                    SlotKind.EXAM,
                    self.hospital_id,
                    exam_id=self.exam_id,
                    exam_name=self.exam_name,
                    extra_param=self.exam_extra_param,
                    room_id=self.id,
                    date=self.date.isoformat(),
                    time_slot_id=item.plan_time_id,
                    time_slot_name=item.plan_time_name,
                    start_time=item.start_time,
                    end_time=item.end_time,
                ),
                name=item.plan_time_name,
                from_=at(self.date, item.start_time),
                to=at(self.date, item.end_time),
            )
            for item in reply.items
        ]


@strawberry.type(description="One day of a bookable examination and its rooms (24.1.2).")
class ExamDay:
    date: date = strawberry.field(description="The day.")
    rooms: list[ExamRoom] = strawberry.field(description="The rooms that can be booked that day.")


@strawberry.type(description="An examination the patient was prescribed and can book (可预约项目, 24.1.1).")
class BookableExam:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital of this examination.")
    id: str = strawberry.field(description="The prescription line's id (申请单明细ID, orderId); booking sends it.")
    name: str = strawberry.field(description="The examination (项目名称, orderName).")
    extra_param: str | None = strawberry.field(
        description="The hospital's extra parameter, sent back as is (extraParam)."
    )
    medical_card_number: strawberry.Private[str]
    id_card_number: strawberry.Private[str | None]

    @strawberry.field(
        description=(
            f"The days from `from` to `to` (both inclusive, at most {MAX_DAYS} days) with the rooms that can be "
            "booked each day (查询某一项目可预约诊室, 24.1.2); a day the hospital wrote unreadably is left out."
        )
    )
    async def days(self, info: Info, from_: From, to: To) -> list[ExamDay] | None:
        in_order(from_, to)
        count_of_days = (to - from_).days + 1
        if count_of_days > MAX_DAYS:
            raise Refused(RefusalCode.PARAMETER_RANGE, f"一次最多查询{MAX_DAYS}天。", field="to")
        request = AppointmentGetPlanDataOfWeekRequest(
            medical_card_number=self.medical_card_number,
            id_card=self.id_card_number,
            order_id=self.id,
            order_name=self.name,
            start_date=spec_day(from_),
            days=str(count_of_days),
            extra_param=self.extra_param,
        )
        reply = await ask_hospital(info, self.hospital_id, APPOINTMENT_GET_PLAN_DATA_OF_WEEK, request)
        days = [(read_day(day.date), day) for day in reply or []]
        return [
            ExamDay(
                date=day,
                rooms=[
                    ExamRoom(
                        hospital_id=self.hospital_id,
                        id=room.room_id,
                        name=room.room_name,
                        date=day,
                        booked=count(room.count),
                        capacity=count(room.total),
                        exam_id=self.id,
                        exam_name=self.name,
                        exam_extra_param=self.extra_param,
                    )
                    for room in answer.rooms
                ],
            )
            for day, answer in days
            if day is not None
        ]


@strawberry.type
class HospitalExamFields:
    """Examination booking fields of Hospital (24.1.1-24.1.3)."""

    if TYPE_CHECKING:
        id: strawberry.ID

    @strawberry.field(
        description=(
            "Examinations this patient can book (患者可预约项目, 24.1.1), each leading to its days, rooms and time "
            "slots. Booking itself is a mutation."
        )
    )
    async def bookable_exams(
        self, info: Info, medical_card_number: MedicalCardNumber, id_card_number: IdCardNumber = None
    ) -> list[BookableExam] | None:
        request = AppointmentGetBookableProjectRequest(medical_card_number=medical_card_number, id_card=id_card_number)
        reply = await ask_hospital(info, self.id, APPOINTMENT_GET_BOOKABLE_PROJECT, request)
        return [
            BookableExam(
                hospital_id=self.id,
                id=row.order_id,
                name=row.order_name,
                extra_param=row.extra_param,
                medical_card_number=medical_card_number,
                id_card_number=id_card_number,
            )
            for row in reply or []
        ]
