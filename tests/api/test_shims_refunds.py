"""Refunds the hospital starts (9.1.1 / 13.2.1 hisRefund, 9.1.2, 20.2.2, 21.1.7) through the real app and store.

Orders are made, paid and applied through the real PaymentService against the simulated region; the
hospital then calls the shims from loopback (auth none). The store is SQLite and PostgreSQL (``db``); the
sandbox provider can lose a refund's reply (it refunds, then answers too late) or refuse one.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from api.settings import Settings
from api.shims.validation import platform_entry
from his_clients.registry import Registry
from services.payments.clock import ManualClock
from services.payments.hospital_refunds import WORKER_TAKES_OVER_AFTER, hospital_out_refund_no
from services.payments.orders import PaymentService
from services.payments.providers.base import ProviderRefund, ProviderRejected
from services.payments.providers.sandbox import SandboxProvider
from services.payments.reconciliation import ReconciliationService
from services.payments.worker import OutboxWorker
from store.db import Database
from store.inbound import InboundCall
from store.orders import OrderState, RefundState
from tests.conftest import DEMO_ID_NUMBER, running_gateway
from tests.payments.conftest import (
    CARD,
    clean_region,
    clock,
    database_factory,
    db,
    his,
    migrated_database,
    payments,
    upload_schedule,
    worker,
)

__all__ = ["clean_region", "clock", "database_factory", "db", "his", "migrated_database", "payments", "worker"]

HOSPITAL = "253"
HIS_REFUND = "/prefront/hospitalizationCosts/hisRefund"
HIS_REFUND_QUERY = "/prefront/hospitalizationCosts/hisRefundQuery"
TODAY_REFUND = "/prefront/todayRegister/todayRegisterRefound"
APPOINTMENT_REFUND = "/prefront/hospitalizationCosts/yyghRefund"
PATHS = {"9.1.1": HIS_REFUND, "13.2.1": HIS_REFUND, "9.1.2": HIS_REFUND_QUERY, "20.2.2": TODAY_REFUND}
PATHS["21.1.7"] = APPOINTMENT_REFUND
ORDER_FIELD = {"9.1.1": "outTradeNo", "13.2.1": "outTradeNo", "9.1.2": "outTradeNo", "20.2.2": "payId"}
ORDER_FIELD["21.1.7"] = "businessNo"


class FlakySandbox(SandboxProvider):
    """The sandbox, whose refund reply can be lost (it refunds, then answers too late) or which can refuse."""

    def __init__(self, *, clock: ManualClock) -> None:
        super().__init__(clock=clock)
        self.late_replies = 0
        """How many coming refund calls answer only after the caller gave up (the refund is made)."""
        self.refusing = False

    async def refund(
        self, *, out_trade_no: str, out_refund_no: str, amount: Decimal, total: Decimal, reason: str
    ) -> ProviderRefund:
        if self.refusing:
            raise ProviderRejected("ABNORMAL", "the payer's card is closed")
        result = await super().refund(
            out_trade_no=out_trade_no, out_refund_no=out_refund_no, amount=amount, total=total, reason=reason
        )
        if self.late_replies:
            self.late_replies -= 1
            await asyncio.sleep(30)  # far beyond the caller's timeout: it is cancelled first
        return result


@pytest.fixture
def provider(clock: ManualClock) -> FlakySandbox:
    return FlakySandbox(clock=clock)


@pytest.fixture
async def hospital(
    region: Registry, db: Database, payments: PaymentService, clean_region: httpx.Client
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on ``db`` calling the sandbox through ``payments`` (manual clock); no worker of its own."""
    settings = Settings(
        database_url=db.url.render_as_string(hide_password=False),
        registry=region,
        migrate_on_start=False,
        run_payment_worker=False,
    )
    payments.hospital_refund_timeout_s = 0.5
    async with running_gateway(settings, signed_in=False) as client:
        services = client._transport.app.state.services  # type: ignore[attr-defined]
        services.payments = payments
        services.payment_provider = payments._provider
        yield client


async def _applied(payments: PaymentService, worker: OutboxWorker, provider: SandboxProvider, out_trade_no: str) -> str:
    await payments.record_payment(provider.pay(out_trade_no))
    await worker.run_until_idle()
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED
    return out_trade_no


async def recharge(payments: PaymentService, worker: OutboxWorker, provider: SandboxProvider, amount: str) -> str:
    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal(amount)
    )
    return await _applied(payments, worker, provider, created.order.out_trade_no)


async def outpatient(payments: PaymentService, worker: OutboxWorker, provider: SandboxProvider) -> str:
    created = await payments.create_outpatient_order(hospital_id=HOSPITAL, medical_card_number=CARD)
    return await _applied(payments, worker, provider, created.order.out_trade_no)


async def today_registration(payments: PaymentService, worker: OutboxWorker, provider: SandboxProvider) -> str:
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
    )
    return await _applied(payments, worker, provider, created.order.out_trade_no)


async def appointment(payments: PaymentService, worker: OutboxWorker, provider: SandboxProvider) -> str:
    await upload_schedule(payments._db)  # the price is the hospital's (21.1.4 arAmt 16.00), never the caller's
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
    return await _applied(payments, worker, provider, created.order.out_trade_no)


def body_of(
    section: str, out_trade_no: str, *, amount: str | None = None, refund_no: str | None = None
) -> dict[str, Any]:
    """The spec's request example for this section, naming our order (and amount, refund number)."""
    body: dict[str, Any] = copy.deepcopy(platform_entry(section)["request_example"])
    body[ORDER_FIELD[section]] = out_trade_no
    if "hospitalId" in body:
        body["hospitalId"] = HOSPITAL
    if amount is not None:
        body["amount"] = amount
    if refund_no is not None:
        body["refundNo"] = refund_no
    if section == "13.2.1":
        del body["unifiedTradeNo"]  # the example's payment went through no unified settlement
    if section in ("20.2.2", "21.1.7"):
        del body["unifiedPayTradeNo"]
    return body


async def post(client: httpx.AsyncClient, section: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    response = await client.post(PATHS[section], json=body, headers=headers)
    assert response.status_code == 200
    reply: dict[str, Any] = response.json()
    return reply


def assert_spec_reply(section: str, reply: dict[str, Any]) -> None:
    """Success with every required field of the section's response table."""
    assert reply["success"] is True, reply
    assert reply["code"] == "10001"
    entry = platform_entry(section)
    assert set(entry["response_example"]) <= set(reply)
    for field in entry["response_fields"]:
        if field["required"] and field["name"] not in {"success", "msg", "code"}:
            assert field["name"] in reply["data"], (section, field["name"])


async def ledger(db: Database, path: str) -> list[InboundCall]:
    async with db.session() as session:
        return list((await session.execute(select(InboundCall).where(InboundCall.path == path))).scalars())


# -- the spec's examples ---------------------------------------------------------------------------


async def test_card_balance_9_1_1_refunds_the_recharge_and_9_1_2_tells_it(
    hospital: httpx.AsyncClient,
    payments: PaymentService,
    worker: OutboxWorker,
    provider: FlakySandbox,
    db: Database,
) -> None:
    order = await recharge(payments, worker, provider, "100.00")
    body = body_of("9.1.1", order)  # amount 32.45, refundNo 20180923987121 as in the spec
    reply = await post(hospital, "9.1.1", body)
    assert_spec_reply("9.1.1", reply)
    assert reply["msg"] == ""  # the 9.1.1 example's msg
    assert reply["data"]["refundNo"] == hospital_out_refund_no(HOSPITAL, "20180923987121")
    assert reply["data"]["time"] == "2025-11-26 10:00:00"  # the manual clock, Beijing time
    (paid_back,) = provider.refunds_of(order)
    assert (paid_back.out_refund_no, paid_back.amount) == (reply["data"]["refundNo"], Decimal("32.45"))
    (refund,) = await payments.refunds(order)
    assert (refund.state, refund.his_refund_no) == (RefundState.SUCCEEDED, "20180923987121")
    summary = await payments.get(order)
    assert summary is not None
    assert summary.state is OrderState.NOTIFIED  # the hospital applied it: the refund row carries the refund

    query = await post(hospital, "9.1.2", body_of("9.1.2", order))
    assert_spec_reply("9.1.2", query)
    assert query["data"] == {"flag_success": "REFUNDED"}
    (call,) = await ledger(db, HIS_REFUND)
    assert (call.section, call.hospital_id, call.reply_code) == ("9.1.1", HOSPITAL, "10001")
    assert call.body["idCard"] != DEMO_ID_NUMBER  # masked


async def test_payment_13_2_1_refunds_an_applied_bill(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    order = await outpatient(payments, worker, provider)
    summary = await payments.get(order)
    assert summary is not None
    amount = min(summary.online_amount, Decimal("32.45"))
    reply = await post(hospital, "13.2.1", body_of("13.2.1", order, amount=str(amount)))
    assert_spec_reply("13.2.1", reply)
    assert reply["msg"] == "成功"
    assert [r.amount for r in provider.refunds_of(order)] == [amount]
    (call,) = await ledger(db, HIS_REFUND)
    assert call.section == "13.2.1"


@pytest.mark.parametrize("section", ["20.2.2", "21.1.7"])
async def test_registration_refunds_answer_the_spec_reply(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, section: str
) -> None:
    make = today_registration if section == "20.2.2" else appointment
    order = await make(payments, worker, provider)
    reply = await post(hospital, section, body_of(section, order))
    assert reply == platform_entry(section)["response_example"]
    amount = Decimal(platform_entry(section)["request_example"]["amount"])
    assert [r.amount for r in provider.refunds_of(order)] == [amount]
    (refund,) = await payments.refunds(order)
    assert refund.his_refund_no == platform_entry(section)["request_example"]["refundNo"]


# -- refusals before anything happens --------------------------------------------------------------


def _required(section: str) -> list[str]:
    return [p["name"] for p in platform_entry(section)["params"] if p["required"]]


@pytest.mark.parametrize(
    ("section", "field"),
    [(s, f) for s in ("9.1.1", "13.2.1", "9.1.2", "20.2.2", "21.1.7") for f in _required(s)],
)
async def test_each_required_field_removed_is_20001(
    hospital: httpx.AsyncClient, db: Database, section: str, field: str
) -> None:
    body = body_of(section, "JZKCZ-2511261000001a2b3c4d" if section.startswith("9.") else "DRGH-251126100000a1b2c3")
    del body[field]
    reply = await post(hospital, section, body)
    assert (reply["success"], reply["code"]) == (False, "20001"), reply
    assert field in reply["msg"]
    (call,) = await ledger(db, PATHS[section])
    assert call.reply_code == "20001"


@pytest.mark.parametrize(
    ("amount", "code"),
    [("abc", "20003"), ("1.234", "20003"), ("-1.00", "20004"), ("0", "20004"), (True, "20002"), (32.455, "20003")],
)
async def test_bad_amounts_are_refused(
    hospital: httpx.AsyncClient,
    payments: PaymentService,
    worker: OutboxWorker,
    provider: FlakySandbox,
    amount: Any,
    code: str,
) -> None:
    order = await recharge(payments, worker, provider, "50.00")
    body = body_of("9.1.1", order)
    body["amount"] = amount
    reply = await post(hospital, "9.1.1", body)
    assert reply["code"] == code, reply
    assert provider.refunds_of(order) == []


async def test_amounts_may_be_json_numbers(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await appointment(payments, worker, provider)
    reply = await post(hospital, "21.1.7", {"businessNo": order, "amount": 12.5, "refundNo": "NUM-1"})
    assert reply["success"] is True, reply
    assert [r.amount for r in provider.refunds_of(order)] == [Decimal("12.50")]


async def test_refusals_that_name_the_wrong_order_or_card(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    card_order = await recharge(payments, worker, provider, "50.00")
    today = await today_registration(payments, worker, provider)
    not_today = await post(hospital, "20.2.2", body_of("20.2.2", card_order))
    assert not_today["code"] == "20003"
    assert "当日挂号" in not_today["msg"]
    not_appointment = await post(hospital, "21.1.7", body_of("21.1.7", today))
    assert not_appointment["code"] == "20003"
    other_card = await post(hospital, "9.1.1", {**body_of("9.1.1", card_order), "medicalCardNumber": "001000056254588"})
    assert other_card["code"] == "20003"
    unified = await post(hospital, "13.2.1", {**body_of("13.2.1", card_order, amount="1.00"), "unifiedAmount": "1.00"})
    assert unified["code"] == "20004"  # 附六: no unified part on this order (tests/payments/test_unified_settlement.py)
    assert provider.refunds_of(card_order) == provider.refunds_of(today) == []


async def test_only_an_order_the_hospital_applied_is_refunded(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    created = await payments.create_recharge_order(
        hospital_id=HOSPITAL, medical_card_number=CARD, amount=Decimal("50.00")
    )
    order = created.order.out_trade_no
    unpaid = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="10.00"))
    assert unpaid["code"] == "20004"
    await payments.record_payment(provider.pay(order))  # PAID: the hospital is not told yet
    settling = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="10.00"))
    assert settling["code"] == "40004"
    assert provider.refunds_of(order) == []
    await worker.run_until_idle()  # 10.1.2-like recharge notification: NOTIFIED
    applied = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="10.00"))
    assert applied["success"] is True, applied


# -- idempotency on the hospital's refund number ----------------------------------------------------


async def test_the_same_refund_number_never_refunds_twice(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await recharge(payments, worker, provider, "100.00")
    other = await recharge(payments, worker, provider, "100.00")
    body = body_of("9.1.1", order, amount="30.00", refund_no="R-1")
    first = await post(hospital, "9.1.1", body)
    again = await post(hospital, "9.1.1", body)
    assert first == again
    assert first["success"] is True
    other_amount = await post(hospital, "9.1.1", {**body, "amount": "20.00"})
    assert other_amount["code"] == "20003"
    assert "R-1" in other_amount["msg"]
    other_order = await post(hospital, "9.1.1", {**body, "outTradeNo": other})
    assert other_order["code"] == "20003"
    assert [r.amount for r in provider.refunds_of(order)] == [Decimal("30.00")]
    assert provider.refunds_of(other) == []
    assert len(await payments.refunds(order)) == 1


async def test_concurrent_duplicates_refund_once(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await today_registration(payments, worker, provider)
    body = body_of("20.2.2", order, amount="23.00", refund_no="DUP-7")
    replies = await asyncio.gather(*(post(hospital, "20.2.2", body) for _ in range(6)))
    assert all(reply["success"] is True for reply in replies), replies
    (refund,) = await payments.refunds(order)
    assert (refund.state, refund.amount) == (RefundState.SUCCEEDED, Decimal("23.00"))
    assert [r.out_refund_no for r in provider.refunds_of(order)] == [refund.out_refund_no]


async def test_refunds_never_exceed_the_online_payment_even_when_concurrent(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await recharge(payments, worker, provider, "100.00")
    racing = await asyncio.gather(
        post(hospital, "9.1.1", body_of("9.1.1", order, amount="60.00", refund_no="A")),
        post(hospital, "9.1.1", body_of("9.1.1", order, amount="60.00", refund_no="B")),
    )
    assert sorted(reply["code"] for reply in racing) == ["10001", "20004"]
    refused = next(reply for reply in racing if reply["code"] == "20004")
    assert "40.00" in refused["msg"]
    rest = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="40.01", refund_no="C"))
    assert rest["code"] == "20004"
    last = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="40.00", refund_no="C"))
    assert last["success"] is True
    assert sum(r.amount for r in provider.refunds_of(order)) == Decimal("100.00")


# -- the provider's answer -------------------------------------------------------------------------


async def test_a_lost_provider_reply_is_10002_then_the_worker_finishes_it(
    hospital: httpx.AsyncClient,
    payments: PaymentService,
    worker: OutboxWorker,
    provider: FlakySandbox,
    clock: ManualClock,
) -> None:
    order = await appointment(payments, worker, provider)
    body = body_of("21.1.7", order, amount="16.00", refund_no="LATE-1")
    provider.late_replies = 1
    unclear = await post(hospital, "21.1.7", body)
    assert (unclear["success"], unclear["code"]) == (False, "10002"), unclear
    (refund,) = await payments.refunds(order)
    assert refund.state is RefundState.PENDING
    assert await worker.run_until_idle() == 0  # the call's own attempt is not raced

    clock.advance(WORKER_TAKES_OVER_AFTER + timedelta(seconds=1))
    await worker.run_until_idle()
    (refund,) = await payments.refunds(order)
    assert refund.state is RefundState.SUCCEEDED
    assert [r.amount for r in provider.refunds_of(order)] == [Decimal("16.00")]  # made once, by the lost call
    again = await post(hospital, "21.1.7", body)
    assert again == platform_entry("21.1.7")["response_example"]
    assert len(provider.refunds_of(order)) == 1


async def test_9_1_x_say_40004_until_the_worker_ends_it(
    hospital: httpx.AsyncClient,
    payments: PaymentService,
    worker: OutboxWorker,
    provider: FlakySandbox,
    clock: ManualClock,
) -> None:
    order = await recharge(payments, worker, provider, "100.00")
    body = body_of("9.1.1", order, refund_no="LATE-2")
    never_asked = await post(hospital, "9.1.2", body_of("9.1.2", order, refund_no="LATE-2"))
    assert (never_asked["success"], never_asked["code"]) == (False, "10002")
    provider.unavailable = True
    # 9.1.1 and 9.1.2 are not among 附四's refund paths where 10002 means "state unknown": 40004 业务处理中.
    assert (await post(hospital, "9.1.1", body))["code"] == "40004"
    query = body_of("9.1.2", order, refund_no="LATE-2")
    assert (await post(hospital, "9.1.2", query))["code"] == "40004"
    provider.unavailable = False
    clock.advance(WORKER_TAKES_OVER_AFTER)
    await worker.run_until_idle()
    answered = await post(hospital, "9.1.2", query)
    assert answered["data"] == {"flag_success": "REFUNDED"}
    assert (await post(hospital, "9.1.2", {**query, "amount": "1.00"}))["code"] == "20003"


async def test_a_refund_the_provider_refuses_fails_and_9_1_2_says_so(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await recharge(payments, worker, provider, "100.00")
    provider.refusing = True
    failed = await post(hospital, "9.1.1", body_of("9.1.1", order, refund_no="NO-1"))
    assert (failed["success"], failed["code"]) == (False, "10003")
    assert "ABNORMAL" in failed["msg"]
    query = await post(hospital, "9.1.2", body_of("9.1.2", order, refund_no="NO-1"))
    assert query["data"] == {"flag_success": "REFUND_FAILED"}
    (refund,) = await payments.refunds(order)
    assert refund.state is RefundState.FAILED
    provider.refusing = False
    # Nothing went back: a new number may refund the whole amount.
    retried = await post(hospital, "9.1.1", body_of("9.1.1", order, amount="100.00", refund_no="NO-2"))
    assert retried["success"] is True


# -- whose order -----------------------------------------------------------------------------------


async def test_another_hospitals_order_is_refused(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    order = await today_registration(payments, worker, provider)
    as_254 = {"X-Hospital-Id": "254"}  # loopback may act for 253 and 254: this call acts for 254 only
    refused = await post(hospital, "9.1.1", body_of("13.2.1", order, amount="1.00"), **as_254)
    assert refused["code"] == "20003"  # a business answer (issue 11 item 11): the caller did prove who it is
    named = await post(hospital, "20.2.2", {**body_of("20.2.2", order), "hospitalId": "254"})
    assert named["code"] == "60204"  # 254 is the caller's, the order is not 254's: a business answer
    query = await post(hospital, "9.1.2", body_of("9.1.2", order), **as_254)
    assert query["code"] == "20003"
    unknown = await post(hospital, "9.1.1", body_of("9.1.1", "JZKCZ-2511261000009f9f9f9f"))
    assert unknown == refused  # unknown and someone else's look the same
    unknown_registration = await post(hospital, "21.1.7", body_of("21.1.7", "YYGH-2511261000009f9f9f9f"))
    assert unknown_registration == named
    assert provider.refunds_of(order) == []


# -- reconciliation --------------------------------------------------------------------------------


async def test_14_1_2_finds_the_refund_by_the_hospitals_number(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    order = await today_registration(payments, worker, provider)
    reply = await post(hospital, "20.2.2", body_of("20.2.2", order, amount="6.00", refund_no="528665441"))
    assert reply["success"] is True
    reconciliation = ReconciliationService(db)
    (record,) = await reconciliation.refunds_by_hospital_refund_no("528665441", hospital_id=HOSPITAL)
    assert record.refund_success is True
    assert (record.source_out_trade_no, record.refund_order_no) == (order, "528665441")
    assert record.out_trade_no == hospital_out_refund_no(HOSPITAL, "528665441")
    assert record.amount == Decimal("-6.00")
    assert await reconciliation.refunds_by_hospital_refund_no("528665441", hospital_id="254") == []
