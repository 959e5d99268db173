"""Appointment registration payment (chapter 21.2): 21.2.2 books, 21.2.4 yyghRegister pays, 21.2.3 cancels.

The slot is booked with 21.2.2 appointmentInfo (recordId, our uuid) before the order is written, so the
patient pays for a slot the hospital holds; after payment 21.2.4 yyghRegister tells the hospital
(payId = outTradeNo, arAmt = the fee less the card-balance part, as its table says). Chapter 21 names
no retry window or fallback: as for today's registration, unclear answers are retried for 30 minutes
and a refusal (60202 fee mismatch, 60205 full, 60206 stopped) or the window's end asks 13.1.1.

A slot booked but not paid is released with the same 21.2.3 (`release`): when the patient cancels the
order before paying, when the payment window passes, and when the hospital refuses the payment (21.2.4)
and the money goes back; otherwise the slot would stay taken at the hospital.

The user may cancel a paid appointment with 21.2.3 cancelAppointment (idempotent on recordId); its
refundNo ("收费时必须返回") is the hospital's voucher, and the whole online part goes back. A refusal
(60203 already seen, 60209 check-in passed) leaves the appointment standing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Final

from his_clients.client import HisClient
from his_clients.models.registration_appointment import (
    CANCEL_APPOINTMENT,
    YYGH_REGISTER,
    CancelAppointmentRequest,
    YyghRegisterRequest,
)
from services.payments.clock import spec_time
from store.orders import Order

from ..quotes import AppointmentRegistrationQuote
from .base import FlowPolicy, GiveUp, HisCancellation, pay_type

BUSINESS_TYPE: Final = "YYGH"
"""The spec's 21.2.4 example pays YYGH-SCXRMYY-18062229055."""
PAY_STATE_PAID: Final = "1"


class AppointmentRegistrationFlow:
    """预约挂号: a booked slot (21.2.2), paid, then the payment applied (21.2.4)."""

    name = "registration_appointment"
    business_type = BUSINESS_TYPE
    policy = FlowPolicy(
        notify_window=timedelta(minutes=30),
        on_refusal=GiveUp.ASK_REFUNDABLE,
        on_window_end=GiveUp.ASK_REFUNDABLE,
    )
    cancel_window = timedelta(hours=24)

    async def notify(self, his: HisClient, order: Order, *, deadline: float | None) -> str:
        assert order.paid_at is not None, "only paid orders are notified"
        quote = AppointmentRegistrationQuote.of(order)
        request = YyghRegisterRequest(
            record_id=quote.record_id,
            medical_card_number=order.medical_card_number,
            id_card=quote.id_card,
            patient_name=quote.patient_name,
            dept_code=quote.dept_code,
            doc_code=quote.doc_code,
            ar_amt=order.total_amount - order.balance_payment,
            schedule_date=quote.date,
            pay_id=order.out_trade_no,
            pay_state=PAY_STATE_PAID,
            start_time=quote.start_time,
            am_pm=quote.am_pm,
            state_time=spec_time(order.paid_at),
            pay_type=pay_type(order),
            serial_number=quote.serial_number,
            balance_pay=order.balance_payment,
            unified_amount=order.unified_pay_amount,
            unified_pay_trade_no=order.unified_pay_trade_no,
        )
        receipt = await his.call(YYGH_REGISTER, order.hospital_id, request, deadline=deadline)
        return receipt.his_registration_id

    async def cancel(self, his: HisClient, order: Order, *, deadline: float | None) -> HisCancellation:
        answer = await his.call(CANCEL_APPOINTMENT, order.hospital_id, cancel_request(order), deadline=deadline)
        return HisCancellation(his_refund_no=answer.refund_no)

    release_section = "21.2.3"
    release_after_refund = True

    async def release(self, his: HisClient, order: Order, *, deadline: float | None) -> None:
        """21.2.3 for a slot booked (21.2.2) but never paid, or whose payment the hospital refused."""
        await his.call(CANCEL_APPOINTMENT, order.hospital_id, cancel_request(order), deadline=deadline)


def cancel_request(order: Order) -> CancelAppointmentRequest:
    """21.2.3 for the booking this order holds (also used to release an unpaid booking)."""
    quote = AppointmentRegistrationQuote.of(order)
    return CancelAppointmentRequest(
        hos_code=quote.hos_code,
        record_id=quote.record_id,
        medical_card=order.medical_card_number,
        patient_name=quote.patient_name,
        dept_code=quote.dept_code,
        doc_code=quote.doc_code,
        ar_amt=order.total_amount,
        date=quote.date,
        am_pm=quote.am_pm,
        start_time=quote.start_time,
        end_time=quote.end_time,
        type=quote.id_type,
        patient_id=quote.patient_id,
        patient_phone=quote.patient_phone,
    )
