"""14.1.1-14.1.3 answered from the ledger, after payments driven through the sagas (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import httpx
import pytest

from services.payments.clock import ManualClock, spec_time
from services.payments.orders import PaymentService
from services.payments.providers.sandbox import SandboxProvider
from services.payments.reconciliation import QueryRefused, ReconciliationService, RecordState, TradeType
from services.payments.worker import OutboxWorker
from store.db import Database
from store.orders import OrderState
from tests.conftest import inject
from tests.payments.conftest import CARD

HOSPITAL = "253"
CLINIC_PAYMENT = "hospital.interface.clinicPayment"


async def _drive(
    payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker, sim: httpx.Client
) -> tuple[str, str, str]:
    """A notified recharge, a notified deposit and an outpatient bill refused then refunded."""
    recharge = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("50.10")
    )
    deposit = await payments.create_deposit_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        patient_name="张三",
        admission_number="060508",
        amount=Decimal("300.00"),
    )
    bill = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    for created in (recharge, deposit, bill):
        await payments.record_payment(provider.pay(created.order.out_trade_no))
    inject(sim, hospitalId=HOSPITAL, method=CLINIC_PAYMENT, kind="code", code="60101", times=1)
    await worker.run_until_idle()
    return recharge.order.out_trade_no, deposit.order.out_trade_no, bill.order.out_trade_no


async def test_14_1_x_answer_exactly_what_the_ledger_holds(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    db: Database,
    clock: ManualClock,
) -> None:
    recharge, deposit, bill = await _drive(payments, provider, worker, clean_region)
    states = {no: (await payments.get(no)).state for no in (recharge, deposit, bill)}  # type: ignore[union-attr]
    assert states == {recharge: OrderState.NOTIFIED, deposit: OrderState.NOTIFIED, bill: OrderState.REFUNDED}
    unpaid = await payments.create_recharge_order(hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("9"))
    service = ReconciliationService(db)
    start, end = clock.now() - timedelta(hours=1), clock.now() + timedelta(hours=1)

    lines = await service.trades(start=start, end=end, business_types=["ZJZF", "JZKCZ", "ZYYJ"], hospital_id=HOSPITAL)
    payments_seen = {line.out_trade_no: line for line in lines if not line.is_refund}
    refunds_seen = [line for line in lines if line.is_refund]
    assert set(payments_seen) == {recharge, deposit, bill}  # the unpaid order moved no money
    assert unpaid.order.out_trade_no not in payments_seen
    for number, line in payments_seen.items():
        order = await payments.get(number)
        assert order is not None
        assert line.amount == order.online_amount
        assert line.source_out_trade_no == number
        assert line.pay_type == "WeChatPay"
        assert line.transaction_id
        assert line.pay_time == spec_time(clock.now())
    assert payments_seen[bill].state_des == "已退款"
    (refund_line,) = refunds_seen
    (provider_refund,) = provider.refunds_of(bill)
    assert refund_line.source_out_trade_no == bill
    assert refund_line.out_trade_no == provider_refund.out_refund_no
    assert refund_line.amount == -provider_refund.amount
    assert refund_line.to_wire()["amount"] == float(-provider_refund.amount)
    assert sum(line.amount for line in lines) == Decimal("350.10")

    only_recharges = await service.trades(start=start, end=end, business_types=["JZKCZ"], hospital_id=HOSPITAL)
    assert [line.out_trade_no for line in only_recharges] == [recharge]
    only_refunds = await service.trades(
        start=start, end=end, business_types=["ZJZF"], trade_type=TradeType.REFUND, hospital_id=HOSPITAL
    )
    assert [line.out_trade_no for line in only_refunds] == [provider_refund.out_refund_no]
    assert await service.trades(start=start, end=end, business_types=None, pay_type="AliPay") == []
    assert len(await service.trades(start=start, end=end, business_types=None, pay_type="wechatpay")) == 4
    assert await service.trades(start=start, end=end, business_types=None, hospital_id="254") == []
    by_number = await service.trades(start=start, end=start, business_types=["XX"], out_trade_no=deposit)
    assert [line.out_trade_no for line in by_number] == [deposit]
    with pytest.raises(QueryRefused):
        await service.trades(start=start, end=start + timedelta(days=8), business_types=None)

    refunded = await service.refunds_by_hospital_refund_no(provider_refund.out_refund_no, hospital_id=HOSPITAL)
    assert len(refunded) == 1
    assert refunded[0].refund_success
    assert refunded[0].amount == -provider_refund.amount
    assert refunded[0].order_log[-1].description == "退款成功"
    assert await service.refunds_by_hospital_refund_no(provider_refund.out_refund_no, hospital_id="254") == []

    paid = await service.payment_record(deposit)
    assert paid is not None
    assert (paid.state, paid.amount) == (RecordState.SUCCESS, Decimal("300.00"))
    back = await service.payment_record(provider_refund.out_refund_no)
    assert back is not None
    assert (back.state, back.amount) == (RecordState.REFUND_SUCCESS, -provider_refund.amount)
    bill_record = await service.payment_record(bill)
    assert bill_record is not None
    assert bill_record.state is RecordState.REFUND
    not_paid = await service.payment_record(unpaid.order.out_trade_no)
    assert not_paid is not None
    assert not_paid.state is RecordState.NOT_PAID
    assert await service.payment_record("ZJZF-nothing") is None
