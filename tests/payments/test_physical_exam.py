"""Physical-exam booking (28.1.1 price -> 28.1.6 after payment) and its cancel with refund (28.1.7)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, QuoteUnavailable
from services.payments.providers.sandbox import SandboxProvider
from services.payments.quotes import PhysicalExamQuote
from services.payments.worker import OutboxWorker
from store.db import Database
from store.orders import OrderRepository, OrderState, RefundState
from tests.conftest import DEMO_ID_NUMBER, calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
BOOK = "hospital.interface.physical.createTjPersonInfo"
CANCEL = "hospital.interface.physical.cancelTjPersonInfo"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _paid(payments: PaymentService, provider: SandboxProvider) -> str:
    created = await payments.create_physical_exam_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        id_card=DEMO_ID_NUMBER,
        name="张三",
        sex="男",
        package_ids=["801"],
        date="2025-12-03 08:00",
    )
    assert created.order.out_trade_no.startswith("TJYY-")
    assert created.order.total_amount == Decimal("37.00")  # 28.1.1's acPrice
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_booked_once_after_payment_then_cancelled_with_refund(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    await payments.record_payment(provider.notification(out_trade_no))  # a duplicate
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (booked,) = calls(clean_region, method=BOOK)
    assert booked["body"]["tradeNo"] == out_trade_no
    assert booked["body"]["cflag"] == "1"
    assert booked["body"]["name"] == "张三"  # the patient's name, as the order keeps it (patient_name)
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1

    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("37.00")]
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["id"] == order.his_serial
    # The hospital's booking is really gone: cancelling it again changes nothing there.
    again = clean_region.post(f"/his/{HOSPITAL}/{CANCEL}", json=cancelled["body"]).json()
    assert again["success"] is True
    assert applied(clean_region, HOSPITAL, f"cancel:booking:physical:{order.his_serial}") == 1


async def test_an_order_stored_before_typed_quotes_books_the_name_it_kept(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker, db: Database
) -> None:
    """Orders written before services.payments.quotes keep the patient's name under ``name``: 28.1.6 still sends it."""
    created = await payments.create_physical_exam_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        id_card=DEMO_ID_NUMBER,
        name="张三",
        sex="男",
        package_ids=["801"],
        date="2025-12-03 08:00",
    )
    out_trade_no = created.order.out_trade_no
    async with db.session() as session:
        order = await OrderRepository(session).get(out_trade_no, for_update=True)
        assert order is not None
        assert order.quote["patient_name"] == "张三"
        old = {("name" if key == "patient_name" else key): value for key, value in order.quote.items()}
        del old["item_ids"]
        order.quote = old  # as the entry point wrote it before: the drifted key, no item_ids
    async with db.session() as session:
        stored = await OrderRepository(session).get(out_trade_no)
        assert stored is not None
        assert "patient_name" not in stored.quote
        assert PhysicalExamQuote.of(stored).patient_name == "张三"
    await payments.record_payment(provider.pay(out_trade_no))
    await worker.run_until_idle()
    (booked,) = calls(clean_region, method=BOOK)
    assert booked["body"]["tradeNo"] == out_trade_no
    assert booked["body"]["name"] == "张三"
    assert booked["body"]["idCard"] == DEMO_ID_NUMBER


async def test_a_lost_reply_is_found_through_14_2_2(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=BOOK, kind="lost_reply", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_a_refused_booking_is_refunded_when_13_1_1_says_refundable(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=BOOK, kind="code", code="60103", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("37.00")]


async def test_unconfirmed_for_a_day_with_13_1_1_silent_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=BOOK, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(50):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_an_unknown_package_is_not_quoted(clean_region: httpx.Client, payments: PaymentService) -> None:
    with pytest.raises(QuoteUnavailable):
        await payments.create_physical_exam_order(
            hospital_id=HOSPITAL,
            medical_card_number=CARD,
            id_card=DEMO_ID_NUMBER,
            name="张三",
            sex="男",
            package_ids=["nope"],
            date="2025-12-03 08:00",
        )
