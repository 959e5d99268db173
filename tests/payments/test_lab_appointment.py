"""Lab test appointments: 33.1.3 lock at order creation, 33.1.4 payToHis after payment, 33.1.5 cancel."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from his_clients.models.lab_appointments import LabAppointmentCancellation
from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, QuoteUnavailable
from services.payments.providers.sandbox import SandboxProvider
from services.payments.sagas import FLOWS, HisCancellation, LabAppointmentFlow
from services.payments.worker import OutboxWorker
from services.refusals import RefusalCode
from store.orders import OrderState, RefundState
from tests.conftest import DEMO_ID_NUMBER, calls, inject
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
LOCK = "hospital.interface.projectAppt.saveApptInfo"
PAY = "hospital.interface.projectAppt.payToHis"
CANCEL = "hospital.interface.projectAppt.cancelAppt"
REFUND_QUERY = "hospital.interface.refundQuery"


async def _create(payments: PaymentService) -> str:
    created = await payments.create_lab_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        sex="男",
        telephone="13526521254",
        project_id="12",
        scheduling_id="26",
        source_id="123",
        id_card=DEMO_ID_NUMBER,
    )
    assert created.order.out_trade_no.startswith("XMYY-")
    assert created.order.total_amount == Decimal("28.00")  # 33.1.1: 26.00 + 诊查费 2.00
    return created.order.out_trade_no


async def _paid(payments: PaymentService, provider: SandboxProvider) -> str:
    out_trade_no = await _create(payments)
    await payments.record_payment(provider.pay(out_trade_no))
    return out_trade_no


async def test_locked_then_booked_once_after_payment_then_cancelled_with_refund(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    (locked,) = calls(clean_region, method=LOCK)
    assert locked["body"]["lockTime"] == "15"
    await payments.record_payment(provider.notification(out_trade_no))  # a duplicate
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    (booked,) = calls(clean_region, method=PAY)
    assert booked["body"]["outTradeNo"] == out_trade_no
    assert booked["body"]["recordId"] == locked["body"]["recordId"]
    assert Decimal(str(booked["body"]["total"])) == Decimal("28.00")
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1

    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.SUCCEEDED
    assert refund.his_refund_no
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("28.00")]
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["outOrderId"] == order.his_serial
    assert cancelled["body"]["outTradeNo"] == out_trade_no


async def test_a_refused_lock_writes_no_order(clean_region: httpx.Client, payments: PaymentService) -> None:
    inject(clean_region, hospitalId=HOSPITAL, method=LOCK, kind="code", code="60205", times=1)
    with pytest.raises(QuoteUnavailable) as refused:
        await _create(payments)
    assert refused.value.code is RefusalCode.SLOTS_FULL
    with pytest.raises(QuoteUnavailable):
        await payments.create_lab_order(
            hospital_id=HOSPITAL,
            medical_card_number=CARD,
            patient_name="张三",
            sex="男",
            telephone="13526521254",
            project_id="12",
            scheduling_id="nope",
        )


async def test_a_lost_reply_is_found_through_14_2_2(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=PAY, kind="lost_reply", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    assert applied(clean_region, HOSPITAL, out_trade_no) == 1


async def test_a_refused_booking_is_refunded_when_13_1_1_says_refundable(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=PAY, kind="code", code="60205", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [Decimal("28.00")]
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0


async def test_unconfirmed_past_the_window_with_13_1_1_silent_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=PAY, kind="http500")
    inject(clean_region, hospitalId=HOSPITAL, method=REFUND_QUERY, kind="http500")
    for _ in range(30):
        await worker.run_until_idle()
        clock.advance(timedelta(hours=1))
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert provider.refunds_of(out_trade_no) == []


async def test_a_cancel_without_refund_number_is_parked_not_refunded(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out_trade_no = await _paid(payments, provider)
    await worker.run_until_idle()

    class NoVoucher:
        async def call(self, *args: Any, **kwargs: Any) -> LabAppointmentCancellation:
            return LabAppointmentCancellation.model_validate({"refundNo": ""})

    flow = FLOWS[LabAppointmentFlow.name]
    real_cancel = flow.cancel  # type: ignore[attr-defined]

    async def cancel_without_voucher(his: Any, order: Any, *, deadline: float | None) -> HisCancellation:
        answer: HisCancellation = await real_cancel(NoVoucher(), order, deadline=deadline)
        return answer

    monkeypatch.setattr(flow, "cancel", cancel_without_voucher)
    await payments.request_cancel(out_trade_no)
    await worker.run_until_idle()
    (refund,) = await payments.refunds(out_trade_no)
    assert refund.state is RefundState.PARKED
    assert "voucher" in (refund.note or "")
    assert provider.refunds_of(out_trade_no) == []
