"""Self-ordered packages (chapter 29): 29.1.3 saveSelfPrescription after payment, 29.1.4 to cancel.

29.1.3: "用户线上支付成功后，院内提供保存数据功能，保存成功后用户可直接去相应诊室进行检查或就诊": the groups and
items the user chose (29.1.1 prices them), the date 29.1.2 offered, outTradeNo, payAmount (the online
part; "总金额是payAmount+balancePayment"), balancePayment and the unified settlement part (附六). The
hospital answers its outOrderId. Chapter 29 names no window nor fallback: the user may go straight to
the clinic, so unclear answers are retried for 30 minutes (as outpatient bills) and a refusal or the
end of the window asks 13.1.1: only ``refundable`` refunds, anything else parks.

29.1.4 cancelSelfPrescription (outOrderId, outTradeNo) answers refundNo, "收费时必须返回...与支付平台对账用":
a paid order cancelled without it is parked for operators, never refunded blindly.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final

from his_clients.client import HisClient
from his_clients.models.self_order import (
    SELF_PRESCRIPTION_CANCEL_SELF_PRESCRIPTION,
    SELF_PRESCRIPTION_SAVE_SELF_PRESCRIPTION,
    SelectedGroup,
    SelectedItem,
    SelfPrescriptionCancelSelfPrescriptionRequest,
    SelfPrescriptionSaveSelfPrescriptionRequest,
)
from store.orders import Order

from ..quotes import SelfOrderQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "ZZJF"
"""The spec's 29.1.3 / 29.1.4 examples pay outTradeNo ZZJF-YWCSL-2010145."""


def _money_or_none(value: Decimal) -> Decimal | None:
    return value if value > 0 else None


class SelfOrderFlow:
    """自选套餐: groups of items the user chose (29.1.1), paid, then saved at the hospital (29.1.3)."""

    name = "self_order"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(minutes=30),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        quote = SelfOrderQuote.of(order)
        groups = [
            SelectedGroup(group_id=group.group_id, item=[SelectedItem(item_id=item) for item in group.item_ids])
            for group in quote.groups
        ]
        request = SelfPrescriptionSaveSelfPrescriptionRequest(
            id_card=quote.id_card,
            medical_card_number=order.medical_card_number,
            group=groups,
            appointment_date=quote.appointment_date,
            out_trade_no=order.out_trade_no,
            pay_type=pay_type(order),
            pay_amount=order.online_amount,
            balance_payment=_money_or_none(order.balance_payment),
            patient_name=quote.patient_name,
            unified_pay_trade_no=order.unified_pay_trade_no,
            unified_amount=_money_or_none(order.unified_pay_amount),
        )
        saved = await his.call(SELF_PRESCRIPTION_SAVE_SELF_PRESCRIPTION, order.hospital_id, request, deadline=deadline)
        return saved.out_order_id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        assert order.his_serial, "only an order the hospital saved can be cancelled"
        request = SelfPrescriptionCancelSelfPrescriptionRequest(
            id_card=SelfOrderQuote.of(order).id_card,
            medical_card_number=order.medical_card_number,
            out_order_id=order.his_serial,
            out_trade_no=order.out_trade_no,
            unified_pay_trade_no=order.unified_pay_trade_no,
        )
        answer = await his.call(
            SELF_PRESCRIPTION_CANCEL_SELF_PRESCRIPTION, order.hospital_id, request, deadline=deadline
        )
        refund_no = (answer.refund_no or "").strip()
        return HisCancellation(his_refund_no=refund_no or None, refundable=bool(refund_no) or order.online_amount == 0)
