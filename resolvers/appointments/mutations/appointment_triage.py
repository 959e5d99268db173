"""42.1.2 预约签到分诊: sign in for a booked visit (42.1.1) and join the doctor's queue."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.triage import APPOINTMENT_TRIAGE, AppointmentTriageRequest

from ...context import Info
from ...results import (
    HisRefusal,
    HospitalUnavailable,
    InvalidInput,
    TargetHospital,
    his_write,
    optional_id_number,
    required,
)


@strawberry.input(description="Which booked visit the patient signs in for (42.1.2 预约签到分诊).")
class AppointmentTriageInput:
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    id_card: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (身份证号), when known; checked before sending."
    )
    department_id: str = strawberry.field(description="The department of the booked visit (deptId, 42.1.1).")
    doctor_id: str = strawberry.field(description="The doctor of the booked visit (doctorId, 42.1.1).")


@strawberry.type(description="The hospital signed the patient in; they now queue for the doctor (see 42.1.3).")
class AppointmentTriageSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that accepted it.")
    department_id: str = strawberry.field(description="The department signed in to.")
    doctor_id: str = strawberry.field(description="The doctor the patient queues for.")


AppointmentTriageResult = Annotated[
    AppointmentTriageSuccess | HisRefusal | HospitalUnavailable | InvalidInput,
    strawberry.union(
        "AppointmentTriageResult",
        description=(
            "Success, or the hospital's refusal (e.g. 60701 already triaged), or no usable answer, or bad input."
        ),
    ),
]


@strawberry.type
class AppointmentTriageMutation:
    @strawberry.mutation(
        description="Sign in for a booked visit and be triaged (42.1.2 预约签到分诊). Sent once, never retried."
    )
    async def appointment_triage(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[AppointmentTriageInput, strawberry.argument(description="What to write.")],
    ) -> AppointmentTriageResult:
        return await his_write(
            info,
            method=APPOINTMENT_TRIAGE,
            hospital_id=hospital_id,
            request=lambda: AppointmentTriageRequest(
                medical_card_number=required("medicalCardNumber", input.medical_card_number),
                id_card=optional_id_number("idCard", input.id_card),
                dept_id=required("departmentId", input.department_id),
                doctor_id=required("doctorId", input.doctor_id),
            ),
            success=lambda hospital, _: AppointmentTriageSuccess(
                hospital_id=strawberry.ID(hospital),
                department_id=input.department_id.strip(),
                doctor_id=input.doctor_id.strip(),
            ),
        )
