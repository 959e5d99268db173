"""24.1.7 执行改约项目: move a booked exam to another slot (method appointment.changeSchedule)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.exam_appointments import (
    APPOINTMENT_CHANGE_SCHEDULE,
    AppointmentChangeScheduleRequest,
    ExamRebooking,
)

from ...context import Info
from ...results import (
    Refusal,
    TargetHospital,
    his_write,
    optional_id_number,
    required,
)
from .exam_slot import SLOT_ID, slot_parameters


@strawberry.input(description="Which booking moves to which slot (24.1.7 执行改约项目).")
class ChangeExamAppointmentInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    registration_id: str = strawberry.field(
        description="The hospital's id of the booking to move (regId, 原预约成功记录主键)."
    )
    appointment_id: str = strawberry.field(
        description="Our own id of that booking (appointmentId), as sent when booking."
    )
    slot_id: strawberry.ID = strawberry.field(
        description=f"{SLOT_ID} Only bookings whose canChange is true (changeFlag 1) can move."
    )


@strawberry.type(description="The hospital moved the booking (24.1.7).")
class ChangeExamAppointmentSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that moved it.")
    registration_id: str = strawberry.field(
        description="The booking's id from now on (regId): use it for later changes."
    )
    notice: str = strawberry.field(description="What to tell the patient (notice, 提醒信息).")


ChangeExamAppointmentResult = Annotated[
    ChangeExamAppointmentSuccess | Refusal,
    strawberry.union(
        "ChangeExamAppointmentResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class ChangeExamAppointmentMutation:
    @strawberry.mutation(
        description="Move a booked exam to another slot (24.1.7 执行改约项目). Sent once, never retried."
    )
    async def change_exam_appointment(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[ChangeExamAppointmentInput, strawberry.argument(description="What to write.")],
    ) -> ChangeExamAppointmentResult:
        def moved(hospital: str, reply: ExamRebooking) -> ChangeExamAppointmentSuccess:
            return ChangeExamAppointmentSuccess(
                hospital_id=strawberry.ID(hospital), registration_id=reply.reg_id, notice=reply.notice
            )

        return await his_write(
            info,
            method=APPOINTMENT_CHANGE_SCHEDULE,
            hospital_id=hospital_id,
            request=lambda: AppointmentChangeScheduleRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                reg_id=required("registrationId", input.registration_id),
                appointment_id=required("appointmentId", input.appointment_id),
                **slot_parameters(info, input.slot_id, hospital_id.strip()),
            ),
            success=moved,
        )
