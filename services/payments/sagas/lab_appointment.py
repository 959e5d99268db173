"""Lab test appointments (chapter 33): 33.1.3 locks the slot at order creation, 33.1.4 payToHis after
payment, 33.1.5 cancels.

33.1.3: "用户选择号源，之后需要锁定号源给用户时间支付": the slot is locked under our recordId for as long as
the payment may take (lockTime, minutes) before the order is written; "如果到时间后系统没有调用预约支付接口，
自动释放此号源". 33.1.4 payToHis then books it: outTradeNo, total (the project's price as 33.1.1 quotes
it, plus its 诊查费 when it names one), answering the hospital's hosRecordId. Chapter 33 names no retry
window nor fallback: the lock is short, so unclear answers are retried for 30 minutes (as registrations)
and a refusal (slot released, price changed) or the end of the window asks 13.1.1: only ``refundable``
refunds, anything else parks.

33.1.5 cancelAppt (hosRecordId, outTradeNo) answers the hospital's refundNo: "收费时必须返回...不返回此字段
平台不会给用户退款". A cancel answered without it is parked for operators, never refunded blindly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.lab_appointments import (
    PROJECT_APPT_CANCEL_APPT,
    PROJECT_APPT_PAY_TO_HIS,
    ProjectApptCancelApptRequest,
    ProjectApptPayToHisRequest,
)
from store.orders import Order

from ..quotes import LabAppointmentQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "XMYY"
"""The spec's 33.1.4 example pays outTradeNo XMYY-HZO-21012112 (项目预约)."""


class LabAppointmentFlow:
    """检验项目预约: a locked slot (33.1.3), paid, then booked at the hospital (33.1.4)."""

    name = "lab_appointment"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(minutes=30),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        quote = LabAppointmentQuote.of(order)
        request = ProjectApptPayToHisRequest(
            medical_card_number=order.medical_card_number,
            id_card_no=quote.id_card,
            pat_name=quote.patient_name,
            sex=quote.sex,
            telephone=quote.telephone,
            out_trade_no=order.out_trade_no,
            source_id=quote.source_id,
            scheduling_id=quote.scheduling_id,
            project_id=quote.project_id,
            record_id=quote.record_id,
            total=order.total_amount,
            pay_type=pay_type(order) if order.total_amount > 0 else None,
        )
        booked = await his.call(PROJECT_APPT_PAY_TO_HIS, order.hospital_id, request, deadline=deadline)
        return booked.hos_record_id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        assert order.his_serial, "only an appointment the hospital booked can be cancelled"
        request = ProjectApptCancelApptRequest(out_order_id=order.his_serial, out_trade_no=order.out_trade_no)
        answer = await his.call(PROJECT_APPT_CANCEL_APPT, order.hospital_id, request, deadline=deadline)
        refund_no = (answer.refund_no or "").strip()
        return HisCancellation(his_refund_no=refund_no or None, refundable=bool(refund_no) or order.online_amount == 0)
