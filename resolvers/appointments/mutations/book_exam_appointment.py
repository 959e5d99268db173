"""24.1.4 执行预约: book an exam slot the hospital offered, by the slotId the slot answered."""

from __future__ import annotations

import uuid
from typing import Annotated

import strawberry

from his_clients.models.exam_appointments import (
    APPOINTMENT_REG_SCHEDULE,
    AppointmentRegScheduleRequest,
    ExamBooking,
)

from ...context import Info
from ...results import (
    Refusal,
    TargetHospital,
    his_write,
    optional,
    optional_id_number,
    required,
)
from .exam_slot import SLOT_ID, slot_parameters


@strawberry.input(description="Who books which exam slot (24.1.4 执行预约).")
class BookExamAppointmentInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    slot_id: strawberry.ID = strawberry.field(description=SLOT_ID)
    appointment_id: str | None = strawberry.field(
        default=None,
        description=(
            "Our own id for this booking (appointmentId, 患者智能服务系统中的业务id); cancelling and rebooking "
            "need it. Generated when left out; give your own to recognise the booking after an unknown outcome."
        ),
    )


@strawberry.type(description="The hospital booked the slot (24.1.4).")
class BookExamAppointmentSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that booked it.")
    registration_id: str = strawberry.field(
        description="The hospital's id of the booking (regId, 预约成功记录主键): cancel and rebook with it."
    )
    appointment_id: str = strawberry.field(description="Our own id of the booking (appointmentId), as sent.")
    notice: str = strawberry.field(description="What to tell the patient, e.g. when to arrive (notice, 提醒信息).")


BookExamAppointmentResult = Annotated[
    BookExamAppointmentSuccess | Refusal,
    strawberry.union(
        "BookExamAppointmentResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class BookExamAppointmentMutation:
    @strawberry.mutation(description="Book an examination slot (24.1.4 执行预约). Sent once, never retried.")
    async def book_exam_appointment(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[BookExamAppointmentInput, strawberry.argument(description="What to write.")],
    ) -> BookExamAppointmentResult:
        appointment_id = optional(input.appointment_id) or uuid.uuid4().hex

        def booked(hospital: str, reply: ExamBooking) -> BookExamAppointmentSuccess:
            return BookExamAppointmentSuccess(
                hospital_id=strawberry.ID(hospital),
                registration_id=reply.reg_id,
                appointment_id=appointment_id,
                notice=reply.notice,
            )

        return await his_write(
            info,
            method=APPOINTMENT_REG_SCHEDULE,
            hospital_id=hospital_id,
            request=lambda: AppointmentRegScheduleRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                appointment_id=appointment_id,
                **slot_parameters(info, input.slot_id, hospital_id.strip()),
            ),
            success=booked,
        )
