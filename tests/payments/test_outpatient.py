"""Outpatient bills (3.1.1 -> 3.1.2, then 14.2.2 / 13.1.1) against the simulated hospitals."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from his_clients.client import HisClient
from his_clients.method import HisMethod
from his_clients.registry import Registry
from services.payments.clock import ManualClock
from services.payments.orders import PaymentService
from services.payments.providers.base import PaymentNotification, TradeState
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.db import Database
from store.orders import OrderEvent, OrderRepository, OrderState, OutboxJob
from tests.conftest import calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
PAID_TEMPLATE = PaymentNotification(
    event_id="EV-1",
    event_type="TRANSACTION.SUCCESS",
    out_trade_no="",
    state=TradeState.PAID,
    amount=Decimal("0"),
    transaction_id="tx-1",
    paid_at=None,
)
CLINIC_PAYMENT = "hospital.interface.clinicPayment"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _paid_order(payments: PaymentService, provider: SandboxProvider, **options: Any) -> str:
    created = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD, **options)
    assert created.prepay is not None
    recorded = await payments.record_payment(provider.pay(created.order.out_trade_no))
    assert recorded.order.state is OrderState.PAID
    return created.order.out_trade_no


async def test_happy_path_pays_the_quoted_total_and_is_applied_once(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    created = await payments.create_outpatient_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, balance_payment=Decimal("10.00")
    )
    quote = calls(clean_region, method="hospital.interface.queryWaitPay")[-1]
    assert created.order.state is OrderState.CREATED
    assert created.order.out_trade_no.startswith("ZJZF-")
    assert created.order.online_amount == created.order.total_amount - Decimal("10.00")
    assert created.prepay is not None
    assert created.prepay.pay_params["package"].startswith("prepay_id=")
    assert quote["body"]["medicalCardNumber"] == CARD

    await payments.record_payment(provider.pay(created.order.out_trade_no))
    assert await worker.run_until_idle() == 1

    order = await payments.get(created.order.out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert order.his_serial
    assert applied(clean_region, HOSPITAL, order.out_trade_no) == 1
    (notified,) = calls(clean_region, method=CLINIC_PAYMENT)
    assert Decimal(notified["body"]["amount"]) == order.online_amount
    assert Decimal(notified["body"]["balancePayment"]) == Decimal("10.00")
    assert notified["body"]["detailId"]


async def test_duplicate_and_concurrent_notifications_change_nothing(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    db: Database,
) -> None:
    created = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    notification = provider.pay(created.order.out_trade_no)
    results = await asyncio.gather(*(payments.record_payment(notification) for _ in range(6)))
    again = await payments.record_payment(provider.notification(created.order.out_trade_no))
    assert sorted(r.duplicate for r in results) == [False, True, True, True, True, True]
    assert again.duplicate
    async with db.session() as session:
        order = await OrderRepository(session).get(created.order.out_trade_no)
        assert order is not None
        events = await OrderRepository(session).events(order)
        jobs = list((await session.execute(select(OutboxJob))).scalars())
    assert [e.to_state for e in events] == ["CREATED", "PAID"]
    assert len(jobs) == 1
    await worker.run_until_idle()
    await payments.record_payment(notification)  # a late repeat after the hospital was told
    order_after = await payments.get(created.order.out_trade_no)
    assert order_after is not None
    assert order_after.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, created.order.out_trade_no) == 1


async def test_a_lost_reply_is_found_through_14_2_2(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="lost_reply", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert "14.2.2" in (order.state_reason or "")
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1
    assert len(calls(clean_region, method=CLINIC_PAYMENT)) == 1


async def test_a_refusal_is_refunded_when_13_1_1_says_refundable(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker, db: Database
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="code", code="60101", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0
    (refund,) = provider.refunds_of(out_trade_no)
    assert refund.amount == order.online_amount
    async with db.session() as session:
        states = [e.to_state for e in (await session.execute(select(OrderEvent))).scalars()]
    assert states == ["CREATED", "PAID", "REFUNDING", "REFUNDED"]
    assert "NOTIFIED" not in states


async def test_40004_means_ask_again_later(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="code", code="40004", times=1)
    await worker.run_until_idle()
    waiting = await payments.get(out_trade_no)
    assert waiting is not None
    assert waiting.state is OrderState.PAID
    assert await worker.run_due() == 0  # not due yet
    clock.advance(timedelta(seconds=5))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert {c["body"]["outTradeNo"] for c in calls(clean_region, method=CLINIC_PAYMENT)} == {out_trade_no}
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_13_1_1_answering_40004_is_asked_again_then_refunds(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="code", code="60102", times=1)
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="code", code="40004", times=2)
    await worker.run_until_idle()
    for _ in range(2):
        still = await payments.get(out_trade_no)
        assert still is not None
        assert still.state is OrderState.PAID
        clock.advance(timedelta(minutes=1))
        await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert len(calls(clean_region, method=REFUND_QUERY)) == 3


async def test_no_answer_from_13_1_1_within_the_window_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="code", code="60101", times=1)
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(30):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


class Crash(BaseException):
    """The gateway process dying: nothing after it runs, nothing catches it."""


class CrashAfterWrites:
    """A HisClient that delivers every write to the hospital, then dies before hearing the answer."""

    def __init__(self, real: HisClient) -> None:
        self._real = real

    async def call(self, method: HisMethod[Any, Any], hospital_id: str, request: Any, **options: Any) -> Any:
        await self._real.call(method, hospital_id, request, **options)
        if method.name == CLINIC_PAYMENT:
            raise Crash
        return None


async def test_a_crash_mid_saga_resumes_from_the_store(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    his: HisClient,
    clock: ManualClock,
    db: Database,
    region: Registry,
) -> None:
    out_trade_no = await _paid_order(payments, provider)
    crashing = OutboxWorker(db=db, his=CrashAfterWrites(his), provider=provider, clock=clock)  # type: ignore[arg-type]
    with pytest.raises(Crash):
        await crashing.run_due()
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1

    # A new process: its own database handle, HIS client, service and worker, over the same store.
    async with Database(db.url.render_as_string(hide_password=False)) as store, HisClient(region) as fresh_his:
        restarted = OutboxWorker(db=store, his=fresh_his, provider=provider, clock=clock)
        service = PaymentService(db=store, his=fresh_his, provider=provider, clock=clock)
        assert await restarted.run_due() == 0  # the dead worker's lease still holds
        clock.advance(timedelta(minutes=6))
        await restarted.run_until_idle()
        order = await service.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert order.his_serial
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1
    assert len(calls(clean_region, method=CLINIC_PAYMENT)) == 2


async def test_cancel_before_payment_closes_the_trade(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider
) -> None:
    created = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    cancelled = await payments.cancel(created.order.out_trade_no)
    assert cancelled.state is OrderState.CANCELLED
    assert (await provider.query_order(created.order.out_trade_no)).state == "CLOSED"
    # Money that arrives anyway (a race with the close) is kept for operators, never lost.
    late = replace(PAID_TEMPLATE, out_trade_no=created.order.out_trade_no, amount=created.order.online_amount)
    recorded = await payments.record_payment(late)
    assert recorded.order.state is OrderState.PARKED


async def test_a_payment_of_another_amount_is_parked(
    clean_region: httpx.Client, payments: PaymentService, worker: OutboxWorker
) -> None:
    created = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    wrong = replace(PAID_TEMPLATE, out_trade_no=created.order.out_trade_no, amount=Decimal("0.01"))
    recorded = await payments.record_payment(wrong)
    assert recorded.order.state is OrderState.PARKED
    assert await worker.run_until_idle() == 0
    assert calls(clean_region, method=CLINIC_PAYMENT) == []
