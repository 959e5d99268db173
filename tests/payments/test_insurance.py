"""Online medical insurance (chapter 5): 5.1.1 -> 5.1.2 -> self-pay -> 5.1.4, and 5.1.6 when the hospital is unclear."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from api.demo import simulated_region
from api.settings import Settings
from his_clients.registry import Registry
from services.payments.clock import ManualClock
from services.payments.orders import PaymentService, QuoteUnavailable
from services.payments.providers.base import ProviderRejected, ProviderUnavailable
from services.payments.providers.sandbox import SandboxProvider
from services.payments.worker import OutboxWorker
from services.refusals import RefusalCode
from simulator.server import RunningSimulator
from store.db import Database
from store.orders import Order, OrderRepository, OrderState
from tests.conftest import calls, inject, run_graphql, running_gateway
from tests.payments.conftest import CARD, applied

HOSPITAL = "253"
BILLS = ["001", "002", "003", "004"]
"""张三's bills 001-004: 150.00 in all; the simulated insurer settles 60% (90.00), 60.00 is self-paid."""
CREATE = "hospital.interface.medicalInsurance.createOrder"
SETTLE = "hospital.interface.medicalInsurance.settle"
CANCEL = "hospital.interface.medicalInsurance.cancelOrder"
PAY_SUCCESS = "hospital.interface.medicalInsurance.paySuccess"
UNFINISHED = "hospital.interface.medicalInsurance.queryUnfinishedOrders"
ORDER_STATE = "hospital.interface.medicalInsurance.queryOrderState"
BY_OUT_TRADE_NO = "hospital.interface.reconciliation.queryByOutTradeNo"


@pytest.fixture
def region(simulator: RunningSimulator) -> Registry:
    """A short timeout: the hospital that hangs is given up on quickly."""
    return simulated_region(simulator.base_url, timeout_s=0.5)


async def _paid(payments: PaymentService, provider: SandboxProvider, *, balance: str = "0.00") -> str:
    made = await payments.create_insurance_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS, balance_payment=Decimal(balance)
    )
    await payments.record_payment(provider.pay(made.created.order.out_trade_no))
    return made.created.order.out_trade_no


async def _states(db: Database, out_trade_no: str) -> list[str]:
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.get(out_trade_no)
        assert order is not None
        return [event.to_state for event in await orders.events(order)]


async def test_settled_then_self_paid_then_told_once(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    made = await payments.create_insurance_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS, balance_payment=Decimal("10.00")
    )
    order, settlement = made.created.order, made.settlement
    assert order.out_trade_no.startswith("XSYB-")
    assert order.state is OrderState.CREATED
    assert (settlement.trade_amount, settlement.insurance_amount, settlement.self_pay) == (
        Decimal("150.00"),
        Decimal("90.00"),
        Decimal("60.00"),
    )
    # The insurer's part, the card balance and the online part add up to the bill (check_amounts).
    assert (order.total_amount, order.unified_pay_amount, order.balance_payment, order.online_amount) == (
        Decimal("150.00"),
        Decimal("90.00"),
        Decimal("10.00"),
        Decimal("50.00"),
    )
    assert sum(part.amount for part in settlement.insurance_parts) == Decimal("90.00")
    assert made.created.prepay is not None
    (created,) = calls(clean_region, method=CREATE)
    (settled,) = calls(clean_region, method=SETTLE)
    assert created["body"]["detailIds"] == "001,002,003,004"
    assert settled["body"]["hisTradeId"] == settlement.his_trade_id
    assert calls(clean_region, method=PAY_SUCCESS) == []  # nothing told before the money arrives

    await payments.record_payment(provider.pay(order.out_trade_no))
    await worker.run_until_idle()
    done = await payments.get(order.out_trade_no)
    assert done is not None
    assert done.state is OrderState.NOTIFIED
    (told,) = calls(clean_region, method=PAY_SUCCESS)
    body = told["body"]
    assert (body["outTradeNo"], body["hisTradeId"], body["medicalCardNumber"]) == (
        order.out_trade_no,
        settlement.his_trade_id,
        CARD,
    )
    # 5.1.4 amount: the whole self-pay part, "包含就诊卡余额支付的金额".
    assert (Decimal(body["amount"]), Decimal(body["balancePayment"])) == (Decimal("60.00"), Decimal("10.00"))
    assert body["payType"] == "WeChatPay"
    assert applied(clean_region, HOSPITAL, order.out_trade_no) == 1
    assert calls(clean_region, method=ORDER_STATE) == []


async def test_a_patient_who_comes_back_resumes_the_settled_order(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, db: Database
) -> None:
    first = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    again = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    # 5.1.5 found the settled order: neither made nor settled twice; the first order can no longer be paid.
    assert again.settlement.his_trade_id == first.settlement.his_trade_id
    assert len(calls(clean_region, method=CREATE)) == 1
    assert len(calls(clean_region, method=SETTLE)) == 1
    assert len(calls(clean_region, method=UNFINISHED)) == 2
    earlier = await payments.get(first.created.order.out_trade_no)
    assert earlier is not None
    assert earlier.state is OrderState.CANCELLED
    assert again.created.order.online_amount == Decimal("60.00")
    await payments.record_payment(provider.pay(again.created.order.out_trade_no))
    with pytest.raises(QuoteUnavailable) as refused:
        await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    assert RefusalCode.of(refused.value.code) is RefusalCode.PROCESSING
    async with db.session() as session:
        orders = list((await session.execute(select(Order.state).order_by(Order.id))).scalars())
    assert orders == [OrderState.CANCELLED, OrderState.PAID]


async def test_a_prepay_that_failed_is_superseded_by_the_next_try(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, db: Database
) -> None:
    provider.unavailable = True
    with pytest.raises(ProviderUnavailable):
        await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    provider.unavailable = False
    made = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    assert made.created.prepay is not None
    assert len(calls(clean_region, method=SETTLE)) == 1  # resumed through 5.1.5, not settled again
    async with db.session() as session:
        states = list((await session.execute(select(Order.state).order_by(Order.id))).scalars())
    assert states == [OrderState.CANCELLED, OrderState.CREATED]


async def test_a_settlement_that_fails_cancels_the_hospitals_order(
    clean_region: httpx.Client, payments: PaymentService, db: Database
) -> None:
    inject(clean_region, hospitalId=HOSPITAL, method=SETTLE, kind="http500", times=1)
    with pytest.raises(QuoteUnavailable):
        await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    (made,) = calls(clean_region, method=CREATE)
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["hisTradeId"]
    assert applied(clean_region, HOSPITAL, f"cancel:{cancelled['body']['hisTradeId']}") == 1
    assert made["body"]["detailIds"] == "001,002,003,004"
    async with db.session() as session:
        assert list((await session.execute(select(Order))).scalars()) == []
    # The bills are free again: a new try makes a new order.
    retried = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    assert retried.settlement.his_trade_id != cancelled["body"]["hisTradeId"]


async def test_a_balance_part_above_the_self_pay_part_is_refused(
    clean_region: httpx.Client, payments: PaymentService
) -> None:
    with pytest.raises(QuoteUnavailable) as refused:
        await payments.create_insurance_order(
            hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS, balance_payment=Decimal("60.01")
        )
    assert RefusalCode.of(refused.value.code) is RefusalCode.AMOUNT_MISMATCH
    assert len(calls(clean_region, method=CANCEL)) == 1


async def test_no_answer_to_5_1_4_then_5_1_6_refundable_refunds_the_online_part(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
    db: Database,
) -> None:
    out_trade_no = await _paid(payments, provider, balance="5.00")
    inject(clean_region, hospitalId=HOSPITAL, method=PAY_SUCCESS, kind="hang")
    await worker.run_until_idle()
    waiting = await payments.get(out_trade_no)
    assert waiting is not None
    assert waiting.state is OrderState.PAID  # no answer is not a refusal: 5.1.4 again within 30 minutes
    assert calls(clean_region, method=ORDER_STATE) == []
    clock.advance(timedelta(minutes=31))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    assert await _states(db, out_trade_no) == ["CREATED", "PAID", "REFUNDING", "REFUNDED"]
    (refund,) = provider.refunds_of(out_trade_no)
    assert refund.amount == Decimal("55.00")  # the online part; the card balance and insurer are the hospital's
    (asked,) = calls(clean_region, method=ORDER_STATE)
    assert asked["body"]["outTradeNo"] == out_trade_no
    assert asked["body"]["hisTradeId"]
    assert len(calls(clean_region, method=PAY_SUCCESS)) == 2
    assert applied(clean_region, HOSPITAL, out_trade_no) == 0


async def test_a_refusal_asks_5_1_6_at_once(
    clean_region: httpx.Client, payments: PaymentService, provider: SandboxProvider, worker: OutboxWorker
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=PAY_SUCCESS, kind="code", code="60102", times=1)
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.REFUNDED
    (refund,) = provider.refunds_of(out_trade_no)
    assert refund.amount == order.online_amount == Decimal("60.00")
    assert len(calls(clean_region, method=PAY_SUCCESS)) == 1
    assert len(calls(clean_region, method=ORDER_STATE)) == 1


async def test_5_1_6_nonrefundable_parks_the_order_for_operators(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
    db: Database,
) -> None:
    """issue 11 item 7: 5.1.6 nonrefundable after 5.1.4 gave no answer parks the order; it is not marked applied."""
    out_trade_no = await _paid(payments, provider)
    # The hospital applies 5.1.4 but every reply is lost, and 14.2.2 cannot tell us.
    inject(clean_region, hospitalId=HOSPITAL, method=PAY_SUCCESS, kind="lost_reply")
    inject(clean_region, hospitalId=HOSPITAL, method=BY_OUT_TRADE_NO, kind="http500")
    await worker.run_until_idle()
    clock.advance(timedelta(minutes=31))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert "5.1.6 answered 'nonrefundable'" in (order.state_reason or "")
    assert await _states(db, out_trade_no) == ["CREATED", "PAID", "PARKED"]
    assert provider.refunds_of(out_trade_no) == []
    assert calls(clean_region, method=CANCEL) == []  # a paid settlement is never undone automatically


async def test_a_settled_order_cancelled_unpaid_is_undone_with_5_1_3(
    clean_region: httpx.Client, payments: PaymentService, worker: OutboxWorker
) -> None:
    """issue 11 item 7: "医保结算后，患者不支付自费部分：此时需要撤销医保结算，并取消订单"."""
    made = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    await payments.cancel(made.created.order.out_trade_no)
    await worker.run_until_idle()
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["hisTradeId"] == made.settlement.his_trade_id
    assert applied(clean_region, HOSPITAL, f"cancel:{made.settlement.his_trade_id}") == 1


async def test_a_settled_order_abandoned_past_its_payment_window_is_undone_with_5_1_3(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    """issue 11 item 7: an order never paid is closed when its window passes, and 5.1.3 undoes the settlement."""
    made = await payments.create_insurance_order(hospital_id=HOSPITAL, medical_card_number=CARD, detail_ids=BILLS)
    out_trade_no = made.created.order.out_trade_no
    await worker.run_until_idle()
    assert calls(clean_region, method=CANCEL) == []  # not before the window ends
    clock.advance(timedelta(minutes=17))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.CANCELLED
    (cancelled,) = calls(clean_region, method=CANCEL)
    assert cancelled["body"]["hisTradeId"] == made.settlement.his_trade_id
    with pytest.raises(ProviderRejected):  # closed at the provider first: it can no longer be paid
        provider.pay(out_trade_no)


async def test_no_answer_from_5_1_6_within_its_window_parks(
    clean_region: httpx.Client,
    payments: PaymentService,
    provider: SandboxProvider,
    worker: OutboxWorker,
    clock: ManualClock,
) -> None:
    out_trade_no = await _paid(payments, provider)
    inject(clean_region, hospitalId=HOSPITAL, method=PAY_SUCCESS, kind="code", code="60102")
    inject(clean_region, hospitalId=HOSPITAL, method=ORDER_STATE, kind="code", code="40001")
    await worker.run_until_idle()
    for _ in range(23):
        clock.advance(timedelta(hours=1))
        await worker.run_until_idle()
        still = await payments.get(out_trade_no)
        assert still is not None
        assert still.state is OrderState.PAID  # asked again and again, never refunded without an answer
    clock.advance(timedelta(hours=2))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.PARKED
    assert "5.1.6 gave no answer" in (order.state_reason or "")
    assert provider.refunds_of(out_trade_no) == []
    assert len(calls(clean_region, method=ORDER_STATE)) > 20


INSURANCE_PAYMENT = """
mutation($card: String!, $bills: [String!], $balance: Money) {
  createInsurancePayment(hospitalId: "253", medicalCardNumber: $card, detailIds: $bills, balancePayment: $balance) {
    ... on CreatedInsurancePayment {
      order { outTradeNo paidFor state totalAmount balancePayment onlineAmount }
      payParams hisTradeId tradeAmount preferentialAmount insuranceAmount selfPayAmount
      insurancePayments { payTypeName amount }
    }
    ... on Refusal { code message }
  }
}"""


@pytest.fixture
async def patient(region: Registry, tmp_path: Path, clean_region: httpx.Client) -> AsyncIterator[httpx.AsyncClient]:
    """The real app, signed in as a patient holding the demo card; no payment worker runs by itself."""
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'gateway.sqlite3'}",
        registry=region,
        request_deadline_s=3.0,
        run_payment_worker=False,
    )
    async with running_gateway(settings) as client:
        yield client


async def test_create_insurance_payment_through_graphql(patient: httpx.AsyncClient) -> None:
    body = await run_graphql(patient, INSURANCE_PAYMENT, card=CARD, bills=BILLS, balance="10.00")
    made = body["data"]["createInsurancePayment"]
    assert made["order"]["outTradeNo"].startswith("XSYB-")
    assert (made["order"]["paidFor"], made["order"]["state"]) == ("INSURANCE", "CREATED")
    assert (made["order"]["totalAmount"], made["order"]["balancePayment"], made["order"]["onlineAmount"]) == (
        "150.00",
        "10.00",
        "50.00",
    )
    assert (made["tradeAmount"], made["insuranceAmount"], made["selfPayAmount"]) == ("150.00", "90.00", "60.00")
    assert [p["payTypeName"] for p in made["insurancePayments"]] == ["医保余额", "医保统筹"]
    assert made["payParams"]["package"].startswith("prepay_id=")
    assert made["hisTradeId"]


@pytest.mark.parametrize(
    ("card", "bills", "balance", "code"),
    [
        ("001000099999999", BILLS, None, "CARD_NOT_FOUND_20215"),  # a card the account does not hold
        (CARD, ["no-such-bill"], None, "PENDING_BILL_NOT_FOUND"),  # 5.1.1 refuses: 待交费信息不存在
        (CARD, BILLS, "60.01", "AMOUNT_MISMATCH"),  # more from the card than the self-pay part
    ],
)
async def test_create_insurance_payment_refusals_are_typed(
    patient: httpx.AsyncClient, card: str, bills: list[str], balance: str | None, code: str
) -> None:
    body = await run_graphql(patient, INSURANCE_PAYMENT, card=card, bills=bills, balance=balance)
    assert body["data"]["createInsurancePayment"]["code"] == code
