"""Admission application payment (36.1.1 amount -> 36.1.2 after payment) and its cancel with refund (36.1.3)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, QuoteUnavailable
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.orders import OrderState, RefundState
from tests.conftest import calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
SAVE = "hospital.interface.execInHospitalPatsSave"
CANCEL = "hospital.interface.invalidInPatsInfo"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _paid(payments: PaymentService, provider: SandboxProvider) -> str:
    created = await payments.create_admission_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    assert created.order.out_trade_no.startswith("ZZJF-")
    assert created.order.total_amount == Decimal("500.00")  # 36.1.1's prepayAmount
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_saved_once_after_payment_then_cancelled_with_refund(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    await payments.record_payment(provider.notification(out_trade_no))  # a duplicate
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert order.his_serial  # patInHosId
    (saved,) = calls(clean_region, method=SAVE)
    assert saved["body"]["tradeNo"] == out_trade_no
    assert saved["body"]["admissionCardId"] == "9979"
    assert Decimal(str(saved["body"]["payAmount"])) == Decimal("500.00")
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1
    with pytest.raises(QuoteUnavailable):  # 36.1.1 now says the application is paid
        await payments.create_admission_order(hospital_id=HOSPITAL, medical_card_number=CARD)

    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.his_refund_no
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("500.00")]
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["patInHosId"] == order.his_serial
    assert Decimal(str(cancelled["body"]["prepayAmount"])) == Decimal("500.00")


async def test_a_lost_reply_is_found_through_14_2_2(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=SAVE, kind="lost_reply", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_a_refusal_is_refunded_when_13_1_1_says_refundable(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=SAVE, kind="code", code="60103", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert len(calls(clean_region, method=REFUND_QUERY)) == 1
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("500.00")]
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0


async def test_unconfirmed_for_a_day_with_13_1_1_silent_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=SAVE, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(50):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_a_refused_cancellation_leaves_the_application_standing(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=CANCEL, kind="code", code="60209", times=1)
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.REFUSED
    assert provider.refunds_of(out_trade_no) == []
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED


async def test_a_cancel_unclear_past_its_window_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=CANCEL, kind="http500")
    await payments.request_cancel(out_trade_no)
    for _ in range(30):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.PARKED
    assert provider.refunds_of(out_trade_no) == []
