"""25.1.7 同步患者问诊信息: once a doctor takes an online consultation, the hospital keeps it as a registration."""

from __future__ import annotations

from typing import Annotated

import strawberry

from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_SAVE_CONSULT_INFO,
    InternetHospitalSaveConsultInfoRequest,
)

from ...context import Info
from ...results import (
    HisRefusal,
    HospitalUnavailable,
    InvalidInput,
    Sex,
    TargetHospital,
    amount,
    calendar_date,
    date_time,
    digits,
    his_write,
    optional,
    optional_id_number,
    phone_number,
    required,
)
from ...scalars import Money

# 25.1.7 fixes both values: the record comes from the internet hospital's follow-up visits.
CONSULT_FLAG = "INTERNET_HOSPITAL"
CONSULT_NAME = "互联网医院复诊"


@strawberry.input(description="An online consultation to record at the hospital (25.1.7 同步患者问诊信息).")
class ConsultationRecordSyncInput:
    consultation_number: str = strawberry.field(
        description="The consultation's number at the internet hospital, digits (consultCode, 门诊号)."
    )
    medical_card_number: str = strawberry.field(description="The patient's card number (就诊卡号).")
    patient_name: str = strawberry.field(description="The patient's name (patName).")
    sex: Sex = strawberry.field(description="The patient's sex (general).")
    phone: str = strawberry.field(description="The patient's mobile number, 11 digits.")
    birthday: str = strawberry.field(description="The patient's birth date, yyyy-MM-dd.")
    id_card: str | None = strawberry.field(
        default=None, description="The patient's resident ID number (idCard); may be left out."
    )
    description: str | None = strawberry.field(default=None, description="The complaint as described (病情描述).")
    paid: bool = strawberry.field(description="Whether the consultation was paid for (payFlag 1); false when free.")
    out_trade_no: str = strawberry.field(
        description="The consultation's payment order number (tradeNo, 问诊交易订单号)."
    )
    consulted_at: str = strawberry.field(
        description="When the consultation took place, yyyy-MM-dd HH:mm:ss (consultTime)."
    )
    doctor_name: str = strawberry.field(description="The doctor's name.")
    doctor_code: str = strawberry.field(description="The doctor's staff code at the hospital (doctorCode, 院内工号).")
    department_code: str = strawberry.field(description="The department's code at the hospital (deptCode).")
    department_name: str = strawberry.field(description="The department's name at the hospital (deptName).")
    fee: Money = strawberry.field(description="The consultation fee in yuan, two decimals (consultFee); 0 when free.")


@strawberry.type(description="The hospital recorded the consultation (25.1.7).")
class ConsultationRecordSyncSuccess:
    hospital_id: strawberry.ID = strawberry.field(description="The hospital that recorded it.")
    consultation_number: str = strawberry.field(description="The consultation recorded (consultCode).")


ConsultationRecordSyncResult = Annotated[
    ConsultationRecordSyncSuccess | HisRefusal | HospitalUnavailable | InvalidInput,
    strawberry.union(
        "ConsultationRecordSyncResult",
        description="Success, or the hospital's refusal with its code, or no usable answer, or bad input.",
    ),
]


def _request(consultation: ConsultationRecordSyncInput) -> InternetHospitalSaveConsultInfoRequest:
    return InternetHospitalSaveConsultInfoRequest(
        consult_code=digits("consultationNumber", consultation.consultation_number),
        medical_card_number=required("medicalCardNumber", consultation.medical_card_number),
        pat_name=required("patientName", consultation.patient_name),
        gender=consultation.sex.value,
        phone=phone_number("phone", consultation.phone),
        birthday=calendar_date("birthday", consultation.birthday),
        id_card=optional_id_number("idCard", consultation.id_card),
        description=optional(consultation.description),
        pay_flag=1 if consultation.paid else 0,
        trade_no=required("outTradeNo", consultation.out_trade_no),
        consult_time=date_time("consultedAt", consultation.consulted_at),
        doctor_name=required("doctorName", consultation.doctor_name),
        doctor_code=required("doctorCode", consultation.doctor_code),
        dept_code=required("departmentCode", consultation.department_code),
        dept_name=required("departmentName", consultation.department_name),
        consult_fee=amount("fee", consultation.fee),
        consult_flag=CONSULT_FLAG,
        consult_name=CONSULT_NAME,
    )


@strawberry.type
class ConsultationRecordSyncMutation:
    @strawberry.mutation(
        description=(
            "Record an online consultation at the hospital, as a registration, once a doctor has taken it "
            "(25.1.7 同步患者问诊信息). Sent once, never retried."
        )
    )
    async def consultation_record_sync(
        self,
        info: Info,
        hospital_id: TargetHospital,
        input: Annotated[ConsultationRecordSyncInput, strawberry.argument(description="What to write.")],
    ) -> ConsultationRecordSyncResult:
        return await his_write(
            info,
            method=INTERNET_HOSPITAL_SAVE_CONSULT_INFO,
            hospital_id=hospital_id,
            request=lambda: _request(input),
            success=lambda hospital, _: ConsultationRecordSyncSuccess(
                hospital_id=strawberry.ID(hospital), consultation_number=input.consultation_number.strip()
            ),
        )
