"""Pricing the internet hospital's paid flows: online consultations and medical-record copies (for PaymentService)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from pydantic import BaseModel, ConfigDict, Field

from his_clients.errors import HisError
from his_clients.models.inpatient_costs import INPATIENT_RECORD, InpatientRecordRequest
from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE,
    InternetHospitalQueryHospitalSingleChargeRequest,
)
from store.orders import CENT

from .entry_base import HospitalAsk, PricedOrder
from .quotes import ConsultationQuote, MedicalRecordQuote, PricedCharge
from .results import LARGEST, RANGE_CODE, ZERO, AmountRefused, QuoteUnavailable
from .sagas.consultation import business_type_of as consultation_business_type
from .sagas.medical_record import MedicalRecordDeliveryFlow


@dataclass(frozen=True, slots=True)
class PrescribedCharge:
    """One charge the online doctor prescribed (25.1.1 charges): priced by 25.1.6 when the order is made."""

    charge_id: str
    charge_type: int
    """1 检查, 2 检验, 3 处方."""
    charge_name: str
    quantity: int
    group_id: str = ""
    frequency_name: str | None = None
    usage_name: str | None = None
    dose: str | None = None
    memo: str | None = None


class MedicalRecordTariff(BaseModel):
    """The platform's prices for medical-record copies (chapter 27 leaves them to the platform): the setting
    ``medical_record_tariff`` (HISGRAPH_MEDICAL_RECORD_TARIFF__PAGE, __MAILING, __MOST_PAGES)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    page: Decimal = Field(default=Decimal("0.50"), ge=0, lt=LARGEST, decimal_places=2, allow_inf_nan=False)
    """Yuan per printed page (复印(打印)费用 = page x printNumber)."""
    mailing: Decimal = Field(default=Decimal("15.00"), ge=0, lt=LARGEST, decimal_places=2, allow_inf_nan=False)
    """Postage in yuan when the copies are mailed (邮寄费用); nothing when collected."""
    most_pages: int = Field(default=500, ge=1, le=10_000)
    """The most pages one order may ask for."""


MEDICAL_RECORD_TARIFF: Final = MedicalRecordTariff()
"""The default tariff (0.50 a page, 15.00 postage)."""


async def consultation_order(
    ask: HospitalAsk,
    *,
    hospital_id: str,
    medical_card_number: str,
    patient_name: str,
    gender: str,
    phone: str,
    id_card: str,
    birthday: str,
    diagnose_code: str,
    diagnose_name: str,
    bill_doc_hospital: str,
    bill_doc_name: str,
    bill_doc_code: str,
    charges: list[PrescribedCharge],
    description: str | None,
    consult_code: int | None,
    code: str | None,
) -> PricedOrder:
    """An order for what the online doctor prescribed, each unit price as 25.1.6 quotes it now; 25.1.1 follows.

    The total is the sum of price x quantity. A charge 25.1.6 does not price, or a quantity that is
    not a positive whole number, raises QuoteUnavailable; no order is written.
    """
    if not charges:
        raise QuoteUnavailable("nothing prescribed")
    priced: list[PricedCharge] = []
    total = ZERO
    for charge in charges:
        if charge.quantity <= 0:
            raise QuoteUnavailable(f"quantity {charge.quantity} of {charge.charge_id}")
        try:
            price = await ask.his.call(
                INTERNET_HOSPITAL_QUERY_HOSPITAL_SINGLE_CHARGE,
                hospital_id,
                InternetHospitalQueryHospitalSingleChargeRequest(
                    charge_id=charge.charge_id, charge_type=charge.charge_type
                ),
                deadline=ask.deadline(),
            )
        except HisError as error:
            raise QuoteUnavailable(f"25.1.6 priced no {charge.charge_id}", code=error.code) from error
        unit = Decimal(price).quantize(CENT)
        if unit != Decimal(price) or unit < 0:
            raise QuoteUnavailable(f"25.1.6 priced {charge.charge_id} at {price}")
        total += unit * charge.quantity
        priced.append(
            PricedCharge(
                charge_id=charge.charge_id,
                charge_type=charge.charge_type,
                charge_name=charge.charge_name,
                quantity=charge.quantity,
                price=unit,
                group_id=charge.group_id,
                frequency_name=charge.frequency_name,
                usage_name=charge.usage_name,
                dose=charge.dose,
                memo=charge.memo,
            )
        )
    snapshot = ConsultationQuote(
        amount=total,
        charges=tuple(priced),
        patient_name=patient_name,
        gender=gender,
        phone=phone,
        id_card=id_card,
        birthday=birthday,
        diagnose_code=diagnose_code,
        diagnose_name=diagnose_name,
        description=description,
        bill_doc_hospital=bill_doc_hospital,
        bill_doc_name=bill_doc_name,
        bill_doc_code=bill_doc_code,
        consult_code=consult_code,
        code=code,
    )
    return PricedOrder(
        business_type=consultation_business_type(int(c.charge_type) for c in charges),
        description="在线问诊",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=total,
        quote=snapshot,
    )


async def medical_record_order(
    ask: HospitalAsk,
    tariff: MedicalRecordTariff,
    *,
    hospital_id: str,
    medical_card_number: str,
    patient_name: str,
    apply_id: str,
    print_number: int,
    admission_number: str,
    mailed: bool,
    id_card: str | None,
) -> PricedOrder:
    """An order for copies of one stay's medical record (27.1.2 after payment), at the platform's tariff.

    Chapter 27 quotes no price: the fees are the platform's own (病案预约配送 is the platform's service),
    so they come from the ``medical_record_tariff`` setting, never from the caller: printFee = pages x the
    page price, mailingFee the postage when mailed ("当患者选择领取时,此字段是空数据": 0 when collected). The stay
    must be one 27.1.1 lists for this patient (not 作废); otherwise QuoteUnavailable, no order.
    """
    if not 0 < print_number <= tariff.most_pages:
        raise AmountRefused(f"复印页数须在1到{tariff.most_pages}之间", code=RANGE_CODE, field="pages")
    try:
        stays = await ask.his.call(
            INPATIENT_RECORD,
            hospital_id,
            InpatientRecordRequest(patient_name=patient_name, admission_number=admission_number, id_card=id_card),
            deadline=ask.deadline(),
        )
    except HisError as error:
        raise QuoteUnavailable("27.1.1 listed no stay", code=error.code) from error
    if not any(s.pat_in_hos_code == admission_number and s.pat_in_status.strip() != "3" for s in stays):
        raise QuoteUnavailable("未查询到该住院记录", code="60102")
    print_fee = (tariff.page * print_number).quantize(CENT)
    mailing_fee = tariff.mailing if mailed else ZERO
    snapshot = MedicalRecordQuote(
        amount=print_fee + mailing_fee,
        apply_id=apply_id,
        print_number=print_number,
        print_fee=print_fee,
        mailing_fee=mailing_fee,
        mailed=mailed,
        admission_number=admission_number,
        patient_name=patient_name,
        id_card=id_card,
    )
    return PricedOrder(
        business_type=MedicalRecordDeliveryFlow.business_type,
        description="病案预约配送",
        hospital_id=hospital_id,
        medical_card_number=medical_card_number,
        total=print_fee + mailing_fee,
        quote=snapshot,
    )
