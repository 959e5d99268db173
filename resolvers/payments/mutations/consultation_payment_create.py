"""createConsultationPayment: pay what the online doctor prescribed (25.1.6 prices, 25.1.1 after payment)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import strawberry

from services.payments.entry_online import PrescribedCharge
from services.payments.orders import CreatedOrder

from ...context import Info
from ...values import Sex
from ..common import create, openid_of, require_card
from ..types import CreatePaymentResult


@strawberry.input(description="One charge the online doctor prescribed (25.1.1 charges); its price is the hospital's.")
class PrescribedChargeInput:
    charge_id: str = strawberry.field(description="The hospital's item (chargeId, from 25.1.3-25.1.5).")
    charge_type: int = strawberry.field(description="1 检查 imaging examination, 2 检验 laboratory test, 3 处方 drug.")
    charge_name: str = strawberry.field(description="The item's name (chargeName).")
    quantity: int = strawberry.field(description="How many (a positive whole number).")
    group_id: str = strawberry.field(default="", description="The prescription group (groupId), when any.")
    frequency_name: str | None = strawberry.field(default=None, description="How often (frequencyName), for drugs.")
    usage_name: str | None = strawberry.field(default=None, description="How taken (usageName), for drugs.")
    dose: str | None = strawberry.field(default=None, description="The dose (dose), for drugs.")
    memo: str | None = strawberry.field(default=None, description="The doctor's note (memo).")


@strawberry.type
class ConsultationPaymentCreateMutation:
    @strawberry.mutation(
        description=(
            "An order for what the online doctor prescribed (在线问诊, chapter 25), each unit at the price the "
            "hospital quotes now (25.1.6) times its quantity; the charges are written to the hospital (25.1.1) "
            "once the money arrives. No amount is taken from the caller."
        )
    )
    async def create_consultation_payment(
        self,
        info: Info,
        hospital_id: Annotated[
            strawberry.ID, strawberry.argument(description="The hospital that will serve the charges.")
        ],
        medical_card_number: Annotated[str, strawberry.argument(description="The card of the patient.")],
        patient_name: Annotated[str, strawberry.argument(description="The patient's name.")],
        sex: Annotated[Sex, strawberry.argument(description="The patient's sex.")],
        phone: Annotated[str, strawberry.argument(description="The patient's mobile number.")],
        id_card_number: Annotated[str, strawberry.argument(description="The patient's ID number.")],
        birth_date: Annotated[date, strawberry.argument(description="The patient's date of birth (yyyy-MM-dd).")],
        diagnose_code: Annotated[str, strawberry.argument(description="The diagnosis code (diagnoseCode).")],
        diagnose_name: Annotated[str, strawberry.argument(description="The diagnosis (diagnoseName).")],
        doctor_hospital: Annotated[
            str, strawberry.argument(description="The prescribing doctor's hospital (billDocHospital).")
        ],
        doctor_name: Annotated[str, strawberry.argument(description="The prescribing doctor (billDocName).")],
        doctor_code: Annotated[str, strawberry.argument(description="The prescribing doctor's code (billDocCode).")],
        charges: Annotated[
            list[PrescribedChargeInput], strawberry.argument(description="What was prescribed, at least one charge.")
        ],
        description: Annotated[
            str | None, strawberry.argument(description="The consultation's description, when any.")
        ] = None,
        consult_code: Annotated[
            int | None, strawberry.argument(description="The consultation's kind (consultCode), when any.")
        ] = None,
        code: Annotated[str | None, strawberry.argument(description="The consultation's number (code).")] = None,
    ) -> CreatePaymentResult:
        card = medical_card_number.strip()
        hospital = str(hospital_id).strip()

        async def make() -> CreatedOrder:
            await require_card(info, card)
            return await info.context.services.payments.create_consultation_order(
                hospital_id=hospital,
                medical_card_number=card,
                patient_name=patient_name.strip(),
                gender=str(sex.value),
                phone=phone.strip(),
                id_card=id_card_number.strip(),
                birthday=birth_date.isoformat(),
                diagnose_code=diagnose_code.strip(),
                diagnose_name=diagnose_name.strip(),
                bill_doc_hospital=doctor_hospital.strip(),
                bill_doc_name=doctor_name.strip(),
                bill_doc_code=doctor_code.strip(),
                charges=[
                    PrescribedCharge(
                        charge_id=c.charge_id.strip(),
                        charge_type=c.charge_type,
                        charge_name=c.charge_name,
                        quantity=c.quantity,
                        group_id=c.group_id,
                        frequency_name=c.frequency_name,
                        usage_name=c.usage_name,
                        dose=c.dose,
                        memo=c.memo,
                    )
                    for c in charges
                ],
                description=description,
                consult_code=consult_code,
                code=code,
                payer_openid=openid_of(info),
            )

        return await create(info, hospital, make)
