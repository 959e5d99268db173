"""createAppointmentPayment: book an appointment slot (21.2.2) and pay it (21.2.4 after payment)."""

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
from ...values import HalfDay
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class AppointmentPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "Book an appointment slot (预约挂号, 21.2.2) and an order at the hospital's price for this patient: the "
            "fee of the schedule it uploaded (21.1.4 arAmt) plus the patient's surcharge (21.2.5). The hospital is "
            "told of the payment (21.2.4) once the money arrives. A refused booking writes no order. The slot is "
            "the slotId an AppointmentSlot answered: it names the hospital, department, doctor, day and time."
        )
    )
    async def create_appointment_payment(
        self,
        info: Info,
        slot_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The slotId of the appointment slot to book (AppointmentSlot.slotId)."),
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient booked.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        id_card_number: Annotated[
            str, strawberry.argument(description="The patient's ID number (of the certificateType given).")
        ],
        phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        certificate_type: Annotated[
            str, strawberry.argument(description="The kind of certificate idCardNumber is (附七; 01 = 身份证).")
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
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        try:  # an edited or foreign slotId: nothing is asked of any hospital
            slot = decode_slot_id(info, str(slot_id), kind=SlotKind.APPOINTMENT)
            day, half_day = slot.day, slot.half_day
            if day is None or half_day is None or half_day is HalfDay.EVENING:
                raise Refused(RefusalCode.PARAMETER_FORMAT, "号源信息无效，请重新查询号源后再预约。", field="slotId")
        except Refused as refused:
            return Refusal.of(refused)
        hospital = slot.hospital_id
        id_number = id_card_number.strip()
        serial = slot.text("serial_number")

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_appointment_order(
                hospital_id=hospital,
                hos_code=slot.text("hos_code") or hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                patient_id=id_number,
                patient_phone=phone.strip(),
                dept_code=slot.text("department_id") or "",
                doc_code=slot.text("doctor_id") or "",
                date=f"{day:%Y%m%d}",
                am_pm=str(half_day.value),
                start_time=slot.text("start_time") or "",
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                end_time=slot.text("end_time"),
                his_time_id=slot.text("his_time_id"),
                serial_number=int(serial) if serial is not None and serial.isdigit() else None,
                id_type=certificate_type,
                id_card=id_number if certificate_type == "01" else None,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
