"""Physical-exam booking (chapter 28): 28.1.6 createTjPersonInfo after payment, 28.1.7 to cancel with refund.

Chapter 28 has no narrative of its own. The booking is written after payment with cflag 1 (预约已支付),
tradeNo = outTradeNo and acPrice = what was paid online ("用于金额校验"); the price is the packages'
acPrice as 28.1.1 quotes it. An exam is booked days ahead, so unclear answers are retried for 24 hours
(as recharge); a refusal or the end of the window asks 13.1.1 (chapter 13: any payment the hospital
did not process): only ``refundable`` refunds, anything else parks.

28.1.7 says "如返回成功线上支付的订单则会进行退款操作": a successful cancel refunds the whole online part;
a refusal leaves the booking standing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.physical_exam import (
    PHYSICAL_CANCEL_TJ_PERSON_INFO,
    PHYSICAL_CREATE_TJ_PERSON_INFO,
    PhysicalCancelTjPersonInfoRequest,
    PhysicalCreateTjPersonInfoRequest,
    SelectedExamItem,
    SelectedPackage,
)
from store.orders import Order

from ..quotes import PhysicalExamQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "TJYY"
"""The spec's 28.1.6 example books TJYY-QDHDRMYY-1905301."""
PAID: Final = "1"


class PhysicalExamFlow:
    """体检预约: the packages 28.1.1 prices, paid, then booked at the hospital."""

    name = "physical_exam"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(hours=24),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        quote = PhysicalExamQuote.of(order)
        request = PhysicalCreateTjPersonInfoRequest(
            trade_no=order.out_trade_no,
            name=quote.patient_name,
            sex=quote.sex,
            id_card=quote.id_card,
            tel_no=quote.tel_no,
            profession_code=quote.profession_code,
            package_ids=[SelectedPackage(id=package) for package in quote.package_ids],
            item_ids=[SelectedExamItem(id=item) for item in quote.item_ids],
            date=quote.date,
            cflag=PAID,
            pay_type=pay_type(order),
            medical_card_number=order.medical_card_number,
            ac_price=order.online_amount,
            org_id=quote.org_id,
            group_id=quote.group_id,
        )
        booking = await his.call(PHYSICAL_CREATE_TJ_PERSON_INFO, order.hospital_id, request, deadline=deadline)
        return booking.id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        assert order.his_serial, "only a booking the hospital made can be cancelled"
        request = PhysicalCancelTjPersonInfoRequest(
            id_card=PhysicalExamQuote.of(order).id_card,
            medical_card_number=order.medical_card_number,
            id=order.his_serial,
        )
        await his.call(PHYSICAL_CANCEL_TJ_PERSON_INFO, order.hospital_id, request, deadline=deadline)
        return HisCancellation(his_refund_no=None)
