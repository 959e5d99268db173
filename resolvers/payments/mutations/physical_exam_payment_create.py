"""createPhysicalExamPayment: pay exam packages (28.1.1 price), booked (28.1.6) after payment."""

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
        slot_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The slotId of the time booked (PhysicalExamTime.slotId, 28.1.4)."),
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the person examined.")],
        id_card_number: Annotated[str, strawberry.argument(description="The person's ID number.")],
        name: Annotated[str, strawberry.argument(description="The person's name.")],
        sex: Annotated[Sex, strawberry.argument(description="The person's sex.")],
        package_ids: Annotated[
            list[str] | None,
            strawberry.argument(description="The packages (28.1.1 packageId); null for the package the time was for."),
        ] = None,
        phone: Annotated[str | None, strawberry.argument(description="The person's phone number.")] = None,
        profession_code: Annotated[
            str | None, strawberry.argument(description="The profession code 28.1.1 filters packages on.")
        ] = None,
        org_id: Annotated[str | None, strawberry.argument(description="The employer's id, for group exams.")] = None,
        group_id: Annotated[str | None, strawberry.argument(description="The group's id, for group exams.")] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        try:  # an edited or foreign slotId: nothing is asked of any hospital
            slot = decode_slot_id(info, str(slot_id), kind=SlotKind.PHYSICAL_EXAM)
            packages = [package.strip() for package in package_ids or []] or [slot.text("package_id") or ""]
            if slot.day is None or not slot.text("time") or not all(packages):
                raise Refused(RefusalCode.PARAMETER_FORMAT, "号源信息无效，请重新查询后再预约。", field="slotId")
        except Refused as refused:
            return Refusal.of(refused)
        hospital = slot.hospital_id

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_physical_exam_order(
                hospital_id=hospital,
                medical_card_number=card,
                id_card=id_card_number.strip(),
                name=name.strip(),
                sex=str(sex.value),
                package_ids=packages,
                date=f"{slot.day} {slot.text('time')}",
                tel_no=phone,
                profession_code=profession_code,
                org_id=org_id,
                group_id=group_id,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
