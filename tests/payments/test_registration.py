"""Today's registration (20.1.7 / 20.1.8) and appointment registration (21.2.2 -> 21.2.4, 21.2.3)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from his_clients.registry import Registry
from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, QuoteUnavailable, RefundNotPossible
from services.payments.providers.base import ProviderRejected
from services.payments.providers.sandbox import SandboxProvider
from services.payments.sagas.registration_today import registration_fee
from services.payments.worker import OutboxWorker
from services.refusals import RefusalCode
from store.orders import Order, OrderState, RefundState
from tests.conftest import DEMO_ID_NUMBER, calls, inject
from tests.payments.conftest import CARD, applied, upload_schedule

HOSPITAL = "253"
TODAY = "hospital.interface.todayRegisterToRegister"
TODAY_CANCEL = "hospital.interface.todayRegisterCancleRegister"
PAY_APPOINTMENT = "hospital.interface.yyghRegister"
CANCEL_APPOINTMENT = "hospital.interface.cancelAppointment"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _today(payments: PaymentService, provider: SandboxProvider, **options: Any) -> str:
    created = await payments.create_today_registration_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        department_id="228",
        doctor_id="511",
        reg_class_id="1082-286968",
        id_card=DEMO_ID_NUMBER,
        serial_number="2",
        am_pm="a",
        **options,
    )
    assert created.order.out_trade_no.startswith("DRGH-")
    assert created.order.total_amount == Decimal("23.00")  # the fee 20.1.2 quotes
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def _appointment(payments: PaymentService, provider: SandboxProvider, *, fee: str = "16.00") -> str:
    """An appointment paid, at the fee the hospital uploaded for the session (21.1.4), never the caller's."""
    await upload_schedule(payments._db, fee=fee)
    created = await payments.create_appointment_order(
        hospital_id=HOSPITAL,
        hos_code="0531_csyy",
        medical_card_number=CARD,
        patient_name="张三",
        patient_id=DEMO_ID_NUMBER,
        patient_phone="15689898989",
        dept_code="0256",
        doc_code="256654",
        date="20251203",
        am_pm="AM",
        start_time="08:15",
    )
    assert created.order.out_trade_no.startswith("YYGH-")
    assert created.order.total_amount == Decimal(fee)
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_today_registration_is_made_once_after_payment(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _today(payments, provider)
    # Duplicate (and concurrent) paid notifications change nothing.
    again = await asyncio.gather(*(payments.record_payment(provider.notification(out_trade_no)) for _ in range(3)))
    assert all(r.duplicate for r in again)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert order.his_serial  # hisRegistrationId
    (call,) = calls(clean_region, method=TODAY)
    assert call["body"]["payId"] == out_trade_no
    assert Decimal(str(call["body"]["registrationFee"])) == Decimal("23.00")
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_today_registration_refused_asks_13_1_1_and_refunds(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _today(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=TODAY, kind="code", code="60205", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert len(calls(clean_region, method=REFUND_QUERY)) == 1
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("23.00")]


async def test_today_registration_unconfirmed_past_the_window_parks_when_13_1_1_is_silent(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _today(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=TODAY, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(30):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_the_user_cancels_today_registration_and_is_refunded_once(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _today(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=TODAY_CANCEL, kind="lost_reply", times=1)
    asked = await payments.request_cancel(out_trade_no)
    assert asked.state is RefundState.AWAITING_HIS
    assert (await payments.request_cancel(out_trade_no)).out_refund_no == asked.out_refund_no  # idempotent
    await worker.run_until_idle()
    (waiting,) = await payments.refunds(out_trade_no)
    assert waiting.state is RefundState.AWAITING_HIS  # the reply was lost: asked again later
    clock.advance(timedelta(seconds=5))
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.his_refund_no
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("23.00")]
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert len(calls(clean_region, method=TODAY_CANCEL)) == 2
    assert applied(clean_region, HOSPITAL, f"cancel:{order.his_serial}") == 1


async def test_a_refused_cancellation_leaves_the_registration_standing(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _today(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=TODAY_CANCEL, kind="code", code="60203", times=1)
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.REFUSED
    assert provider.refunds_of(out_trade_no) == []
    # Refused: the amount is free again, the user may ask once more.
    again = await payments.request_cancel(out_trade_no)
    assert again.out_refund_no != refund.out_refund_no
    await worker.run_until_idle()
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("23.00")]


async def test_an_unanswered_cancellation_parks_after_its_window(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _today(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=TODAY_CANCEL, kind="http500")
    await payments.request_cancel(out_trade_no)
    for _ in range(26):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_only_a_made_booking_may_be_cancelled(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider
) -> None:
    out_trade_no = await _today(payments, provider)  # PAID, the hospital not yet told
    with pytest.raises(RefundNotPossible):
        await payments.request_cancel(out_trade_no)
    recharge = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("1.00")
    )
    with pytest.raises(RefundNotPossible):
        await payments.request_cancel(recharge.order.out_trade_no)


async def test_appointment_is_booked_paid_and_applied_once(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _appointment(payments, provider)
    await payments.record_payment(provider.notification(out_trade_no))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (booking,) = calls(clean_region, method="hospital.interface.appointmentInfo")
    (paid,) = calls(clean_region, method=PAY_APPOINTMENT)
    assert paid["body"]["recordId"] == booking["body"]["recordId"]
    assert paid["body"]["payId"] == out_trade_no
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_appointment_at_a_fee_the_hospital_refuses_is_refunded(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _appointment(payments, provider, fee="15.00")  # uploaded stale: 60202 at 21.2.4
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("15.00")]


async def test_appointment_cancel_with_refund(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _appointment(payments, provider)
    await worker.run_until_idle()
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.his_refund_no  # 21.2.3's top-level refundNo
    assert len(calls(clean_region, method=CANCEL_APPOINTMENT)) == 1
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("16.00")]


async def test_a_refused_booking_writes_no_order(clean_region: httpx.Client, payments: PaymentService) -> None:
    await upload_schedule(payments._db)
    inject(clean_region, hospitalId=HOSPITAL, method="hospital.interface.appointmentInfo", kind="code", code="60205")
    with pytest.raises(QuoteUnavailable) as refused:
        await payments.create_appointment_order(
            hospital_id=HOSPITAL,
            hos_code="0531_csyy",
            medical_card_number=CARD,
            patient_name="张三",
            patient_id=DEMO_ID_NUMBER,
            patient_phone="15689898989",
            dept_code="0256",
            doc_code="256654",
            date="20251203",
            am_pm="AM",
            start_time="08:15",
        )
    assert refused.value.code is RefusalCode.SLOTS_FULL


async def _booked(payments: PaymentService) -> str:
    """An appointment slot booked (21.2.2) and its order, not paid."""
    await upload_schedule(payments._db)
    created = await payments.create_appointment_order(
        hospital_id=HOSPITAL,
        hos_code="0531_csyy",
        medical_card_number=CARD,
        patient_name="张三",
        patient_id=DEMO_ID_NUMBER,
        patient_phone="15689898989",
        dept_code="0256",
        doc_code="256654",
        date="20251203",
        am_pm="AM",
        start_time="08:15",
    )
    return created.order.out_trade_no


def _released(admin: httpx.Client) -> str:
    """The recordId 21.2.3 released, checked to be the one 21.2.2 booked."""
    (booking,) = calls(admin, method="hospital.interface.appointmentInfo")
    (released,) = calls(admin, method=CANCEL_APPOINTMENT)
    assert released["body"]["recordId"] == booking["body"]["recordId"]
    record_id: str = released["body"]["recordId"]
    return record_id


async def test_an_appointment_cancelled_before_payment_is_released_with_21_2_3(
    clean_region: httpx.Client, payments: PaymentService, worker: OutboxWorker
) -> None:
    """issue 11 item 14: the patient cancels before paying: the slot is given back to the hospital."""
    out_trade_no = await _booked(payments)
    await payments.cancel(out_trade_no)
    await worker.run_until_idle()
    _released(clean_region)
    await worker.run_until_idle()
    assert len(calls(clean_region, method=CANCEL_APPOINTMENT)) == 1  # once


async def test_an_appointment_unpaid_past_its_window_is_closed_and_released(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    """issue 11 item 14: the payment window passes: the order is closed at the provider, then 21.2.3."""
    out_trade_no = await _booked(payments)
    await worker.run_until_idle()
    assert calls(clean_region, method=CANCEL_APPOINTMENT) == []
    clock.advance(timedelta(minutes=17))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.CANCELLED
    _released(clean_region)
    with pytest.raises(ProviderRejected):
        provider.pay(out_trade_no)


async def test_a_paid_appointment_is_never_released_when_its_window_passes(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    """issue 11 item 14: only an unpaid booking is released; a paid one stays the patient's."""
    out_trade_no = await _appointment(payments, provider)
    clock.advance(timedelta(minutes=17))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert calls(clean_region, method=CANCEL_APPOINTMENT) == []


async def test_an_appointment_whose_payment_the_hospital_refused_is_refunded_and_released(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    """issue 11 item 14: 21.2.4 refused (60202), 13.1.1 refundable, money back: the slot goes back too."""
    out_trade_no = await _appointment(payments, provider, fee="15.00")
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    _released(clean_region)


async def test_a_registration_paid_partly_from_the_card_is_made_not_refunded(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    """issue 11 item 6: registrationFee is the online part ("挂号费(线上支付金额)"), balancePayment the card's;
    the simulated hospital adds them up to its fee, so the registration is made, not refused and refunded."""
    out_trade_no = await _today(payments, provider, balance_payment=Decimal("3.00"))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (registered,) = calls(clean_region, method=TODAY)
    assert Decimal(str(registered["body"]["registrationFee"])) == Decimal("20.00")
    assert Decimal(str(registered["body"]["balancePayment"])) == Decimal("3.00")


def test_a_hospital_may_read_registration_fee_as_the_whole_fee(region: Registry) -> None:
    """issue 11 item 6: the registry's registration_fee = "total" sends the whole fee instead."""
    entry = region.hospital(HOSPITAL)
    assert entry is not None
    assert entry.registration_fee == "online"
    total = Registry(hospitals=[entry.model_copy(update={"registration_fee": "total"})], endpoints=region.endpoints)
    paid = Order(
        out_trade_no="DRGH-1",
        hospital_id=HOSPITAL,
        total_amount=Decimal("23.00"),
        balance_payment=Decimal("3.00"),
        online_amount=Decimal("20.00"),
    )
    assert registration_fee(SimpleNamespace(registry=region), paid) == Decimal("20.00")  # type: ignore[arg-type]
    assert registration_fee(SimpleNamespace(registry=total), paid) == Decimal("23.00")  # type: ignore[arg-type]
