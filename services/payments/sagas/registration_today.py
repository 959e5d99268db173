"""Today's registration (chapter 20): 20.1.7 todayRegisterToRegister after payment, 20.1.8 to cancel.

20's narrative: the platform passes the patient, the doctor or department and the payment to the
hospital, which answers whether the registration succeeded. It names no retry window and no fallback;
a registration is for today, so unclear answers are retried for 30 minutes (as outpatient bills),
and a refusal (slot gone, fee changed, doctor stopped) or the end of the window asks 13.1.1, written
for any payment the hospital did not process: only ``refundable`` refunds, anything else parks.

The user may cancel a paid registration (20.1.8, idempotent on todayRegisterId/hisRegistrationId);
the hospital answers its refund voucher (refundNo) but no amount, so the whole online part goes
back. A refusal (already seen, 60203; check-in passed, 60209) leaves the registration standing.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Final

from his_clients.client import HisClient
from his_clients.models.registration_today import (
    TODAY_REGISTER_CANCEL_REGISTER,
    TODAY_REGISTER_TO_REGISTER,
    TodayRegisterCancelRegisterRequest,
    TodayRegisterToRegisterRequest,
)
from store.orders import Order

from ..quotes import TodayRegistrationQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "DRGH"
"""The spec's examples name today's registrations DRGH-... (20.1.7 payId, 14.1.1's sourceOutTradeNo)."""
PAY_STATE_PAID: Final = "1"


def _money_or_none(value: Decimal) -> Decimal | None:
    return value if value > 0 else None


def registration_fee(his: HisClient, order: Order) -> Decimal:
    """What 20.1.7 registrationFee carries for this order's hospital.

    The spec's table is the rule: "registrationFee | 是 | 挂号费(线上支付金额)", the amount paid online; the
    card-balance part travels as balancePayment and the unified platform's as unifiedAmount, and the three
    make up the patient's price. Its example (registrationFee 23 beside balancePayment "0.02") and 60202
    "挂号金额与院内金额不一致" can be read as the whole fee: a hospital that reads it so says
    ``registration_fee = "total"`` in the registry and gets the order's total.
    """
    hospital = his.registry.hospital(order.hospital_id)
    if hospital is not None and hospital.registration_fee == "total":
        return order.total_amount
    return order.online_amount


class TodayRegistrationFlow:
    """当日挂号: the fee the hospital's schedule (20.1.2) names, paid, then the registration made."""

    name = "registration_today"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(minutes=30),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        assert order.paid_at is not None, "only paid orders are notified"
        quote = TodayRegistrationQuote.of(order)
        request = TodayRegisterToRegisterRequest(
            department_id=quote.department_id,
            department_name=quote.department_name,
            doctor_id=quote.doctor_id,
            doctor_name=quote.doctor_name,
            today_register_id=quote.today_register_id,
            medical_card_number=order.medical_card_number,
            patient_name=quote.patient_name,
            id_card=quote.id_card,
            registration_fee=registration_fee(his, order),
            registration_date=quote.registration_date,
            reg_class_id=quote.reg_class_id,
            reg_class_name=quote.reg_class_name,
            register_time=quote.register_time,
            pay_id=order.out_trade_no,
            pay_state=PAY_STATE_PAID,
            pay_type=pay_type(order),
            schedule_type=quote.schedule_type,
            serial_number=quote.serial_number,
            sequence=quote.sequence,
            time_code=quote.time_code,
            am_pm=quote.am_pm,
            balance_payment=_money_or_none(order.balance_payment),
            unified_amount=_money_or_none(order.unified_pay_amount),
            unified_pay_trade_no=order.unified_pay_trade_no,
        )
        receipt = await his.call(TODAY_REGISTER_TO_REGISTER, order.hospital_id, request, deadline=deadline)
        return receipt.his_registration_id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        assert order.his_serial, "only a registration the hospital made can be cancelled"
        request = TodayRegisterCancelRegisterRequest(
            today_register_id=TodayRegistrationQuote.of(order).today_register_id, his_registration_id=order.his_serial
        )
        answer = await his.call(TODAY_REGISTER_CANCEL_REGISTER, order.hospital_id, request, deadline=deadline)
        return HisCancellation(his_refund_no=answer.refund_no)
