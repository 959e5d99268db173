"""Online consultation (chapter 25): 25.1.1 internetHospital.save after payment.

25's narrative: the doctor prescribes (exams, lab tests, drugs) during the online consultation, "患者在手机端
完成支付，然后去院内进行取药或者接受医疗服务"; 25.1.1 "将患者支付的药品或者项目费用，同步到院内，作为对账和患者
取药或享受医疗服务的凭证", with tradeNo = outTradeNo, tradeTime = when it was paid, total and the charges
at the unit prices 25.1.6 quoted when the order was made. The reply is success alone: no serial.

Chapter 25 names no window nor fallback: the patient comes to the hospital later, so unclear answers
are retried for 24 hours (as recharge and deposits), and a refusal or the end of the window asks
13.1.1: only ``refundable`` refunds, anything else parks. The chapter offers no cancel after payment.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.internet_hospital import (
    INTERNET_HOSPITAL_SAVE,
    InternetHospitalSaveRequest,
    InternetOrderCharge,
)
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import ConsultationQuote
from .base import FlowPolicy, GiveUp

BUSINESS_TYPE: Final = "JCZF"
"""Examinations and lab tests: the spec's 25.1.1 and 25.2.1 examples write tradeNo JCZF-CXRMYYH-190622200
for the chargeType 1 心脏彩超."""
PRESCRIPTION_BUSINESS_TYPE: Final = "CFZF"
"""Prescriptions (chargeType 3): 25.2.1's example writes tradeNo CFZF-CXRMYYH-190622200 for the drug."""
PRESCRIPTION: Final = 3


def business_type_of(charge_types: Iterable[int]) -> str:
    """CFZF for an order of prescriptions only, JCZF for examinations and lab tests (25.2.1's examples).

    An order mixing both is an examination order by this rule: one order carries one outTradeNo.
    """
    types = set(charge_types)
    return PRESCRIPTION_BUSINESS_TYPE if types == {PRESCRIPTION} else BUSINESS_TYPE


class ConsultationFlow:
    """在线问诊: what the online doctor prescribed, priced by 25.1.6, paid, then synced to the hospital."""

    name = "consultation"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(hours=24),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str | None:
        assert order.paid_at is not None, "only paid orders are notified"
        quote = ConsultationQuote.of(order)
        charges = [
            InternetOrderCharge(
                charge_id=charge.charge_id,
                quantity=str(charge.quantity),
                price=charge.price,
                charge_name=charge.charge_name,
                frequency_name=charge.frequency_name,
                usage_name=charge.usage_name,
                dose=charge.dose,
                group_id=charge.group_id,
                charge_type=charge.charge_type,
                memo=charge.memo,
            )
            for charge in quote.charges
        ]
        request = InternetHospitalSaveRequest(
            pat_name=quote.patient_name,
            gender=quote.gender,
            phone=quote.phone,
            id_card=quote.id_card,
            birthday=quote.birthday,
            diagnose_code=quote.diagnose_code,
            diagnose_name=quote.diagnose_name,
            description=quote.description,
            trade_no=order.out_trade_no,
            trade_time=spec_time(order.paid_at),
            bill_doc_hospital=quote.bill_doc_hospital,
            bill_doc_name=quote.bill_doc_name,
            bill_doc_code=quote.bill_doc_code,
            medical_card_number=order.medical_card_number,
            total=order.total_amount,
            code=quote.code,
            consult_code=quote.consult_code,
            charges=charges,
        )
        await his.call(INTERNET_HOSPITAL_SAVE, order.hospital_id, request, deadline=deadline)
        return None
