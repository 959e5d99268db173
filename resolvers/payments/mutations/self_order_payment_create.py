"""createSelfOrderPayment: pay self-chosen items (29.1.1 prices, 29.1.3 after payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder
from services.refusals import RefusalCode, Refused

from ...context import Info
from ...refusal import Refusal
from ...scalars import Money
from ...schedules.slot_ids import SlotKind, decode_slot_id
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


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
        slot_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The slotId of the day chosen for the selection (SelfOrderDate.slotId)."),
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
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
        try:  # an edited or foreign slotId: nothing is asked of any hospital
            slot = decode_slot_id(info, str(slot_id), kind=SlotKind.SELF_ORDER)
            chosen = slot.get("groups")
            day = slot.day
            if day is None or not isinstance(chosen, dict) or not chosen:
                raise Refused(RefusalCode.PARAMETER_FORMAT, "号源信息无效，请重新查询后再预约。", field="slotId")
        except Refused as refused:
            return Refusal.of(refused)
        hospital = slot.hospital_id
        groups = {str(group): [str(item) for item in items or []] for group, items in chosen.items()}

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_self_order(
                hospital_id=hospital,
                medical_card_number=card,
                groups=groups,
                appointment_date=day.isoformat(),
                patient_name=patient_name,
                id_card=id_card_number,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
