"""createMedicalRecordPayment: pay copies of a stay's medical record (27.1.1 stay, 27.1.2 after payment)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class MedicalRecordPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for copies of one stay's medical record (病案预约配送, chapter 27) at the platform's tariff "
            "(per printed page, and postage when mailed): chapter 27 quotes no price, and none is taken from the "
            "caller. The stay must be one the hospital lists (27.1.1); the payment is written to the hospital "
            "(27.1.2) once the money arrives."
        )
    )
    async def create_medical_record_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the stay.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name (27.1.1 patientName).")],
        admission_number: Annotated[
            str, strawberry.argument(description="The stay's admission number (住院号, 27.1.1 patInHosCode).")
        ],
        application_id: Annotated[
            str, strawberry.argument(description="The platform's copy application (mediaclRecordApplyId).")
        ],
        pages: Annotated[int, strawberry.argument(description="How many pages to print (printNumber), 1 to 500.")],
        mailed: Annotated[
            bool, strawberry.argument(description="True to have the copies mailed (postage added); false to collect.")
        ] = True,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number (idCard), when known.")
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_medical_record_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                apply_id=application_id.strip(),
                print_number=pages,
                admission_number=admission_number.strip(),
                mailed=mailed,
                id_card=id_card_number,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
