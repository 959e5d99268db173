"""Online medical insurance (chapter 5): 5.1.4 paySuccess after the self-pay part is paid, 5.1.6 when unclear.

Chapter 5 in order: 5.1.1 makes the order at the hospital and pre-settles it with the insurer (预结算),
5.1.2 settles the insurer's part (医保结算); both happen before the patient pays (see
services.payments.entry_insurance). The patient then pays the rest (the self-pay part) through our
provider, and "公众号进行医保报销，并对剩余金额进行自费支付后，调用his接口进行订单结算" (5.1.4, idempotent): that
notification is this flow's ``notify``.

When 5.1.4 is refused, or gives no clear answer for NOTIFY_WINDOW, 5.1.6 decides ("公众号在发起退款前会调用此接口，
询问his是否允许退款"): ``refundable`` -> the online part goes back (REFUNDING -> REFUNDED; the insurer's part is
the hospital's to undo); ``nonrefundable`` -> PARKED for operators: the hospital neither applied the
payment (5.1.4 failed) nor lets it go back, and only a person can tell which holds; no clear answer ->
asked again for REFUND_QUERY_WINDOW, then PARKED. Never a refund without 5.1.6 saying so.
An order cancelled unpaid, or abandoned past its payment window, has its settlement undone with 5.1.3
(``release``; the worker's expire and release jobs).
Chapter 5 names no window: 5.1.4 is retried for 30 minutes (the patient is at the hospital, as for
outpatient bills) and 5.1.6 asked for 24 hours, as 13.1.1 is.

Amounts, mapped onto the ledger (store.orders.check_amounts: online + balance + unified = total):
total_amount = tradeAmount - preferentialAmount (the bill as settled, discount_amount keeps
preferentialAmount); unified_pay_amount = medAmount (5.1.2: the insurer's part, settled outside our
provider); balance_payment = balancePayment; online_amount = the rest, paid through the provider.
5.1.4's ``amount`` is the whole self-pay part, "包含就诊卡余额支付的金额": online + balancePayment.

Business type XSYB (线上医保, the chapter's title): 14.1.1 lists ZJZF, JZKCZ and ZYYJ and "相关类型可以参考订单的
开头"; none names insurance, and 5.1.6's example outTradeNo (ZJZF-...) is 3.1.2's copied. A code of its own
keeps insurance self-pay apart from plain outpatient bills in 14.1.1 queries.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.codes import ReturnCode
from his_clients.errors import HisRejected
from his_clients.models.insurance import (
    MEDICAL_INSURANCE_CANCEL_ORDER,
    MEDICAL_INSURANCE_PAY_SUCCESS,
    MEDICAL_INSURANCE_QUERY_ORDER_STATE,
    MedicalInsuranceCancelOrderRequest,
    MedicalInsurancePaySuccessRequest,
    MedicalInsuranceQueryOrderStateRequest,
)
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import InsuranceQuote
from .base import FlowPolicy, GiveUp, pay_type

BUSINESS_TYPE: Final = "XSYB"
HIS_TRADE_ID: Final = "his_trade_id"
"""The order's quote key holding the hospital's order number (hisTradeId) from 5.1.1 (InsuranceQuote's field;
the shims and entry_insurance look orders up by it in SQL)."""
NOTIFY_WINDOW: Final = timedelta(minutes=30)
REFUND_QUERY_WINDOW: Final = timedelta(hours=24)
APPLIED: Final = "1"
"""5.1.4 data: "1成功 0失败"."""


def his_trade_id(order: Order) -> str:
    """The hospital's order number of an insurance order (5.1.1 hisTradeId)."""
    return InsuranceQuote.of(order).his_trade_id


class InsuranceFlow:
    """线上医保支付: the insurer settles its part (5.1.2) before the patient pays the rest, then 5.1.4."""

    name = "insurance"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=NOTIFY_WINDOW,
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
        refund_query_window=REFUND_QUERY_WINDOW,
        nonrefundable_means_applied=False,
    )
    refund_query_section = "5.1.6"
    release_section = "5.1.3"
    release_after_refund = False

    async def release(self, his: HisClient, order: Order, *, deadline: float | None) -> None:
        """5.1.3: the settlement is undone when the patient cancels or never pays the self-pay part.

        "医保结算后，患者不支付自费部分：此时需要撤销医保结算，并取消订单" (chapter 5). Anything but data "1"
        is a refusal (the worker asks again for a while, then leaves it to operators).
        """
        request = MedicalInsuranceCancelOrderRequest(his_trade_id=his_trade_id(order))
        answer = await his.call(MEDICAL_INSURANCE_CANCEL_ORDER, order.hospital_id, request, deadline=deadline)
        if str(answer).strip() != APPLIED:
            raise HisRejected(
                f"5.1.3 answered data {answer!r}",
                hospital_id=order.hospital_id,
                method=MEDICAL_INSURANCE_CANCEL_ORDER.name,
                code=ReturnCode.NOT_ALLOWED,
            )

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str | None:
        """5.1.4 paySuccess with the same outTradeNo every time; its reply names no serial (None)."""
        assert order.paid_at is not None, "only paid orders are notified"
        request = MedicalInsurancePaySuccessRequest(
            medical_card_number=order.medical_card_number,
            out_trade_no=order.out_trade_no,
            amount=order.online_amount + order.balance_payment,
            pay_time=spec_time(order.paid_at),
            balance_payment=order.balance_payment,
            his_trade_id=his_trade_id(order),
            pay_type=pay_type(order),
        )
        answer = await his.call(MEDICAL_INSURANCE_PAY_SUCCESS, order.hospital_id, request, deadline=deadline)
        if answer.strip() != APPLIED:
            # success with data "0": the hospital says it did not settle the order, a clear refusal.
            raise HisRejected(
                f"5.1.4 answered data {answer!r} (0失败)",
                hospital_id=order.hospital_id,
                method=MEDICAL_INSURANCE_PAY_SUCCESS.name,
                code=ReturnCode.NOT_ALLOWED,
            )
        return None

    async def ask_refundable(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        """5.1.6 queryOrderState: ``refundable`` or ``nonrefundable``."""
        request = MedicalInsuranceQueryOrderStateRequest(
            his_trade_id=his_trade_id(order), out_trade_no=order.out_trade_no
        )
        return await his.call(MEDICAL_INSURANCE_QUERY_ORDER_STATE, order.hospital_id, request, deadline=deadline)
