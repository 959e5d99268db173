"""createTodayRegistrationPayment: pay today's registration (20.1.2 fee -> 20.1.7 after payment)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder
from services.refusals import Refused

from ...context import Info
from ...refusal import Refusal
from ...scalars import Money
from ...schedules.slot_ids import SlotKind, decode_slot_id
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
            "The slot is the slotId a TodayRegistrationSlot answered (or a TodaySchedule's, where the hospital "
            "hands out no slots): it names the hospital, department, doctor, clinic type and slot."
        )
    )
    async def create_today_registration_payment(
        self,
        info: Info,
        slot_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The slotId of the slot (or schedule) to register for, as returned."),
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient registered.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
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
        try:
            slot = decode_slot_id(info, str(slot_id), kind=SlotKind.TODAY_REGISTRATION)
        except Refused as refused:  # an edited or foreign slotId: nothing is asked of any hospital
            return Refusal.of(refused)
        half_day = slot.half_day

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_today_registration_order(
                hospital_id=slot.hospital_id,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                department_id=slot.text("department_id") or "",
                reg_class_id=slot.text("clinic_type_id") or "",
                doctor_id=slot.text("doctor_id"),
                id_card=id_card_number,
                sequence=slot.text("sequence"),
                serial_number=slot.text("serial_number"),
                register_time=slot.text("start_time"),
                am_pm=_SPEC_HALF_DAY[half_day] if half_day is not None else None,
                time_code=slot.text("time_code"),
                balance_payment=Decimal(balance_payment or 0),
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                payer_openid=openid_of(info),
            )

        return await create(info, slot.hospital_id, make)
