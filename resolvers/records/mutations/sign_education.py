"""23.1.3 患者签名: the patient (or family) signs an education record (宣教) pushed by the ward."""

from __future__ import annotations

from enum import Enum
from typing import Annotated

import strawberry

from his_clients.models.education import INHOSPITAL_EDUCATION_SIGN, InhospitalEducationSignRequest

from ...context import Info
from ...results import Refusal, TargetHospital, his_write, image_data_url, required


@strawberry.enum(description="Who signs an education record (23.1.3 signType).")
class EducationSigner(Enum):
    PATIENT = strawberry.enum_value("patient", description="患者本人: the patient.")
    FAMILY = strawberry.enum_value("fm", description="家属: a family member.")


@strawberry.enum(description="How well the signer says they took the education in (23.1.3 degreeOfMastery).")
class EducationUnderstanding(Enum):
    UNDERSTOOD = strawberry.enum_value("了解", description="了解: understood.")
    MASTERED = strawberry.enum_value("掌握", description="掌握: mastered.")


@strawberry.input(description="A signature on one education record (23.1.3 患者签名).")
class SignEducationInput:
    education_id: str = strawberry.field(description="The education record (id, 宣教记录主键), as 23.1.1 lists it.")
    signer: EducationSigner = strawberry.field(description="Who signs (signType).")
    understanding: EducationUnderstanding = strawberry.field(description="How well it was taken in (degreeOfMastery).")
    signature_image: str = strawberry.field(
        description=(
            'The handwritten signature as a base64 image with its header, "data:image/png;base64,..." (signImage).'
        )
    )


@strawberry.type(description="The hospital stored the signature (23.1.3).")
class SignEducationSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that stored it.")
    education_id: str = strawberry.field(description="The education record signed.")


SignEducationResult = Annotated[
    SignEducationSuccess | Refusal,
    strawberry.union(
        "SignEducationResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


@strawberry.type
class SignEducationMutation:
    @strawberry.mutation(description="Sign an education record (23.1.3 患者签名). Sent once, never retried.")
    async def sign_education(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[SignEducationInput, strawberry.argument(description="What to write.")],
    ) -> SignEducationResult:
        return await his_write(
            info,
            method=INHOSPITAL_EDUCATION_SIGN,
            hospital_id=hospital_id,
            request=lambda: InhospitalEducationSignRequest(
                id=required("educationId", input.education_id),
                sign_type=input.signer.value,
                degree_of_mastery=input.understanding.value,
                sign_image=image_data_url("signatureImage", input.signature_image),
            ),
            success=lambda hospital, _: SignEducationSuccess(
                hospital_id=strawberry.ID(hospital), education_id=input.education_id.strip()
            ),
        )
