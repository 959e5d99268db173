"""createDepositPayment: pay an inpatient deposit (10.1.2)."""

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
class DepositPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for an inpatient deposit (住院押金, 10.1.2) within the limits the stay shows now (10.1.1); "
            "the hospital is told, retrying for 24 h."
        )
    )
    async def create_deposit_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the stay.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The inpatient's card.")],
        patient_name: Annotated[
            str, strawberry.argument(description="The inpatient's name, as 10.1.1 looks the stay up by it.")
        ],
        amount: Annotated[
            Money,
            strawberry.argument(
                description=(
                    "Yuan to deposit, two decimal places, within the stay's minimumPayment..maximumPayment "
                    "(refused with 20003 / 20004 otherwise)."
                )
            ),
        ],
        admission_number: Annotated[
            str | None, strawberry.argument(description="The stay's admission number (住院号), when known.")
        ] = None,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The inpatient's ID number, when known (10.1.1 idCard).")
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_deposit_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                admission_number=admission_number,
                id_card=id_card_number,
                amount=Decimal(amount),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
