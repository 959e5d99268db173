"""37.1.4 删除电子陪护证信息: the patient revokes a caregiver pass from the phone."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.inpatient_records import DELETE_CAREGIVERS, DeleteCaregiversRequest

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, optional_id_number, required


@strawberry.input(description="Which pass to revoke (37.1.4 删除电子陪护证信息).")
class DeleteCaregiverPassInput:
    caregiver_pass_id: str = strawberry.field(description="The pass's id at the hospital (caregiversId).")
    caregiver_id_card_number: str | None = strawberry.field(
        default=None, description="The caregiver's resident ID number (idCard, 陪护人身份证号), when known."
    )


@strawberry.type(description="The hospital revoked the pass (37.1.4).")
class DeleteCaregiverPassSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that revoked it.")
    caregiver_pass_id: str = strawberry.field(description="The pass revoked (caregiversId).")


DeleteCaregiverPassResult = Annotated[
    DeleteCaregiverPassSuccess | Refusal,
    strawberry.union(
        "DeleteCaregiverPassResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class DeleteCaregiverPassMutation:
    @strawberry.mutation(description="Revoke a caregiver pass (37.1.4 删除电子陪护证信息). Sent once, never retried.")
    async def delete_caregiver_pass(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[DeleteCaregiverPassInput, strawberry.argument(description="What to write.")],
    ) -> DeleteCaregiverPassResult:
        return await his_write(
            info,
            method=DELETE_CAREGIVERS,
            hospital_id=hospital_id,
            request=lambda: DeleteCaregiversRequest(
                caregivers_id=required("caregiverPassId", input.caregiver_pass_id),
                id_card=optional_id_number("caregiverIdCardNumber", input.caregiver_id_card_number),
            ),
            success=lambda hospital, _: DeleteCaregiverPassSuccess(
                hospital_id=strawberry.ID(hospital), caregiver_pass_id=input.caregiver_pass_id.strip()
            ),
        )
