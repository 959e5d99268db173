"""createSelfOrderPayment: pay self-chosen items (29.1.1 prices, 29.1.3 after payment)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ...scalars import Money
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.input(description="One group of self-ordered items (29.1.1 group) and the items chosen in it.")
class SelfOrderGroupInput:
    group_id: str = strawberry.field(description="The group (29.1.1 groupId).")
    item_ids: list[str] = strawberry.field(
        default_factory=list, description="The items chosen (29.1.1 itemId); empty for every item of the group."
    )


@strawberry.type
class SelfOrderPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for self-chosen exam items (自选套餐) at the prices 29.1.1 quotes now, on a date 29.1.2 offers; "
            "the order is saved at the hospital (29.1.3) once the money arrives."
        )
    )
    async def create_self_order_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the items.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
        groups: Annotated[list[SelfOrderGroupInput], strawberry.argument(description="What was chosen.")],
        appointment_date: Annotated[date, strawberry.argument(description="The day chosen (29.1.2), yyyy-MM-dd.")],
        patient_name: Annotated[str | None, strawberry.argument(description="The patient's name.")] = None,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
        balance_payment: Annotated[
            Money | None,
            strawberry.argument(description="Part paid from the card's balance (balancePayment); 0 when none."),
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_self_order(
                hospital_id=hospital,
                medical_card_number=card,
                groups={g.group_id.strip(): [i.strip() for i in g.item_ids] for g in groups},
                appointment_date=appointment_date.isoformat(),
                patient_name=patient_name,
                id_card=id_card_number,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
