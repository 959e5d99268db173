"""createPhysicalExamPayment: pay exam packages (28.1.1 price), booked (28.1.6) after payment."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ..common import create, openid_of, require_card
from ..types import CreatedPayment, PaymentRefusal


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
        hospital_id: Annotated[str, strawberry.argument(description="The hospital of the exam.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the person examined.")],
        id_card: Annotated[str, strawberry.argument(description="The person's ID number.")],
        name: Annotated[str, strawberry.argument(description="The person's name.")],
        sex: Annotated[str, strawberry.argument(description="The person's sex as 28.1.6 writes it (男 / 女).")],
        package_ids: Annotated[list[str], strawberry.argument(description="The packages (28.1.1 packageId).")],
        date: Annotated[str, strawberry.argument(description="When the exam is booked, yyyy-MM-dd HH:mm.")],
        tel_no: Annotated[str | None, strawberry.argument(description="The person's phone number.")] = None,
        profession_code: Annotated[
            str | None, strawberry.argument(description="The profession code 28.1.1 filters packages on.")
        ] = None,
        org_id: Annotated[str | None, strawberry.argument(description="The employer's id, for group exams.")] = None,
        group_id: Annotated[str | None, strawberry.argument(description="The group's id, for group exams.")] = None,
    ) -> Annotated[
        CreatedPayment | PaymentRefusal,
        strawberry.union("PhysicalExamCreateResult", description="A new exam order, or why not."),
    ]:
        card = medical_card_number.strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_physical_exam_order(
                hospital_id=hospital_id.strip(),
                medical_card_number=card,
                id_card=id_card.strip(),
                name=name.strip(),
                sex=sex.strip(),
                package_ids=[package.strip() for package in package_ids],
                date=date.strip(),
                tel_no=tel_no,
                profession_code=profession_code,
                org_id=org_id,
                group_id=group_id,
                payer_openid=openid_of(info),
            )

        return await create(info, make)
