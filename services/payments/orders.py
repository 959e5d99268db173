"""Creating orders, recording the provider's paid notification, cancelling, and reading an order.

The order is committed with its out_trade_no before the provider is asked to prepay, so a payment can
never arrive for an order we do not know. The paid notification is recorded once: the order row is
locked (FOR UPDATE on PostgreSQL, SQLite's write lock) and the "notify the hospital" job has a unique
key, so concurrent duplicates change nothing; PAID and that job are written in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from his_clients.client import HisClient
from his_clients.models.outpatient import QUERY_WAIT_PAY, QueryWaitPayRequest
from store.db import Database
from store.orders import Order, OrderRepository, OrderState, OutboxRepository, check_amounts

from .clock import CHINA_TIME, Clock, SystemClock
from .providers.base import PaymentNotification, PaymentProvider, PrepayResult, TradeState
from .sagas import FLOWS
from .sagas.deposit import DepositFlow
from .sagas.outpatient import OutpatientFlow
from .sagas.recharge import RechargeFlow

log = logging.getLogger("hisgraph.payments")

ZERO = Decimal("0.00")
NOTIFY_HIS = "notify_his"
"""Outbox job kind: tell the hospital the payment arrived (then 14.2.2 / 13.1.1 as the flow says)."""
PAYMENT_EXPIRES_AFTER = timedelta(minutes=15)


class UnknownOrder(LookupError):
    """No order has this out_trade_no."""


class OrderNotCancellable(Exception):
    """Only an order nothing was paid for (CREATED) may be cancelled."""


@dataclass(frozen=True, slots=True)
class OrderSummary:
    """An order as callers above the store see it."""

    out_trade_no: str
    flow: str
    state: OrderState
    hospital_id: str
    medical_card_number: str
    total_amount: Decimal
    balance_payment: Decimal
    unified_pay_amount: Decimal
    online_amount: Decimal
    his_serial: str | None
    state_reason: str | None

    @classmethod
    def of(cls, order: Order) -> OrderSummary:
        return cls(
            out_trade_no=order.out_trade_no,
            flow=order.flow,
            state=OrderState(order.state),
            hospital_id=order.hospital_id,
            medical_card_number=order.medical_card_number,
            total_amount=order.total_amount,
            balance_payment=order.balance_payment,
            unified_pay_amount=order.unified_pay_amount,
            online_amount=order.online_amount,
            his_serial=order.his_serial,
            state_reason=order.state_reason,
        )


@dataclass(frozen=True, slots=True)
class CreatedOrder:
    """What the mini-program needs to pay: the order and wx.requestPayment's parameters."""

    order: OrderSummary
    prepay: PrepayResult | None
    """None when nothing is left to pay online (the card balance covers the bill)."""


@dataclass(frozen=True, slots=True)
class PaymentRecorded:
    order: OrderSummary
    duplicate: bool
    """True when this notification (or a concurrent copy) had already been recorded."""


def new_out_trade_no(business_type: str, now: datetime) -> str:
    """`ZJZF-250101120000a1b2c3d4`: the business-type code first (14.1.1 filters on it), at most 32 chars."""
    return f"{business_type}-{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(4)}"


class PaymentService:
    """The payment flows' entry points, shared by GraphQL mutations and the provider's notification shim."""

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        provider: PaymentProvider,
        clock: Clock | None = None,
        notify_url: str = "",
        his_timeout_s: float = 5.0,
    ) -> None:
        self._db = db
        self._his = his
        self._provider = provider
        self._clock = clock or SystemClock()
        self._notify_url = notify_url
        self._his_timeout_s = his_timeout_s

    async def create_outpatient_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        id_card: str | None = None,
        balance_payment: Decimal = ZERO,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for the bill 3.1.1 quotes right now: its total as quoted, its detail ids kept for 3.1.2."""
        quote = await self._his.call(
            QUERY_WAIT_PAY,
            hospital_id,
            QueryWaitPayRequest(medical_card_number=medical_card_number, id_card=id_card),
        )
        items = [{"id": item.id, "pres_code": item.pres_code, "amount": str(item.item_amount)} for item in quote.detail]
        snapshot = {
            "amount": str(quote.amount),
            "discount_amount": str(quote.discount_amount),
            "detail_ids": [item.id for item in quote.detail],
            "items": items,
        }
        return await self._create(
            flow=OutpatientFlow.name,
            business_type=OutpatientFlow.business_type,
            description="诊间支付",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=quote.amount,
            discount=quote.discount_amount,
            balance_payment=balance_payment,
            quote=snapshot,
            payer_openid=payer_openid,
        )

    async def create_recharge_order(
        self, *, hospital_id: str, medical_card_number: str, amount: Decimal, payer_openid: str | None = None
    ) -> CreatedOrder:
        """An order to put `amount` yuan on the card's balance (7.1.2)."""
        return await self._create(
            flow=RechargeFlow.name,
            business_type=RechargeFlow.business_type,
            description="就诊卡充值",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount)},
            payer_openid=payer_openid,
        )

    async def create_deposit_order(
        self,
        *,
        hospital_id: str,
        medical_card_number: str,
        admission_number: str | None,
        amount: Decimal,
        payer_openid: str | None = None,
    ) -> CreatedOrder:
        """An order for an inpatient deposit of `amount` yuan (10.1.2)."""
        return await self._create(
            flow=DepositFlow.name,
            business_type=DepositFlow.business_type,
            description="住院押金",
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            total=amount,
            quote={"amount": str(amount), "admission_number": admission_number},
            payer_openid=payer_openid,
        )

    async def record_payment(self, notification: PaymentNotification) -> PaymentRecorded:
        """Record a verified paid notification once; PAID and the job to notify the hospital in one transaction.

        The amount is checked again against the order: money that does not match parks the order.
        Answer the provider only after this returns (it has committed).
        """
        if notification.state is not TradeState.PAID:
            raise ValueError(f"not a paid notification: {notification.state}")
        try:
            return await self._record_payment(notification)
        except (IntegrityError, StaleDataError):
            # A concurrent copy won the race (unique job key / order version): it recorded the payment.
            async with self._db.session() as session:
                order = await OrderRepository(session).get(notification.out_trade_no)
                assert order is not None
                return PaymentRecorded(OrderSummary.of(order), duplicate=True)

    async def _record_payment(self, notification: PaymentNotification) -> PaymentRecorded:
        now = self._clock.now()
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(notification.out_trade_no, for_update=True)
            if order is None:
                raise UnknownOrder(notification.out_trade_no)
            state = OrderState(order.state)
            if state not in (OrderState.CREATED, OrderState.CANCELLED):
                if order.transaction_id not in (None, notification.transaction_id):
                    log.warning("second payment for one order", extra={"out_trade_no": order.out_trade_no})
                return PaymentRecorded(OrderSummary.of(order), duplicate=True)
            order.transaction_id = notification.transaction_id
            order.paid_at = notification.paid_at or now
            event = f"provider event {notification.event_id}"
            if state is OrderState.CANCELLED:
                await orders.transition(order, OrderState.PARKED, reason=f"{event}: paid after cancel", at=now)
            elif notification.amount != order.online_amount:
                reason = f"{event}: paid {notification.amount}, order says {order.online_amount}"
                await orders.transition(order, OrderState.PARKED, reason=reason, at=now)
            else:
                await orders.transition(order, OrderState.PAID, reason=f"{event}: paid", at=now)
                await OutboxRepository(session).enqueue(
                    kind=NOTIFY_HIS, dedupe_key=f"{NOTIFY_HIS}:{order.out_trade_no}", order_id=order.id, at=now
                )
            return PaymentRecorded(OrderSummary.of(order), duplicate=False)

    async def cancel(self, out_trade_no: str) -> OrderSummary:
        """Close an unpaid order: the provider first (so it can no longer be paid), then the ledger."""
        async with self._db.session() as session:
            order = await OrderRepository(session).get(out_trade_no)
        if order is None:
            raise UnknownOrder(out_trade_no)
        if order.state != OrderState.CREATED:
            raise OrderNotCancellable(f"order {out_trade_no} is {order.state}")
        await self._provider.close_order(out_trade_no)
        async with self._db.session() as session:
            orders = OrderRepository(session)
            order = await orders.get(out_trade_no, for_update=True)
            assert order is not None
            if order.state == OrderState.CREATED:
                await orders.transition(
                    order, OrderState.CANCELLED, reason="cancelled by the payer", at=self._clock.now()
                )
            return OrderSummary.of(order)

    async def get(self, out_trade_no: str) -> OrderSummary | None:
        async with self._db.session() as session:
            order = await OrderRepository(session).get(out_trade_no)
            return None if order is None else OrderSummary.of(order)

    async def _create(
        self,
        *,
        flow: str,
        business_type: str,
        description: str,
        hospital_id: str,
        medical_card_number: str,
        total: Decimal,
        quote: dict[str, Any],
        payer_openid: str | None,
        discount: Decimal = ZERO,
        balance_payment: Decimal = ZERO,
        unified_pay_amount: Decimal = ZERO,
    ) -> CreatedOrder:
        assert flow in FLOWS
        online = total - balance_payment - unified_pay_amount
        check_amounts(
            total=total, balance_payment=balance_payment, unified_pay_amount=unified_pay_amount, online=online
        )
        now = self._clock.now()
        order = Order(
            out_trade_no=new_out_trade_no(business_type, now),
            business_type=business_type,
            flow=flow,
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            description=description,
            total_amount=total,
            discount_amount=discount,
            balance_payment=balance_payment,
            unified_pay_amount=unified_pay_amount,
            online_amount=online,
            quote=quote,
            provider=self._provider.name,
        )
        async with self._db.session() as session:
            orders = OrderRepository(session)
            await orders.add(order, at=now)
            if online == 0:
                # Nothing to pay online: the hospital is told at once (balancePayment covers the bill).
                order.paid_at = now
                await orders.transition(order, OrderState.PAID, reason="nothing to pay online", at=now)
                await OutboxRepository(session).enqueue(
                    kind=NOTIFY_HIS, dedupe_key=f"{NOTIFY_HIS}:{order.out_trade_no}", order_id=order.id, at=now
                )
                return CreatedOrder(OrderSummary.of(order), None)
        prepay = await self._provider.prepay(
            out_trade_no=order.out_trade_no,
            amount=online,
            description=description,
            payer_openid=payer_openid,
            notify_url=self._notify_url,
            expires_at=now + PAYMENT_EXPIRES_AFTER,
        )
        async with self._db.session() as session:
            stored = await OrderRepository(session).get(order.out_trade_no, for_update=True)
            assert stored is not None
            stored.prepay_id = prepay.prepay_id
            return CreatedOrder(OrderSummary.of(stored), prepay)
