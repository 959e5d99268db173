"""附六 unified-settlement payments (issue 11 item 8): orders, notifications and hospital refunds.

Through real parts: the payment service on a real database, the sandbox provider, the simulated HIS over
HTTP, and the real ASGI app for the hospital's refund calls (13.2.1, 20.2.2, 21.1.7).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from services.payments.after_sale import after_sale_note
from services.payments.hospital_refunds import hospital_out_refund_no
from services.payments.orders import PaymentService
from services.payments.results import AmountRefused
from services.payments.worker import OutboxWorker
from store.db import Database
from store.orders import OrderRepository, OrderState, RefundState
from tests.api.test_shims_refunds import (
    HOSPITAL,
    FlakySandbox,
    _applied,
    body_of,
    hospital,
    outpatient,
    post,
    provider,
    today_registration,
)
from tests.payments.conftest import (
    CARD,
    clean_region,
    clock,
    database_factory,
    db,
    his,
    migrated_database,
    payments,
    worker,
)

__all__ = [
    "clean_region",
    "clock",
    "database_factory",
    "db",
    "his",
    "hospital",
    "migrated_database",
    "payments",
    "provider",
    "worker",
]

CLINIC_PAYMENT = "hospital.interface.clinicPayment"
UNIFIED_TRADE_NO = "ZJZF-123212331212321"
UNIFIED_PART = Decimal("1.00")


async def unified_outpatient(payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox) -> str:
    """The demo card's bill paid 1.00 from the unified platform's card balance, the rest online."""
    created = await payments.create_outpatient_order(
        hospital_id=HOSPITAL,
        medical_card_number=CARD,
        unified_pay_amount=UNIFIED_PART,
        unified_pay_trade_no=UNIFIED_TRADE_NO,
    )
    return await _applied(payments, worker, provider, created.order.out_trade_no)


def clinic_payments(sim_admin: httpx.Client) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = sim_admin.get("/admin/calls", params={"method": CLINIC_PAYMENT}).json()
    return [call["body"] for call in calls]


async def test_an_order_with_a_unified_part_charges_online_only_the_rest_and_tells_the_hospital(
    payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, clean_region: httpx.Client
) -> None:
    """issue 11 item 8: the order and its 3.1.2 notification carry unifiedPayAmount, unifiedPayTradeNo and
    附六's UnifiedPlatform_WeChatPay; the provider is asked only for the online part."""
    out_trade_no = await unified_outpatient(payments, worker, provider)
    order = await payments.get(out_trade_no)
    assert order is not None
    assert order.state is OrderState.NOTIFIED  # the simulated HIS checked online + balance + unified == due
    assert order.unified_pay_amount == UNIFIED_PART
    assert order.online_amount == order.total_amount - UNIFIED_PART
    [told] = clinic_payments(clean_region)
    assert told["unifiedPayTradeNo"] == UNIFIED_TRADE_NO
    assert Decimal(told["unifiedPayAmount"]) == UNIFIED_PART
    assert Decimal(told["amount"]) == order.online_amount
    assert told["payType"] == "UnifiedPlatform_WeChatPay"


async def test_an_order_without_a_unified_part_is_told_as_before(
    payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, clean_region: httpx.Client
) -> None:
    """issue 11 item 8 (additive): no unified fields and the provider's own payType without a unified part."""
    await outpatient(payments, worker, provider)
    [told] = clinic_payments(clean_region)
    assert told["payType"] == "WeChatPay"
    assert told.get("unifiedPayTradeNo") in (None, "")
    assert told.get("unifiedPayAmount") in (None, "")


@pytest.mark.parametrize(
    ("amount", "trade_no", "code"),
    [
        (Decimal("1.00"), None, "20001"),
        (Decimal("0"), UNIFIED_TRADE_NO, "20003"),
        (Decimal("1.00"), "ZJZF 1; drop", "20003"),
        (Decimal("1.001"), UNIFIED_TRADE_NO, "20003"),
        (Decimal("-1.00"), UNIFIED_TRADE_NO, "20004"),
        (Decimal("100000.00"), UNIFIED_TRADE_NO, "20004"),
    ],
)
async def test_a_unified_part_without_its_trade_number_or_beyond_the_bill_is_refused(
    payments: PaymentService, clean_region: httpx.Client, amount: Decimal, trade_no: str | None, code: str
) -> None:
    """issue 11 item 8: a unified part needs its trade number, two places, at most the bill (spec codes)."""
    with pytest.raises(AmountRefused) as refused:
        await payments.create_outpatient_order(
            hospital_id=HOSPITAL, medical_card_number=CARD, unified_pay_amount=amount, unified_pay_trade_no=trade_no
        )
    assert refused.value.code.value == code
    assert refused.value.field in ("unifiedPayAmount", "unifiedPayTradeNo")


async def test_a_hospital_refund_with_a_unified_part_refunds_only_the_online_part(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox, db: Database
) -> None:
    """issue 11 item 8: 13.2.1 with unifiedAmount / unifiedTradeNo refunds our online amount through the provider
    and passes the unified trade number on in the refund's note, instead of refusing with 60302."""
    out_trade_no = await unified_outpatient(payments, worker, provider)
    order = await payments.get(out_trade_no)
    assert order is not None
    body = {
        **body_of("13.2.1", out_trade_no, amount=str(order.online_amount), refund_no="U1"),
        "unifiedAmount": "1.00",
        "unifiedTradeNo": UNIFIED_TRADE_NO,
    }
    reply = await post(hospital, "13.2.1", body)
    assert reply["code"] == "10001", reply
    assert [r.amount for r in provider.refunds_of(out_trade_no)] == [order.online_amount]
    out_refund_no = hospital_out_refund_no(HOSPITAL, "U1")
    assert reply["data"]["refundNo"] == out_refund_no
    async with db.session() as session:
        refunded = await OrderRepository(session).get(out_trade_no)
    assert refunded is not None
    note = after_sale_note(refunded, out_refund_no)
    assert note["unified_trade_no"] == UNIFIED_TRADE_NO
    assert note["unified_amount"] == "1.00"
    assert note["state"] == RefundState.SUCCEEDED
    again = await post(hospital, "13.2.1", body)  # the same refund number: answered, never refunded twice
    assert again["code"] == "10001"
    assert len(provider.refunds_of(out_trade_no)) == 1


async def test_a_hospital_refund_naming_a_unified_part_the_order_lacks_is_refused(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    """issue 11 item 8: another trade number (20003), more than the unified part (20004), a unified amount for
    an order paid without one (20004); nothing is refunded."""
    unified = await unified_outpatient(payments, worker, provider)
    other_no = await post(
        hospital, "13.2.1", {**body_of("13.2.1", unified, amount="0.50", refund_no="U2"), "unifiedTradeNo": "ZJZF-9"}
    )
    assert other_no["code"] == "20003"
    too_much = await post(
        hospital, "13.2.1", {**body_of("13.2.1", unified, amount="0.50", refund_no="U3"), "unifiedAmount": "1.01"}
    )
    assert too_much["code"] == "20004"
    assert provider.refunds_of(unified) == []


async def test_a_unified_amount_for_an_order_without_one_is_refused(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    """issue 11 item 8: unifiedAmount for an order with no unified part is 20004, not refunded."""
    plain = await outpatient(payments, worker, provider)
    reply = await post(
        hospital, "13.2.1", {**body_of("13.2.1", plain, amount="1.00", refund_no="U4"), "unifiedAmount": "1.00"}
    )
    assert reply["code"] == "20004"
    assert provider.refunds_of(plain) == []


async def test_a_registration_refund_of_an_order_without_a_unified_part_is_as_before(
    hospital: httpx.AsyncClient, payments: PaymentService, worker: OutboxWorker, provider: FlakySandbox
) -> None:
    """issue 11 item 8 (additive): 20.2.2 with the example's unifiedPayTradeNo on an order paid without a unified
    part refunds as before (the number is not looked at); 13.2.1 with unifiedAmount 0.00 too."""
    today = await today_registration(payments, worker, provider)
    body = {**body_of("20.2.2", today, amount="1.00", refund_no="U5"), "unifiedPayTradeNo": UNIFIED_TRADE_NO}
    reply = await post(hospital, "20.2.2", body)
    assert reply["code"] == "10001", reply
    assert [r.amount for r in provider.refunds_of(today)] == [Decimal("1.00")]
    plain = await outpatient(payments, worker, provider)
    example = {**body_of("13.2.1", plain, amount="1.00", refund_no="U6"), "unifiedTradeNo": UNIFIED_TRADE_NO}
    assert (await post(hospital, "13.2.1", example))["code"] == "10001"
    assert [r.amount for r in provider.refunds_of(plain)] == [Decimal("1.00")]
