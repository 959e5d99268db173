"""createOutpatientPayment: pay the bills a hospital quotes now (3.1.1 -> 3.1.2)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ...scalars import Money
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class OutpatientPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for every bill the hospital quotes now (待缴费, 3.1.1): the amount is the hospital's own "
            "total, never re-added. Pay it with payParams; the hospital is told (3.1.2) once the money arrives."
        )
    )
    async def create_outpatient_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital whose bills are paid.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card the bills are on.")],
        balance_payment: Annotated[
            Money | None,
            strawberry.argument(description="Part paid from the card's balance (balancePayment); 0 when none."),
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_outpatient_order(
                hospital_id=hospital,
                medical_card_number=card,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
