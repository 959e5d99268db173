"""37.1.4 删除电子陪护证信息: the patient revokes a caregiver pass from the phone."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.inpatient_records import DELETE_CAREGIVERS, DeleteCaregiversRequest

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


@strawberry.input(description="Which pass to revoke (37.1.4 删除电子陪护证信息).")
class CaregiverPassDeleteInput:
    caregiver_pass_id: str = strawberry.field(description="The pass's id at the hospital (caregiversId).")
    caregiver_id_card: str | None = strawberry.field(
        default=None, description="The caregiver's resident ID number (idCard), when known."
    )


@strawberry.type(description="The hospital revoked the pass (37.1.4).")
class CaregiverPassDeleteSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that revoked it.")
    caregiver_pass_id: str = strawberry.field(description="The pass revoked (caregiversId).")


CaregiverPassDeleteResult = Annotated[
    CaregiverPassDeleteSuccess | HisRefusal | HospitalUnavailable | InvalidInput,
    strawberry.union(
        "CaregiverPassDeleteResult",
        description="Success, or the hospital's refusal with its code, or no usable answer, or bad input.",
    ),
]


@strawberry.type
class CaregiverPassDeleteMutation:
    @strawberry.mutation(description="Revoke a caregiver pass (37.1.4 删除电子陪护证信息). Sent once, never retried.")
    async def caregiver_pass_delete(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[CaregiverPassDeleteInput, strawberry.argument(description="What to write.")],
    ) -> CaregiverPassDeleteResult:
        return await his_write(
            info,
            method=DELETE_CAREGIVERS,
            hospital_id=hospital_id,
            request=lambda: DeleteCaregiversRequest(
                caregivers_id=required("caregiverPassId", input.caregiver_pass_id),
                id_card=optional_id_number("caregiverIdCard", input.caregiver_id_card),
            ),
            success=lambda hospital, _: CaregiverPassDeleteSuccess(
                hospital_id=strawberry.ID(hospital), caregiver_pass_id=input.caregiver_pass_id.strip()
            ),
        )
