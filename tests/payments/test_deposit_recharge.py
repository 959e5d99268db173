"""Inpatient deposits (10.1.2, retried for 24 hours) and card recharge (7.1.2) against the simulator."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx

from services.payments.clock import ManualClock
from services.payments.orders import PaymentService
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.orders import OrderState
from tests.conftest import calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
REGIONAL_HOSPITAL = "256"
DEPOSIT = "hospital.interface.paymentOfDeposit"
RECHARGE = "hospital.interface.paySuccess"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _paid_deposit(payments: PaymentService, provider: SandboxProvider, hospital_id: str = HOSPITAL) -> str:
    created = await payments.create_deposit_order(
        hospital_id=hospital_id,
        medical_card_number=CARD,
        patient_name="张三",
        admission_number="060508",
        amount=Decimal("1000.00"),
    )
    assert created.order.out_trade_no.startswith("ZYYJ-")
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_deposit_happy_path_at_a_regional_hospital(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid_deposit(payments, provider, REGIONAL_HOSPITAL)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert order.his_serial
    assert applied(clean_region, REGIONAL_HOSPITAL, out_trade_no) == 1
    (call,) = calls(clean_region, method=DEPOSIT)
    assert call["body"]["admissionNumber"] == "060508"
    assert Decimal(call["body"]["amount"]) == Decimal("1000.00")


async def test_deposit_refusals_are_retried_within_24_hours(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid_deposit(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=DEPOSIT, kind="code", code="60401", times=2)
    for _ in range(3):
        await worker.run_until_idle()
        clock.advance(timedelta(minutes=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def _unconfirmed_for_24_hours(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> str:
    out_trade_no = await _paid_deposit(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=DEPOSIT, kind="http500")
    hours = 0
    while hours < 23:
        await worker.run_until_idle()
        order = await payments.get(out_trade_no)
        assert order is not None
        assert order.state is OrderState.PAID
        clock.advance(timedelta(hours=1))
        hours += 1
    assert calls(clean_region, method=REFUND_QUERY) == []  # not before the 24 hours are over
    assert len(calls(clean_region, method=DEPOSIT)) >= 10
    return out_trade_no


async def test_deposit_unconfirmed_for_24_hours_fails_and_is_refunded_through_13_1_1(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    """issue 11 item 9: "24小时候默认失败": a failed payment asks 13.1.1, and refundable money goes back."""
    out_trade_no = await _unconfirmed_for_24_hours(clean_region, payments, provider, worker, clock)
    clock.advance(timedelta(hours=2))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("1000.00")]
    assert len(calls(clean_region, method=REFUND_QUERY)) == 1


async def test_deposit_unconfirmed_is_parked_only_when_13_1_1_gives_no_answer(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    """issue 11 item 9: parked only when 13.1.1 gives no clear answer within its own window; no refund."""
    out_trade_no = await _unconfirmed_for_24_hours(clean_region, payments, provider, worker, clock)
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(27):
        clock.advance(timedelta(hours=1))
        await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []
    assert calls(clean_region, method=REFUND_QUERY)


async def test_recharge_happy_path(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("100.00")
    )
    assert created.order.out_trade_no.startswith("JZKCZ-")
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    await worker.run_until_idle()
    order = await payments.get(created.order.out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (call,) = calls(clean_region, method=RECHARGE)
    assert Decimal(call["body"]["payAmount"]) == Decimal("100.00")
    assert applied(clean_region, HOSPITAL, created.order.out_trade_no) == 1


async def test_recharge_60303_is_retried_and_a_refusal_refunded(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("50.00")
    )
    out_trade_no = created.order.out_trade_no
    await payments.record_payment(provider.pay(out_trade_no))
    inject(clean_region, hospitalId=HOSPITAL, method=RECHARGE, kind="code", code="60303", times=1)
    await worker.run_until_idle()
    still = await payments.get(out_trade_no)
    assert still is not None
    assert still.state is OrderState.PAID  # 60303: try again
    inject(clean_region, hospitalId=HOSPITAL, method=RECHARGE, kind="code", code="60301", times=1)
    clock.advance(timedelta(seconds=5))
    await worker.run_until_idle()  # 60301: card may not recharge online -> 13.1.1 -> refundable
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("50.00")]
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0
