"""createAdmissionPayment: pay an admission application (36.1.1 amount -> 36.1.2 after payment)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class AdmissionPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for what the patient's admission application asks (入院申请, 36.1.1 prepayAmount); the "
            "application is saved at the hospital (36.1.2) once the money arrives. Cancel it with cancelPaidBooking "
            "until a bed is assigned (36.1.3)."
        )
    )
    async def create_admission_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital admitting the patient.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient admitted.")],
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_admission_order(
                hospital_id=hospital, medical_card_number=card, id_card=id_card_number, payer_openid=openid_of(info)
            )

        return await create(info, hospital, make)
