"""createAppointmentPayment: book an appointment slot (21.2.2) and pay it (21.2.4 after payment)."""

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
class AppointmentPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "Book an appointment slot (预约挂号, 21.2.2) and an order at the hospital's price for this patient: the "
            "fee of the schedule it uploaded (21.1.4 arAmt) plus the patient's surcharge (21.2.5). The hospital is "
            "told of the payment (21.2.4) once the money arrives. A refused booking writes no order."
        )
    )
    async def create_appointment_payment(
        self,
        info: Info,
        hospital_id: Annotated[str, strawberry.argument(description="The hospital to book at.")],
        hos_code: Annotated[str, strawberry.argument(description="The hospital's code in 21.x (hosCode).")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient booked.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        patient_id: Annotated[str, strawberry.argument(description="The patient's ID number (patientId).")],
        patient_phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        dept_code: Annotated[str, strawberry.argument(description="The department (deptCode).")],
        doc_code: Annotated[str, strawberry.argument(description="The doctor (docCode).")],
        date: Annotated[str, strawberry.argument(description="The day of the appointment, yyyyMMdd.")],
        am_pm: Annotated[str, strawberry.argument(description="Morning or afternoon (amPm).")],
        start_time: Annotated[str, strawberry.argument(description="The slot's start, HH:mm.")],
        end_time: Annotated[str | None, strawberry.argument(description="The slot's end, HH:mm.")] = None,
        his_time_id: Annotated[
            str | None, strawberry.argument(description="The hospital's id of the slot (hisTimeId), when given.")
        ] = None,
        serial_number: Annotated[
            int | None, strawberry.argument(description="The slot's serial number, when given.")
        ] = None,
        id_type: Annotated[
            str, strawberry.argument(description="The kind of ID patientId is (type; 01 = 身份证).")
        ] = "01",
        balance_payment: Annotated[
            Money | None,
            strawberry.argument(description="Part paid from the card's balance (balancePayment); 0 when none."),
        ] = None,
        shown_fee: Annotated[
            Money | None,
            strawberry.argument(
                description=(
                    "The fee the app showed the patient, to be sure it is what is charged: the order is refused "
                    "(60202) when the hospital's price differs. Never the price: that is always the hospital's."
                )
            ),
        ] = None,
    ) -> Annotated[
        CreatedPayment | PaymentRefusal,
        strawberry.union("AppointmentCreateResult", description="A booked slot's order, or why not."),
    ]:
        card = medical_card_number.strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_appointment_order(
                hospital_id=hospital_id.strip(),
                hos_code=hos_code.strip(),
                medical_card_number=card,
                patient_name=patient_name.strip(),
                patient_id=patient_id.strip(),
                patient_phone=patient_phone.strip(),
                dept_code=dept_code.strip(),
                doc_code=doc_code.strip(),
                date=date.strip(),
                am_pm=am_pm.strip(),
                start_time=start_time.strip(),
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                end_time=end_time,
                his_time_id=his_time_id,
                serial_number=serial_number,
                id_type=id_type,
                id_card=patient_id.strip() if id_type == "01" else None,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, make)
