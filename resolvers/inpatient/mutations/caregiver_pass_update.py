"""37.1.2 修改电子陪护证信息: correct or complete the caregiver's details on a pass."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.inpatient_records import UPDATE_CAREGIVERS, UpdateCaregiversRequest

from ...context import Info
from ...results import HisRefusal, HospitalUnavailable, InvalidInput, TargetHospital, his_write, required
from .caregiver_details import CaregiverDetailsInput, caregiver_parameters


@strawberry.input(description="Which pass, and the caregiver's details as they should now read (37.1.2).")
class CaregiverPassUpdateInput:
    caregiver_pass_id: str = strawberry.field(description="The pass's id at the hospital (caregiversId).")
    caregiver: CaregiverDetailsInput = strawberry.field(description="The caregiver's details, complete.")


@strawberry.type(description="The hospital updated the pass (37.1.2).")
class CaregiverPassUpdateSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that updated it.")
    caregiver_pass_id: str = strawberry.field(description="The pass updated (caregiversId).")


CaregiverPassUpdateResult = Annotated[
    CaregiverPassUpdateSuccess | HisRefusal | HospitalUnavailable | InvalidInput,
    strawberry.union(
        "CaregiverPassUpdateResult",
        description="Success, or the hospital's refusal with its code, or no usable answer, or bad input.",
    ),
]


@strawberry.type
class CaregiverPassUpdateMutation:
    @strawberry.mutation(
        description="Update the caregiver's details on a pass (37.1.2 修改电子陪护证信息). Sent once, never retried."
    )
    async def caregiver_pass_update(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CaregiverPassUpdateInput, strawberry.argument(description="What to write.")],
    ) -> CaregiverPassUpdateResult:
        return await his_write(
            info,
            method=UPDATE_CAREGIVERS,
            hospital_id=hospital_id,
            request=lambda: UpdateCaregiversRequest(
                caregivers_id=required("caregiverPassId", input.caregiver_pass_id),
                **caregiver_parameters(input.caregiver),
            ),
            success=lambda hospital, _: CaregiverPassUpdateSuccess(
                hospital_id=strawberry.ID(hospital), caregiver_pass_id=input.caregiver_pass_id.strip()
            ),
        )
