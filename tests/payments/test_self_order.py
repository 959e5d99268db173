"""Self-ordered packages: 29.1.1 prices -> 29.1.3 saveSelfPrescription after payment, 29.1.4 cancel with refund."""

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
from tests.conftest import DEMO_ID_NUMBER, calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
SAVE = "hospital.interface.selfPrescription.saveSelfPrescription"
CANCEL = "hospital.interface.selfPrescription.cancelSelfPrescription"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _paid(payments: PaymentService, provider: SandboxProvider, *, balance: str = "0.00") -> str:
    created = await payments.create_self_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        groups={"26": ["36"], "65": []},
        appointment_date="2020-10-16",
        patient_name="张三",
        id_card=DEMO_ID_NUMBER,
        balance_payment=Decimal(balance),
    )
    assert created.order.out_trade_no.startswith("ZZJF-")
    assert created.order.total_amount == Decimal("66.00")  # 60.00 (item 36) + 6.00 (group 65's only item)
    await payments.record_payment(provider.pay(created.order.out_trade_no))
    return created.order.out_trade_no


async def test_saved_once_after_payment_then_cancelled_with_refund(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider, balance="16.00")
    await payments.record_payment(provider.notification(out_trade_no))  # a duplicate
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (saved,) = calls(clean_region, method=SAVE)
    body = saved["body"]
    assert body["outTradeNo"] == out_trade_no
    assert Decimal(str(body["payAmount"])) + Decimal(str(body["balancePayment"])) == Decimal("66.00")
    assert Decimal(str(body["payAmount"])) == Decimal("50.00")
    assert [(g["groupId"], [i["itemId"] for i in g["item"]]) for g in body["group"]] == [("26", ["36"]), ("65", ["86"])]
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1

    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.his_refund_no
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("50.00")]  # the online part only
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["outOrderId"] == order.his_serial


async def test_unknown_items_or_dates_are_not_quoted(clean_region: httpx.Client, payments: PaymentService) -> None:
    cases: tuple[tuple[dict[str, list[str]], str], ...] = (
        ({"26": ["99"]}, "2020-10-16"),
        ({"nope": []}, "2020-10-16"),
        ({"26": []}, "2020-10-17"),
    )
    for groups, date in cases:
        with pytest.raises(QuoteUnavailable):
            await payments.create_self_order(
                hospital_id=HOSPITAL, medical_card_number=CARD, groups=groups, appointment_date=date
            )


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
    inject(clean_region, hospitalId=HOSPITAL, method=SAVE, kind="code", code="60104", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("66.00")]


async def test_unconfirmed_past_the_window_with_13_1_1_silent_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=SAVE, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(30):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_a_refused_cancellation_leaves_the_order_standing(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    await worker.run_until_idle()
    inject(clean_region, hospitalId=HOSPITAL, method=CANCEL, kind="code", code="60601", times=1)
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.REFUSED
    assert provider.refunds_of(out_trade_no) == []
