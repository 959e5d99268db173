"""createLabAppointmentPayment: lock a lab-test slot (33.1.3) and pay it (33.1.4 after payment)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from services.payments.orders import CreatedOrder

from ...context import Info
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
        hospital_id: Annotated[strawberry.ID, strawberry.argument(description="The hospital of the lab.")],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name.")],
        sex: Annotated[Sex | None, strawberry.argument(description="The patient's sex; null when unknown (未知).")],
        phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        project_id: Annotated[str, strawberry.argument(description="The lab project (33.1.1 projectId).")],
        scheduling_id: Annotated[str, strawberry.argument(description="The schedule (33.1.1 schedulingId).")],
        source_id: Annotated[
            str | None, strawberry.argument(description="The slot (33.1.2 sourceId); null for unlimited schedules.")
        ] = None,
        id_card_number: Annotated[
            str | None, strawberry.argument(description="The patient's ID number, when known.")
        ] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_lab_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                sex=str(sex.value) if sex is not None else "未知",
                telephone=phone.strip(),
                project_id=project_id.strip(),
                scheduling_id=scheduling_id.strip(),
                source_id=source_id,
                id_card=id_card_number,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
