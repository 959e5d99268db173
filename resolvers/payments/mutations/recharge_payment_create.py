"""createRechargePayment: put money on a card's balance (7.1.2)."""

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
class RechargePaymentCreateMutation:
    @strawberry.mutation(description="An order to recharge a card's balance (就诊卡充值, 7.1.2).")
    async def create_recharge_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the card.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card to recharge.")],
        amount: Annotated[
            Money,
            strawberry.argument(
                description="Yuan to add, e.g. 100.00: two decimal places, above 0 and at most 5000.00."
            ),
        ],
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_recharge_order(
                hospital_id=hospital,
                medical_card_number=card,
                amount=Decimal(amount),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
