"""createPhysicalExamPayment: pay exam packages (28.1.1 price), booked (28.1.6) after payment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...arguments import beijing
from ...context import Info
from ...values import Sex
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class PhysicalExamPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for physical-exam packages (体检预约) at the price 28.1.1 quotes now; the exam is booked "
            "(28.1.6) once the money arrives, and refunded if the hospital cannot book it."
        )
    )
    async def create_physical_exam_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the exam.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the person examined.")],
        id_card_number: Annotated[str, strawberry.argument(description="The person's ID number.")],
        name: Annotated[str, strawberry.argument(description="The person's name.")],
        sex: Annotated[Sex, strawberry.argument(description="The person's sex.")],
        package_ids: Annotated[list[str], strawberry.argument(description="The packages (28.1.1 packageId).")],
        at: Annotated[
            datetime,
            strawberry.argument(description="When the exam is booked (a time 28.1.4 offers); Beijing time."),
        ],
        phone: Annotated[str | None, strawberry.argument(description="The person's phone number.")] = None,
        profession_code: Annotated[
            str | None, strawberry.argument(description="The profession code 28.1.1 filters packages on.")
        ] = None,
        org_id: Annotated[str | None, strawberry.argument(description="The employer's id, for group exams.")] = None,
        group_id: Annotated[str | None, strawberry.argument(description="The group's id, for group exams.")] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_physical_exam_order(
                hospital_id=hospital,
                medical_card_number=card,
                id_card=id_card_number.strip(),
                name=name.strip(),
                sex=str(sex.value),
                package_ids=[package.strip() for package in package_ids],
                date=beijing(at).strftime("%Y-%m-%d %H:%M"),
                tel_no=phone,
                profession_code=profession_code,
                org_id=org_id,
                group_id=group_id,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
