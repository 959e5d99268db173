"""Outpatient bills (chapter 3): 3.1.2 clinicPayment, and 13.1.1 when the hospital does not confirm.

3's narrative: "如果未返回预期院内成功结果或院内系统返回了处理失败，公众号系统将调用“退费查询接口”查询是否
可以退费，如果返回可以退款将进行退款". The spec names no retry window for outpatient bills; we retry
unclear answers for 30 minutes (the patient is usually at the counter) before asking 13.1.1.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.outpatient import CLINIC_PAYMENT, ClinicPaymentRequest, PaidPrescription
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import OutpatientQuote
from .base import FlowPolicy, GiveUp, pay_type

BUSINESS_TYPE: Final = "ZJZF"


class OutpatientFlow:
    """诊间支付: the bill the hospital quoted in 3.1.1, paid as a whole."""

    name = "outpatient"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(minutes=30),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        assert order.paid_at is not None, "only paid orders are notified"
        prescriptions: dict[str, list[str]] = {}
        quote = OutpatientQuote.of(order)
        for item in quote.items:
            if item.pres_code:
                prescriptions.setdefault(item.pres_code, []).append(item.id)
        request = ClinicPaymentRequest(
            medical_card_number=order.medical_card_number,
            out_trade_no=order.out_trade_no,
            amount=order.online_amount,
            pay_time=spec_time(order.paid_at),
            pay_type=pay_type(order),
            balance_payment=order.balance_payment,
            discount_amount=order.discount_amount,
            unified_pay_trade_no=order.unified_pay_trade_no,
            unified_pay_amount=order.unified_pay_amount if order.unified_pay_trade_no else None,
            detail_id=list(quote.detail_ids),
            detail_with_pres_code=[PaidPrescription(pres_code=code, detail=ids) for code, ids in prescriptions.items()],
        )
        receipt = await his.call(CLINIC_PAYMENT, order.hospital_id, request, deadline=deadline)
        return receipt.out_prepay_id
