"""Card recharge (7.1.2 paySuccess).

Chapter 7 names no window; 60303 says "充值失败，可以继续调用充值接口尝试充值", so unclear answers
are retried for 24 hours as for deposits. A clear refusal (card not allowed to recharge online,
business not opened, amount out of range) or the end of the window asks 13.1.1 (chapter 13 is
written for any payment the hospital failed to process): refundable -> full refund, else parked.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.card_balance import PAY_SUCCESS, PaySuccessRequest
from services.payments.clock import spec_time
from store.orders import Order

from .base import FlowPolicy, GiveUp, pay_type

BUSINESS_TYPE: Final = "JZKCZ"


class RechargeFlow:
    """就诊卡充值: money onto the card's balance at the hospital."""

    name = "recharge"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(hours=24),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        assert order.paid_at is not None, "only paid orders are notified"
        request = PaySuccessRequest(
            medical_card_number=order.medical_card_number,
            out_trade_no=order.out_trade_no,
            pay_amount=order.total_amount,
            pay_type=pay_type(order),
            pay_time=spec_time(order.paid_at),
        )
        receipt = await his.call(PAY_SUCCESS, order.hospital_id, request, deadline=deadline)
        return receipt.out_prepay_id
