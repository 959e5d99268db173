"""The card-balance refund the user asks for (chapter 8): 8.1.1 -> 8.1.2 (same refundNo) / 8.1.3 -> provider."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, RefundNotPossible
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from store.orders import OrderState, RefundState
from tests.conftest import calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
CARD_REFUND = "hospital.interface.cardRefund"
REFUND_STATUS = "hospital.interface.getRefundStatus"


async def _recharged(
    payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker, amount: str = "100.00"
) -> str:
    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal(amount)
    )
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    await worker.run_until_idle()
    order = await payments.get(created.order.out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    return created.order.out_trade_no


async def test_the_hospital_deducts_then_the_provider_refunds_the_recharge(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    recharge = await _recharged(payments, provider, worker)
    requested = await payments.request_card_refund(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("30.00")
    )
    (asked,) = requested.refunds
    assert asked.out_trade_no == recharge
    assert asked.state is RefundState.AWAITING_HIS
    assert asked.out_refund_no.startswith("RE")
    await worker.run_until_idle()

    (refund,) = await payments.refunds(recharge)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.amount == Decimal("30.00")
    assert refund.his_refund_no
    (paid_back,) = provider.refunds_of(recharge)
    assert (paid_back.out_refund_no, paid_back.amount) == (refund.out_refund_no, Decimal("30.00"))
    (deduction,) = calls(clean_region, method=CARD_REFUND)
    assert deduction["body"]["refundNo"] == refund.out_refund_no
    assert deduction["body"]["orderNo"] == recharge
    assert Decimal(deduction["body"]["refunAmount"]) == Decimal("30.00")
    order = await payments.get(recharge)
    assert order is not None
    assert order.state is OrderState.NOTIFIED  # an after-sale refund never changes the order's state
    assert applied(clean_region, HOSPITAL, refund.out_refund_no) == 1


async def test_refunds_never_exceed_what_was_recharged_through_us(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    recharge = await _recharged(payments, provider, worker, amount="20.00")
    with pytest.raises(RefundNotPossible):
        # 8.1.1 also lists balance recharged elsewhere; only what we took through the provider goes back.
        await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("20.01"))
    await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("20.00"))
    with pytest.raises(RefundNotPossible):
        await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("0.01"))
    await worker.run_until_idle()
    assert [r.amount for r in provider.refunds_of(recharge)] == [Decimal("20.00")]


async def test_a_lost_reply_is_learnt_through_8_1_3_and_never_deducted_twice(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    recharge = await _recharged(payments, provider, worker)
    inject(clean_region, hospitalId=HOSPITAL, method=CARD_REFUND, kind="lost_reply", times=1)
    requested = await payments.request_card_refund(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("10.00")
    )
    await worker.run_until_idle()
    (waiting,) = await payments.refunds(recharge)
    assert waiting.state is RefundState.AWAITING_HIS
    assert provider.refunds_of(recharge) == []
    clock.advance(timedelta(seconds=5))
    await worker.run_until_idle()
    (refund,) = await payments.refunds(recharge)
    assert refund.state is RefundState.SUCCEEDED
    assert "8.1.3" in (refund.note or "") or refund.note
    assert len(calls(clean_region, method=CARD_REFUND)) == 1  # 8.1.3 said deducted: no second 8.1.2
    assert len(calls(clean_region, method=REFUND_STATUS)) == 1
    assert applied(clean_region, HOSPITAL, requested.refunds[0].out_refund_no) == 1


async def test_not_deducted_is_asked_again_with_the_same_refund_number(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    recharge = await _recharged(payments, provider, worker)
    inject(clean_region, hospitalId=HOSPITAL, method=CARD_REFUND, kind="http500", times=1)
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_STATUS, kind="code", code="40004", times=1)
    await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("10.00"))
    for _ in range(3):
        await worker.run_until_idle()
        clock.advance(timedelta(minutes=1))
    (refund,) = await payments.refunds(recharge)
    assert refund.state is RefundState.SUCCEEDED
    numbers = {c["body"]["refundNo"] for c in calls(clean_region, method=CARD_REFUND)}
    assert numbers == {refund.out_refund_no}
    assert len(calls(clean_region, method=CARD_REFUND)) == 2  # 500, then (8.1.3: 40004, no data) again
    assert [r.amount for r in provider.refunds_of(recharge)] == [Decimal("10.00")]


async def test_a_refusal_parks_and_nothing_is_paid_out(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    recharge = await _recharged(payments, provider, worker)
    inject(clean_region, hospitalId=HOSPITAL, method=CARD_REFUND, kind="code", code="20004", times=1)
    await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("10.00"))
    await worker.run_until_idle()
    (refund,) = await payments.refunds(recharge)
    assert refund.state is RefundState.PARKED
    assert "20004" in (refund.note or "")
    assert provider.refunds_of(recharge) == []


async def test_no_answer_within_24_hours_parks_never_refunds(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    recharge = await _recharged(payments, provider, worker)
    inject(clean_region, hospitalId=HOSPITAL, method=CARD_REFUND, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_STATUS, kind="http500")
    await payments.request_card_refund(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("10.00"))
    for _ in range(23):
        await worker.run_until_idle()
        (refund,) = await payments.refunds(recharge)
        assert refund.state is RefundState.AWAITING_HIS
        clock.advance(timedelta(hours=1))
    clock.advance(timedelta(hours=2))
    await worker.run_until_idle()
    (refund,) = await payments.refunds(recharge)
    assert refund.state is RefundState.PARKED
    assert provider.refunds_of(recharge) == []
