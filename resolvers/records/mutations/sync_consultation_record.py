"""25.1.7 同步患者问诊信息: once a doctor takes an online consultation, the hospital keeps it as a registration."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import strawberry

from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_SAVE_CONSULT_INFO,
    InternetHospitalSaveConsultInfoRequest,
)

from ...context import Info
from ...results import (
    Refusal,
    Sex,
    TargetHospital,
    amount,
    digits,
    his_write,
    optional,
    optional_id_number,
    phone_number,
    required,
    spec_day,
    spec_instant,
)
from ...scalars import Money

# 25.1.7 fixes both values: the record comes from the internet hospital's follow-up visits.
CONSULT_FLAG = "INTERNET_HOSPITAL"
CONSULT_NAME = "互联网医院复诊"


@strawberry.input(description="An online consultation to record at the hospital (25.1.7 同步患者问诊信息).")
class SyncConsultationRecordInput:
    consultation_number: str = strawberry.field(
        description="The consultation's number at the internet hospital, digits (consultCode, 门诊号)."
    )
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    patient_name: str = strawberry.field(description="The patient's name (patName).")
    sex: Sex = strawberry.field(description="The patient's sex (gender).")
    phone: str = strawberry.field(description="The patient's mobile number, 11 digits.")
    birth_date: date = strawberry.field(description="The patient's date of birth (birthday).")
    id_card_number: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (idCard, 身份证号); may be left out."
    )
    description: str | None = strawberry.field(default=None, description="The complaint as described (病情描述).")
    paid: bool = strawberry.field(description="Whether the consultation was paid for (payFlag 1); false when free.")
    out_trade_no: str = strawberry.field(
        description="The consultation's payment order number (tradeNo, 问诊交易订单号)."
    )
    consulted_at: datetime = strawberry.field(
        description="When the consultation took place (consultTime); without an offset it is Beijing time."
    )
    doctor_name: str = strawberry.field(description="The doctor's name.")
    doctor_id: str = strawberry.field(description="The doctor's staff code at the hospital (doctorCode, 院内工号).")
    department_id: str = strawberry.field(description="The department's code at the hospital (deptCode).")
    department_name: str = strawberry.field(description="The department's name at the hospital (deptName).")
    fee: Money = strawberry.field(description="The consultation fee in yuan, two decimals (consultFee); 0 when free.")


@strawberry.type(description="The hospital recorded the consultation (25.1.7).")
class SyncConsultationRecordSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that recorded it.")
    consultation_number: str = strawberry.field(description="The consultation recorded (consultCode).")


SyncConsultationRecordResult = Annotated[
    SyncConsultationRecordSuccess | Refusal,
    strawberry.union(
        "SyncConsultationRecordResult",
        description="Success, or a Refusal: bad input, the hospital's 附四 code, or no usable answer.",
    ),
]


def _request(consultation: SyncConsultationRecordInput) -> InternetHospitalSaveConsultInfoRequest:
    return InternetHospitalSaveConsultInfoRequest(
        consult_code=digits("consultationNumber", consultation.consultation_number),
        medical_card_number=required("medicalCardNumber", consultation.medical_card_number),
        pat_name=required("patientName", consultation.patient_name),
        gender=consultation.sex.value,
        phone=phone_number("phone", consultation.phone),
        birthday=spec_day(consultation.birth_date),
        id_card=optional_id_number("idCardNumber", consultation.id_card_number),
        description=optional(consultation.description),
        pay_flag=1 if consultation.paid else 0,
        trade_no=required("outTradeNo", consultation.out_trade_no),
        consult_time=spec_instant(consultation.consulted_at),
        doctor_name=required("doctorName", consultation.doctor_name),
        doctor_code=required("doctorId", consultation.doctor_id),
        dept_code=required("departmentId", consultation.department_id),
        dept_name=required("departmentName", consultation.department_name),
        consult_fee=amount("fee", consultation.fee),
        consult_flag=CONSULT_FLAG,
        consult_name=CONSULT_NAME,
    )


@strawberry.type
class SyncConsultationRecordMutation:
    @strawberry.mutation(
        description=(
            "Record an online consultation at the hospital, as a registration, once a doctor has taken it "
            "(25.1.7 同步患者问诊信息). Sent once, never retried."
        )
    )
    async def sync_consultation_record(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[SyncConsultationRecordInput, strawberry.argument(description="What to write.")],
    ) -> SyncConsultationRecordResult:
        return await his_write(
            info,
            method=INTERNET_HOSPITAL_SAVE_CONSULT_INFO,
            hospital_id=hospital_id,
            request=lambda: _request(input),
            success=lambda hospital, _: SyncConsultationRecordSuccess(
                hospital_id=strawberry.ID(hospital), consultation_number=input.consultation_number.strip()
            ),
        )
