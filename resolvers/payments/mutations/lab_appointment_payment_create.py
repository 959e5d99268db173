"""createLabAppointmentPayment: lock a lab-test slot (33.1.3) and pay it (33.1.4 after payment)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder
from services.refusals import RefusalCode, Refused

from ...context import Info
from ...refusal import Refusal
from ...schedules.slot_ids import SlotKind, decode_slot_id
from ...values import Sex
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.type
class LabAppointmentPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "Lock a lab-test slot (检验项目预约, 33.1.3) for the time payment may take and an order at the price "
            "33.1.1 quotes; the appointment is booked (33.1.4) once the money arrives. A refused lock writes no order."
        )
    )
    async def create_lab_appointment_payment(
        self,
        info: Info,
        slot_id: Annotated[
            strawberry.ID,
            strawberry.argument(
                description="The slotId of the number source (LabNumberSource.slotId), or an unlimited schedule's."
            ),
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name.")],
        sex: Annotated[Sex | None, strawberry.argument(description="The patient's sex; null when unknown (未知).")],
        phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        try:  # an edited or foreign slotId: nothing is asked of any hospital
            slot = decode_slot_id(info, str(slot_id), kind=SlotKind.LAB)
            project_id, scheduling_id = slot.text("project_id"), slot.text("scheduling_id")
            if not project_id or not scheduling_id:
                raise Refused(RefusalCode.PARAMETER_FORMAT, "号源信息无效，请重新查询后再预约。", field="slotId")
        except Refused as refused:
            return Refusal.of(refused)
        hospital = slot.hospital_id

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_lab_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                sex=str(sex.value) if sex is not None else "未知",
                telephone=phone.strip(),
                project_id=project_id,
                scheduling_id=scheduling_id,
                source_id=slot.text("source_id"),
                id_card=id_card_number,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
