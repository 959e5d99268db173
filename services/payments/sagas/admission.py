"""Admission application payment (chapter 36): 36.1.2 execInHospitalPatsSave after payment, 36.1.3 to cancel.

36.1.2: "患者在移动端付款成功调用此接口，保存入院申请缴费信息并入院" with tradeNo = outTradeNo and payAmount =
the amount 36.1.1 asks (prepayAmount); the hospital answers the stay's patInHosId. Chapter 36 names no
window nor fallback: the patient is being admitted, so unclear answers are retried for 24 hours (as
deposits and recharge), and a refusal (amount changed, application withdrawn) or the end of the window
asks 13.1.1, written for any payment the hospital did not process: only ``refundable`` refunds.

36.1.3: "患者在移动端付款成功医院未办理入院按床可以线上取消申请": the user may cancel a paid application until
a bed is assigned; prepayAmount is the amount to refund (the whole online part) and the hospital answers
its refund number (refoundNo). A refusal (already admitted) leaves the application standing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.inpatient_records import (
    EXEC_IN_HOSPITAL_PATS_SAVE,
    INVALID_IN_PATS_INFO,
    ExecInHospitalPatsSaveRequest,
    InvalidInPatsInfoRequest,
)
from store.orders import Order

from ..quotes import AdmissionQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "ZZJF"
"""The spec's 36.1.2 example pays tradeNo ZZJF-YWCSL-2010145."""


class AdmissionFlow:
    """入院申请缴费: the amount the admission application asks (36.1.1), paid, then saved at the hospital."""

    name = "admission"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(hours=24),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        request = ExecInHospitalPatsSaveRequest(
            admission_card_id=AdmissionQuote.of(order).admission_card_id,
            pay_amount=order.total_amount,
            trade_no=order.out_trade_no,
            medical_card_number=order.medical_card_number,
            pay_type=pay_type(order),
            id_card=AdmissionQuote.of(order).id_card,
        )
        saved = await his.call(EXEC_IN_HOSPITAL_PATS_SAVE, order.hospital_id, request, deadline=deadline)
        return saved.pat_in_hos_id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        assert order.his_serial, "only an application the hospital saved can be cancelled"
        request = InvalidInPatsInfoRequest(
            pat_in_hos_id=order.his_serial,
            prepay_amount=order.online_amount,
            id_card=AdmissionQuote.of(order).id_card,
            medical_card_number=order.medical_card_number,
        )
        answer = await his.call(INVALID_IN_PATS_INFO, order.hospital_id, request, deadline=deadline)
        return HisCancellation(his_refund_no=answer.refund_no)
