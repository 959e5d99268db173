"""Inpatient deposits (10.1.2 paymentOfDeposit).

10's narrative: "用户支付成功后公众号系统调用院内接口推送用户支付信息。如果接口未返回预期信息将在24小时内多次
调用，24小时候默认失败". Any answer but success, refusals included, is retried for 24 hours; then the
payment counts as failed ("默认失败") and goes the way chapter 13 sets for a payment the hospital did not
process: 13.1.1 is asked, ``refundable`` refunds the online part, and the order is parked for operators
only when 13.1.1 gives no clear answer (or answers anything but refundable).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.inpatient import PAYMENT_OF_DEPOSIT, PaymentOfDepositRequest
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import DepositQuote
from .base import FlowPolicy, GiveUp, pay_type

BUSINESS_TYPE: Final = "ZYYJ"


class DepositFlow:
    """住院押金: a deposit of the amount the patient chose, for one stay (admission number)."""

    name = "deposit"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(notify_window=timedelta(hours=24), on_refusal=GiveUp.RETRY, on_window_end=GiveUp.ASK_REFUNDABLE)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        assert order.paid_at is not None, "only paid orders are notified"
        request = PaymentOfDepositRequest(
            medical_card_number=order.medical_card_number,
            admission_number=DepositQuote.of(order).admission_number,
            amount=order.total_amount,
            out_trade_no=order.out_trade_no,
            pay_type=pay_type(order),
            pay_time=spec_time(order.paid_at),
        )
        receipt = await his.call(PAYMENT_OF_DEPOSIT, order.hospital_id, request, deadline=deadline)
        return receipt.out_prepay_id
