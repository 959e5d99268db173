"""Creating orders, recording the provider's paid notification, cancelling, and reading an order.

The order is committed with its out_trade_no before the provider is asked to prepay, so a payment can
never arrive for an order we do not know. The paid notification is recorded once: the order row is
locked (FOR UPDATE on PostgreSQL, SQLite's write lock) and the "notify the hospital" job has a unique
key, so concurrent duplicates change nothing; PAID and that job are written in one transaction.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from his_clients import guard
from his_clients.client import HisClient
from his_clients.models.base import HisRequest
from store.db import Database
from store.orders import Order, OrderRepository, OrderState, check_amounts
from store.outbox import OutboxRepository

from .clock import CHINA_TIME, Clock, SystemClock
from .entry_after_sale import AfterSaleEntries
from .entry_after_sale import new_refund_no as new_refund_no
from .entry_bills import BillEntries
from .entry_bookings import BookingEntries
from .entry_insurance import InsuranceEntries
from .entry_online import MEDICAL_RECORD_TARIFF, MedicalRecordTariff, OnlineEntries
from .entry_online import PrescribedCharge as PrescribedCharge
from .entry_registration import RegistrationEntries
from .hospital_refunds import HospitalRefundEntries
from .providers.base import PaymentNotification, PaymentProvider, TradeState
from .results import PAYMENT_EXPIRES_AFTER as PAYMENT_EXPIRES_AFTER
from .results import ZERO as ZERO
from .results import CardRefundRequested as CardRefundRequested
from .results import CreatedOrder as CreatedOrder
from .results import OrderNotCancellable as OrderNotCancellable
from .results import OrderSummary as OrderSummary
from .results import PaymentRecorded as PaymentRecorded
from .results import QuoteUnavailable as QuoteUnavailable
from .results import RefundNotPossible as RefundNotPossible
from .results import RefundSummary as RefundSummary
from .results import UnknownOrder as UnknownOrder
from .sagas import FLOWS, releases

log = logging.getLogger("hisgraph.payments")

NOTIFY_HIS = "notify_his"
"""Outbox job kind: tell the hospital the payment arrived (then 14.2.2 / 13.1.1 as the flow says)."""
EXPIRE_UNPAID = "expire_unpaid"
"""Outbox job kind, due when the payment window ends: an order still unpaid is closed and what it holds
at the hospital released (flows that hold something before payment: sagas.base.Releases)."""
EXPIRY_GRACE = timedelta(minutes=1)
"""After the provider's own expiry (PAYMENT_EXPIRES_AFTER), so a payment made in the last second is not raced."""
RELEASE_HELD = "release_held"
"""Outbox job kind: release what an unpaid, cancelled or refunded order holds at the hospital (21.2.3, 5.1.3)."""


OUT_TRADE_NO_MAX = 32
"""WeChat Pay's limit on out_trade_no."""


def new_out_trade_no(business_type: str, now: datetime, hospital_id: str = "") -> str:
    """`ZJZF-253-251201120000a1b2c3`: business type, hospital, Beijing time and 24 random bits.

    The spec's examples write ``JZKCZ-SCXRMYY-18062229055``: the business-type code first (14.1.1
    filters on it), then the hospital's segment. Ours is the hospital id, letters and digits only,
    its tail kept where it must be shortened to stay within WeChat's 32 characters.
    """
    serial = f"{now.astimezone(CHINA_TIME):%y%m%d%H%M%S}{secrets.token_hex(3)}"
    room = OUT_TRADE_NO_MAX - len(business_type) - len(serial) - 2
    segment = "".join(c for c in hospital_id if c.isascii() and c.isalnum()).upper()[-room:] if room > 0 else ""
    return f"{business_type}-{segment}-{serial}" if segment else f"{business_type}-{serial}"


class OrderNames(HisRequest):
    """Whom an order names: the calls its saga makes once paid (outside any request, so under no guard)
    carry them, so the request that creates the order must be allowed to name them now."""

    medical_card_number: str = Field(alias="medicalCardNumber")
    id_card: str | None = Field(default=None, alias="idCard")


_ID_NUMBER_FIELDS = frozenset({"idcard", "idcardno", "idcardnumber", "patientid", "patientidcard"})


async def _check_order_names(flow: str, medical_card_number: str, quote: dict[str, Any]) -> None:
    """Run the request's guard (his_clients/guard.py) on the card and every ID number the order will send.

    The quote calls made while creating an order are checked as they go out; this covers what only the
    saga sends later (25.1.1's idCard, typed by the caller and sent after payment). Refused: the guard's
    NotFound (20215), and no order is written.
    """
    id_numbers = {
        value.strip()
        for key, value in quote.items()
        if key.replace("_", "").lower() in _ID_NUMBER_FIELDS and isinstance(value, str) and value.strip()
    }
    named: list[str | None] = [*sorted(id_numbers)] or [None]
    for id_card in named:
        await guard.check(f"order:{flow}", OrderNames(medical_card_number=medical_card_number, id_card=id_card))


class PaymentService(
    BillEntries,
    RegistrationEntries,
    BookingEntries,
    OnlineEntries,
    AfterSaleEntries,
    HospitalRefundEntries,
    InsuranceEntries,
):
    """The payment flows' entry points, shared by GraphQL mutations and the provider's notification shim.

    The create_* entry points of each paid flow and the after-sale requests live in entry_*.py by domain;
    this class composes them with the core: writing an order, recording its payment, cancelling, reading.
    """

    def __init__(
        self,
        *,
        db: Database,
        his: HisClient,
        provider: PaymentProvider,
        clock: Clock | None = None,
        notify_url: str = "",
        his_timeout_s: float = 5.0,
        medical_record_tariff: MedicalRecordTariff = MEDICAL_RECORD_TARIFF,
    ) -> None:
        self._db = db
        self._medical_record_tariff = medical_record_tariff
        self._his = his
        self._provider = provider
        self._clock = clock or SystemClock()
        self._notify_url = notify_url
        self._his_timeout_s = his_timeout_s

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
                now = self._clock.now()
                await orders.transition(order, OrderState.CANCELLED, reason="cancelled by the payer", at=now)
                if releases(FLOWS[order.flow]) is not None:
                    await OutboxRepository(session).enqueue(
                        kind=RELEASE_HELD, dedupe_key=f"{RELEASE_HELD}:{order.out_trade_no}", order_id=order.id, at=now
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
        unified_pay_trade_no: str | None = None,
    ) -> CreatedOrder:
        assert flow in FLOWS
        await _check_order_names(flow, medical_card_number, quote)
        online = total - balance_payment - unified_pay_amount
        check_amounts(
            total=total, balance_payment=balance_payment, unified_pay_amount=unified_pay_amount, online=online
        )
        now = self._clock.now()
        order = Order(
            out_trade_no=new_out_trade_no(business_type, now, hospital_id),
            business_type=business_type,
            flow=flow,
            hospital_id=hospital_id,
            medical_card_number=medical_card_number,
            description=description,
            total_amount=total,
            discount_amount=discount,
            balance_payment=balance_payment,
            unified_pay_amount=unified_pay_amount,
            unified_pay_trade_no=unified_pay_trade_no,
            online_amount=online,
            quote=quote,
            provider=self._provider.name,
        )
        async with self._db.session() as session:
            orders = OrderRepository(session)
            await orders.add(order, at=now)
            if releases(FLOWS[flow]) is not None:
                # The order holds something at the hospital (a booked slot, a settlement): released unless paid.
                await OutboxRepository(session).enqueue(
                    kind=EXPIRE_UNPAID,
                    dedupe_key=f"{EXPIRE_UNPAID}:{order.out_trade_no}",
                    order_id=order.id,
                    at=now,
                    due_at=now + PAYMENT_EXPIRES_AFTER + EXPIRY_GRACE,
                )
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
