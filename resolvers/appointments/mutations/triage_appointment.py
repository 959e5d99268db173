"""42.1.2 预约签到分诊: sign in for a booked visit (42.1.1) and join the doctor's queue."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.triage import APPOINTMENT_TRIAGE, AppointmentTriageRequest

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, optional_id_number, required


@strawberry.input(description="Which booked visit the patient signs in for (42.1.2 预约签到分诊).")
class TriageAppointmentInput:
    medical_card_number: str = strawberry.field(description="The patient's medical card number (就诊卡号).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    department_id: str = strawberry.field(description="The department of the booked visit (deptId, 42.1.1).")
    doctor_id: str = strawberry.field(description="The doctor of the booked visit (doctorId, 42.1.1).")


@strawberry.type(description="The hospital signed the patient in; they now queue for the doctor (see 42.1.3).")
class TriageAppointmentSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that accepted it.")
    department_id: str = strawberry.field(description="The department signed in to.")
    doctor_id: str = strawberry.field(description="The doctor the patient queues for.")


TriageAppointmentResult = Annotated[
    TriageAppointmentSuccess | Refusal,
    strawberry.union(
        "TriageAppointmentResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code (e.g. ALREADY_TRIAGED), or no answer.",
    ),
]


@strawberry.type
class TriageAppointmentMutation:
    @strawberry.mutation(
        description="Sign in for a booked visit and be triaged (42.1.2 预约签到分诊). Sent once, never retried."
    )
    async def triage_appointment(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[TriageAppointmentInput, strawberry.argument(description="What to write.")],
    ) -> TriageAppointmentResult:
        return await his_write(
            info,
            method=APPOINTMENT_TRIAGE,
            hospital_id=hospital_id,
            request=lambda: AppointmentTriageRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCardNumber", input.id_card_number),
                dept_id=required("departmentId", input.department_id),
                doctor_id=required("doctorId", input.doctor_id),
            ),
            success=lambda hospital, _: TriageAppointmentSuccess(
                hospital_id=strawberry.ID(hospital),
                department_id=input.department_id.strip(),
                doctor_id=input.doctor_id.strip(),
            ),
        )
