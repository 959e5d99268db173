"""createTodayRegistrationPayment: pay today's registration (20.1.2 fee -> 20.1.7 after payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
from ...scalars import Money
from ..common import create, openid_of, require_card
from ..types import CreatedPayment, PaymentRefusal


@strawberry.type
class TodayRegistrationPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for today's registration (当日挂号) at the hospital's price for this patient now (20.1.6, "
            "as feeForPatient shows it; the schedule's 20.1.2 fee only where 20.1.6 says nothing); the "
            "registration is made (20.1.7) once the money arrives, and refunded if the hospital cannot make it."
        )
    )
    async def create_today_registration_payment(
        self,
        info: Info,
        hospital_id: Annotated[str, strawberry.argument(description="The hospital to register at.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient registered.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        department_id: Annotated[str, strawberry.argument(description="The department (20.1.1 departmentId).")],
        reg_class_id: Annotated[
            str, strawberry.argument(description="The registration class of the schedule row (20.1.2 regClassId).")
        ],
        doctor_id: Annotated[
            str | None,
            strawberry.argument(description="The doctor (20.1.2 doctorId); null for the department's own desk."),
        ] = None,
        id_card: Annotated[str | None, strawberry.argument(description="The patient's ID number, when known.")] = None,
        sequence: Annotated[str | None, strawberry.argument(description="The slot's sequence (20.1.3).")] = None,
        serial_number: Annotated[
            str | None, strawberry.argument(description="The slot's serial number (20.1.3 serialNumber).")
        ] = None,
        register_time: Annotated[
            str | None, strawberry.argument(description="The slot's time (20.1.3), as the hospital wrote it.")
        ] = None,
        am_pm: Annotated[str | None, strawberry.argument(description="Morning or afternoon (20.1.3 amPm).")] = None,
        time_code: Annotated[str | None, strawberry.argument(description="The slot's time code (20.1.3).")] = None,
        balance_payment: Annotated[
            Money | None,
            strawberry.argument(description="Part paid from the card's balance (balancePayment); 0 when none."),
        ] = None,
        shown_fee: Annotated[
            Money | None,
            strawberry.argument(
                description=(
                    "The fee the app showed the patient (feeForPatient), to be sure it is what is charged: the "
                    "order is refused (60202) when the hospital's price differs. Never the price itself."
                )
            ),
        ] = None,
    ) -> Annotated[
        CreatedPayment | PaymentRefusal,
        strawberry.union("TodayRegistrationCreateResult", description="A new registration order, or why not."),
    ]:
        card = medical_card_number.strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_today_registration_order(
                hospital_id=hospital_id.strip(),
                medical_card_number=card,
                patient_name=patient_name.strip(),
                department_id=department_id.strip(),
                reg_class_id=reg_class_id.strip(),
                doctor_id=doctor_id,
                id_card=id_card,
                sequence=sequence,
                serial_number=serial_number,
                register_time=register_time,
                am_pm=am_pm,
                time_code=time_code,
                balance_payment=Decimal(balance_payment or 0),
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                payer_openid=openid_of(info),
            )

        return await create(info, make)
