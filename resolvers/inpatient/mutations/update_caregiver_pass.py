"""37.1.2 修改电子陪护证信息: correct or complete the caregiver's details on a pass."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.inpatient_records import UPDATE_CAREGIVERS, UpdateCaregiversRequest

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, required
from .caregiver_details import CaregiverDetailsInput, caregiver_parameters


@strawberry.input(description="Which pass, and the caregiver's details as they should now read (37.1.2).")
class UpdateCaregiverPassInput:
    caregiver_pass_id: str = strawberry.field(description="The pass's id at the hospital (caregiversId).")
    caregiver: CaregiverDetailsInput = strawberry.field(description="The caregiver's details, complete.")


@strawberry.type(description="The hospital updated the pass (37.1.2).")
class UpdateCaregiverPassSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that updated it.")
    caregiver_pass_id: str = strawberry.field(description="The pass updated (caregiversId).")


UpdateCaregiverPassResult = Annotated[
    UpdateCaregiverPassSuccess | Refusal,
    strawberry.union(
        "UpdateCaregiverPassResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class UpdateCaregiverPassMutation:
    @strawberry.mutation(
        description="Update the caregiver's details on a pass (37.1.2 修改电子陪护证信息). Sent once, never retried."
    )
    async def update_caregiver_pass(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[UpdateCaregiverPassInput, strawberry.argument(description="What to write.")],
    ) -> UpdateCaregiverPassResult:
        return await his_write(
            info,
            method=UPDATE_CAREGIVERS,
            hospital_id=hospital_id,
            request=lambda: UpdateCaregiversRequest(
                caregivers_id=required("caregiverPassId", input.caregiver_pass_id),
                **caregiver_parameters(input.caregiver),
            ),
            success=lambda hospital, _: UpdateCaregiverPassSuccess(
                hospital_id=strawberry.ID(hospital), caregiver_pass_id=input.caregiver_pass_id.strip()
            ),
        )
