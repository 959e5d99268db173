"""Money on the wire and in the ledger keeps the spec's equations, whatever the amounts.

3.1.2: amount (online) = total - balancePayment - unifiedPayAmount, and discountAmount passes through;
20.1.7: registrationFee is the online part; 21.2.4: arAmt is the fee less the card-balance part;
7.1.2 / 10.1.2: the whole amount. Every amount leaves as yuan with exactly two decimals. Refunds
accepted by the ledger never add up to more than the online part, and a refund that took nothing
back (FAILED, REFUSED) frees its amount again.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from his_clients.client import HisClient
from his_clients.method import HisMethod
from his_clients.models.base import HisRequest
from his_clients.registry import Registry
from services.payments.sagas import (
    AppointmentRegistrationFlow,
    DepositFlow,
    OutpatientFlow,
    RechargeFlow,
    TodayRegistrationFlow,
)
from store.db import Database
from store.orders import Order, OrderRepository, RefundExceedsPayment, RefundState, refundable_left

NOW = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)
TWO_PLACES = re.compile(r"^\d+\.\d{2}$")
ZERO = Decimal("0.00")


def yuan(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


@st.composite
def splits(draw: st.DrawFn) -> tuple[Decimal, Decimal, Decimal, Decimal]:
    """(total, discount, balancePayment, unifiedPayAmount) with the online part >= 0."""
    total = draw(st.integers(min_value=1, max_value=10**10))
    balance = draw(st.integers(min_value=0, max_value=total))
    unified = draw(st.integers(min_value=0, max_value=total - balance))
    discount = draw(st.integers(min_value=0, max_value=10**8))
    return yuan(total), yuan(discount), yuan(balance), yuan(unified)


class WireRecorder:
    """Stands where the HIS client stands: keeps each request as it would go on the wire, answers success."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.registry = Registry(hospitals=[])
        """No hospital overrides anything: 20.1.7 registrationFee is the online part, as the spec's table says."""

    async def call(
        self, method: HisMethod[Any, Any], hospital_id: str, request: HisRequest, *, deadline: float | None = None
    ) -> SimpleNamespace:
        self.sent.append(request.to_wire())
        return SimpleNamespace(out_prepay_id="HIS-1", his_registration_id="GH-1")


def order(
    flow: str, total: Decimal, discount: Decimal, balance: Decimal, unified: Decimal, *, out_trade_no: str = "T-1"
) -> Order:
    quote: dict[str, Any] = {
        "detail_ids": ["RX1", "RX2"],
        "items": [{"id": "RX1", "pres_code": "CF1", "amount": "1.00"}, {"id": "RX2", "pres_code": "CF1"}],
        "today_register_id": "d6deb60352044472895a6d48172de9e4",
        "department_id": "sjnk",
        "department_name": "神经内科",
        "reg_class_id": "sjnk-0",
        "schedule_type": "2",
        "patient_name": "张三",
        "registration_date": "2025-11-26",
        "record_id": "d6deb60352044172895a6d48172de9e4",
        "dept_code": "sjnk",
        "doc_code": "sjnk01",
        "date": "20251201",
        "start_time": "08:00",
        "am_pm": "AM",
        "hos_code": "253",
        "patient_id": "110101199001011234",
        "patient_phone": "13800000000",
        "admission_number": "060508",
    }
    return Order(
        out_trade_no=out_trade_no,
        business_type="T",
        flow=flow,
        hospital_id="253",
        medical_card_number="001000056254587",
        description="",
        total_amount=total,
        discount_amount=discount,
        balance_payment=balance,
        unified_pay_amount=unified,
        unified_pay_trade_no="UP-1" if unified > 0 else None,
        online_amount=total - balance - unified,
        quote=quote,
        provider="wechatpay",
        paid_at=NOW,
    )


def money_fields(wire: dict[str, Any], *names: str) -> dict[str, Decimal]:
    """The named amounts of a request; each must be written as yuan with exactly two decimals."""
    found = {}
    for name in names:
        if name in wire:
            assert TWO_PLACES.match(wire[name]), f"{name}={wire[name]!r}"
            found[name] = Decimal(wire[name])
    return found


async def sent(flow: Any, paid: Order) -> dict[str, Any]:
    recorder = WireRecorder()
    his: HisClient = recorder  # type: ignore[assignment]
    await flow.notify(his, paid, deadline=None)
    [wire] = recorder.sent
    return wire


@given(split=splits())
async def test_clinic_payment_parts_add_up_to_the_bill(split: tuple[Decimal, Decimal, Decimal, Decimal]) -> None:
    total, discount, balance, unified = split
    wire = await sent(OutpatientFlow(), order("outpatient", *split))
    amounts = money_fields(wire, "amount", "balancePayment", "unifiedPayAmount", "discountAmount")
    assert amounts["amount"] + amounts["balancePayment"] + amounts.get("unifiedPayAmount", ZERO) == total
    assert amounts["amount"] == total - balance - unified
    assert amounts["discountAmount"] == discount


@given(split=splits())
async def test_today_registration_fee_is_the_online_part(split: tuple[Decimal, Decimal, Decimal, Decimal]) -> None:
    total, _, balance, unified = split
    wire = await sent(TodayRegistrationFlow(), order("registration_today", *split))
    amounts = money_fields(wire, "registrationFee", "balancePayment", "unifiedAmount")
    assert amounts["registrationFee"] == total - balance - unified
    assert sum(amounts.values(), ZERO) == total


@given(split=splits())
async def test_appointment_ar_amt_is_the_fee_less_the_card_balance(
    split: tuple[Decimal, Decimal, Decimal, Decimal],
) -> None:
    total, _, balance, unified = split
    wire = await sent(AppointmentRegistrationFlow(), order("registration_appointment", *split))
    amounts = money_fields(wire, "arAmt", "balancePay", "unifiedAmount")
    assert amounts["arAmt"] == total - balance
    assert amounts["arAmt"] - amounts["unifiedAmount"] == total - balance - unified
    assert amounts["balancePay"] == balance


@given(total=st.integers(min_value=1, max_value=10**10).map(yuan))
async def test_recharge_and_deposit_send_the_whole_amount(total: Decimal) -> None:
    recharge = await sent(RechargeFlow(), order("recharge", total, ZERO, ZERO, ZERO))
    deposit = await sent(DepositFlow(), order("deposit", total, ZERO, ZERO, ZERO))
    assert money_fields(recharge, "payAmount") == {"payAmount": total}
    assert money_fields(deposit, "amount") == {"amount": total}


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)
@given(
    online=st.integers(min_value=1, max_value=10**6).map(yuan),
    asked=st.lists(
        st.tuples(st.integers(min_value=1, max_value=10**6).map(yuan), st.sampled_from(list(RefundState))),
        max_size=6,
    ),
)
async def test_the_ledger_never_refunds_more_than_the_online_part(
    db: Database, online: Decimal, asked: list[tuple[Decimal, RefundState]]
) -> None:
    """Each refund asked is accepted exactly when what is left allows it; released ones free their amount."""
    async with db.session() as session:
        orders = OrderRepository(session)
        number = f"ZJZF-{uuid.uuid4().hex[:16]}"
        stored = await orders.add(order("outpatient", online, ZERO, ZERO, ZERO, out_trade_no=number), at=NOW)
        taken: list[Decimal] = []
        for index, (amount, ends_as) in enumerate(asked):
            left = refundable_left(online, taken)
            if amount > left:
                with pytest.raises(RefundExceedsPayment):
                    await orders.add_refund(
                        stored, out_refund_no=f"{number}-R{index}", amount=amount, reason="", at=NOW
                    )
                continue
            refund = await orders.add_refund(
                stored, out_refund_no=f"{number}-R{index}", amount=amount, reason="", at=NOW
            )
            refund.state = ends_as
            if ends_as not in (RefundState.FAILED, RefundState.REFUSED):
                taken.append(amount)
            assert sum(taken, ZERO) <= online
        await session.flush()
        kept = [r.amount for r in await orders.refunds(stored) if r.state not in ("FAILED", "REFUSED")]
        assert sum(kept, ZERO) == sum(taken, ZERO) <= online
