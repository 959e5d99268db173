"""createAppointmentPayment: book an appointment slot (21.2.2) and pay it (21.2.4 after payment)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder
from services.refusals import RefusalCode, Refused

from ...arguments import FromTime, MaybeToTime, beijing
from ...context import Info
from ...scalars import Money
from ...values import HalfDay
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class AppointmentPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "Book an appointment slot (预约挂号, 21.2.2) and an order at the hospital's price for this patient: the "
            "fee of the schedule it uploaded (21.1.4 arAmt) plus the patient's surcharge (21.2.5). The hospital is "
            "told of the payment (21.2.4) once the money arrives. A refused booking writes no order. Pass the "
            "slot's own values (departmentId, doctorId, halfDay, from, to, hisTimeId) as the slot gave them."
        )
    )
    async def create_appointment_payment(
        self,
        info: Info,
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital to book at.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient booked.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name as the card has it.")],
        id_card_number: Annotated[
            str, strawberry.argument(description="The patient's ID number (of the certificateType given).")
        ],
        phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        department_id: Annotated[str, strawberry.argument(description="The slot's department (departmentId).")],
        doctor_id: Annotated[str, strawberry.argument(description="The slot's doctor (doctorId).")],
        half_day: Annotated[HalfDay, strawberry.argument(description="The slot's half-day (MORNING or AFTERNOON).")],
        from_: FromTime,
        to: MaybeToTime = None,
        his_time_id: Annotated[
            str | None, strawberry.argument(description="The hospital's id of the slot (hisTimeId), when given.")
        ] = None,
        serial_number: Annotated[
            int | None, strawberry.argument(description="The slot's serial number, when given.")
        ] = None,
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
        hospital = str(hospital_id).strip()
        starts = beijing(from_)
        ends = beijing(to) if to is not None else None
        id_number = id_card_number.strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            known = info.context.registry.hospital(hospital)
            if known is None:
                raise Refused(RefusalCode.HOSPITAL_NOT_FOUND, field="hospitalId", hospital_id=hospital)
            if not known.hos_code:
                raise Refused(RefusalCode.NOT_OPENED, hospital_id=hospital)  # no 21.x code: no appointments
            if ends is not None and ends.date() != starts.date():
                raise Refused(RefusalCode.PARAMETER_RANGE, "号源的开始和结束须在同一天。", field="to")
            return await info.context.services.payments.create_appointment_order(
                hospital_id=hospital,
                hos_code=known.hos_code,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                patient_id=id_number,
                patient_phone=phone.strip(),
                dept_code=department_id.strip(),
                doc_code=doctor_id.strip(),
                date=starts.strftime("%Y%m%d"),
                am_pm=str(half_day.value),
                start_time=_clock(starts),
                shown_fee=None if shown_fee is None else Decimal(shown_fee),
                end_time=_clock(ends) if ends is not None else None,
                his_time_id=his_time_id,
                serial_number=serial_number,
                id_type=certificate_type,
                id_card=id_number if certificate_type == "01" else None,
                balance_payment=Decimal(balance_payment or 0),
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)


def _clock(moment: datetime) -> str:
    """HH:mm, Beijing time, as 21.2.2 writes a slot's bounds."""
    return moment.strftime("%H:%M")
