"""The ledger: amounts that add up, exact money on both backends, allowed transitions only, no over-refund."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update
from sqlalchemy.orm.exc import StaleDataError

from store.db import Database
from store.orders import (
    ALLOWED_TRANSITIONS,
    AmountsDoNotAddUp,
    IllegalTransition,
    Order,
    OrderRepository,
    OrderState,
    RefundExceedsPayment,
    check_amounts,
    refundable_left,
)

NOW = datetime(2025, 11, 26, 2, 0, tzinfo=UTC)
cents = st.integers(min_value=0, max_value=10**12 - 1).map(lambda n: Decimal(n).scaleb(-2))


def _order(out_trade_no: str = "ZJZF-2511261000001a2b3c4d", *, total: str = "150.00", balance: str = "30.00") -> Order:
    total_amount, balance_payment = Decimal(total), Decimal(balance)
    return Order(
        out_trade_no=out_trade_no,
        business_type="ZJZF",
        flow="outpatient",
        hospital_id="253",
        medical_card_number="001000056254587",
        description="诊间支付",
        total_amount=total_amount,
        discount_amount=Decimal("0.00"),
        balance_payment=balance_payment,
        unified_pay_amount=Decimal("0.00"),
        online_amount=total_amount - balance_payment,
        quote={"detail_ids": ["001"]},
        provider="sandbox",
    )


def _reachable(start: OrderState) -> set[OrderState]:
    seen, todo = set(), [start]
    while todo:
        for following in ALLOWED_TRANSITIONS[todo.pop()]:
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return seen


def test_notified_and_refunded_exclude_each_other() -> None:
    """No path of allowed transitions passes through both NOTIFIED and REFUNDED."""
    assert _reachable(OrderState.NOTIFIED) == set()
    assert _reachable(OrderState.REFUNDED) == set()
    assert ALLOWED_TRANSITIONS[OrderState.NOTIFIED] == ALLOWED_TRANSITIONS[OrderState.REFUNDED] == frozenset()


@given(total=cents, balance=cents, unified=cents)
def test_parts_add_up_to_the_total(total: Decimal, balance: Decimal, unified: Decimal) -> None:
    """online = total - balancePayment - unifiedPayAmount (3.1.2), every part >= 0, or the order is refused."""
    online = total - balance - unified
    if online < 0:
        with pytest.raises(AmountsDoNotAddUp):
            check_amounts(total=total, balance_payment=balance, unified_pay_amount=unified, online=online)
        return
    check_amounts(total=total, balance_payment=balance, unified_pay_amount=unified, online=online)
    assert online + balance + unified == total
    with pytest.raises(AmountsDoNotAddUp):
        check_amounts(total=total, balance_payment=balance, unified_pay_amount=unified, online=online + Decimal("0.01"))


@given(paid=cents, asked=st.lists(cents, max_size=8))
def test_refunds_never_exceed_what_was_paid(paid: Decimal, asked: list[Decimal]) -> None:
    """Accepting each refund only while refundable_left allows it never returns more than was paid."""
    accepted: list[Decimal] = []
    for amount in asked:
        if 0 < amount <= refundable_left(paid, accepted):
            accepted.append(amount)
    assert sum(accepted, Decimal("0")) <= paid
    assert refundable_left(paid, accepted) >= 0


async def test_money_is_exact_on_both_backends(db: Database) -> None:
    async with db.session() as session:
        await OrderRepository(session).add(_order(total="9999999999.99", balance="0.10"), at=NOW)
    async with db.session() as session:
        order = await OrderRepository(session).get("ZJZF-2511261000001a2b3c4d")
    assert order is not None
    assert order.total_amount == Decimal("9999999999.99")
    assert order.online_amount == Decimal("9999999999.89")
    assert order.balance_payment == Decimal("0.10")
    assert str(order.balance_payment) == "0.10"


async def test_amounts_that_do_not_add_up_are_refused(db: Database) -> None:
    order = _order()
    order.online_amount = Decimal("1.00")
    async with db.session() as session:
        with pytest.raises(AmountsDoNotAddUp):
            await OrderRepository(session).add(order, at=NOW)


async def test_only_allowed_transitions_and_each_is_an_event(db: Database) -> None:
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.add(_order(), at=NOW)
        await orders.transition(order, OrderState.PAID, reason="paid", at=NOW)
        await orders.transition(order, OrderState.NOTIFIED, reason="hospital applied it", at=NOW)
        with pytest.raises(IllegalTransition):
            await orders.transition(order, OrderState.REFUNDING, reason="no", at=NOW)
        events = await orders.events(order)
    assert [(e.from_state, e.to_state) for e in events] == [
        (None, "CREATED"),
        ("CREATED", "PAID"),
        ("PAID", "NOTIFIED"),
    ]


async def test_a_refund_beyond_the_online_part_is_refused(db: Database) -> None:
    async with db.session() as session:
        orders = OrderRepository(session)
        order = await orders.add(_order(total="150.00", balance="30.00"), at=NOW)
        await orders.add_refund(order, out_refund_no="R1", amount=Decimal("100.00"), reason="part", at=NOW)
        with pytest.raises(RefundExceedsPayment):
            await orders.add_refund(order, out_refund_no="R2", amount=Decimal("20.01"), reason="too much", at=NOW)
        await orders.add_refund(order, out_refund_no="R3", amount=Decimal("20.00"), reason="the rest", at=NOW)
        assert [r.amount for r in await orders.refunds(order)] == [Decimal("100.00"), Decimal("20.00")]


async def test_a_concurrent_writer_makes_a_stale_update_fail(db: Database) -> None:
    """The version column: an UPDATE based on an old read changes nothing and raises."""
    async with db.session() as session:
        await OrderRepository(session).add(_order(), at=NOW)
    async with db.session() as session:
        order = await OrderRepository(session).get("ZJZF-2511261000001a2b3c4d")
        assert order is not None
        await session.execute(
            update(Order)
            .where(Order.id == order.id)
            .values(version=Order.version + 1)
            .execution_options(synchronize_session=False)
        )
        order.state = OrderState.CANCELLED
        with pytest.raises(StaleDataError):
            await session.flush()
        await session.rollback()
