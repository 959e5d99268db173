"""createTodayRegistrationPayment: pay today's registration (20.1.2 fee -> 20.1.7 after payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...arguments import MaybeFromTime, beijing
from ...context import Info
from ...scalars import Money
from ...values import HalfDay
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult

_SPEC_HALF_DAY = {HalfDay.MORNING: "A", HalfDay.AFTERNOON: "P", HalfDay.EVENING: "N"}
"""20.1.7 writes the half-day A / P / N."""


@strawberry.type
class TodayRegistrationPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for today's registration (当日挂号) at the hospital's price for this patient now (20.1.6, "
            "as feeForPatient shows it; the schedule's 20.1.2 fee only where 20.1.6 says nothing); the "
            "registration is made (20.1.7) once the money arrives, and refunded if the hospital cannot make it. "
            "Pass the schedule's and the slot's own values (departmentId, clinicTypeId, doctorId, and the slot's "
            "sequence, serialNumber, from, halfDay, timeCode) as they gave them."
        )
    )
    async def create_today_registration_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital to register at.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient registered.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        department_id: Annotated[str, strawberry.argument(description="The schedule's department (departmentId).")],
        clinic_type_id: Annotated[
            str, strawberry.argument(description="The schedule's clinic type (clinicTypeId, 号别).")
        ],
        doctor_id: Annotated[
            str | None,
            strawberry.argument(description="The schedule's doctor (doctorId); null for the department's own desk."),
        ] = None,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
        sequence: Annotated[str | None, strawberry.argument(description="The slot's sequence (20.1.3).")] = None,
        serial_number: Annotated[
            str | None, strawberry.argument(description="The slot's serial number (20.1.3 serialNumber).")
        ] = None,
        from_: MaybeFromTime = None,
        half_day: Annotated[HalfDay | None, strawberry.argument(description="The slot's half-day.")] = None,
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
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_today_registration_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                department_id=department_id.strip(),
                reg_class_id=clinic_type_id.strip(),
                doctor_id=doctor_id,
                id_card=id_card_number,
                sequence=sequence,
                serial_number=serial_number,
                register_time=beijing(from_).strftime("%H:%M") if from_ is not None else None,
                am_pm=_SPEC_HALF_DAY[half_day] if half_day is not None else None,
                time_code=time_code,
                balance_payment=Decimal(balance_payment or 0),
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
