"""24.1.6 用户取消已预约项目: cancel a booked exam."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.exam_appointments import APPOINTMENT_CANCEL_SCHEDULE, AppointmentCancelScheduleRequest

from ...context import Info
from ...results import (
    Refusal,
    TargetHospital,
    his_write,
    optional_id_number,
    required,
)


@strawberry.input(description="Which booking to cancel, and why (24.1.6 用户取消已预约项目).")
class CancelExamAppointmentInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    registration_id: str = strawberry.field(description="The hospital's id of the booking (regId, 预约成功记录主键).")
    appointment_id: str = strawberry.field(
        description="Our own id of that booking (appointmentId), as sent when booking."
    )
    reason: str = strawberry.field(
        description="Why the patient cancels, e.g. 时间不合适 (remarks, 取消原因; required)."
    )


@strawberry.type(description="The hospital cancelled the booking (24.1.6).")
class CancelExamAppointmentSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that cancelled it.")
    registration_id: str = strawberry.field(description="The booking cancelled (regId).")


CancelExamAppointmentResult = Annotated[
    CancelExamAppointmentSuccess | Refusal,
    strawberry.union(
        "CancelExamAppointmentResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class CancelExamAppointmentMutation:
    @strawberry.mutation(description="Cancel a booked exam (24.1.6 用户取消已预约项目). Sent once, never retried.")
    async def cancel_exam_appointment(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CancelExamAppointmentInput, strawberry.argument(description="What to write.")],
    ) -> CancelExamAppointmentResult:
        return await his_write(
            info,
            method=APPOINTMENT_CANCEL_SCHEDULE,
            hospital_id=hospital_id,
            request=lambda: AppointmentCancelScheduleRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                reg_id=required("registrationId", input.registration_id),
                appointment_id=required("appointmentId", input.appointment_id),
                remarks=required("reason", input.reason),
            ),
            success=lambda hospital, _: CancelExamAppointmentSuccess(
                hospital_id=strawberry.ID(hospital), registration_id=input.registration_id.strip()
            ),
        )
