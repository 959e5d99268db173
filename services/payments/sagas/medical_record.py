"""Medical-record delivery (chapter 27): 27.1.2 medicalRecordInsertOrder after payment.

27.1.2: "患者支付成功后向院内写入支付信息": tradeNo = outTradeNo, payTime, totalAmount = printFee + mailingFee
(mailing is empty when the patient collects the copies), printNumber and the patient's application id
(mediaclRecordApplyId). Chapter 27 quotes no price: the copying and mailing fees are the platform's own
tariff for the application, fixed when the order is made. The reply is success alone: no serial.

No window nor fallback is named: unclear answers are retried for 24 hours (as recharge and deposits),
a refusal or the end of the window asks 13.1.1 (only ``refundable`` refunds, anything else parks).
The chapter offers no cancel after payment.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.inpatient_costs import MEDICAL_RECORD_INSERT_ORDER, MedicalRecordInsertOrderRequest
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import MedicalRecordQuote
from .base import FlowPolicy, GiveUp, pay_type

BUSINESS_TYPE: Final = "BAYYPS"
"""The spec's 27.1.2 example pays tradeNo BAYYPS-MDJDERMYY-2006233061 (病案预约配送)."""


class MedicalRecordDeliveryFlow:
    """病案预约配送: copies of a stay's medical record, printed and mailed for the fee the patient paid."""

    name = "medical_record"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(hours=24),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str | None:
        assert order.paid_at is not None, "only paid orders are notified"
        quote = MedicalRecordQuote.of(order)
        request = MedicalRecordInsertOrderRequest(
            medical_card_number=order.medical_card_number,
            id_card=quote.id_card,
            admission_number=quote.admission_number,
            trade_no=order.out_trade_no,
            patient_name=quote.patient_name,
            total_amount=order.total_amount,
            pay_time=spec_time(order.paid_at),
            pay_type=pay_type(order),
            mailing_fee=quote.mailing_fee,
            print_fee=quote.print_fee,
            print_number=str(quote.print_number),
            medical_record_apply_id=quote.apply_id,
        )
        await his.call(MEDICAL_RECORD_INSERT_ORDER, order.hospital_id, request, deadline=deadline)
        return None
