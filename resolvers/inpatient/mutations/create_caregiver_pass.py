"""37.1.3 新增电子陪护证信息: issue an electronic caregiver pass for an inpatient, from the phone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import strawberry

from his_clients.models.inpatient_records import ADD_CAREGIVERS, AddCaregiversRequest, NewCaregiver
from services.payments.clock import spec_time

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, optional_id_number, required
from .caregiver_details import CaregiverDetailsInput, caregiver_parameters


@strawberry.input(description="The inpatient and the caregiver a new pass is for (37.1.3 新增电子陪护证信息).")
class CreateCaregiverPassInput:
    patient_name: str = strawberry.field(description="The patient's name as registered on admission (patientName).")
    medical_card_number: str = strawberry.field(
        description="The patient's medical card number (patientMedicalCardNumber, 患者就诊卡号)."
    )
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (patientIdCard, 身份证号), when known."
    )
    admission_number: str = strawberry.field(description="The patient's admission number (admissionNumber, 住院号).")
    caregiver: CaregiverDetailsInput = strawberry.field(description="The caregiver.")


@strawberry.type(description="The hospital issued the pass (37.1.3).")
class CreateCaregiverPassSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that issued it.")
    caregiver_pass_id: str = strawberry.field(
        description="The pass's id at the hospital (caregiversId): update and delete it with this id."
    )


CreateCaregiverPassResult = Annotated[
    CreateCaregiverPassSuccess | Refusal,
    strawberry.union(
        "CreateCaregiverPassResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class CreateCaregiverPassMutation:
    @strawberry.mutation(
        description="Issue an electronic caregiver pass (37.1.3 新增电子陪护证信息). Sent once, never retried."
    )
    async def create_caregiver_pass(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CreateCaregiverPassInput, strawberry.argument(description="What to write.")],
    ) -> CreateCaregiverPassResult:
        return await his_write(
            info,
            method=ADD_CAREGIVERS,
            hospital_id=hospital_id,
            request=lambda: AddCaregiversRequest(
                patient_name=required("patientName", input.patient_name),
                patient_medical_card_number=required("medicalCardNumber", input.medical_card_number),
                patient_id_card=optional_id_number("idCardNumber", input.id_card_number),
                admission_number=required("admissionNumber", input.admission_number),
                create_time=spec_time(datetime.now(UTC)),
                flag_invalid="0",
                **caregiver_parameters(input.caregiver),
            ),
            success=lambda hospital, reply: _created(hospital, reply),
        )


def _created(hospital: str, reply: NewCaregiver) -> CreateCaregiverPassSuccess:
    return CreateCaregiverPassSuccess(hospital_id=strawberry.ID(hospital), caregiver_pass_id=reply.caregivers_id)
